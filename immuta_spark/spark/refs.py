"""Finding every table a SQL statement references, with Spark's own parser on the live session.

Two views of the parsed plan are combined: one ``toJSON()`` round trip lists every
identifier anywhere in the statement (command targets included), and a walk over the plan
(children, CTE definitions, expression subqueries) finds the relation references that can be
rewritten, with their exact position in the text. A governed identifier the walk did not
find is "untracked": the statement reaches it by a path we do not rewrite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FILE_FORMATS", "Parsed", "Reference", "parse_statement", "scala_seq"]

#: ``format.`path``` references Spark reads as files.
FILE_FORMATS = frozenset({"parquet", "orc", "csv", "json", "text", "avro", "binaryfile"})
_IDENTIFIER_NODES = (
    "UnresolvedRelation",
    "UnresolvedTable",
    "UnresolvedTableOrView",
    "UnresolvedView",
    "UnresolvedIdentifier",
)
_SUBQUERY_MARKERS = ("Subquery", "ListQuery", "Exists", "LateralSubquery")


@dataclass(frozen=True, slots=True)
class Reference:
    """A rewritable relation reference and where it stands in the SQL text."""

    parts: tuple[str, ...]
    start: int
    stop: int
    line: int | None
    pos: int | None
    aliased: bool


@dataclass(slots=True)
class Parsed:
    """A parsed statement."""

    sql: str
    plan: Any
    root: str
    references: list[Reference] = field(default_factory=list)
    cte_references: list[tuple[str, ...]] = field(default_factory=list)
    identifiers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)


def scala_seq(seq: Any) -> list[Any]:
    """A Scala Seq as a Python list (one py4j call per element)."""
    return [seq.apply(i) for i in range(seq.size())]


def _parts(text: str) -> tuple[str, ...]:
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return tuple(p for p in inner.split(", ")) if inner else ()


def _scan_json(value: Any, parsed: Parsed) -> None:
    """Collect every identifier node and class name anywhere in the JSON tree."""
    if isinstance(value, dict):
        cls = value.get("class")
        if isinstance(cls, str):
            simple = cls.rsplit(".", 1)[-1]
            parsed.classes.add(simple)
            ident = value.get("multipartIdentifier") or value.get("nameParts")
            if simple in _IDENTIFIER_NODES and isinstance(ident, str):
                parsed.identifiers.append((simple, _parts(ident)))
            elif simple in ("CacheTable", "UncacheTable") and isinstance(ident, str):
                parsed.identifiers.append((simple, _parts(ident)))
        for v in value.values():
            if isinstance(v, dict | list):
                _scan_json(v, parsed)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                _scan_json(v, parsed)


def parse_statement(jsession: Any, sql: str) -> Parsed:
    """Parse ``sql`` with the session's parser and find its table references.

    Raises pyspark's ``ParseException`` for text Spark cannot parse (the user's own error).
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import convert_exception

    try:
        plan = jsession.sessionState().sqlParser().parsePlan(sql)
    except Py4JJavaError as exc:
        raise convert_exception(exc.java_exception) from None
    parsed = Parsed(sql=sql, plan=plan, root=plan.getClass().getSimpleName())
    _scan_json(json.loads(plan.toJSON()), parsed)
    with_subqueries = any(any(m in c for m in _SUBQUERY_MARKERS) for c in parsed.classes)
    start = plan.logicalPlan() if parsed.root == "ExplainCommand" else plan
    _walk(start, frozenset(), False, with_subqueries, parsed)
    return parsed


def _walk(node: Any, ctes: frozenset[str], aliased: bool, subqueries: bool, parsed: Parsed) -> None:
    cls = node.getClass().getSimpleName()
    if cls == "UnresolvedRelation":
        parts = tuple(str(p) for p in scala_seq(node.multipartIdentifier()))
        if len(parts) == 1 and parts[0].lower() in ctes:
            parsed.cte_references.append(parts)
            return
        origin = node.origin()
        start, stop = origin.startIndex(), origin.stopIndex()
        line, pos = origin.line(), origin.startPosition()
        if start.isDefined() and stop.isDefined():
            parsed.references.append(
                Reference(
                    parts=parts,
                    start=int(start.get()),
                    stop=int(stop.get()),
                    line=int(line.get()) if line.isDefined() else None,
                    pos=int(pos.get()) if pos.isDefined() else None,
                    aliased=aliased,
                )
            )
        return
    if cls == "UnresolvedWith":
        definitions = scala_seq(node.cteRelations())
        scope = ctes | {str(d._1()).lower() for d in definitions}
        for d in definitions:
            _walk(d._2(), scope, False, subqueries, parsed)
        _walk(node.child(), scope, False, subqueries, parsed)
        return
    for child in scala_seq(node.children()):
        _walk(child, ctes, cls == "SubqueryAlias", subqueries, parsed)
    if subqueries:
        for sub in scala_seq(node.subqueries()):
            _walk(sub, ctes, False, subqueries, parsed)
