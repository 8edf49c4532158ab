"""The reversible and format-preserving masks in the JVM: ``jvm/masks/*.java`` on Spark's class path.

Spark's ``aes_encrypt`` builds a new ``Cipher`` for every row, which costs more than the
encryption itself, and FF3-1 in Python (the ``ff3`` package, in a pandas UDF) costs about
64 µs a value. So both masks have a JVM form that Spark calls with its own ``StaticInvoke``
expression, once a row, from generated code:

- ``io.immutaspark.masks.Tokens.tokenize`` computes the reversible token with the JDK's
  HMAC-SHA256 and AES-GCM, keeping one ``Mac`` and one ``Cipher`` per task thread;
- ``io.immutaspark.masks.Ff3.mask`` runs Bouncy Castle's FF3-1 engine (``bcprov``, a vetted
  library, found in the local Maven repository where ``make jvm-deps`` puts it, or at
  ``$IMMUTA_SPARK_BCPROV_JAR``) with the same classes, chunks, tweaks and short-run rule.

Both give exactly the bytes of the Python references (:func:`immuta_spark.masks.reversible.tokenize`,
:func:`immuta_spark.masks.format_preserving.encrypt`); the tests hold them to that. The classes
are compiled once per machine into a jar under the cache directory, added to the driver's class
loader (the ``MutableURLClassLoader`` pyspark's JVM starts with) and shipped to executors with
``SparkContext.addJar``. Where that cannot be done (no ``javac``, no Bouncy Castle, a class
loader that takes no jars) :func:`mask_classes` says so and the masks keep their portable forms:
native Spark functions for the token, the pandas UDF for FF3-1. Both forms are as strict; the
portable ones are only slower.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from immuta_spark.spark.jvm import cache_dir, javac, javac_into, sources_digest

__all__ = ["BCPROV", "MaskClasses", "bcprov_jar", "mask_classes"]

log = logging.getLogger(__name__)

SOURCES = Path(__file__).resolve().parent / "jvm" / "masks"
#: Bouncy Castle's provider jar (group, artifact, version), fetched by ``make jvm-deps``.
BCPROV = ("org.bouncycastle", "bcprov-jdk18on", "1.80")
_lock = threading.Lock()
_loaded: dict[tuple[int, str], MaskClasses | None] = {}


def bcprov_jar() -> Path | None:
    """Bouncy Castle's jar: ``$IMMUTA_SPARK_BCPROV_JAR``, else the local Maven repository's copy, else None."""
    named = os.environ.get("IMMUTA_SPARK_BCPROV_JAR")
    if named:
        return Path(named) if Path(named).is_file() else None
    group, artifact, version = BCPROV
    jar = Path.home() / ".m2" / "repository" / Path(*group.split(".")) / artifact / version
    jar = jar / f"{artifact}-{version}.jar"
    return jar if jar.is_file() else None


@dataclass(frozen=True)
class MaskClasses:
    """The loaded mask classes of one JVM, and how to call them from a plan."""

    jvm: Any
    tokens: Any
    ff3: Any | None

    def call(self, klass: Any, method: str, columns: list[Any]) -> Any:
        """A JVM Column calling ``klass.method(columns...)`` (a string; null when any input is null)."""
        jvm = self.jvm
        utils = jvm.org.apache.spark.sql.classic.ExpressionUtils
        to_seq = jvm.org.apache.spark.api.python.PythonUtils.toSeq  # as Lowering.seq makes them
        args, none = to_seq([utils.expression(c) for c in columns]), to_seq([])
        invoke = jvm.org.apache.spark.sql.catalyst.expressions.objects.StaticInvoke(
            klass, jvm.org.apache.spark.sql.types.DataTypes.StringType, method, args, none, True, True, True,
            jvm.scala.Option.empty(),
        )  # fmt: skip
        return utils.column(invoke)


def mask_classes(jvm: Any) -> MaskClasses | None:
    """The mask classes loaded into ``jvm`` (built and loaded on first use), or None where they cannot be."""
    # Per SparkContext: a new one (same JVM) must ship the jars to its executors again.
    app = str(jvm.org.apache.spark.SparkContext.getOrCreate().applicationId())
    key = (id(getattr(jvm, "_gateway_client", jvm)), app)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load(jvm)
        return _loaded[key]


def _load(jvm: Any) -> MaskClasses | None:
    if os.environ.get("IMMUTA_SPARK_PORTABLE_MASKS"):
        return None
    bc = bcprov_jar()
    try:
        jar = _build(bc)
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        if loader is None or loader.getClass().getName() != "org.apache.spark.util.MutableURLClassLoader":
            log.warning("the JVM masks need Spark's MutableURLClassLoader; using the portable masks")
            return None
        context = jvm.org.apache.spark.SparkContext.getOrCreate()
        for path in [jar] + ([bc] if bc else []):
            loader.addURL(jvm.java.io.File(str(path)).toURI().toURL())
            context.addJar(str(path))  # executors of a cluster fetch it from the driver
        klass = jvm.java.lang.Class.forName
        tokens = klass("io.immutaspark.masks.Tokens", True, loader)
        ff3 = klass("io.immutaspark.masks.Ff3", True, loader) if bc else None
    except Exception as err:  # noqa: BLE001 - any failure leaves the portable (equally strict) masks
        log.warning("the JVM masks could not be loaded (%s); using the portable masks", err)
        return None
    if ff3 is None:
        log.warning("Bouncy Castle (%s) is not installed (run `make jvm-deps`): FF3-1 runs in Python", ":".join(BCPROV))
    return MaskClasses(jvm=jvm, tokens=tokens, ff3=ff3)


def _build(bc: Path | None) -> Path:
    """The jar of the mask classes (``Ff3`` only with Bouncy Castle), compiling it if needed."""
    sources = sorted(SOURCES.glob("*.java"))
    if bc is None:
        sources = [s for s in sources if s.name != "Ff3.java"]
    jar = cache_dir() / f"jvm-masks-{sources_digest(sources, str(bc))}.jar"
    if jar.exists():
        return jar
    compiler = javac()
    if compiler is None:
        raise RuntimeError("no JDK javac was found")
    classes = jar.with_suffix(f".tmp{os.getpid()}")
    errors = javac_into(compiler, classes, sources, [bc] if bc else [])
    if errors is not None:
        raise RuntimeError(f"the mask classes did not compile: {errors}")
    partial = jar.with_suffix(f".part{os.getpid()}")
    with zipfile.ZipFile(partial, "w") as out:
        for file in sorted(classes.rglob("*.class")):
            out.write(file, file.relative_to(classes).as_posix())
    partial.replace(jar)  # atomic: another process sees the whole jar or none
    shutil.rmtree(classes, ignore_errors=True)
    return jar
