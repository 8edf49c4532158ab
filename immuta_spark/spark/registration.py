"""A write of governed data is governed too: its table is registered as a derived source, or the write is refused.

Issue 10, item 8. The governed writers (:mod:`immuta_spark.spark.writers`) and the governed
session's ``CREATE TABLE ... AS SELECT`` / ``INSERT ... SELECT`` hand each write here twice:
:func:`before` (after the writer's own checks, before any data moves) reads the written plan's
lineage (:mod:`immuta_spark.spark.lineage`) and registers the target
(:meth:`~immuta_spark.catalog.GovernanceCatalog.register_governed_write`) before any data moves,
or refuses the write: a new table is governed from the moment it exists, one governed already
has its inheritance widened. :func:`after` narrows an overwrite's inheritance to the new data's
once written; :func:`failed` takes back a registration whose write did not happen. What
cannot be registered is refused with advice: a path, a JDBC table or any other target that is
not a table of the metastore (unless it is the storage of a governed source the writer owns,
written from that source alone), data from other governed sources into a governed source of its
own, and columns that are not plain names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from immuta_spark.spark.enforce import Enforcer
from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.lineage import Lineage, analyzed_lineage, plan_lineage
from immuta_spark.spark.names import name_parts

__all__ = [
    "PendingWrite",
    "after",
    "before",
    "before_command",
    "failed",
    "in_workspace",
    "qualified_table",
    "refuse_unplain_names",
]

_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A checked write of governed data: what to register once the data is written."""

    table: str
    lineage: Lineage
    columns: tuple[tuple[str, str], ...]
    append: bool
    creates: bool
    #: An overwrite of a table governed already: registered widened, narrowed once written.
    narrow: bool = False
    #: The derived source registered for the table (None: a governed source of its own).
    name: str | None = None


def qualified_table(enforcer: Enforcer, name: str) -> str:
    """``db.table`` of a table name as the session resolves it (the current database when unqualified)."""
    parts = name_parts(name)
    if len(parts) == 1:
        return f"{enforcer.spark.catalog.currentDatabase()}.{parts[0]}"
    return ".".join(parts[-2:])


def before(
    session: SessionInternals,
    jdf: Any,
    schema: Any,
    *,
    table: str | None,
    append: bool,
    governed_targets: Collection[str] = (),
    keep_existing: bool = False,
    path: str | None = None,
) -> PendingWrite | None:
    """Check a DataFrame write of ``jdf`` (inside the statement's pinned snapshot); what to register after it.

    ``table`` is the metastore table written (None: a path, JDBC or another system), ``path``
    the path written when it is a path;
    ``governed_targets`` the governed sources whose storage the writer's own checks found it
    writes (as their owner); ``keep_existing``: the write leaves an existing table alone (mode
    ``ignore``). Raises with advice when the write could not be registered.
    """
    enforcer = session._enforcer
    lineage = plan_lineage(enforcer, jdf)
    columns = tuple((f.name, f.dataType.simpleString()) for f in schema.fields)
    if in_workspace(enforcer, table=table, path=path):
        return None
    return _check(enforcer, lineage, columns, table, append, governed_targets, keep_existing)


def in_workspace(enforcer: Enforcer, *, table: str | None, path: str | None) -> bool:
    """Whether the write goes into the workspace of the project the user acts under (enabled).

    Seed: members "use the SparkSQL session to copy data into the workspace", and what they copy
    is "already compliant with the restrictions of the equalized project": the session enforces
    every read as the project's equalized entitlement. So such a write is neither registered as
    a derived source (members expose one explicitly) nor refused; HDFS lets only members acting
    under the project reach the directory. A write there while not acting under the project is
    checked as any other write.
    """
    project = enforcer.project
    if project is None:
        return False
    record = enforcer.acting().workspace(project)
    if record is None or record.state != "enabled":
        return False
    if table is not None:
        return qualified_table(enforcer, table).split(".", 1)[0].lower() == record.hive_database.lower()
    if path is None:
        return False
    target = enforcer.qualify(path).rstrip("/")
    return any(target == base or target.startswith(base + "/") for base in (record.uri.rstrip("/"), record.path))


def before_command(enforcer: Enforcer, analyzed: Any, governed_targets: Collection[str]) -> PendingWrite | None:
    """:func:`before` for a SQL command (CTAS, ``INSERT ... SELECT``, ``INSERT OVERWRITE DIRECTORY``), not run yet.

    Commands that copy nothing (a view, whose body is enforced for whoever reads it; a session's
    cache or variable) are left alone; any other command whose query reads governed data is a
    write that must be registered, or is refused.
    """
    kind = analyzed.getClass().getSimpleName()
    if kind in _NOT_COPIES or not enforcer.command_class().isInstance(analyzed):
        return None  # a query that is not a plain one (HAVING at the top, ...): it writes nothing
    query = _command_query(analyzed)
    if query is None:
        return None
    lineage = analyzed_lineage(enforcer, query)
    if not lineage.sources:
        return None
    table, append, keep = _command_target(analyzed, kind)
    if table is not None and in_workspace(enforcer, table=table, path=None):
        return None
    if table is None and kind not in _PATH_COMMANDS:
        raise EnforcementError(
            f"a {kind} of governed data cannot be registered as a derived data source, so it is refused; "
            "write the data with CREATE TABLE ... AS SELECT or INSERT INTO a table instead"
        )
    fields = query.schema().fields()
    columns = tuple((str(f.name()), str(f.dataType().simpleString())) for f in fields)
    return _check(enforcer, lineage, columns, table, append, governed_targets, keep)


#: Commands whose query leaves no copy behind that others read without the policies.
_NOT_COPIES = frozenset(
    {
        "CreateViewCommand",
        "AlterViewAsCommand",
        "CacheTableAsSelect",
        "CacheTableCommand",
        "SetVariable",
        "ExplainCommand",
        "DescribeQueryCommand",
    }
)
_PATH_COMMANDS = ("InsertIntoDataSourceDirCommand", "InsertIntoHiveDirCommand", "InsertIntoHadoopFsRelationCommand")


def _command_query(analyzed: Any) -> Any:
    """The query a write command runs: its child, or its inner child (CTAS)."""
    kids = analyzed.children()
    if kids.size() == 1:
        return kids.apply(0)
    inner = analyzed.innerChildren()
    return inner.apply(0) if kids.size() == 0 and inner.size() == 1 else None


def _command_target(analyzed: Any, kind: str) -> tuple[str | None, bool, bool]:
    """(the metastore table a command writes, whether it appends, whether it keeps an existing table)."""
    if kind in (
        "CreateDataSourceTableAsSelectCommand",
        "CreateHiveTableAsSelectCommand",
        "OptimizedCreateHiveTableAsSelectCommand",
    ):
        desc = analyzed.table() if kind == "CreateDataSourceTableAsSelectCommand" else analyzed.tableDesc()
        mode = str(analyzed.mode().toString())
        return _identifier(desc.identifier()), mode == "Append", mode == "Ignore"
    if kind == "InsertIntoHadoopFsRelationCommand":
        table = analyzed.catalogTable()
        name = _identifier(table.get().identifier()) if table.isDefined() else None
        return name, str(analyzed.mode().toString()) != "Overwrite", False
    if kind == "InsertIntoHiveTable":
        return _identifier(analyzed.table().identifier()), not bool(analyzed.overwrite()), False
    return None, True, False


def _identifier(ident: Any) -> str:
    database = ident.database()
    return f"{database.get()}.{ident.table()}" if database.isDefined() else str(ident.table())


def refuse_unplain_names(columns: Sequence[str], table: str) -> None:
    """Refuse columns or a table name that a derived source cannot be registered with (not plain words)."""
    bad = [name for name in columns if not _WORD.match(name)]
    if bad or not all(_WORD.match(p) for p in name_parts(table)[-2:]):
        what = f"column {bad[0]!r}" if bad else f"table name {table!r}"
        raise EnforcementError(
            f"the {what} is not a plain name (letters, digits, underscores), so the written data cannot be "
            "registered as a derived data source: alias the column (`... AS name`) or rename the table"
        )


def _check(
    enforcer: Enforcer,
    lineage: Lineage,
    columns: tuple[tuple[str, str], ...],
    table: str | None,
    append: bool,
    governed_targets: Collection[str],
    keep_existing: bool,
) -> PendingWrite | None:
    if not lineage.sources:
        return None
    read = sorted(lineage.sources)
    if table is None:
        others = [s for s in read if s not in governed_targets]
        if governed_targets and not others:
            return None  # an owner rewriting its own source's storage from that source
        raise EnforcementError(
            f"this write holds data of the governed source(s) {', '.join(map(repr, read))}, and a path or "
            "another system's table cannot be registered as a derived data source, so its readers would see "
            "that data without its policies: write it to a table instead (df.write.saveAsTable(...), "
            "CREATE TABLE ... AS SELECT), which is registered as a derived source at once"
        )
    refuse_unplain_names([name for name, _ in columns], table)
    qualified = qualified_table(enforcer, table)
    exists = bool(enforcer.spark.catalog.tableExists(qualified))
    if exists and keep_existing:
        return None
    governed = exists and enforcer.acting().snapshot().by_table.get(qualified.lower()) is not None
    pending = PendingWrite(qualified, lineage, columns, append, creates=not exists, narrow=governed and not append)
    # Registered before any data moves (the catalog's checks refuse here, nothing written), so that
    # no one ever reads the new rows ungoverned or under the old inheritance: a table governed
    # already has its inheritance widened (its parents and the new data's), which an overwrite
    # narrows to the new data's alone once written (after); a write that then fails takes a new
    # registration back (failed).
    return replace(pending, name=_register(enforcer, pending, append=governed))


def failed(enforcer: Enforcer, pending: PendingWrite | None) -> None:
    """The write did not happen: take back the registration of a table it was to create."""
    if pending is None or pending.name is None or not pending.creates:
        return
    if not enforcer.spark.catalog.tableExists(pending.table):
        enforcer.acting().delete_derived_source(pending.name)


def _register(enforcer: Enforcer, pending: PendingWrite, *, append: bool) -> str | None:
    lineage = {name: sorted(pairs) for name, pairs in pending.lineage.columns}
    return enforcer.acting().register_governed_write(
        pending.table, read=pending.lineage.sources, lineage=lineage, columns=list(pending.columns), append=append
    )


def after(enforcer: Enforcer, pending: PendingWrite | None) -> str | None:
    """The write happened: narrow an overwrite's inheritance to the new data's; the derived source's name."""
    if pending is None:
        return None
    name = _register(enforcer, pending, append=False) if pending.narrow else pending.name
    enforcer.snapshot()
    return name
