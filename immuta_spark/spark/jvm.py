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
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

__all__ = ["PlanInspector", "inspector"]

SOURCE = Path(__file__).resolve().parent / "jvm" / "PlanInspector.java"
_lock = threading.Lock()
_loaded: dict[int, PlanInspector | None] = {}


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
    """The loaded helper: ``guard_lines``."""

    def __init__(self, gateway: Any, klass: Any) -> None:
        self._gateway = gateway
        jvm = gateway.jvm
        plan_class = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.LogicalPlan")
        string_class = jvm.java.lang.Class.forName("java.lang.String")
        guard_types = gateway.new_array(jvm.java.lang.Class, 2)
        guard_types[0], guard_types[1] = plan_class, string_class
        self._guard = klass.getMethod("guardLines", guard_types)

    def _call(self, method: Any, a: Any, b: Any) -> str:
        args = self._gateway.new_array(self._gateway.jvm.java.lang.Object, 2)
        args[0], args[1] = a, b
        return str(method.invoke(None, args))

    def guard_lines(self, plan: Any, marker_root: str) -> str:
        """Marker aliases and leaves of an analyzed plan (see the Java source)."""
        return self._call(self._guard, plan, marker_root)


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
    return PlanInspector(gateway, loader.loadClass("io.immutaspark.PlanInspector"))
