"""A real, throw-away Hive metastore for tests and benchmarks: Thrift on 127.0.0.1, Derby behind it.

Several processes must see the same databases (the workspace manager, members' own Spark
sessions), so the tests run one standalone metastore server rather than Spark's embedded one.
It is built only from what pyspark ships (Hive 2.3 metastore, libthrift, DataNucleus, Derby):
the launcher in ``tests/hdfs/metastore/`` (one Java file) is compiled with ``javac`` against
pyspark's ``jars/`` into the cache directory of :mod:`hdfs_workspace.testing`, with no Maven and
no download. Hive 2.3's own ``HiveMetaStore.main`` binds every interface; the launcher binds
127.0.0.1 only.

The server runs file-system work as the client's user (``set_ugi``, as the stock server does in
simple-auth mode), and as ``hadoop_user`` (default: the workspace service identity) for clients
that do not say: HDFS, not the metastore, decides who may create a database's directory.

This module is for tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hdfs_workspace.jvmproc import (
    JAVA_OPTIONS,
    JDK_HINT,
    JvmChild,
    JvmChildError,
    JvmServer,
    build_lock,
    log_tail,
    require_tool,
    run_logged,
    start_jvm,
)
from hdfs_workspace.testing import SERVICE_USER, default_cache_dir

__all__ = [
    "HiveMetastoreServer",
    "MetastoreBuild",
    "MetastoreServerError",
    "build_metastore_launcher",
    "default_metastore_source_dir",
    "hive_metastore",
    "pyspark_jars_dir",
    "start_hive_metastore",
]

_LAUNCHER_CLASS = "io.immuta.hive.MetastoreLauncher"
_PROTOCOL_PREFIX = "METASTORE "


class MetastoreServerError(JvmChildError):
    """The test metastore could not be built or started."""


def default_metastore_source_dir() -> Path:
    """``tests/hdfs/metastore`` of this source tree."""
    return Path(__file__).resolve().parent.parent / "tests" / "hdfs" / "metastore"


def pyspark_jars_dir() -> Path:
    """The ``jars/`` directory of the installed pyspark (found without importing it), or ``$SPARK_HOME/jars``."""
    home = os.environ.get("SPARK_HOME")
    if home and (Path(home) / "jars").is_dir():
        return Path(home) / "jars"
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise MetastoreServerError("pyspark is not installed: run `make setup` (the metastore uses the jars it ships)")
    jars = Path(next(iter(spec.submodule_search_locations))) / "jars"
    if not any(jars.glob("hive-metastore-*.jar")):
        raise MetastoreServerError(f"{jars} holds no hive-metastore jar: reinstall pyspark (`make setup`)")
    return jars


@dataclass(frozen=True, slots=True, kw_only=True)
class MetastoreBuild:
    """The compiled launcher and the jars it runs with."""

    classes: Path
    jars: Path

    def java_classpath(self) -> str:
        """The ``-cp`` argument (a ``dir/*`` wildcard: every jar pyspark ships)."""
        return os.pathsep.join([str(self.classes), str(self.jars / "*")])


def _build_key(source_dir: Path, jars: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(source_dir.rglob("*.java")):
        digest.update(file.relative_to(source_dir).as_posix().encode())
        digest.update(file.read_bytes())
    # A different pyspark (other Hive or Thrift jars) needs a fresh compile.
    for jar in sorted(jars.glob("*.jar")):
        digest.update(jar.name.encode())
    return digest.hexdigest()[:16]


def build_metastore_launcher(source_dir: Path | None = None, cache_dir: Path | None = None) -> MetastoreBuild:
    """Compile the launcher once against pyspark's jars; reuse the cache while both are unchanged."""
    source_dir = source_dir or default_metastore_source_dir()
    sources = sorted(source_dir.rglob("*.java"))
    if not sources:
        raise MetastoreServerError(f"no launcher source under {source_dir}: run from a source checkout")
    jars = pyspark_jars_dir()
    target = (cache_dir or default_cache_dir()) / f"metastore-{_build_key(source_dir, jars)}"
    classes = target / "classes"
    with build_lock(target):
        if (target / "built").is_file():
            return MetastoreBuild(classes=classes, jars=jars)
        javac = require_tool("javac", JDK_HINT)
        shutil.rmtree(classes, ignore_errors=True)
        log = target / "build.log"
        cmd = [javac, "--release", "17", "-nowarn", "-d", str(classes), "-cp", str(jars / "*"), *map(str, sources)]
        if not run_logged(cmd, log, source_dir):
            raise MetastoreServerError(f"javac failed on the metastore launcher (log: {log}):\n{log_tail(log)}")
        (target / "built").write_text("ok\n")
        return MetastoreBuild(classes=classes, jars=jars)


@dataclass(slots=True, kw_only=True)
class HiveMetastoreServer(JvmServer):
    """A running metastore. ``uri`` is what clients (and ``hive.metastore.uris``) take."""

    uri: str
    port: int
    base_dir: Path
    _jvm: JvmChild = field(repr=False)


def start_hive_metastore(
    base_dir: str | os.PathLike[str],
    *,
    hadoop_user: str = SERVICE_USER,
    port: int = 0,
    timeout: float = 180.0,
    source_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> HiveMetastoreServer:
    """Build (if needed) and start a metastore whose Derby database lives under ``base_dir``.

    ``port`` 0 picks a free one. The default database's warehouse is a local directory under
    ``base_dir``; workspace databases carry their own HDFS LOCATION.
    """
    build = build_metastore_launcher(source_dir, cache_dir)
    java = require_tool("java", JDK_HINT)
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    cmd = [
        java,
        *JAVA_OPTIONS,
        "-Xmx512m",
        f"-Dderby.system.home={base}",
        "-cp",
        build.java_classpath(),
        _LAUNCHER_CLASS,
        str(base / "metastore_db"),
        (base / "warehouse").as_uri(),
        str(port),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_PROXY_USER", "HADOOP_CONF_DIR", "HIVE_CONF_DIR")}
    env["HADOOP_USER_NAME"] = hadoop_user
    try:
        jvm = start_jvm(
            "Hive metastore",
            cmd,
            prefix=_PROTOCOL_PREFIX,
            cwd=base,
            log_file=base / "metastore.log",
            timeout=timeout,
            env=env,
        )
    except JvmChildError as exc:
        raise MetastoreServerError(str(exc)) from exc
    return HiveMetastoreServer(uri=jvm.ready["uri"], port=int(jvm.ready["port"]), base_dir=base, _jvm=jvm)


@contextlib.contextmanager
def hive_metastore(base_dir: str | os.PathLike[str], **kwargs: object) -> Iterator[HiveMetastoreServer]:
    """``with hive_metastore(tmp) as hms:`` — start, yield, always stop."""
    server = start_hive_metastore(base_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
