"""Statements the governed session answers or checks itself: DESCRIBE, SHOW, EXPLAIN, owner-only.

The analyzer enforces every governed relation a query reads, but some statements show a
table's metadata rather than its rows, or change it:

- ``DESCRIBE`` and ``SHOW COLUMNS`` of a visible governed table give its *enforced* columns
  (masked types), with no statistics; ``SHOW TABLES``/``SHOW VIEWS`` leave out the governed
  tables the user may not see, the session's reserved names, and the raw statistics of
  ``SHOW TABLE EXTENDED``;
- ``EXPLAIN`` output has every secret lowered into a mask scrubbed;
- commands on a governed table or its storage (writes, DDL, caching, ``SHOW CREATE TABLE``,
  ...) are for the source's owners; anyone else gets a refusal that says so, or, for a table
  they may not see, the error of a missing one.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame

from immuta_spark.model import Source
from immuta_spark.spark.errors import GovernedAccessDenied, UnenforcedPathError
from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.names import resolve
from immuta_spark.spark.refs import Parsed
from immuta_spark.spark.templates import mask_comment, quoted_table

if TYPE_CHECKING:
    from immuta_spark.spark.enforce import Enforcer

__all__ = [
    "creation_database",
    "describe",
    "is_plain_query",
    "refuse_hidden_in",
    "require_owner",
    "scrub_explain",
    "show_tables",
    "skip_commands",
]

#: Parsed roots that are plain queries: analyzing them runs nothing, so they are guarded after
#: analysis. Every other statement is analyzed without running and checked first (fail closed).
_QUERY_ROOTS = frozenset(
    {
        "Project", "Aggregate", "Filter", "Sort", "Distinct", "Union", "Intersect", "Except", "Join",
        "GlobalLimit", "LocalLimit", "Offset", "Tail", "SubqueryAlias", "UnresolvedRelation",
        "UnresolvedInlineTable", "UnresolvedTableValuedFunction", "WithWindowDefinition", "Generate",
        "Pivot", "Unpivot", "RepartitionByExpression", "Repartition", "Sample", "LateralJoin",
        "UnresolvedHint", "OneRowRelation", "Range", "LocalRelation", "UnresolvedSubqueryColumnAliases",
    }
)  # fmt: skip


def is_plain_query(parsed: Parsed) -> bool:
    """Whether the statement is a query (analysis runs nothing); WITH is looked through."""
    return _under_with(parsed)[1] in _QUERY_ROOTS


def _under_with(parsed: Parsed) -> tuple[Any, str]:
    """The statement's plan and its class name, looking through WITH (``WITH ... INSERT INTO ...``)."""
    plan, root = parsed.plan, parsed.root
    while root == "UnresolvedWith":
        plan = plan.child()
        root = str(plan.getClass().getSimpleName())
    return plan, root


def skip_commands(jvm: Any) -> Any:
    """``CommandExecutionMode.SKIP``: analyze a command without running it."""
    return getattr(getattr(jvm.org.apache.spark.sql.execution, "CommandExecutionMode$"), "MODULE$").SKIP()


# --- metadata: DESCRIBE, SHOW, EXPLAIN ---------------------------------------------------


def describe(enforcer: Enforcer, parsed: Parsed, sources: list[str]) -> DataFrame | None:
    """DESCRIBE and SHOW COLUMNS of a visible governed table: its enforced columns, no statistics.

    None for SHOW COLUMNS of a table that is not governed: the statement runs as Spark runs it.
    """
    spark = enforcer.spark
    parts = parsed.identifiers[0][1] if parsed.identifiers else ()
    source = resolve(enforcer, parts, identifier_class="UnresolvedTableOrView") if parts else None
    if source is None:
        return None if parsed.root == "ShowColumns" else spark.sql(parsed.sql)
    sources.append(source.name)
    frame = enforcer.enforced(source, parts=list(parts))
    if parsed.root == "ShowColumns":
        return spark.createDataFrame([(f.name,) for f in frame.schema.fields], "col_name string")
    if parsed.root == "DescribeRelationJsonCommand":
        return _describe_json(enforcer, source, frame)
    if parsed.root == "DescribeColumn":
        column = str(parsed.plan.column().nameParts().last()) if hasattr(parsed.plan, "column") else ""
        for field in frame.schema.fields:
            if field.name.lower() == column.lower():
                comment = mask_comment(field.metadata) or "NULL"
                rows = [("col_name", field.name), ("data_type", field.dataType.simpleString()), ("comment", comment)]
                return spark.createDataFrame(rows, "info_name string, info_value string")
        return spark.sql(parsed.sql)
    rows = [(f.name, f.dataType.simpleString(), mask_comment(f.metadata)) for f in frame.schema.fields]
    return spark.createDataFrame(rows, "col_name string, data_type string, comment string")


#: What ``DESCRIBE ... AS JSON`` of a governed table keeps of the table's own entry: no
#: statistics (raw sizes and row counts), storage, properties or location.
_JSON_KEEP = (
    "table_name", "catalog_name", "namespace", "schema_name", "columns", "owner", "created_time", "last_access",
    "created_by", "type", "provider", "partition_columns", "collation",
)  # fmt: skip


def _describe_json(enforcer: Enforcer, source: Source, frame: DataFrame) -> DataFrame:
    """``DESCRIBE ... AS JSON`` of a governed table: its enforced columns, mask comments, no statistics.

    Spark writes both halves, so the JSON is its own format: the table's entry from the table
    (in the internal session), the columns from an empty view with the enforced schema.
    """
    internal = enforcer.shared.spark
    table = json.loads(internal.sql(f"DESCRIBE TABLE EXTENDED {quoted_table(source.table)} AS JSON").first()[0])
    view = f"{MARKER_ROOT}json_{secrets.token_hex(6)}"
    internal.createDataFrame([], frame.schema).createTempView(view)
    try:
        columns = json.loads(internal.sql(f"DESCRIBE TABLE EXTENDED {view} AS JSON").first()[0])["columns"]
    finally:
        internal.catalog.dropTempView(view)
    for column, field in zip(columns, frame.schema.fields, strict=True):
        comment = mask_comment(field.metadata)
        if comment:
            column["comment"] = comment
    table["columns"] = columns
    out = {key: table[key] for key in _JSON_KEEP if key in table}
    return enforcer.spark.createDataFrame([(json.dumps(out, separators=(",", ":")),)], "json_metadata string")


def show_tables(enforcer: Enforcer, sql: str) -> DataFrame:
    """SHOW TABLES / SHOW VIEWS without invisible governed tables, reserved names or statistics."""
    spark = enforcer.spark
    with enforcer.governor.answering():
        raw = spark.sql(sql)
    keep = []
    for row in raw.collect():
        d = row.asDict()
        name = str(d.get("tableName") or d.get("viewName") or "")
        if name.lower().startswith(MARKER_ROOT):
            continue
        db = str(d.get("namespace") or d.get("database") or "")
        source = enforcer.source_for_table(db, name) if db else None
        if source is not None and not enforcer.plan(source).visible:
            continue
        if source is not None and isinstance(d.get("information"), str):
            # SHOW TABLE EXTENDED: no statistics of a governed table (raw size and row count)
            info = "\n".join(line for line in d["information"].split("\n") if not line.startswith("Statistics:"))
            row = type(row)(**{**d, "information": info})
        keep.append(row)
    return spark.createDataFrame(keep, raw.schema)


def scrub_explain(enforcer: Enforcer, df: DataFrame) -> DataFrame:
    """An EXPLAIN result with every secret lowered so far replaced by ``<redacted>``."""
    text = "\n".join(str(r[0]) for r in df.collect())
    for secret in enforcer.secret_values():
        text = re.sub(re.escape(secret), "<redacted>", text, flags=re.IGNORECASE)
    return enforcer.spark.createDataFrame([(text,)], "plan string")


# --- names: a hidden table's is never told apart from a free one -------------------------

#: Parsed statements that create a persistent table or view under a name (a rename too).
_CREATES = frozenset(
    {"CreateTable", "CreateTableAsSelect", "ReplaceTable", "ReplaceTableAsSelect", "CreateView", "CreateTableLike"}
)


def creation_database(enforcer: Enforcer, parsed: Parsed) -> str | None:
    """The database a statement creates a persistent table or view in (a rename's new name's), or None."""
    current = enforcer.spark.catalog.currentDatabase()
    if parsed.root == "RenameTable":
        seq = parsed.plan.newName()
        new = [str(seq.apply(i)) for i in range(seq.size())]
        old = parsed.identifiers[0][1] if parsed.identifiers else ()
        return new[-2] if len(new) >= 2 else old[-2] if len(old) >= 2 else current
    if parsed.root not in _CREATES:
        return None
    for cls, parts in parsed.identifiers:
        if cls == "UnresolvedIdentifier":
            return parts[-2] if len(parts) >= 2 else current
    return None


def refuse_hidden_in(enforcer: Enforcer, database: str, verb: str) -> None:
    """Refuse ``verb`` in ``database`` when it holds a governed table hidden from the user.

    For every name alike, so no name tells a hidden table apart from a free one; what the refusal
    tells is that the database holds something hidden, never what or under which name. The JVM
    check (``SideDoors.hiddenIn``) says the same for statements that reach Spark another way.
    """
    prefix = f"{database}.".lower()
    for source in enforcer.snapshot().sources.values():
        if source.table.lower().startswith(prefix) and not enforcer.plan(source).visible:
            raise UnenforcedPathError(
                f"you may not {verb} database '{database}': it holds governed data you cannot see, so a name in it "
                "may be taken by a table hidden from you; use another database (your own, or your project's "
                "workspace), or ask the data's owners"
            )


# --- owner-only commands -----------------------------------------------------------------


def require_owner(
    enforcer: Enforcer, source: Source, parts: tuple[str, ...], root: str, *, storage: bool = False
) -> None:
    """Refuse command ``root`` on governed ``source`` (named ``parts``, or its ``storage``) to a non-owner.

    A source the user may not see is reported missing (by name) or as governed storage (by path),
    never by its name.
    """
    plan = enforcer.plan(source)
    if _owns(enforcer, source):
        return
    if not plan.visible:
        if storage:
            raise UnenforcedPathError(
                "this statement would write to or lay a table over the storage of a governed table; refused"
            )
        raise enforcer.not_found(list(parts))
    if storage:
        raise GovernedAccessDenied(
            source.name,
            f"{_verb(root)} on the storage of a governed table is reserved to the source's owners",
        )
    if root in _QUERY_ROOTS or root == "UnresolvedWith":
        raise UnenforcedPathError(
            f"this query reaches governed data source '{source.name}' in a form the governed session cannot "
            "enforce (time travel, table options, ...); refused. Name the table plainly."
        )
    raise GovernedAccessDenied(
        source.name,
        f"{_verb(root)} on a governed table is reserved to the source's owners; query it instead",
    )


def _owns(enforcer: Enforcer, source: Source) -> bool:
    subject = enforcer.subject()
    return source.is_owner(subject.user, subject.groups)


def _verb(root: str) -> str:
    """The SQL verb a refusal names for a parsed root (its class name when there is none)."""
    words = {
        "InsertIntoStatement": "INSERT",
        "DropTable": "DROP",
        "TruncateTable": "TRUNCATE",
        "CacheTable": "CACHE",
        "UncacheTable": "UNCACHE",
        "DeleteFromTable": "DELETE",
        "UpdateTable": "UPDATE",
        "MergeIntoTable": "MERGE",
        "LoadData": "LOAD DATA",
        "InsertIntoDir": "INSERT OVERWRITE DIRECTORY",
        "ReplaceTableAsSelect": "REPLACE TABLE",
        "CreateTableAsSelect": "CREATE TABLE",
    }
    return words.get(root, "ALTER" if "Alter" in root or "Add" in root or "Rename" in root else root)
