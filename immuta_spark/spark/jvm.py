"""The project's JVM classes (``jvm/*.java``): the enforcement rules and a plan walker.

``Governor``, ``EnforceRule`` and ``GuardCheck`` put enforcement into Spark's analyzer (see
:mod:`immuta_spark.spark.governor`); ``PlanInspector`` describes a whole plan in one py4j call
(reaching a plan node by node costs a round trip per call, and ``toJSON()`` of an analyzed plan
is slow). They are compiled once per machine with ``javac`` against the jars pyspark ships,
cached under ``~/.cache/immuta-spark`` (or ``$IMMUTA_SPARK_CACHE``), and loaded into the running
JVM with their own class loader, so they work for SparkSessions that were started without them.
A governed session needs them: without a JDK's ``javac`` it refuses to start (fail closed).
``IMMUTA_SPARK_NO_JVM_HELPER`` makes the plan *walks* use the pure-py4j fallback (the tests
check that both agree); enforcement itself always runs in the JVM.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from immuta_spark.spark.errors import EnforcementError

__all__ = [
    "PlanInspector",
    "cache_dir",
    "escape",
    "helper",
    "inspector",
    "javac",
    "javac_into",
    "records",
    "sources_digest",
    "unescape",
]

SOURCES = Path(__file__).resolve().parent / "jvm"
_lock = threading.Lock()
_loaded: dict[int, PlanInspector] = {}


_ESCAPES = {"\\": "\\", "n": "\n", "1": "\x01", "2": "\x02"}
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def records(text: str) -> list[list[str]]:
    """The helper's output as lines of raw fields (split on U+0001; names still escaped).

    Lines end with a newline only: names are escaped by the helper, and Python's
    ``splitlines`` would also split on characters a backquoted name may hold.
    """
    return [line.split("\x01") for line in text.split("\n") if line]


def escape(value: str) -> str:
    """``value`` in the helper's escaped form (what ``PlanInspector.esc`` makes; :func:`unescape` reverses it)."""
    if not any(c in value for c in "\\\n\x01\x02"):
        return value
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\x01", "\\1").replace("\x02", "\\2")


def unescape(value: str) -> str:
    """A name or path as it was before the helper escaped it (``PlanInspector.esc``)."""
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(1)], value)


def cache_dir() -> Path:
    """Where compiled classes are kept between runs (``$IMMUTA_SPARK_CACHE``, else ``~/.cache/immuta-spark``)."""
    base = os.environ.get("IMMUTA_SPARK_CACHE") or Path.home() / ".cache" / "immuta-spark"
    return Path(base)


def _compile() -> Path:
    """The directory holding the compiled classes, building it if needed."""
    import pyspark

    sources = sorted(SOURCES.glob("*.java"))
    out = cache_dir() / f"jvm-classes-{sources_digest(sources)}"
    if (out / "io" / "immutaspark" / "PlanInspector.class").exists():
        return out
    compiler = javac()
    if compiler is None:
        raise EnforcementError(
            "the governed session needs a JDK's javac to build its analyzer rules, and none was found; "
            "install a JDK 17 (or set JAVA_HOME)"
        )
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    errors = javac_into(compiler, tmp, sources)
    if errors is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EnforcementError(
            f"the governed session's JVM classes did not compile against pyspark {pyspark.__version__}'s jars, "
            f"so no session can be governed: {errors}"
        )
    try:
        tmp.rename(out)
    except OSError:  # another process finished first: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def sources_digest(sources: Sequence[Path], *extra: str) -> str:
    """A short hash of Java ``sources``, pyspark's version and ``extra``: it names their compiled form in the cache."""
    import pyspark

    seed = b"".join(p.read_bytes() for p in sources) + pyspark.__version__.encode() + "".join(extra).encode()
    return hashlib.sha256(seed).hexdigest()[:16]


def javac_into(compiler: str, dest: Path, sources: Sequence[Path], classpath: Sequence[Path] = ()) -> str | None:
    """Compile ``sources`` for Java 17 into ``dest``, against pyspark's jars and ``classpath``; None, or the errors."""
    import pyspark

    path = os.pathsep.join([str(Path(pyspark.__file__).parent / "jars" / "*"), *map(str, classpath)])
    done = subprocess.run(
        [compiler, "--release", "17", "-nowarn", "-d", str(dest), "-cp", path, *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return None if done.returncode == 0 else done.stderr.strip()[:2000]


def javac() -> str | None:
    """The JDK's ``javac`` (on the PATH, else under ``$JAVA_HOME``), or None."""
    java_home = os.environ.get("JAVA_HOME")
    found = shutil.which("javac") or (str(Path(java_home) / "bin" / "javac") if java_home else None)
    return found if found and Path(found).exists() else None


class PlanInspector:
    """The loaded classes, through one ``PlanInspector`` instance: plan walks and the Governor's wiring."""

    def __init__(self, instance: Any) -> None:
        # An instance, not the class: py4j calls an object's methods by reflection on the
        # object's own class, so our class loader is not in the way and a call is one round trip.
        self._instance = instance

    def guard_lines(self, plan: Any, marker_root: str) -> str:
        """Marker aliases and leaves of an analyzed plan (see the Java source)."""
        return str(self._instance.guard(plan, marker_root))

    def guard_dataset_lines(self, jdf: Any, marker_root: str) -> str:
        """:meth:`guard_lines` of a DataFrame's analyzed plan, in one round trip."""
        return str(self._instance.guardDataset(jdf, marker_root))

    def lineage_lines(self, plan: Any, prefix: str) -> str:
        """The column lineage of an analyzed plan under stamp ``prefix`` (see ``Lineage.java``)."""
        return str(self._instance.lineage(plan, prefix))

    def lineage_dataset_lines(self, jdf: Any, prefix: str) -> str:
        """The column lineage of a DataFrame's analyzed plan under stamp ``prefix`` (see ``Lineage.java``)."""
        return str(self._instance.lineageDataset(jdf, prefix))

    def parse(self, jsession: Any, sql: str) -> Any:
        """``sql`` parsed by the session's own parser (one round trip)."""
        return self._instance.parse(jsession, sql)

    def listing(self, jdf: Any) -> str | None:
        """A digest of the files a DataFrame's one file relation reads, as its index listed them (else None)."""
        found = self._instance.listing(jdf)
        return None if found is None else str(found)

    def service_reads(self) -> Any:
        """The JVM's control of reads as the service identity (``ServiceReads.java``: install, govern, forget)."""
        return self._instance.serviceReads()

    def object_files(self, jsession: Any, location: str) -> str:
        """The files beneath ``location`` with size, modification time and ``user.*`` xattrs (``ObjectFiles.java``)."""
        return str(self._instance.objectFiles(jsession, location))

    def dp_query(self, jdf: Any) -> Any:
        """The aggregate query of a DataFrame analyzed in DP mode (``DpQuery.java``: ``spec()``, ``exact()``)."""
        return self._instance.dpQuery(jdf)

    def describe_lines(self, plan: Any, reserved: str) -> str:
        """A parsed plan's classes, identifiers, functions, locations, reserved use and walk (see the Java source)."""
        return str(self._instance.describe(plan, reserved))

    def session_names_lines(self, jsession: Any, names: str) -> str:
        """The current database and which of ``names`` (escaped, one a line) are temporary views."""
        return str(self._instance.sessionNames(jsession, names))

    def install(self, jsession: Any) -> None:
        """Add the enforcement rules to ``jsession``'s extensions (once per extensions object)."""
        self._instance.install(jsession)

    def share_relation_cache(self, jroot: Any, jsession: Any) -> None:
        """Make ``jsession`` use ``jroot``'s table relation cache (writes through either are seen by both)."""
        self._instance.shareRelationCache(jroot, jsession)

    def installed(self, jsession: Any) -> bool:
        """Whether the rules reach ``jsession``."""
        return bool(self._instance.installed(jsession))

    def governor(self, jsession: Any, token: str, provider: Any) -> Any:
        """A JVM ``Governor`` for ``jsession`` that asks ``provider`` (a Python proxy) for decisions."""
        return self._instance.governor(jsession, token, provider)


def inspector(spark: Any) -> PlanInspector | None:
    """The helper for plan walks, or None when ``IMMUTA_SPARK_NO_JVM_HELPER`` asks for the py4j fallback."""
    if os.environ.get("IMMUTA_SPARK_NO_JVM_HELPER"):
        return None
    return helper(spark)


def helper(spark: Any) -> PlanInspector:
    """The classes loaded into ``spark``'s JVM (compiled on first use); raises if they cannot be built."""
    gateway = spark.sparkContext._gateway
    key = id(gateway)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load(gateway)
        return _loaded[key]


def _load(gateway: Any) -> PlanInspector:
    classes = _compile()
    jvm = gateway.jvm
    urls = gateway.new_array(jvm.java.net.URL, 1)
    urls[0] = jvm.java.io.File(str(classes)).toURI().toURL()
    parent = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    loader = jvm.java.net.URLClassLoader(urls, parent)
    klass = loader.loadClass("io.immutaspark.PlanInspector")
    return PlanInspector(
        klass.getConstructor(gateway.new_array(jvm.java.lang.Class, 0)).newInstance(
            gateway.new_array(jvm.java.lang.Object, 0)
        )
    )
