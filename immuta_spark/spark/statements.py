"""The pre-check of every SQL statement a governed session runs, and the guard of every plan.

Each governed session runs on a Spark session of its own
(:func:`~immuta_spark.spark.governor.user_session`) whose analyzer enforces every governed
relation, whatever form reaches it; see :mod:`immuta_spark.spark.governor`. On top of that,
every statement is pre-checked here (:func:`run`): parsed with Spark's parser, its governed
references and command targets found, commands checked (owner-only writes and DDL,
:mod:`~immuta_spark.spark.commands`; DESCRIBE and SHOW without statistics; SET with an
allowlist, :mod:`~immuta_spark.spark.settings`), then analyzed and guarded a second time in
Python (:func:`check`). A statement that is not a plain query (INSERT, CTAS, SET VAR,
CACHE ... AS SELECT, INSERT OVERWRITE DIRECTORY) runs as soon as Spark analyzes it, so it is
analyzed without running and its queries are guarded first. An invisible table fails exactly
like a missing one (:mod:`~immuta_spark.spark.invisible`).

Every function takes the session's :class:`~immuta_spark.spark.enforce.Enforcer`: its snapshot,
its subject and its user Spark session (``enforcer.spark``) are all a statement needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame

from immuta_spark.errors import ImmutaSparkError
from immuta_spark.model import Source
from immuta_spark.spark import dp, registration
from immuta_spark.spark.commands import (
    creation_database,
    describe,
    is_plain_query,
    refuse_hidden_in,
    require_owner,
    scrub_explain,
    show_tables,
    skip_commands,
)
from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.guard import MARKER_ROOT, check_dataset, check_plan, check_statement
from immuta_spark.spark.invisible import missing
from immuta_spark.spark.jvm import helper
from immuta_spark.spark.jvm import inspector as plan_inspector
from immuta_spark.spark.lower import quote_identifier
from immuta_spark.spark.names import reference_text, resolve, session_names, table_storage
from immuta_spark.spark.refs import FILE_FORMATS, Parsed, Reference, parse_statement
from immuta_spark.spark.settings import check_reset, check_set

if TYPE_CHECKING:
    from immuta_spark.spark.enforce import Enforcer

__all__ = ["check", "check_frame", "guard", "run", "statement"]

#: Commands whose governed target only an owner may touch: every governed table they name is
#: a target (row-level writes name their target as a relation, like a read).
_TARGET_COMMANDS = frozenset(
    {"CacheTable", "UncacheTable", "DeleteFromTable", "UpdateTable", "MergeIntoTable", "ReplaceData", "WriteDelta"}
)
#: Statements that would run code or statements the governed session cannot check: SQL scripts
#: (each inner statement would run unchecked), jars and files added to the JVM, functions made
#: from JVM classes.
_UNCHECKABLE = {
    "CompoundBody": "SQL scripts (BEGIN ... END) run statements the governed session cannot check",
    "AddJarsCommand": "ADD JAR loads code into the shared JVM",
    "AddFilesCommand": "ADD FILE ships files to the shared executors",
    "AddArchivesCommand": "ADD ARCHIVE ships files to the shared executors",
    "CreateFunction": "functions made from JVM classes run code the governed session cannot check",
    "CreateFunctionCommand": "functions made from JVM classes run code the governed session cannot check",
}
#: Functions that call arbitrary JVM methods (reading files, stopping the JVM) from a query.
_UNCHECKABLE_FUNCTIONS = frozenset({"reflect", "java_method", "try_reflect"})
#: The same functions as an analyzed plan prints them (a DataFrame method's expressions).
_REFLECTION = re.compile(r"\b(?:try_)?(?:reflect|java_method)\(", re.IGNORECASE)
_DESCRIBE = frozenset({"DescribeRelation", "DescribeColumn", "DescribeRelationJsonCommand"})
_SHOW_TABLES = frozenset({"ShowTables", "ShowTablesExtended", "ShowViews"})
_OWNER_ONLY_SHOW = frozenset({"ShowCreateTable", "ShowTableProperties", "ShowPartitions", "ShowTableExtended"})


def statement(
    enforcer: Enforcer, sql: str, args: Any, kwargs: dict[str, Any], sources: list[str], policies: list[str]
) -> DataFrame:
    """Run ``sql`` as ``session.sql`` does: ``kwargs`` fill its ``{name}`` fields, then :func:`run`."""
    if not kwargs:
        with enforcer.statement():
            return run(enforcer, sql, args, sources, policies)
    from pyspark.sql.sql_formatter import SQLStringFormatter

    # Fill in the fields first, as SparkSession.sql does, so the text checked is the text run.
    formatter = SQLStringFormatter(enforcer.spark)
    try:
        with enforcer.statement():
            return run(enforcer, formatter.format(sql, **kwargs), args, sources, policies)
    finally:
        formatter.clear()


def run(enforcer: Enforcer, sql: str, args: Any, sources: list[str], policies: list[str]) -> DataFrame:
    """Pre-check, run and guard one statement; the governed sources it names go to ``sources``.

    The names of the policies that shaped a query's enforced sources go to ``policies``.
    """
    spark = enforcer.spark
    enforcer.snapshot()
    parsed = parse_statement(enforcer.jsession, sql, reserved=MARKER_ROOT, inspector=plan_inspector(spark))
    if parsed.uses_reserved:  # a table, alias, CTE or view name: it could pass for an enforced subtree
        raise UnenforcedPathError(f"names starting with {MARKER_ROOT} are reserved for the governed session")
    if "ScriptTransformation" in parsed.classes:
        raise UnenforcedPathError("TRANSFORM ... USING runs scripts on raw rows; it is not allowed")
    root = parsed.root
    if root in _UNCHECKABLE:
        raise UnenforcedPathError(f"{_UNCHECKABLE[root]}; not allowed in a governed session")
    called = parsed.functions & _UNCHECKABLE_FUNCTIONS
    if called:
        raise UnenforcedPathError(
            f"{', '.join(sorted(called))}() calls JVM methods the governed session cannot check; not allowed"
        )
    if root == "SetCommand":
        check_set(parsed)
        return spark.sql(sql)
    if root == "ResetCommand":
        check_reset(parsed)
        return spark.sql(sql)
    if root in _SHOW_TABLES:
        return show_tables(enforcer, sql)
    governed, targets = _classify(enforcer, parsed)
    for _ref, source in governed:
        sources.append(source.name)
    for _parts, source in targets:
        sources.append(source.name)
    invisible = {s.name for _r, s in governed if not enforcer.plan(s).visible}
    invisible |= {s.name for _p, s in targets if not enforcer.plan(s).visible}
    created_in = creation_database(enforcer, parsed)
    if created_in is not None:
        refuse_hidden_in(enforcer, created_in, "create tables or views in")
    if invisible:
        return missing(enforcer, parsed, invisible, args)
    if root in _DESCRIBE or root == "ShowColumns":
        described = describe(enforcer, parsed, sources)
        if described is not None:
            return described
    query = is_plain_query(parsed)
    for parts, source in targets:
        if query and not _unenforceable_form(parsed, parts):
            continue  # read by a query: the analyzer enforces it wherever it sits (a CASE WHEN subquery, ...)
        require_owner(enforcer, source, parts, root)
    storage: list[str] = []
    if not query:
        for source in _storage_targets(enforcer, parsed):
            sources.append(source.name)
            storage.append(source.name)
            require_owner(enforcer, source, (), root, storage=True)
    if root in _OWNER_ONLY_SHOW or root == "ShowColumns":
        return spark.sql(sql)
    # The analyzer enforces every governed relation of the statement; only a read of a table's
    # location by path (in any file format) is renamed to the table, which it reads.
    sql = _paths_as_tables(parsed, governed)
    if query and dp.private_source(enforcer, [s for _r, s in governed]) is not None:
        return dp.answer(enforcer, sql, args, policies)
    pending = None
    if not query and root != "UnresolvedExecuteImmediate":
        # EXECUTE IMMEDIATE runs its statement while it is analyzed: analyzing it here would run it
        # twice. The analyzer's rules check whatever it runs, as for any statement.
        analyzed = _check_before_running(enforcer, sql, root, args, policies, sources)
        if analyzed is not None:
            pending = registration.before_command(enforcer, analyzed, storage)
    try:
        df = spark.sql(sql, args)
    except Exception:
        registration.failed(enforcer, pending)
        raise
    registration.after(enforcer, pending)
    if root == "ExplainCommand":
        return scrub_explain(enforcer, df)
    if query or root == "UnresolvedExecuteImmediate":
        guard(enforcer, df, policies, sources)
    return df


def _classify(
    enforcer: Enforcer, parsed: Parsed
) -> tuple[list[tuple[Reference, Source]], list[tuple[tuple[str, ...], Source]]]:
    """(rewritable governed references, governed command targets and untracked references)."""
    governed: list[tuple[Reference, Source]] = []
    seen: dict[str, int] = {}
    named = [*(r.parts for r in parsed.references), *(parts for _cls, parts in parsed.identifiers)]
    singles = [parts[0] for parts in named if len(parts) == 1]
    names = session_names(enforcer, singles) if singles else None  # one JVM call for all of them
    for ref in parsed.references:
        source = resolve(enforcer, ref.parts, names=names)
        if source is not None:
            if parsed.root in _TARGET_COMMANDS:
                continue
            governed.append((ref, source))
            seen[source.name] = seen.get(source.name, 0) + 1
    targets: list[tuple[tuple[str, ...], Source]] = []
    for cls, parts in parsed.identifiers:
        source = resolve(enforcer, parts, identifier_class=cls, names=names)
        if source is None:
            continue
        if seen.get(source.name, 0) > 0:
            seen[source.name] -= 1
            continue
        if cls == "UnresolvedRelation" and len(parts) == 1 and parts in parsed.cte_references:
            continue
        targets.append((parts, source))
    return governed, targets


def _paths_as_tables(parsed: Parsed, governed: list[tuple[Reference, Source]]) -> str:
    """The statement with each ``format.`location``` of a governed table replaced by the table's name."""
    sql = parsed.sql
    paths = [
        (r, s)
        for r, s in governed
        # An object-backed source has no table to rename to: its path relation is enforced as it stands.
        if len(r.parts) == 2 and r.parts[0].lower() in FILE_FORMATS and s.object is None
    ]
    for ref, source in sorted(paths, key=lambda rs: rs[0].start, reverse=True):
        if not ref.aliased and not _after_table_keyword(sql, ref.start):
            # keep the name Spark would have given it (after any TABLESAMPLE); `TABLE t` takes none
            at = max(ref.alias_at, ref.stop)
            sql = sql[: at + 1] + " AS " + quote_identifier(ref.parts[-1]) + sql[at + 1 :]
        sql = sql[: ref.start] + reference_text(source.table) + sql[ref.stop + 1 :]
    return sql


def _after_table_keyword(sql: str, start: int) -> bool:
    """Whether the parser-found reference at ``start`` follows ``TABLE`` (``TABLE t`` takes no alias)."""
    before = sql[:start].rstrip()
    return before[-5:].upper() == "TABLE" and (len(before) == 5 or not (before[-6].isalnum() or before[-6] in "_`"))


def guard(
    enforcer: Enforcer, df: DataFrame, policies: list[str] | None = None, sources: list[str] | None = None
) -> None:
    """:func:`check` the analyzed plan of ``df`` (reached and described in one JVM call)."""
    _check(enforcer, lambda **how: check_dataset(df._jdf, **how), policies, sources)


def check(enforcer: Enforcer, jplan: Any, policies: list[str] | None = None, sources: list[str] | None = None) -> None:
    """Refuse an analyzed plan that reaches governed data without this session's enforcement.

    The names of the policies that shaped the plan's enforced sources go to ``policies``.
    """
    _check(enforcer, lambda **how: check_plan(jplan, **how), policies, sources)


def _check(
    enforcer: Enforcer,
    checked: Callable[..., list[str]],
    policies: list[str] | None,
    sources: list[str] | None,
) -> None:
    """:func:`check` with ``checked(**how)``: :func:`check_plan` or :func:`check_dataset` of the plan."""
    reached: list[str] = []

    def label(source: Source | None) -> str | None:
        if source is None:
            return None
        reached.append(source.name)  # for the audit record of the refusal
        if not enforcer.plan(source).visible:
            return "a governed table"  # never name a source the user may not see
        return f"governed data source '{source.name}' ({source.table})"

    try:
        enforced = checked(
            stamp_prefix=enforcer.stamp_prefix,
            governed_table=lambda db, t: label(enforcer.source_for_table(db, t)),
            governed_path=lambda p: label(enforcer.source_for_storage(p)),
            inspector=helper(enforcer.spark),
        )
        for name in enforced:  # for the audit record: every source the plan reads, however it was reached
            source = enforcer.snapshot().sources.get(name)
            if source is not None:
                if sources is not None:
                    sources.append(source.name)
                if policies is not None:
                    policies.extend(enforcer.plan(source).policies_applied)
    except UnenforcedPathError as exc:
        exc.sources = tuple(reached)
        raise
    except ImmutaSparkError:
        raise
    except Exception as exc:
        raise UnenforcedPathError(f"the plan could not be checked, so it is refused: {exc}") from exc


def check_frame(enforcer: Enforcer, jplan: Any) -> None:
    """:func:`check` the analyzed plan of a DataFrame made by a method, and refuse reflection in it.

    The DataFrame API takes the JVM-calling functions SQL refuses (``reflect``, ...) as
    ``F.expr``, ``selectExpr`` or ``F.reflect``; the analyzed plan is where they show.
    """
    check(enforcer, jplan)
    if _REFLECTION.search(_plan_text(jplan)):
        raise UnenforcedPathError(
            "reflect(), java_method() and try_reflect() call JVM methods the governed session cannot check; not allowed"
        )


def _plan_text(plan: Any) -> str:
    """Every field of every node of a plan (``toString`` elides past ``maxToStringFields``)."""
    from py4j.protocol import Py4JError

    most = 2**31 - 1
    try:
        return str(plan.treeString(False, False, most, False, False))  # Spark 4
    except Py4JError:
        pass
    try:
        return str(plan.treeString(False, False, most, False))  # Spark 3
    except Py4JError as exc:
        raise UnenforcedPathError(f"the plan could not be checked, so it is refused: {exc}") from None


def _check_before_running(
    enforcer: Enforcer, sql: str, root: str, args: Any, policies: list[str], sources: list[str]
) -> Any:
    """Analyze a statement that is not a plain query without running it, and check its queries; the analyzed plan.

    Commands run as soon as Spark analyzes them, so a guard after ``spark.sql`` would come
    after the INSERT, the CTAS or the SET VAR had already read raw data.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException
    from pyspark.errors.exceptions.captured import convert_exception

    jvm = enforcer.spark.sparkContext._jvm
    assert jvm is not None
    command = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.Command")
    try:
        plan = enforcer.jsession.sessionState().sqlParser().parsePlan(sql)
        if root == "ExplainCommand":
            plan = plan.logicalPlan()
        elif root in ("DescribeQueryCommand", "CacheTable", "UncacheTable"):
            return None  # a schema, or a relation named by (un)caching: no rows reach the user here
        analyzed = enforcer.jsession.sessionState().executePlan(plan, skip_commands(jvm)).analyzed()
    except (Py4JJavaError, AnalysisException) as exc:
        if root == "ExplainCommand":
            return None  # EXPLAIN prints Spark's own analysis error
        if args:
            raise UnenforcedPathError(
                "parameter markers are supported in queries only; a governed session checks commands "
                "before they run and cannot bind them"
            ) from None
        if isinstance(exc, Py4JJavaError):
            raise convert_exception(exc.java_exception) from None
        raise
    try:
        check_statement(
            analyzed, lambda p: check(enforcer, p, policies, sources), lambda p: bool(command.isInstance(p))
        )
    except ImmutaSparkError:
        raise
    except Exception as exc:
        raise UnenforcedPathError(f"the statement could not be checked, so it is refused: {exc}") from exc
    return None if root == "ExplainCommand" else analyzed


def _storage_targets(enforcer: Enforcer, parsed: Parsed) -> list[Source]:
    """Governed sources whose storage a command would write, move, or lay a table over."""
    found: list[Source] = []
    paths = list(parsed.locations)
    if parsed.root == "InsertIntoDir" and parsed.plan.storage().locationUri().isDefined():
        paths.append(str(parsed.plan.storage().locationUri().get().toString()))
    for cls, parts in parsed.identifiers:
        if resolve(enforcer, parts, identifier_class=cls) is not None:
            continue  # a governed table itself: ownership is checked by name
        if len(parts) == 1 and cls != "UnresolvedIdentifier":
            if enforcer.jsession.sessionState().catalog().getTempView(parts[0]).isDefined():
                continue
        location = table_storage(enforcer, parts)
        if location is not None:
            paths.append(location)
    for path in paths:
        source = enforcer.source_for_storage(path)
        if source is not None and source not in found:
            found.append(source)
    return found


def _unenforceable_form(parsed: Parsed, parts: tuple[str, ...]) -> bool:
    """Whether a query names a governed table in a form enforcement cannot stand behind.

    Time travel, and table options (``WITH (...)``: they could point the scan at other files);
    the walk sees such a relation but does not take it as a plain reference.
    """
    if "RelationTimeTravel" in parsed.classes:
        return True
    seen = sum(1 for span in parsed.spans if span.cls == "UnresolvedRelation" and span.parts == parts)
    plain = sum(1 for ref in parsed.references if ref.parts == parts)
    return seen > plain
