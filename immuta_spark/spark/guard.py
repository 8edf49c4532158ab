"""The plan guard, a second line in Python: refuse any analyzed plan that reaches a governed relation unenforced.

The analyzer rules enforce every governed relation and check the result in the JVM
(:mod:`immuta_spark.spark.governor`); this guard checks the same plan again before it is handed
back, from one call to the JVM helper that describes the whole analyzed tree, expression
subqueries included. Subtrees the rules enforced under this session's current rules are
accepted; everything else is checked leaf by leaf. A governed table reached by any other route (a
permanent view, enforcement made for other rules, a file path, an ungoverned table laid over
its storage, a directory above it) and any leaf we do not know are refused: fail closed.
Commands are checked by their queries, before they run (:func:`check_statement`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.jvm import PlanInspector, records, unescape
from immuta_spark.spark.refs import scala_seq

__all__ = ["SAFE_LEAVES", "check_dataset", "check_plan", "check_statement"]

#: Leaves that read no governed table: literals, ranges, user-made RDDs, CTE references (recursive
#: ones included), and
#: the rows of a command the governed session already checked and ran (``SHOW DATABASES``,
#: ``SET``, ...), when a DataFrame it handed out for that command is transformed further.
SAFE_LEAVES = frozenset(
    {
        "LocalRelation", "OneRowRelation", "Range", "LogicalRDD", "ExternalRDD", "CTERelationRef", "EmptyRelation",
        "UnionLoopRef",
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


def check_plan(
    jplan: Any,
    *,
    stamp_prefix: str,
    governed_table: Callable[[str, str], str | None],
    governed_path: Callable[[str], str | None],
    inspector: PlanInspector,
) -> list[str]:
    """Walk an analyzed plan; raise :class:`UnenforcedPathError` if governed data is unenforced.

    The JVM helper describes the plan in one call. An enforced subtree stamped with
    ``stamp_prefix`` (the rules this session enforces now) is accepted; one stamped otherwise, or
    a subtree aliased with :data:`MARKER_ROOT`, is refused as foreign. ``governed_table(db, table)``
    and ``governed_path(path)`` describe the governing source for the error message (without
    naming a source the user may not see), or return None. Returns the enforced sources' names.
    """
    return _check_lines(inspector.guard_lines(jplan, MARKER_ROOT), stamp_prefix, governed_table, governed_path)


def check_dataset(
    jdf: Any,
    *,
    stamp_prefix: str,
    governed_table: Callable[[str, str], str | None],
    governed_path: Callable[[str], str | None],
    inspector: PlanInspector,
) -> list[str]:
    """:func:`check_plan` of a JVM DataFrame's analyzed plan, reached inside the JVM (one py4j call, not three)."""
    return _check_lines(inspector.guard_dataset_lines(jdf, MARKER_ROOT), stamp_prefix, governed_table, governed_path)


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
    stamp_prefix: str,
    governed_table: Callable[[str, str], str | None],
    governed_path: Callable[[str], str | None],
) -> list[str]:
    """The checks of :func:`check_plan` over the JVM helper's description of a plan."""
    enforced: list[str] = []
    storage: list[str] = []
    for raw in records(text):
        fields = [unescape(f) for f in raw]
        if fields[0] == "E":
            if not fields[1].startswith(stamp_prefix):
                raise _foreign("enforced under other rules")
            enforced.append(fields[1][len(stamp_prefix) :])
            continue
        if fields[0] == "M":
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
