# The two commands: `make demo` and `make test`. Both set up the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PYSPARK_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP := 127.0.0.1
# Bouncy Castle's FF3-1 engine, for the format-preserving mask in the JVM (immuta_spark/spark/mask_jvm.py).
BCPROV_JAR := $(HOME)/.m2/repository/org/bouncycastle/bcprov-jdk18on/1.80/bcprov-jdk18on-1.80.jar
APT = sh -c '[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$@"' apt

.PHONY: setup jvm-deps system-deps demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -e '.[spark,hdfs,hive,ldap,dev]'
	touch $@

demo: setup jvm-deps
	$(PY) -m immuta_spark.demo
	$(PY) -m hdfs_workspace.demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Tools the tests start for themselves (JVMs, Maven for the HDFS minicluster, a PostgreSQL
# server, OpenLDAP's slapd). Missing ones are installed from Debian's packages when we are root, else named
# (tests/ldap/install_slapd.sh keeps Debian's postinst from leaving a system slapd running).
# The demo's HDFS workspace needs a JDK and Maven (the minicluster's launcher); so do the tests.
jvm-deps:
	@command -v java >/dev/null || $(APT) openjdk-17-jdk-headless || { echo "Java 17 is missing: install a JDK 17"; exit 1; }
	@command -v mvn >/dev/null || $(APT) maven || { echo "Maven is missing: install maven"; exit 1; }
	@[ -f $(BCPROV_JAR) ] || mvn -q dependency:get -Dartifact=org.bouncycastle:bcprov-jdk18on:1.80 \
		|| { echo "Bouncy Castle (FF3-1 in the JVM) could not be fetched with Maven"; exit 1; }

system-deps: jvm-deps
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || $(APT) postgresql \
		|| { echo "PostgreSQL server binaries are missing: install postgresql"; exit 1; }
	@{ [ -x /usr/sbin/slapd ] || command -v slapd >/dev/null; } && command -v ldapadd >/dev/null || sh tests/ldap/install_slapd.sh

# The second run repeats the bypass suite without the JVM plan helper: the fallback must agree.
test: setup system-deps lint
	$(PY) -m pytest
	IMMUTA_SPARK_NO_JVM_HELPER=1 $(PY) -m pytest -q tests/security tests/spark/test_entry_points.py

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) .demo build *.egg-info
