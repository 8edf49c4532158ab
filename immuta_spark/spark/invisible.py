"""Invisible governed tables fail exactly as missing ones: Spark's own error, names put back.

A governed table the user may not see must not be told apart from one that does not exist,
whatever the statement (a query, a command, ``EXPLAIN``, ``DROP ... IF EXISTS``, a path read of
its storage, ``catalog.listColumns``). So the error is not made up: each invisible table in the
statement is replaced by a placeholder, a name that cannot exist
(:func:`~immuta_spark.spark.names.placeholder_parts`), Spark analyzes the statement without
running it, and its error (condition, message parameters, SQL state, the position the user
wrote) is raised as :class:`~immuta_spark.spark.errors.GovernedTableNotFound` with the names
put back. Where Spark finds nothing to refuse, the generic not-found is raised (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame

from immuta_spark.spark.commands import scrub_explain, skip_commands
from immuta_spark.spark.errors import GovernedTableNotFound, log_query_context, quiet_query_context_log, scrubbed
from immuta_spark.spark.names import is_path, parts_text, placeholder_parts, resolve
from immuta_spark.spark.refs import FILE_FORMATS, Parsed, Span

if TYPE_CHECKING:
    from immuta_spark.spark.enforce import Enforcer

__all__ = ["Names", "missing", "missing_like_spark"]

#: Placeholder -> (the name it stands for, the line and position the user wrote it at, if known).
Names = dict[str, tuple[str, int | None, int | None]]


def missing(enforcer: Enforcer, parsed: Parsed, invisible: set[str], args: Any) -> DataFrame:
    """Spark's own outcome for the statement with every invisible table (source names) missing."""
    spark = enforcer.spark
    spans: list[Span] = []
    for span in parsed.spans:
        cls = "UnresolvedRelation" if span.cls == "InsertIntoStatement" else span.cls
        source = resolve(enforcer, span.parts, identifier_class=cls)
        if source is not None and source.name in invisible:
            spans.append(span)
    first = next(
        (
            parts
            for cls, parts in parsed.identifiers
            if (s := resolve(enforcer, parts, identifier_class=cls)) and s.name in invisible
        ),
        (),
    )
    if not spans and parsed.root in ("DropTable", "DropView") and first:
        # DROP names its table by an identifier without a usable position: ask Spark directly.
        placeholder = placeholder_parts(first, 0)
        verb = "DROP TABLE" if parsed.root == "DropTable" else "DROP VIEW"
        text = f"{verb} {'IF EXISTS ' if parsed.plan.ifExists() else ''}" + parts_text(placeholder)
        return missing_like_spark(
            enforcer, lambda: spark.sql(text), {placeholder[-1]: (first[-1], None, None)}, first, raise_it=False
        )
    if not spans:
        raise enforcer.not_found(list(first) or [])
    sql = parsed.sql
    names: Names = {}
    for i, span in enumerate(sorted(spans, key=lambda sp: sp.start, reverse=True)):
        placeholder = placeholder_parts(span.parts, i)
        if len(span.parts) == 2 and span.parts[0].lower() in FILE_FORMATS and is_path(span.parts[1]):
            # a path read: Spark's PATH_NOT_FOUND for a path that does not exist
            names["/" + placeholder[-1]] = ("", span.line, span.pos)
            placeholder = (span.parts[0], span.parts[1].rstrip("/") + "/" + placeholder[-1])
        else:
            names[placeholder[-1]] = (span.parts[-1], span.line, span.pos)
        sql = sql[: span.start] + parts_text(placeholder) + sql[span.stop + 1 :]
    if parsed.root == "ExplainCommand":
        return missing_like_spark(
            enforcer, lambda: scrub_explain(enforcer, spark.sql(sql, args)), names, first, raise_it=False
        )
    jsession = enforcer.jsession
    jvm = spark.sparkContext._jvm
    assert jvm is not None

    def analyze() -> None:
        plan = jsession.sessionState().sqlParser().parsePlan(sql)
        jsession.sessionState().executePlan(plan, skip_commands(jvm)).analyzed()

    return missing_like_spark(enforcer, analyze, names, first)


def missing_like_spark(
    enforcer: Enforcer,
    ask: Callable[[], Any],
    names: Names,
    parts: tuple[str, ...],
    *,
    raise_it: bool = True,
) -> Any:
    """Run ``ask`` (Spark, with placeholders for invisible names) and put the names back.

    Spark's error is raised with the names put back. Without an error, the generic not-found
    is raised (fail closed), or with ``raise_it=False`` (EXPLAIN, DROP ... IF EXISTS) the result
    is returned, names put back in an EXPLAIN text.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException
    from pyspark.errors.exceptions.captured import convert_exception

    def restore(text: str) -> str:
        for placeholder, (name, _line, _pos) in names.items():
            text = text.replace(placeholder, name)
        return text

    try:
        with quiet_query_context_log():  # pyspark would log the placeholder's name
            result = ask()
    except (Py4JJavaError, AnalysisException) as exc:
        error = convert_exception(exc.java_exception) if isinstance(exc, Py4JJavaError) else exc
        if not isinstance(error, AnalysisException):
            raise enforcer.not_found(list(parts)) from None
        message = str(error)
        reported = str((error.getMessageParameters() or {}).get("relationName", message))
        for placeholder, (_name, line, pos) in names.items():
            if placeholder in reported and line is not None and pos is not None:
                # Earlier rewrites may have moved the text: report the position the user wrote.
                message = re.sub(r"; line \d+ pos \d+", f"; line {line} pos {pos}", message, count=1)
                break
        parameters = {k: restore(str(v)) for k, v in (error.getMessageParameters() or {}).items()}
        condition = error.getCondition() or "TABLE_OR_VIEW_NOT_FOUND"
        log_query_context(restore(error.getMessage()), condition)
        message = scrubbed(restore(message), enforcer.names_governed)  # as rules_errors does for Spark's own
        raise GovernedTableNotFound(
            list(parts), spark=(message, condition, parameters, error.getSqlState() or "42P01")
        ) from None
    if raise_it:
        raise enforcer.not_found(list(parts))  # Spark found nothing to refuse: fail closed
    if isinstance(result, DataFrame) and result.columns == ["plan"]:
        text = restore("\n".join(str(r[0]) for r in result.collect()))
        return enforcer.spark.createDataFrame([(text,)], "plan string")
    return result
