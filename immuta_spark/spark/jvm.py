"""A small JVM helper (``jvm/PlanInspector.java``) that walks Spark plans in one py4j call.

Reaching a plan node by node through py4j costs a round trip per call, and ``toJSON()`` of an
analyzed plan is slow (tens of milliseconds); the helper describes a whole plan in one call.
It is compiled once per machine with ``javac`` against the jars pyspark ships, cached under
``~/.cache/immuta-spark`` (or ``$IMMUTA_SPARK_CACHE``), and loaded into the running JVM with its
own class loader, so it works for sessions that were started without it. Without a ``javac``
the callers fall back to the pure-py4j walk: slower, same answers (the tests check both).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

__all__ = ["PlanInspector", "inspector", "records", "unescape"]

SOURCE = Path(__file__).resolve().parent / "jvm" / "PlanInspector.java"
_lock = threading.Lock()
_loaded: dict[int, PlanInspector | None] = {}


_ESCAPES = {"\\": "\\", "n": "\n", "1": "\x01", "2": "\x02"}
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def records(text: str) -> list[list[str]]:
    """The helper's output as lines of raw fields (split on U+0001; names still escaped).

    Lines end with a newline only: names are escaped by the helper, and Python's
    ``splitlines`` would also split on characters a backquoted name may hold.
    """
    return [line.split("\x01") for line in text.split("\n") if line]


def unescape(value: str) -> str:
    """A name or path as it was before the helper escaped it (``PlanInspector.esc``)."""
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(1)], value)


def _cache_dir() -> Path:
    base = os.environ.get("IMMUTA_SPARK_CACHE") or Path.home() / ".cache" / "immuta-spark"
    return Path(base)


def _compile() -> Path | None:
    """The directory holding the compiled classes, building it if needed; None without javac."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    digest = hashlib.sha256(SOURCE.read_bytes() + pyspark.__version__.encode()).hexdigest()[:16]
    out = _cache_dir() / f"plan-inspector-{digest}"
    if (out / "io" / "immutaspark" / "PlanInspector.class").exists():
        return out
    java_home = os.environ.get("JAVA_HOME")
    javac = shutil.which("javac") or (str(Path(java_home) / "bin" / "javac") if java_home else None)
    if not javac or not Path(javac).exists():
        return None
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [javac, "--release", "17", "-nowarn", "-d", str(tmp), "-cp", str(jars / "*"), str(SOURCE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    try:
        tmp.rename(out)
    except OSError:  # another process finished first: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class PlanInspector:
    """The loaded helper: ``guard_lines`` and ``walk_lines``."""

    def __init__(self, instance: Any) -> None:
        # An instance, not the class: py4j calls an object's methods by reflection on the
        # object's own class, so our class loader is not in the way and a call is one round trip.
        self._instance = instance

    def guard_lines(self, plan: Any, marker_root: str) -> str:
        """Marker aliases and leaves of an analyzed plan (see the Java source)."""
        return str(self._instance.guard(plan, marker_root))

    def walk_lines(self, plan: Any, subqueries: bool) -> str:
        """Relation references, identifier spans and CTE references of a parsed plan (see the Java source)."""
        return str(self._instance.walk(plan, subqueries))


def inspector(spark: Any) -> PlanInspector | None:
    """The helper loaded into ``spark``'s JVM, or None when it cannot be built here."""
    if os.environ.get("IMMUTA_SPARK_NO_JVM_HELPER"):
        return None
    gateway = spark.sparkContext._gateway
    key = id(gateway)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load(gateway)
        return _loaded[key]


def _load(gateway: Any) -> PlanInspector | None:
    classes = _compile()
    if classes is None:
        return None
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
