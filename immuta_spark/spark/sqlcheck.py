"""Checks governor-written SQL predicates with Spark's own parser (never a regex).

A policy predicate may read only the source's own columns: no subqueries (they could read
other tables), no non-deterministic or identity functions (rows would differ between runs or
the JVM's user would be tested instead of ours), no reflection into the JVM.
"""

from __future__ import annotations

from typing import Any

from immuta_spark import checkers

__all__ = ["FORBIDDEN_FUNCTIONS", "check_predicate", "check_regex", "register"]

#: Functions a policy predicate may not call, by lower-case name.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "rand", "randn", "random", "uuid", "shuffle", "monotonically_increasing_id", "spark_partition_id",
        "input_file_name", "input_file_block_start", "input_file_block_length", "current_user", "user",
        "session_user", "reflect", "java_method", "try_reflect", "rand_str", "randstr", "uniform",
    }
)  # fmt: skip
_SUBQUERY_NODES = ("ScalarSubquery", "Exists", "ListQuery", "InSubquery", "LateralSubquery")

_jvm_cache: list[Any] = []


def _jvm() -> Any:
    """The active session's JVM, or a parse-only JVM started once."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active._jvm
    if not _jvm_cache:
        import os
        import subprocess

        from pyspark.java_gateway import launch_gateway

        # A parse-only JVM: no Spark context, no ports but py4j's own on loopback, no log noise.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        _jvm_cache.append(launch_gateway(popen_kwargs=quiet).jvm)
    return _jvm_cache[0]


def _parser() -> Any:
    """The active session's SQL parser, or Spark's Catalyst parser in a bare JVM."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active._jsparkSession.sessionState().sqlParser()
    package = _jvm().org.apache.spark.sql.catalyst.parser
    return getattr(getattr(package, "CatalystSqlParser$"), "MODULE$")


def check_regex(pattern: str) -> tuple[str | None, int]:
    """A regex mask's pattern read by Java's ``java.util.regex`` (what ``regexp_replace`` runs).

    Returns (the problem, or None; the number of capturing groups).
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    try:
        compiled = _jvm().java.util.regex.Pattern.compile(pattern)
    except Py4JJavaError as exc:
        return f"{_first_line(exc.java_exception.getMessage())} (Java regex syntax, as Spark runs it)", 0
    except CapturedException as exc:
        return f"{_first_line(str(exc))} (Java regex syntax, as Spark runs it)", 0
    return None, int(compiled.matcher("").groupCount())


def _first_line(message: Any) -> str:
    return (str(message).strip().splitlines() or ["invalid pattern"])[0]


def check_predicate(sql: str, columns: tuple[str, ...] | None = None) -> str | None:
    """An error message for an unacceptable predicate, or None when it is fine."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    try:
        expr = _parser().parseExpression(sql)
    except Py4JJavaError as exc:  # a bare JVM: the Java exception as py4j raises it
        message = str(exc.java_exception.getMessage()).strip().splitlines()[0]
        return f"invalid SQL predicate: {message}"
    except CapturedException as exc:  # inside a session, pyspark converts it (ParseException)
        message = (str(exc).strip().splitlines() or ["syntax error"])[0]
        return f"invalid SQL predicate: {message}"
    known = {c.lower() for c in columns} if columns else None
    stack = [expr]
    while stack:
        node = stack.pop()
        name = node.getClass().getSimpleName()
        if name in _SUBQUERY_NODES:
            return "a policy predicate may not contain a subquery (it may read only the source's own columns)"
        if name == "UnresolvedFunction":
            parts = [str(p) for p in _seq(node.nameParts())]
            fn = parts[-1].lower()
            if len(parts) > 1 or fn in FORBIDDEN_FUNCTIONS:
                return f"function {'.'.join(parts)}() is not allowed in a policy predicate"
        if name == "UnresolvedAttribute":
            parts = [str(p) for p in _seq(node.nameParts())]
            if len(parts) != 1:
                return f"column {'.'.join(parts)} is qualified; a policy predicate reads only its source's columns"
            if known is not None and parts[0].lower() not in known:
                return f"unknown column '{parts[0]}'; the data dictionary has: {', '.join(sorted(columns or ()))}"
        if name in ("UnresolvedStar", "UnresolvedRegex"):
            return "a policy predicate may not use '*'"
        stack.extend(_seq(node.children()))
    return None


def register(registry: checkers.CheckerRegistry | None = None) -> None:
    """Make Spark's parser and Java's regex the default checkers of ``registry`` (default: the process's).

    The ``immuta_spark.checkers`` entry point names this hook; the core loads it without naming
    the Spark layer.
    """
    (registry or checkers.REGISTRY).register(sql=check_predicate, regex=check_regex)


def _seq(scala_seq: Any) -> list[Any]:
    size = scala_seq.size()
    return [scala_seq.apply(i) for i in range(size)]
