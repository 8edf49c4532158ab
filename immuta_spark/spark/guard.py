"""The plan guard: refuse any analyzed plan that reaches a governed relation without enforcement.

Run on every plan before it is handed back. One call to the JVM helper (or one ``toJSON()``
round trip) gives the whole analyzed tree, expression subqueries included. Subtrees under a
marker this session trusts (enforcement it obtained under its current rules) are accepted;
everything else is checked leaf by leaf. A governed table reached by any other route (a
permanent view, enforcement made for other rules, a file path, an ungoverned table laid over
its storage, a directory above it) and any leaf we do not know are refused: fail closed.
Commands are checked by their queries, before they run (:func:`check_statement`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.jvm import PlanInspector, records, unescape
from immuta_spark.spark.refs import scala_seq

__all__ = ["SAFE_LEAVES", "check_plan", "check_statement"]

#: Leaves that read no governed table: literals, ranges, user-made RDDs and CTE references, and
#: the rows of a command the governed session already checked and ran (``SHOW DATABASES``,
#: ``SET``, ...), when a DataFrame it handed out for that command is transformed further.
SAFE_LEAVES = frozenset(
    {
        "LocalRelation", "OneRowRelation", "Range", "LogicalRDD", "ExternalRDD", "CTERelationRef", "EmptyRelation",
        "CommandResult",
    }
)  # fmt: skip
_TABLE_LEAVES = frozenset({"LogicalRelation", "HiveTableRelation", "DataSourceV2Relation", "DataSourceV2ScanRelation"})
MARKER_ROOT = "__immuta_"
_ANALYSIS = "org.apache.spark.sql.catalyst.analysis"
#: Leaves by which a command names what it acts on (not what it reads).
_NAMED_OBJECTS = frozenset(
    {
        "ResolvedNamespace", "ResolvedTable", "ResolvedIdentifier", "ResolvedPersistentView", "ResolvedTempView",
        "ResolvedPersistentFunc", "ResolvedNonPersistentFunc", "ResolvedFieldName", "ResolvedFieldPosition",
        "ResolvedDBObjectName", "ResolvedProcedure",
    }
)  # fmt: skip


def _simple(node: dict[str, Any]) -> str:
    return str(node.get("class", "")).rsplit(".", 1)[-1]


def _identifier(node: dict[str, Any]) -> tuple[str, str] | None:
    """(database, table) of a table leaf, when the JSON names it."""
    for key in ("catalogTable", "tableMeta"):
        meta = node.get(key)
        if isinstance(meta, dict) and isinstance(meta.get("identifier"), dict):
            ident = meta["identifier"]
            return str(ident.get("database") or ""), str(ident.get("table") or "")
    ident = node.get("identifier")
    if isinstance(ident, dict) and "table" in ident:
        return str(ident.get("database") or ""), str(ident["table"])
    if isinstance(ident, str):  # DataSourceV2: "db.table"
        parts = ident.split(".")
        if len(parts) >= 2:
            return parts[-2], parts[-1]
    return None


def check_plan(
    jplan: Any,
    *,
    trusted: frozenset[str],
    governed_table: Callable[[str, str], str | None],
    governed_path: Callable[[str], str | None],
    inspector: PlanInspector | None = None,
) -> int:
    """Walk an analyzed plan; raise :class:`UnenforcedPathError` if governed data is unenforced.

    With ``inspector`` (the JVM helper) the plan is described in one call; without it, by
    ``toJSON()`` and a py4j walk. Both descriptions go through the same checks.

    ``trusted`` names the enforced subtrees (aliases and views) this session obtained under its
    current rules; a subtree marked with :data:`MARKER_ROOT` and not trusted is refused as foreign.
    ``governed_table(db, table)`` and ``governed_path(path)`` describe the governing source for
    the error message (without naming a source the user may not see), or return None. Returns
    the number of enforced subtrees seen.
    """
    if inspector is not None:
        return _check_lines(inspector.guard_lines(jplan, MARKER_ROOT), trusted, governed_table, governed_path)
    nodes = json.loads(jplan.toJSON())
    state = {"enforced": 0, "file_relations": 0}
    _visit_plan(nodes, trusted, governed_table, state)
    if state["file_relations"]:
        _refuse_storage(_storage_paths(jplan, trusted), governed_path)
    return state["enforced"]


def _refuse_storage(paths: list[str], governed_path: Callable[[str], str | None]) -> None:
    """Path reads and ungoverned tables may not sit on (or above) a governed table's storage."""
    for path in paths:
        source = governed_path(path)
        if source is not None:
            raise UnenforcedPathError(
                f"this query reads files of {source} ({path}) directly; "
                "read the table through the governed session instead (session.table or SQL on its name)"
            )


def _refuse_governed(governed_table: Callable[[str, str], str | None], db: str, table: str) -> None:
    source = governed_table(db, table)
    if source is not None:
        raise UnenforcedPathError(
            f"{source} is reached without enforcement "
            "(through a permanent view, a cached relation or another session); query the table itself"
        )


def _foreign(name: str) -> UnenforcedPathError:
    return UnenforcedPathError(
        f"this plan holds data enforced for another user, project or policy version ({name}); "
        "read the tables again through your own governed session"
    )


def _unknown(cls: str) -> UnenforcedPathError:
    return UnenforcedPathError(f"the plan contains a {cls} node, which the governed session does not know; refused")


def _check_lines(
    text: str,
    trusted: frozenset[str],
    governed_table: Callable[[str, str], str | None],
    governed_path: Callable[[str], str | None],
) -> int:
    """The checks of :func:`check_plan` over the JVM helper's description of a plan."""
    enforced = 0
    storage: list[str] = []
    for raw in records(text):
        fields = [unescape(f) for f in raw]
        if fields[0] == "M":
            if fields[1] in trusted:
                enforced += 1
                continue
            raise _foreign(fields[1])
        cls = fields[1]
        db, table = (fields[2], fields[3]) if len(fields) >= 4 else ("", "")
        if cls in SAFE_LEAVES:
            continue
        if cls not in _TABLE_LEAVES:
            raise _unknown(cls)
        if table:
            _refuse_governed(governed_table, db, table)
        elif cls != "LogicalRelation":
            raise UnenforcedPathError(f"cannot tell which table a {cls} reads; refused (fail closed)")
        storage.extend(fields[4:])
    _refuse_storage(storage, governed_path)
    return enforced


def check_statement(jplan: Any, check: Callable[[Any], object], is_command: Callable[[Any], bool]) -> None:
    """Check an analyzed statement before it runs: a query as a whole, a command by its queries.

    Commands run when they are analyzed, so their queries (CTAS, INSERT ... SELECT, SET VAR,
    INSERT OVERWRITE DIRECTORY, CACHE ... AS SELECT, views) must be checked from a plan analyzed
    without running it. A command's queries hang off its children and inner children.
    """
    if not is_command(jplan):
        check(jplan)
        return
    for plan in [*scala_seq(jplan.children()), *scala_seq(jplan.innerChildren())]:
        cls = plan.getClass()
        if cls.getPackage().getName() == _ANALYSIS and cls.getSimpleName() in _NAMED_OBJECTS:
            continue  # a command's resolved target (a table, view, namespace): it reads no rows
        check_statement(plan, check, is_command)


def _visit_plan(
    nodes: list[dict[str, Any]],
    trusted: frozenset[str],
    governed_table: Callable[[str, str], str | None],
    state: dict[str, int],
) -> None:
    index = 0
    while index < len(nodes):
        index = _visit(nodes, index, trusted, governed_table, state)


def _skip(nodes: list[dict[str, Any]], index: int) -> int:
    """The index after the subtree rooted at ``index``."""
    pending = 1
    while pending:
        pending += int(nodes[index].get("num-children", 0)) - 1
        index += 1
    return index


def _visit(
    nodes: list[dict[str, Any]],
    index: int,
    trusted: frozenset[str],
    governed_table: Callable[[str, str], str | None],
    state: dict[str, int],
) -> int:
    node = nodes[index]
    cls = _simple(node)
    if cls == "SubqueryAlias":
        name = str((node.get("identifier") or {}).get("name", ""))
        if name in trusted:
            state["enforced"] += 1
            return _skip(nodes, index)
        if name.startswith(MARKER_ROOT):
            raise _foreign(name)
    for value in node.values():
        _visit_nested(value, trusted, governed_table, state)
    children = int(node.get("num-children", 0))
    if children == 0:
        _check_leaf(node, cls, governed_table, state)
    index += 1
    for _ in range(children):
        index = _visit(nodes, index, trusted, governed_table, state)
    return index


def _visit_nested(
    value: Any, trusted: frozenset[str], governed_table: Callable[[str, str], str | None], state: dict[str, int]
) -> None:
    """Subquery plans hang inside expressions as nested node lists under "plan"."""
    if isinstance(value, dict):
        plan = value.get("plan")
        if isinstance(plan, list) and plan and isinstance(plan[0], dict) and "class" in plan[0]:
            _visit_plan(plan, trusted, governed_table, state)
        for v in value.values():
            if isinstance(v, dict | list):
                _visit_nested(v, trusted, governed_table, state)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                _visit_nested(v, trusted, governed_table, state)


def _check_leaf(
    node: dict[str, Any], cls: str, governed_table: Callable[[str, str], str | None], state: dict[str, int]
) -> None:
    if cls in SAFE_LEAVES:
        return
    if cls in _TABLE_LEAVES:
        ident = _identifier(node)
        if ident is None:
            if cls == "LogicalRelation":
                state["file_relations"] += 1  # a path read: its paths are checked afterwards
                return
            raise UnenforcedPathError(f"cannot tell which table a {cls} reads; refused (fail closed)")
        _refuse_governed(governed_table, *ident)
        state["file_relations"] += 1  # an ungoverned table: its storage is checked afterwards
        return
    raise _unknown(cls)


def _storage_paths(jplan: Any, trusted: frozenset[str]) -> list[str]:
    """Storage of every table and file relation outside this session's enforced subtrees.

    Subqueries included; a py4j walk, run only when the plan holds such relations.
    """
    paths: list[str] = []
    stack = [jplan]
    while stack:
        node = stack.pop()
        cls = node.getClass().getSimpleName()
        if cls == "SubqueryAlias" and str(node.alias()) in trusted:
            continue
        if cls == "LogicalRelation":
            relation = node.relation()
            if relation.getClass().getSimpleName() == "HadoopFsRelation":
                paths.extend(str(p.toString()) for p in scala_seq(relation.location().rootPaths()))
            elif node.catalogTable().isDefined():
                paths.append(str(node.catalogTable().get().location().toString()))
            else:
                paths.append(f"<{relation.getClass().getSimpleName()}>")
        elif cls == "HiveTableRelation":
            paths.append(str(node.tableMeta().location().toString()))
        stack.extend(scala_seq(node.children()))
        stack.extend(scala_seq(node.subqueries()))
    return paths
