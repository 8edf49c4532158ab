"""Checks governor-written SQL predicates with Spark's own parser (never a regex).

A policy predicate may read only the source's own columns: no subqueries (they could read
other tables), no non-deterministic or identity functions (rows would differ between runs or
the JVM's user would be tested instead of ours), no reflection into the JVM. The checks walk the
tree Spark's parser builds; a bare ``current_user``, ``user`` or ``session_user`` parses as a
column reference that Spark's analyzer turns into the identity function when the table has no
such column, so it is refused unless the source's dictionary declares that column. The pure
fallback (:mod:`immuta_spark.sqlpredicate`) refuses the same forms with the same words, and its
size limits run first here too, so no predicate makes this walk (a py4j call per node) slow.
"""

from __future__ import annotations

from typing import Any

from immuta_spark import checkers
from immuta_spark.sqlpredicate import (
    FORBIDDEN_FUNCTIONS,
    IDENTITY_NAMES,
    check_limits,
    identity_message,
    not_allowed,
)

__all__ = ["FORBIDDEN_FUNCTIONS", "check_predicate", "check_regex", "register"]

_SUBQUERY_NODES = frozenset(
    {
        "ScalarSubquery",
        "Exists",
        "ListQuery",
        "InSubquery",
        "LateralSubquery",
        "FunctionTableSubqueryArgumentExpression",
    }
)
#: Parsed forms refused whatever they hold: they name a column or function only at analysis, or
#: are not a row predicate at all.
_REFUSED_NODES = {
    "ExpressionWithUnresolvedIdentifier": "IDENTIFIER(...)",
    "UnresolvedWindowExpression": "a window function (OVER)",
    "WindowExpression": "a window function (OVER)",
    "NamedParameter": "a parameter marker",
    "PosParameter": "a parameter marker",
}

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

    problem = check_limits(sql)
    if problem:
        return problem
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
        if name in _REFUSED_NODES:
            return not_allowed(_REFUSED_NODES[name])
        if name == "CurrentUser":  # a reserved keyword under spark.sql.ansi.enforceReservedKeywords
            return identity_message(str(node.prettyName()))
        if name == "UnresolvedFunction":
            parts = [str(p) for p in _seq(node.nameParts())]
            fn = parts[-1].lower()
            if len(parts) > 1 or fn in FORBIDDEN_FUNCTIONS:
                return not_allowed(f"function {'.'.join(parts)}()")
        if name == "UnresolvedAttribute":
            parts = [str(p) for p in _seq(node.nameParts())]
            if len(parts) != 1:
                return f"column {'.'.join(parts)} is qualified; a policy predicate reads only its source's columns"
            if parts[0].lower() in IDENTITY_NAMES and (known is None or parts[0].lower() not in known):
                return identity_message(parts[0])
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
