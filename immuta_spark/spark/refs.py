"""Finding every table a SQL statement references, with Spark's own parser on the live session.

Two views of the parsed plan are combined: one ``toJSON()`` round trip lists every
identifier anywhere in the statement (command targets included), and a walk over the plan
(children, CTE definitions, expression subqueries) finds the relation references that can be
rewritten, with their exact position in the text. A governed identifier the walk did not
find is "untracked": the statement reaches it by a path we do not rewrite.

The parse, the scan of the plan's JSON tree and the walk run in the JVM helper (two py4j
calls) when it is loaded, else node by node over py4j; both give the same answer
(``tests/spark/test_refs.py`` checks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.spark.jvm import PlanInspector, records, unescape

__all__ = ["FILE_FORMATS", "Parsed", "Reference", "Span", "parse_statement", "scala_seq"]

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
    #: Where an alias may follow the reference: after a TABLESAMPLE clause, else after the name.
    alias_at: int = -1


@dataclass(frozen=True, slots=True)
class Span:
    """Where an identifier of any kind (a read, a command's target) stands in the SQL text."""

    cls: str
    parts: tuple[str, ...]
    start: int
    stop: int
    line: int | None
    pos: int | None


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
    spans: list[Span] = field(default_factory=list)
    #: Storage paths a command names (LOCATION, LOAD DATA INPATH, SET LOCATION).
    locations: list[str] = field(default_factory=list)
    #: Whether any name or text in the statement (table, alias, CTE, view) uses ``reserved``.
    uses_reserved: bool = False
    #: Lower-case names of the functions the statement calls (last name part).
    functions: set[str] = field(default_factory=set)

    def tree_string(self) -> str:
        """The parsed plan as Spark prints it (for errors that mimic Spark's)."""
        return str(self.plan.treeString())


def scala_seq(seq: Any) -> list[Any]:
    """A Scala Seq as a Python list (one py4j call per element)."""
    return [seq.apply(i) for i in range(seq.size())]


def _parts(text: str) -> tuple[str, ...]:
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return tuple(p for p in inner.split(", ")) if inner else ()


def _scan_json(value: Any, parsed: Parsed, reserved: str = "") -> None:
    """Collect every identifier node and class name anywhere in the JSON tree.

    Also notes any string that contains ``reserved``: an alias, CTE or view named with the
    session's reserved prefix could pass for one of its enforced subtrees.
    """
    if isinstance(value, str):
        if reserved and reserved in value.lower():
            parsed.uses_reserved = True
        return
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
            elif simple == "UnresolvedFunction" and isinstance(value.get("nameParts"), str):
                names = _parts(value["nameParts"])
                if names:
                    parsed.functions.add(names[-1].lower())
            for key in ("location", "path", "locationUri"):
                if isinstance(value.get(key), str) and value[key]:
                    parsed.locations.append(value[key])
        for v in value.values():
            _scan_json(v, parsed, reserved)
    elif isinstance(value, list):
        for v in value:
            _scan_json(v, parsed, reserved)


def parse_statement(jsession: Any, sql: str, reserved: str = "", inspector: PlanInspector | None = None) -> Parsed:
    """Parse ``sql`` with the session's parser and find its table references.

    ``reserved`` is a lower-case name prefix the statement may not use anywhere
    (:attr:`Parsed.uses_reserved`). ``inspector``, the JVM helper, parses and describes the
    plan in two calls (the same scan of the plan's JSON tree, and the same walk).

    Raises pyspark's ``ParseException`` for text Spark cannot parse (the user's own error).
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import convert_exception

    try:
        if inspector is not None:
            plan = inspector.parse(jsession, sql)
        else:
            plan = jsession.sessionState().sqlParser().parsePlan(sql)
    except Py4JJavaError as exc:
        raise convert_exception(exc.java_exception) from None
    if inspector is not None:
        return _read_description(inspector.describe_lines(plan, reserved.lower()), sql, plan)
    parsed = Parsed(sql=sql, plan=plan, root=plan.getClass().getSimpleName())
    _scan_json(json.loads(plan.toJSON()), parsed, reserved.lower())
    with_subqueries = any(any(m in c for m in _SUBQUERY_MARKERS) for c in parsed.classes)
    if parsed.root == "ExplainCommand":
        start = plan.logicalPlan()
    elif parsed.root == "DescribeQueryCommand":
        start = plan.plan()
    else:
        start = plan
    _walk(start, frozenset(), False, with_subqueries, parsed)
    return parsed


def _read_description(text: str, sql: str, plan: Any) -> Parsed:
    """The JVM helper's ``describe`` into a :class:`Parsed`, exactly as the py4j scan and walk fill it."""
    lines = records(text)
    if not lines or lines[0][0] != "T":  # the helper and this reader come from one release
        raise ValueError("unexpected description from the JVM helper: no root class")
    parsed = Parsed(sql=sql, plan=plan, root=unescape(lines[0][1]))
    walk: list[list[str]] = []
    for kind, *fields in lines[1:]:
        if kind == "K":
            parsed.classes.add(unescape(fields[0]))
        elif kind == "I":
            parsed.identifiers.append((unescape(fields[0]), _parts(unescape(fields[1]))))
        elif kind == "F":
            names = _parts(unescape(fields[0]))
            if names:
                parsed.functions.add(names[-1].lower())
        elif kind == "P":
            parsed.locations.append(unescape(fields[0]))
        elif kind == "U":
            parsed.uses_reserved = True
        else:
            walk.append([kind, *fields])
    _read_walk_records(walk, parsed)
    return parsed


def _read_walk_records(lines: list[list[str]], parsed: Parsed) -> None:
    """The JVM helper's walk (``walkLines``) into ``parsed``, exactly as :func:`_walk` fills it."""

    def number(field: str) -> int | None:
        return int(field) if field else None

    for kind, *fields in lines:
        parts = tuple(unescape(p) for p in fields[-1].split("\x02")) if fields[-1] else ()
        if kind == "C":
            parsed.cte_references.append(parts)
        elif kind == "S":
            cls, start, stop, at_line, pos = unescape(fields[0]), *fields[1:5]
            parsed.spans.append(Span(cls, parts, int(start), int(stop), number(at_line), number(pos)))
        elif kind == "R":
            start, stop, at_line, pos, aliased, alias_at = fields[:6]
            parsed.references.append(
                Reference(
                    parts=parts,
                    start=int(start),
                    stop=int(stop),
                    line=number(at_line),
                    pos=number(pos),
                    aliased=aliased == "1",
                    alias_at=int(alias_at),
                )
            )
        else:  # the helper and this reader come from one release: anything else is a bug
            raise ValueError(f"unexpected line from the JVM helper's walk: {kind!r}")


def _origin(node: Any) -> tuple[int, int, int | None, int | None] | None:
    """(start, stop, line, position) of a parsed node in the SQL text, when the parser kept it."""
    origin = node.origin()
    start, stop = origin.startIndex(), origin.stopIndex()
    if not (start.isDefined() and stop.isDefined()):
        return None
    line, pos = origin.line(), origin.startPosition()
    return (
        int(start.get()),
        int(stop.get()),
        int(line.get()) if line.isDefined() else None,
        int(pos.get()) if pos.isDefined() else None,
    )


def _walk(node: Any, ctes: frozenset[str], aliased: bool, subqueries: bool, parsed: Parsed, alias_at: int = -1) -> None:
    cls = node.nodeName()  # the class's simple name, in one py4j call
    if cls == "UnresolvedRelation":
        parts = tuple(str(p) for p in scala_seq(node.multipartIdentifier()))
        if len(parts) == 1 and parts[0].lower() in ctes:
            parsed.cte_references.append(parts)
            return
        where = _origin(node)
        if where is None:
            return
        parsed.spans.append(Span(cls, parts, *where))
        if not node.options().isEmpty():
            return  # WITH (options) on a table: not rewritable, so an untracked reference (refused)
        start, stop, line, pos = where
        parsed.references.append(
            Reference(
                parts=parts,
                start=start,
                stop=stop,
                line=line,
                pos=pos,
                aliased=aliased,
                alias_at=alias_at if alias_at >= 0 else stop,
            )
        )
        return
    if cls in _IDENTIFIER_NODES:  # a command's target: its place in the text, for errors
        ident = node.multipartIdentifier() if cls != "UnresolvedIdentifier" else node.nameParts()
        where = _origin(node)
        if where is not None and cls != "UnresolvedIdentifier":  # that one's origin is the whole statement
            parsed.spans.append(Span(cls, tuple(str(p) for p in scala_seq(ident)), *where))
        return
    if cls == "UnresolvedWith":
        # A definition sees the definitions before it (and itself under WITH RECURSIVE), never later
        # ones: a body that names a later or its own CTE reads the table of that name.
        definitions = scala_seq(node.cteRelations())
        names = [str(d._1()).lower() for d in definitions]
        recursive = bool(node.allowRecursion())
        for i, d in enumerate(definitions):
            scope = ctes | set(names[: i + 1 if recursive else i])
            _walk(d._2(), frozenset(scope), False, subqueries, parsed)
        _walk(node.child(), ctes | set(names), False, subqueries, parsed)
        return
    if cls == "InsertIntoStatement":
        target = node.table()
        where = _origin(target) if target.getClass().getSimpleName() == "UnresolvedRelation" else None
        if where is not None:
            parts = tuple(str(p) for p in scala_seq(target.multipartIdentifier()))
            parsed.spans.append(Span("InsertIntoStatement", parts, *where))
    sample_end = -1
    if cls == "Sample":
        where = _origin(node)
        sample_end = where[1] if where is not None else -1
    for child in scala_seq(node.children()):
        if cls == "Sample":  # FROM t TABLESAMPLE (...) [alias]: the alias follows the sample clause
            _walk(child, ctes, aliased, subqueries, parsed, sample_end)
        else:
            _walk(child, ctes, cls == "SubqueryAlias", subqueries, parsed)
    if subqueries:
        for sub in scala_seq(node.subqueries()):
            _walk(sub, ctes, False, subqueries, parsed)
