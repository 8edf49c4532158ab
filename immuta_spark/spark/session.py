"""``ImmutaSparkSession``: a governed wrapper around a SparkSession.

It wraps (never subclasses) a SparkSession and offers ``table``, ``sql``, ``read``,
``catalog``, ``set_project``/``project``, ``explain_policies``, ``conf``, ``createDataFrame``,
``range``, ``udf`` and ``stop``. Everything else of SparkSession that could reach governed data
(``sparkContext``, ``readStream``, the JVM handles) is absent on purpose. Every DataFrame it
hands out is a :class:`~immuta_spark.spark.dataframe.GovernedDataFrame`, whose methods guard
each new plan (``_check_frame``) before handing it back.

Each governed session runs on a Spark session of its own (:func:`~immuta_spark.spark.governor.user_session`)
whose analyzer enforces every governed relation, whatever form reaches it; see
:mod:`immuta_spark.spark.governor`. On top of that, every statement is pre-checked here: parsed
with Spark's parser, its governed references and command targets found, commands checked
(owner-only writes and DDL, DESCRIBE and SHOW without statistics, SET with an allowlist), then
analyzed, guarded a second time in Python, and audited. A statement that is not a plain query
(INSERT, CTAS, SET VAR, CACHE ... AS SELECT, INSERT OVERWRITE DIRECTORY) runs as soon as Spark
analyzes it, so it is analyzed without running and its queries are guarded first. An invisible
table is replaced by a name that cannot exist and Spark itself produces the error, names put
back: it fails exactly like a missing table.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import Plan
from immuta_spark.errors import ImmutaSparkError, ImpersonationDenied
from immuta_spark.model import Source
from immuta_spark.spark.dataframe import GovernedDataFrame, adopt
from immuta_spark.spark.enforce import Enforcer, SharedFrames, hadoop_user
from immuta_spark.spark.errors import GovernedAccessDenied, GovernedTableNotFound, UnenforcedPathError, rules_errors
from immuta_spark.spark.governor import make_default, user_session
from immuta_spark.spark.guard import MARKER_ROOT, check_plan, check_statement
from immuta_spark.spark.jvm import helper
from immuta_spark.spark.jvm import inspector as plan_inspector
from immuta_spark.spark.lower import quote_identifier
from immuta_spark.spark.refs import FILE_FORMATS, Parsed, Reference, Span, parse_statement

__all__ = [
    "ALLOWED_SETTINGS",
    "GovernedCatalogAPI",
    "GovernedConf",
    "GovernedReader",
    "GovernedUDFRegistration",
    "ImmutaSparkSession",
]

#: Session settings a governed user may change; anything else could switch enforcement off.
ALLOWED_SETTINGS = (
    "spark.sql.shuffle.partitions",
    "spark.sql.session.timeZone",
    "spark.sql.ansi.enabled",
    "spark.sql.adaptive.",
    "spark.sql.autoBroadcastJoinThreshold",
    "spark.sql.files.maxPartitionBytes",
    "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.repl.eagerEval.",
    "spark.sql.legacy.timeParserPolicy",
)
#: Commands whose governed target only an owner may touch: every governed table they name is
#: a target (row-level writes name their target as a relation, like a read).
_TARGET_COMMANDS = frozenset(
    {"CacheTable", "UncacheTable", "DeleteFromTable", "UpdateTable", "MergeIntoTable", "ReplaceData", "WriteDelta"}
)
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
#: Prefix of the names that stand in for invisible tables while Spark is asked for its error.
_MISSING = f"{MARKER_ROOT}missing_"
_DESCRIBE = frozenset({"DescribeRelation", "DescribeColumn"})
_SHOW_TABLES = frozenset({"ShowTables", "ShowTablesExtended", "ShowViews"})
_OWNER_ONLY_SHOW = frozenset({"ShowCreateTable", "ShowTableProperties", "ShowPartitions", "ShowTableExtended"})


def _allowed_setting(key: str) -> bool:
    return any(key == a or (a.endswith(".") and key.startswith(a)) for a in ALLOWED_SETTINGS)


class _BuilderDescriptor:
    def __get__(self, obj: object, owner: type) -> Builder:
        return Builder()


class Builder:
    """SparkSession's builder idiom, plus ``.catalog()`` and ``.user()``."""

    def __init__(self) -> None:
        self._inner = SparkSession.builder
        self._catalog: GovernanceCatalog | str | None = None
        self._user: str | None = None

    def master(self, master: str) -> Builder:
        """As ``SparkSession.builder.master``."""
        self._inner = self._inner.master(master)
        return self

    def appName(self, name: str) -> Builder:
        """As ``SparkSession.builder.appName``."""
        self._inner = self._inner.appName(name)
        return self

    def config(self, key: str | None = None, value: Any = None, **kwargs: Any) -> Builder:
        """As ``SparkSession.builder.config``."""
        self._inner = self._inner.config(key, value, **kwargs)
        return self

    def enableHiveSupport(self) -> Builder:
        """As ``SparkSession.builder.enableHiveSupport``."""
        self._inner = self._inner.enableHiveSupport()
        return self

    def catalog(self, url_or_catalog: str | GovernanceCatalog) -> Builder:
        """The governance catalog: a URL or an open :class:`GovernanceCatalog`."""
        self._catalog = url_or_catalog
        return self

    def user(self, name: str) -> Builder:
        """Act as ``name`` (impersonation: needs IMPERSONATE)."""
        self._user = name
        return self

    def getOrCreate(self) -> ImmutaSparkSession:
        """Start (or reuse) the SparkSession and wrap it."""
        spark = self._inner.getOrCreate()
        return ImmutaSparkSession.wrap(spark, catalog=self._catalog, user=self._user)


class ImmutaSparkSession:
    """A governed SparkSession: every read of a governed table is masked and filtered."""

    builder = _BuilderDescriptor()
    _is_governed_session = True  # DataFrame(jdf, session) gives a GovernedDataFrame (spark/dataframe.py)

    def __init__(self, spark: SparkSession, catalog: GovernanceCatalog, *, user: str | None = None) -> None:
        identity = hadoop_user(spark)
        if catalog.identity != identity:
            catalog = GovernanceCatalog(catalog.store, identity=identity)
        self._root = spark
        self._spark = user_session(spark)
        self._catalog = catalog
        self._lock = threading.RLock()
        try:
            self._enforcer = Enforcer(self._spark, catalog, user=user or identity, identity=identity, root=spark)
        except ImpersonationDenied as exc:
            catalog.record(
                action="impersonate",
                outcome="denied",
                user=user or identity,
                impersonator=identity,
                detail={"error": str(exc)},
            )
            raise
        make_default(self._spark)

    @classmethod
    def wrap(
        cls, spark: SparkSession, catalog: GovernanceCatalog | str | None = None, user: str | None = None
    ) -> ImmutaSparkSession:
        """Wrap an existing SparkSession. ``user`` impersonates (needs IMPERSONATE)."""
        if catalog is None or isinstance(catalog, str):
            catalog = GovernanceCatalog.open(catalog)
        return cls(spark, catalog, user=user)

    # --- who ----------------------------------------------------------------------------

    @property
    def user(self) -> str:
        """Whose view of the data this session shows."""
        return self._enforcer.user

    @property
    def project(self) -> str | None:
        """The project the session acts under, if any."""
        return self._enforcer.project

    def set_project(self, name: str | None) -> None:
        """Act under project ``name`` (its purposes; only its sources are visible); None to leave it."""
        with self._lock:
            try:
                self._enforcer.set_project(name)
            except ImmutaSparkError as exc:
                self._audit("project.switch", "denied", detail={"project": name, "error": str(exc)})
                raise
            self._audit("project.switch", "ok", detail={"project": name})

    # --- reading ------------------------------------------------------------------------

    def table(self, tableName: str) -> DataFrame:
        """The enforced DataFrame of a table (an ungoverned table is returned as Spark returns it).

        An invisible governed table fails exactly as ``SparkSession.table`` fails for a missing one.
        """
        with self._lock:
            self._enforcer.snapshot()
            parts = name_parts(tableName)
            source = self._resolve(parts)
            if source is not None and self._enforcer.plan(source).visible:
                return self.sql(f"SELECT * FROM {_reference_text(tableName)}")

            def run(sources: list[str], policies: list[str]) -> DataFrame:
                if source is not None:
                    sources.append(source.name)
                    placeholder = _placeholder_parts(parts, 0)
                    return self._missing_like_spark(
                        lambda: self._spark.table(".".join(quote_identifier(p) for p in placeholder)),
                        {placeholder[-1]: (parts[-1], None, None)},
                        parts,
                    )
                df = self._spark.table(tableName)
                self._guard(df)
                return df

            return self._audited(f"table {tableName}", run)

    def sql(self, sqlQuery: str, args: dict[str, Any] | list[Any] | None = None, **kwargs: Any) -> DataFrame:
        """Run SQL with every governed table enforced. Refuses what it cannot enforce.

        ``kwargs`` fill ``{name}`` fields as in ``SparkSession.sql``; the filled-in text is what
        is checked and run.
        """
        with self._lock, self._enforcer.statement():  # one snapshot for the statement and its audit record
            return self._audited(
                sqlQuery, lambda sources, policies: self._statement(sqlQuery, args, kwargs, sources, policies)
            )

    def _audited(self, text: str, run: Any) -> DataFrame:
        """Run ``run(sources, policies)`` and audit the query with its outcome (rules' errors made ours)."""

        def translated(sources: list[str], policies: list[str]) -> DataFrame:
            with rules_errors():
                return run(sources, policies)

        return self._audited_raw(text, translated)

    def _audited_raw(self, text: str, run: Any) -> DataFrame:
        started = time.perf_counter()
        sources: list[str] = []
        policies: list[str] = []
        try:
            df = run(sources, policies)
        except Exception as exc:
            sources.extend(getattr(exc, "sources", ()))
            self._audit(
                "query",
                "denied" if isinstance(exc, ImmutaSparkError) else "error",
                sources=sources,
                policies=policies,
                detail={"sql": text[:2000], "error": str(exc).splitlines()[0][:500] if str(exc) else ""},
            )
            raise
        self._audit(
            "query",
            "ok",
            sources=sources,
            policies=policies,
            detail={"sql": text[:2000], "policy_ms": round((time.perf_counter() - started) * 1000, 3)},
        )
        return self._hand_out(df)

    def _hand_out(self, df: DataFrame) -> DataFrame:
        """``df`` (already guarded, or a command's result) as a GovernedDataFrame of this session."""
        if isinstance(df, GovernedDataFrame) or not isinstance(df, DataFrame):
            return df
        return adopt(self, df._jdf)

    def _check_frame(self, jdf: Any, what: str | Callable[[], str]) -> None:
        """Guard a DataFrame made by a GovernedDataFrame's method; a refusal is audited.

        Besides the plan guard, the JVM-calling functions SQL refuses (``reflect``, ...) are
        refused here too: the DataFrame API takes them as ``F.expr``, ``selectExpr`` or ``F.reflect``.
        """
        with self._lock, self._refusals_audited(what):
            plan = jdf.queryExecution().analyzed()
            self._check(plan)
            if _REFLECTION.search(_plan_text(plan)):
                raise UnenforcedPathError(
                    "reflect(), java_method() and try_reflect() call JVM methods the governed session cannot "
                    "check; not allowed"
                )

    @contextmanager
    def _refusals_audited(self, what: str | Callable[[], str]) -> Iterator[None]:
        """The JVM rules' refusals made ours, and every refusal audited (``what``: the call, made only then)."""
        try:
            with rules_errors():
                yield
        except ImmutaSparkError as exc:
            text = what if isinstance(what, str) else what()
            self._audit(
                "query",
                "denied",
                sources=getattr(exc, "sources", ()),
                detail={"sql": text[:2000], "error": str(exc).splitlines()[0][:500] if str(exc) else ""},
            )
            raise

    @property
    def read(self) -> GovernedReader:
        """A reader whose path reads of governed storage get the table's enforcement."""
        return GovernedReader(self)

    @property
    def catalog(self) -> GovernedCatalogAPI:
        """Spark's catalog API, with listing and existence reflecting visibility."""
        return GovernedCatalogAPI(self)

    @property
    def conf(self) -> GovernedConf:
        """Runtime configuration; only settings that cannot switch enforcement off may be set."""
        return GovernedConf(self._spark)

    @property
    def udf(self) -> GovernedUDFRegistration:
        """Python UDF registration (UDFs run on enforced data only; Java UDF classes are refused)."""
        return GovernedUDFRegistration(self._spark.udf)

    @property
    def version(self) -> str:
        """Spark's version."""
        return self._spark.version

    def createDataFrame(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.createDataFrame`` (the user's own data)."""
        df = self._spark.createDataFrame(*args, **kwargs)
        self._check_frame(df._jdf, "createDataFrame")
        return self._hand_out(df)

    def range(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.range``."""
        return self._hand_out(self._spark.range(*args, **kwargs))

    def explain_policies(self, table: str) -> str:
        """Which policies shape what this session sees of ``table``, as readable text."""
        from immuta_spark.cli import render_plan_text

        with self._lock:
            source = self._source_by_name(table)
            if source is None:
                return f"{table} is not governed: it is read as it is.\n"
            plan = self._enforcer.plan(source)
            if not plan.visible:
                raise self._enforcer.not_found(table.split("."))
            return render_plan_text(plan)

    def stop(self) -> None:
        """Stop the underlying SparkSession (and let go of the templates shared over it)."""
        self._enforcer.governor.close()
        SharedFrames.forget(self._root)
        self._root.stop()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'{name}' is not available in a governed session: it could reach governed data without "
            "enforcement. Use table, sql, read or catalog."
        )

    # --- statements ---------------------------------------------------------------------

    def _statement(
        self, sql: str, args: Any, kwargs: dict[str, Any], sources: list[str], policies: list[str]
    ) -> DataFrame:
        if not kwargs:
            with self._enforcer.statement():
                return self._run(sql, args, sources, policies)
        from pyspark.sql.sql_formatter import SQLStringFormatter

        # Fill in the fields first, as SparkSession.sql does, so the text checked is the text run.
        formatter = SQLStringFormatter(self._spark)
        try:
            with self._enforcer.statement():
                return self._run(formatter.format(sql, **kwargs), args, sources, policies)
        finally:
            formatter.clear()

    def _run(self, sql: str, args: Any, sources: list[str], policies: list[str]) -> DataFrame:
        enforcer = self._enforcer
        enforcer.snapshot()
        parsed = parse_statement(enforcer.jsession, sql, reserved=MARKER_ROOT, inspector=plan_inspector(self._spark))
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
            self._check_set(parsed)
            return self._spark.sql(sql)
        if root == "ResetCommand":
            self._check_reset(parsed)
            return self._spark.sql(sql)
        if root in _SHOW_TABLES:
            return self._show_tables(sql)
        governed, targets = self._classify(parsed)
        for _ref, source in governed:
            sources.append(source.name)
        for _parts, source in targets:
            sources.append(source.name)
        invisible = {s.name for _r, s in governed if not enforcer.plan(s).visible}
        invisible |= {s.name for _p, s in targets if not enforcer.plan(s).visible}
        if invisible:
            return self._missing(parsed, invisible, args)
        if root in _DESCRIBE or root == "ShowColumns":
            described = self._describe(parsed, sources)
            if described is not None:
                return described
        for parts, source in targets:
            self._require_owner(source, parts, root)
        query = _is_plain_query(parsed)
        if not query:
            for source in self._storage_targets(parsed):
                sources.append(source.name)
                self._require_owner(source, (), root, storage=True)
        if root in _OWNER_ONLY_SHOW or root == "ShowColumns":
            return self._spark.sql(sql)
        # The analyzer enforces every governed relation of the statement; only a read of a table's
        # location by path (in any file format) is renamed to the table, which it reads.
        sql = self._paths_as_tables(parsed, governed)
        if not query:
            self._check_before_running(sql, root, args, policies)
        df = self._spark.sql(sql, args)
        if root == "ExplainCommand":
            return self._scrub_explain(df)
        if query:
            self._guard(df, policies)
        return df

    def _classify(self, parsed: Parsed) -> tuple[list[tuple[Reference, Source]], list[tuple[tuple[str, ...], Source]]]:
        """(rewritable governed references, governed command targets and untracked references)."""
        governed: list[tuple[Reference, Source]] = []
        seen: dict[str, int] = {}
        for ref in parsed.references:
            source = self._resolve(ref.parts)
            if source is not None:
                if parsed.root in _TARGET_COMMANDS:
                    continue
                governed.append((ref, source))
                seen[source.name] = seen.get(source.name, 0) + 1
        targets: list[tuple[tuple[str, ...], Source]] = []
        for cls, parts in parsed.identifiers:
            source = self._resolve(parts, identifier_class=cls)
            if source is None:
                continue
            if seen.get(source.name, 0) > 0:
                seen[source.name] -= 1
                continue
            if cls == "UnresolvedRelation" and len(parts) == 1 and parts in parsed.cte_references:
                continue
            targets.append((parts, source))
        return governed, targets

    def _resolve(self, parts: tuple[str, ...], *, identifier_class: str = "UnresolvedRelation") -> Source | None:
        """The governed source an identifier names, following Spark's own name resolution."""
        enforcer = self._enforcer
        lowered = [p.lower() for p in parts]
        if len(lowered) == 1:
            if identifier_class == "UnresolvedIdentifier":
                return enforcer.source_for_table(self._spark.catalog.currentDatabase(), lowered[0])
            if enforcer.jsession.sessionState().catalog().getTempView(parts[0]).isDefined():
                return None  # a temporary view: its plan is guarded when used
            return enforcer.source_for_table(self._spark.catalog.currentDatabase(), lowered[0])
        if len(lowered) == 2:
            if lowered[0] == "global_temp":
                return None
            if lowered[0] in FILE_FORMATS and _is_path(parts[1]):
                # Only the table's own location reads as the table; a path beneath or above it
                # is left to Spark and refused by the guard (its files would be read raw).
                source = enforcer.source_for_path(parts[1])
                if source is not None and enforcer.qualify(parts[1]) == enforcer.locations().get(source.name):
                    return source
                return None
            return enforcer.source_for_table(lowered[0], lowered[1])
        if len(lowered) == 3 and lowered[0] == "spark_catalog":
            return enforcer.source_for_table(lowered[1], lowered[2])
        return None

    def _paths_as_tables(self, parsed: Parsed, governed: list[tuple[Reference, Source]]) -> str:
        """The statement with each ``format.`location``` of a governed table replaced by the table's name."""
        sql = parsed.sql
        paths = [(r, s) for r, s in governed if len(r.parts) == 2 and r.parts[0].lower() in FILE_FORMATS]
        for ref, source in sorted(paths, key=lambda rs: rs[0].start, reverse=True):
            if not ref.aliased and not _after_table_keyword(sql, ref.start):
                # keep the name Spark would have given it (after any TABLESAMPLE); `TABLE t` takes none
                at = max(ref.alias_at, ref.stop)
                sql = sql[: at + 1] + " AS " + quote_identifier(ref.parts[-1]) + sql[at + 1 :]
            sql = sql[: ref.start] + _reference_text(source.table) + sql[ref.stop + 1 :]
        return sql

    def _guard(self, df: DataFrame, policies: list[str] | None = None) -> None:
        self._check(df._jdf.queryExecution().analyzed(), policies)

    def _check(self, jplan: Any, policies: list[str] | None = None) -> None:
        """Refuse an analyzed plan that reaches governed data without this session's enforcement.

        The names of the policies that shaped the plan's enforced sources go to ``policies``.
        """
        enforcer = self._enforcer
        reached: list[str] = []

        def label(source: Source | None) -> str | None:
            if source is None:
                return None
            reached.append(source.name)  # for the audit record of the refusal
            if not enforcer.plan(source).visible:
                return "a governed table"  # never name a source the user may not see
            return f"governed data source '{source.name}' ({source.table})"

        try:
            enforced = check_plan(
                jplan,
                stamp_prefix=enforcer.stamp_prefix,
                governed_table=lambda db, t: label(enforcer.source_for_table(db, t)),
                governed_path=lambda p: label(enforcer.source_for_storage(p)),
                inspector=helper(self._spark),
            )
            if policies is not None:
                for name in enforced:
                    source = enforcer.snapshot().sources.get(name)
                    if source is not None:
                        policies.extend(enforcer.plan(source).policies_applied)
        except UnenforcedPathError as exc:
            exc.sources = tuple(reached)
            raise
        except ImmutaSparkError:
            raise
        except Exception as exc:
            raise UnenforcedPathError(f"the plan could not be checked, so it is refused: {exc}") from exc

    def _check_before_running(self, sql: str, root: str, args: Any, policies: list[str]) -> None:
        """Analyze a statement that is not a plain query without running it, and check its queries.

        Commands run as soon as Spark analyzes them, so a guard after ``spark.sql`` would come
        after the INSERT, the CTAS or the SET VAR had already read raw data.
        """
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import AnalysisException
        from pyspark.errors.exceptions.captured import convert_exception

        enforcer = self._enforcer
        jvm = self._spark.sparkContext._jvm
        assert jvm is not None
        command = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.Command")
        try:
            plan = enforcer.jsession.sessionState().sqlParser().parsePlan(sql)
            if root == "ExplainCommand":
                plan = plan.logicalPlan()
            elif root in ("DescribeQueryCommand", "CacheTable", "UncacheTable"):
                return  # a schema, or a relation named by (un)caching: no rows reach the user here
            analyzed = enforcer.jsession.sessionState().executePlan(plan, _skip_commands(jvm)).analyzed()
        except (Py4JJavaError, AnalysisException) as exc:
            if root == "ExplainCommand":
                return  # EXPLAIN prints Spark's own analysis error
            if args:
                raise UnenforcedPathError(
                    "parameter markers are supported in queries only; a governed session checks commands "
                    "before they run and cannot bind them"
                ) from None
            if isinstance(exc, Py4JJavaError):
                raise convert_exception(exc.java_exception) from None
            raise
        try:
            check_statement(analyzed, lambda p: self._check(p, policies), lambda p: bool(command.isInstance(p)))
        except ImmutaSparkError:
            raise
        except Exception as exc:
            raise UnenforcedPathError(f"the statement could not be checked, so it is refused: {exc}") from exc

    def _table_storage(self, parts: tuple[str, ...]) -> str | None:
        """The storage location of the existing session-catalog table ``parts`` names, if any."""
        if len(parts) == 1:
            db, table = self._spark.catalog.currentDatabase(), parts[0]
        elif len(parts) == 2 or (len(parts) == 3 and parts[0].lower() == "spark_catalog"):
            db, table = parts[-2], parts[-1]
        else:
            return None
        return self._enforcer.table_location(db.lower(), table.lower())

    def _storage_targets(self, parsed: Parsed) -> list[Source]:
        """Governed sources whose storage a command would write, move, or lay a table over."""
        enforcer = self._enforcer
        found: list[Source] = []
        paths = list(parsed.locations)
        if parsed.root == "InsertIntoDir" and parsed.plan.storage().locationUri().isDefined():
            paths.append(str(parsed.plan.storage().locationUri().get().toString()))
        for cls, parts in parsed.identifiers:
            if self._resolve(parts, identifier_class=cls) is not None:
                continue  # a governed table itself: ownership is checked by name
            if len(parts) == 1 and cls != "UnresolvedIdentifier":
                if enforcer.jsession.sessionState().catalog().getTempView(parts[0]).isDefined():
                    continue
            location = self._table_storage(parts)
            if location is not None:
                paths.append(location)
        for path in paths:
            source = enforcer.source_for_storage(path)
            if source is not None and source not in found:
                found.append(source)
        return found

    # --- invisible sources: fail exactly as Spark fails for missing ones ------------------

    def _missing(self, parsed: Parsed, invisible: set[str], args: Any) -> DataFrame:
        """Spark's own outcome for the statement with every invisible table missing."""
        enforcer = self._enforcer
        spans: list[Span] = []
        for span in parsed.spans:
            cls = "UnresolvedRelation" if span.cls == "InsertIntoStatement" else span.cls
            source = self._resolve(span.parts, identifier_class=cls)
            if source is not None and source.name in invisible:
                spans.append(span)
        first = next(
            (
                parts
                for cls, parts in parsed.identifiers
                if (s := self._resolve(parts, identifier_class=cls)) and s.name in invisible
            ),
            (),
        )
        if not spans and parsed.root in ("DropTable", "DropView") and first:
            # DROP names its table by an identifier without a usable position: ask Spark directly.
            placeholder = _placeholder_parts(first, 0)
            verb = "DROP TABLE" if parsed.root == "DropTable" else "DROP VIEW"
            text = f"{verb} {'IF EXISTS ' if parsed.plan.ifExists() else ''}" + ".".join(
                quote_identifier(p) for p in placeholder
            )
            return self._missing_like_spark(
                lambda: self._spark.sql(text), {placeholder[-1]: (first[-1], None, None)}, first, raise_it=False
            )
        if not spans:
            raise enforcer.not_found(list(first) or [])
        sql = parsed.sql
        names: dict[str, tuple[str, int | None, int | None]] = {}
        for i, span in enumerate(sorted(spans, key=lambda sp: sp.start, reverse=True)):
            placeholder = _placeholder_parts(span.parts, i)
            if len(span.parts) == 2 and span.parts[0].lower() in FILE_FORMATS and _is_path(span.parts[1]):
                # a path read: Spark's PATH_NOT_FOUND for a path that does not exist
                names["/" + placeholder[-1]] = ("", span.line, span.pos)
                placeholder = (span.parts[0], span.parts[1].rstrip("/") + "/" + placeholder[-1])
            else:
                names[placeholder[-1]] = (span.parts[-1], span.line, span.pos)
            sql = sql[: span.start] + ".".join(quote_identifier(p) for p in placeholder) + sql[span.stop + 1 :]
        if parsed.root == "ExplainCommand":
            return self._missing_like_spark(
                lambda: self._scrub_explain(self._spark.sql(sql, args)), names, first, raise_it=False
            )
        jsession = enforcer.jsession
        jvm = self._spark.sparkContext._jvm
        assert jvm is not None

        def analyze() -> None:
            plan = jsession.sessionState().sqlParser().parsePlan(sql)
            jsession.sessionState().executePlan(plan, _skip_commands(jvm)).analyzed()

        return self._missing_like_spark(analyze, names, first)

    def _missing_like_spark(
        self,
        ask: Any,
        names: dict[str, tuple[str, int | None, int | None]],
        parts: tuple[str, ...],
        *,
        raise_it: bool = True,
    ) -> Any:
        """Run ``ask`` (Spark, with placeholders for invisible names) and put the names back.

        Spark's error is raised with the names put back. Without an error, the generic not-found
        is raised (fail closed), or with ``raise_it=False`` (EXPLAIN, DROP ... IF EXISTS) the result
        is returned, names put back in an EXPLAIN text.
        """
        import re

        from py4j.protocol import Py4JJavaError
        from pyspark.errors import AnalysisException
        from pyspark.errors.exceptions.captured import convert_exception

        def restore(text: str) -> str:
            for placeholder, (name, _line, _pos) in names.items():
                text = text.replace(placeholder, name)
            return text

        try:
            with _quiet_query_context_log():  # pyspark would log the placeholder's name
                result = ask()
        except (Py4JJavaError, AnalysisException) as exc:
            error = convert_exception(exc.java_exception) if isinstance(exc, Py4JJavaError) else exc
            if not isinstance(error, AnalysisException):
                raise self._enforcer.not_found(list(parts)) from None
            message = str(error)
            reported = str((error.getMessageParameters() or {}).get("relationName", message))
            for placeholder, (_name, line, pos) in names.items():
                if placeholder in reported and line is not None and pos is not None:
                    # Earlier rewrites may have moved the text: report the position the user wrote.
                    message = re.sub(r"; line \d+ pos \d+", f"; line {line} pos {pos}", message, count=1)
                    break
            parameters = {k: restore(str(v)) for k, v in (error.getMessageParameters() or {}).items()}
            condition = error.getCondition() or "TABLE_OR_VIEW_NOT_FOUND"
            _log_query_context(restore(error.getMessage()), condition)
            raise GovernedTableNotFound(
                list(parts), spark=(restore(message), condition, parameters, error.getSqlState() or "42P01")
            ) from None
        if raise_it:
            raise self._enforcer.not_found(list(parts))  # Spark found nothing to refuse: fail closed
        if isinstance(result, DataFrame) and result.columns == ["plan"]:
            text = restore("\n".join(str(r[0]) for r in result.collect()))
            return self._spark.createDataFrame([(text,)], "plan string")
        return result

    # --- commands -----------------------------------------------------------------------

    def _check_set(self, parsed: Parsed) -> None:
        kv = parsed.plan.kv()
        if kv.isDefined():
            pair = kv.get()
            key, value = str(pair._1()), pair._2()
            if value.isDefined() and not _allowed_setting(key):
                raise UnenforcedPathError(
                    f"setting '{key}' may not be changed in a governed session (it could switch enforcement "
                    f"off); allowed: {', '.join(ALLOWED_SETTINGS)}"
                )

    def _check_reset(self, parsed: Parsed) -> None:
        config = parsed.plan.config()
        if not config.isDefined():
            raise UnenforcedPathError(
                "RESET of every setting may not run in a governed session (it could restore settings that "
                f"switch enforcement off); reset the allowed settings one by one: {', '.join(ALLOWED_SETTINGS)}"
            )
        key = str(config.get())
        if not _allowed_setting(key):
            raise UnenforcedPathError(
                f"setting '{key}' may not be reset in a governed session (it could switch enforcement off); "
                f"allowed: {', '.join(ALLOWED_SETTINGS)}"
            )

    def _describe(self, parsed: Parsed, sources: list[str]) -> DataFrame | None:
        """DESCRIBE and SHOW COLUMNS of a visible governed table: its enforced columns, no statistics."""
        parts = parsed.identifiers[0][1] if parsed.identifiers else ()
        source = self._resolve(parts, identifier_class="UnresolvedTableOrView") if parts else None
        if source is None:
            return None if parsed.root == "ShowColumns" else self._spark.sql(parsed.sql)
        sources.append(source.name)
        frame = self._enforcer.enforced(source, parts=list(parts))
        if parsed.root == "ShowColumns":
            return self._spark.createDataFrame([(f.name,) for f in frame.schema.fields], "col_name string")
        if parsed.root == "DescribeColumn":
            column = str(parsed.plan.column().nameParts().last()) if hasattr(parsed.plan, "column") else ""
            for field in frame.schema.fields:
                if field.name.lower() == column.lower():
                    rows = [("col_name", field.name), ("data_type", field.dataType.simpleString()), ("comment", "NULL")]
                    return self._spark.createDataFrame(rows, "info_name string, info_value string")
            return self._spark.sql(parsed.sql)
        rows = [(f.name, f.dataType.simpleString(), None) for f in frame.schema.fields]
        return self._spark.createDataFrame(rows, "col_name string, data_type string, comment string")

    def _show_tables(self, sql: str) -> DataFrame:
        raw = self._spark.sql(sql)
        keep = []
        for row in raw.collect():
            d = row.asDict()
            name = str(d.get("tableName") or d.get("viewName") or "")
            if name.lower().startswith(MARKER_ROOT):
                continue
            db = str(d.get("namespace") or d.get("database") or "")
            source = self._enforcer.source_for_table(db, name) if db else None
            if source is not None and not self._enforcer.plan(source).visible:
                continue
            if source is not None and isinstance(d.get("information"), str):
                # SHOW TABLE EXTENDED: no statistics of a governed table (raw size and row count)
                info = "\n".join(line for line in d["information"].split("\n") if not line.startswith("Statistics:"))
                row = type(row)(**{**d, "information": info})
            keep.append(row)
        return self._spark.createDataFrame(keep, raw.schema)

    def _scrub_explain(self, df: DataFrame) -> DataFrame:
        import re

        text = "\n".join(str(r[0]) for r in df.collect())
        for secret in self._enforcer.secret_values():
            text = re.sub(re.escape(secret), "<redacted>", text, flags=re.IGNORECASE)
        return self._spark.createDataFrame([(text,)], "plan string")

    def _owns(self, source: Source) -> bool:
        subject = self._enforcer.subject()
        return source.is_owner(subject.user, subject.groups)

    def _require_owner(self, source: Source, parts: tuple[str, ...], root: str, *, storage: bool = False) -> None:
        plan = self._enforcer.plan(source)
        if self._owns(source):
            return
        if not plan.visible:
            if storage:
                raise UnenforcedPathError(
                    "this statement would write to or lay a table over the storage of a governed table; refused"
                )
            raise self._enforcer.not_found(list(parts))
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

    def _source_by_name(self, table: str) -> Source | None:
        self._enforcer.snapshot()
        parts = name_parts(table)
        return self._resolve(parts)

    def _audit(
        self,
        action: str,
        outcome: str,
        *,
        sources: Iterable[str] = (),
        policies: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        enforcer = self._enforcer
        purposes: list[str] = []
        try:
            purposes = sorted(enforcer.subject().purposes)
        except ImmutaSparkError:
            pass
        self._catalog.record(
            action=action,
            outcome=outcome,
            user=enforcer.user,
            impersonator=enforcer.identity if enforcer.identity != enforcer.user else None,
            project=enforcer.project,
            purposes=purposes,
            sources=list(dict.fromkeys(sources)),
            policies=list(dict.fromkeys(policies)),
            detail=detail,
        )

    # --- internals for the reader and catalog views ------------------------------------

    def _enforced_source(self, source: Source) -> DataFrame:
        return self.sql(f"SELECT * FROM {_reference_text(source.table)}")

    def _plan(self, source: Source) -> Plan:
        return self._enforcer.plan(source)


_QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


@contextmanager
def _quiet_query_context_log() -> Iterator[None]:
    """Silence pyspark's error loggers while Spark analyzes a statement with placeholder names."""
    from pyspark.logger import PySparkLogger

    # Through pyspark's own factory: a logger made here first would not be a PySparkLogger.
    loggers = [PySparkLogger.getLogger(name) for name in _QUERY_CONTEXT_LOGGERS]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was in zip(loggers, before, strict=True):
            logger.disabled = was


def _log_query_context(message: str, condition: str) -> None:
    """Log a not-found error as pyspark logs Spark's own (its message, the names put back)."""
    from pyspark.logger import PySparkLogger

    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    logger.propagate = False
    logger.error(message, errorClass=condition)


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


def _verb(root: str) -> str:
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


def _is_command(enforcer: Enforcer, parsed: Parsed) -> bool:
    plan, root = _under_with(parsed)
    if root in ("InsertIntoStatement", "InsertIntoDir") or root.endswith("Command") or root.startswith("Show"):
        return True
    return bool(enforcer.command_class().isInstance(plan))


def _is_plain_query(parsed: Parsed) -> bool:
    """Whether the statement is a query (analysis runs nothing); WITH is looked through."""
    return _under_with(parsed)[1] in _QUERY_ROOTS


def _under_with(parsed: Parsed) -> tuple[Any, str]:
    """The statement's plan and its class name, looking through WITH (``WITH ... INSERT INTO ...``)."""
    plan, root = parsed.plan, parsed.root
    while root == "UnresolvedWith":
        plan = plan.child()
        root = str(plan.getClass().getSimpleName())
    return plan, root


def _skip_commands(jvm: Any) -> Any:
    """``CommandExecutionMode.SKIP``: analyze a command without running it."""
    return getattr(getattr(jvm.org.apache.spark.sql.execution, "CommandExecutionMode$"), "MODULE$").SKIP()


def _placeholder_parts(parts: tuple[str, ...], index: int) -> tuple[str, ...]:
    """``parts`` with the table name replaced by a name that cannot exist (reserved prefix)."""
    return (*parts[:-1], f"{_MISSING}{secrets.token_hex(4)}_{index}")


def _after_table_keyword(sql: str, start: int) -> bool:
    """Whether the parser-found reference at ``start`` follows ``TABLE`` (``TABLE t`` takes no alias)."""
    before = sql[:start].rstrip()
    return before[-5:].upper() == "TABLE" and (len(before) == 5 or not (before[-6].isalnum() or before[-6] in "_`"))


def _is_path(text: str) -> bool:
    return "/" in text or ":" in text


def name_parts(name: str) -> tuple[str, ...]:
    """The parts of a (possibly backquoted) multi-part table name, unquoted."""
    return tuple(p[1:-1].replace("``", "`") if p.startswith("`") and p.endswith("`") else p for p in _split_name(name))


def _reference_text(name: str) -> str:
    """A table name as SQL text: each part backquoted (the name is data, never spliced raw)."""
    parts = name_parts(name)
    return ".".join(quote_identifier(p) for p in parts)


def _split_name(name: str) -> list[str]:
    parts: list[str] = []
    current = ""
    quoted = False
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "`":
            if quoted and i + 1 < len(name) and name[i + 1] == "`":
                current += "``"
                i += 2
                continue
            quoted = not quoted
            current += ch
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return [p.strip() for p in parts]


class GovernedReader:
    """``session.read`` whose path reads of a governed table's storage get that table's enforcement."""

    def __init__(self, session: ImmutaSparkSession) -> None:
        self._session = session
        self._reader = session._spark.read
        self._format: str | None = None
        self._options: dict[str, Any] = {}

    def format(self, source: str) -> GovernedReader:
        """As ``DataFrameReader.format``."""
        self._format = source
        self._reader = self._reader.format(source)
        return self

    def option(self, key: str, value: Any) -> GovernedReader:
        """As ``DataFrameReader.option``."""
        self._options[key.lower()] = value
        self._reader = self._reader.option(key, value)
        return self

    def options(self, **options: Any) -> GovernedReader:
        """As ``DataFrameReader.options``."""
        for k, v in options.items():
            self.option(k, v)
        return self

    def schema(self, schema: StructType | str) -> GovernedReader:
        """As ``DataFrameReader.schema``."""
        self._reader = self._reader.schema(schema)
        return self

    def table(self, tableName: str) -> DataFrame:
        """As ``session.table``."""
        return self._session.table(tableName)

    def load(
        self, path: str | list[str] | None = None, format: str | None = None, schema: Any = None, **options: Any
    ) -> DataFrame:
        """Load files; a governed table's storage gives that table's enforced DataFrame."""
        if format:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        if options:
            self.options(**options)
        paths = [path] if isinstance(path, str) else list(path or [])
        for key in ("path", "paths"):
            if key in self._options:
                value = self._options[key]
                paths.extend(value.split(",") if isinstance(value, str) and key == "paths" else [value])
        session = self._session
        with session._lock:
            enforcer = session._enforcer
            enforcer.snapshot()
            governed = [(p, enforcer.source_for_storage(p)) for p in paths]
            hits = [(p, s) for p, s in governed if s is not None]
            if hits:
                first, source = hits[0]
                exact = len(paths) == 1 and enforcer.qualify(first) == enforcer.locations().get(source.name)
                if exact and session._plan(source).visible:
                    return session._enforced_source(source)

                def refuse(sources: list[str], policies: list[str]) -> DataFrame:
                    sources.append(source.name)
                    if exact:  # an invisible table's storage reads as a path that does not exist
                        placeholder = f"{_MISSING}{secrets.token_hex(4)}"
                        return session._missing_like_spark(
                            lambda: self._reader.load(first.rstrip("/") + "/" + placeholder),
                            {"/" + placeholder: ("", None, None)},
                            tuple(source.table.split(".")),
                        )
                    what = (
                        f"governed data source '{source.name}'" if session._plan(source).visible else "a governed table"
                    )
                    raise UnenforcedPathError(
                        f"{first} lies in (or above) the storage of {what}; read the whole table "
                        "(session.table) so its policies apply"
                    )

                return session._audited(f"read {', '.join(paths)}", refuse)

            def run(sources: list[str], policies: list[str]) -> DataFrame:
                df = self._reader.load(path) if path is not None else self._reader.load()
                session._guard(df)
                return df

            return session._audited(f"read {', '.join(paths) or self._format or ''}", run)

    def parquet(self, *paths: str, **options: Any) -> DataFrame:
        """As ``DataFrameReader.parquet``."""
        return self.format("parquet").load(list(paths), **options)

    def orc(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.orc``."""
        return self.format("orc").load(path, **options)

    def json(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.json``."""
        return self.format("json").load(path, **options)

    def csv(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.csv``."""
        return self.format("csv").load(path, **options)

    def text(self, paths: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.text``."""
        return self.format("text").load(paths, **options)


class GovernedCatalogAPI:
    """``session.catalog``: Spark's catalog API where listings and existence reflect visibility."""

    def __init__(self, session: ImmutaSparkSession) -> None:
        self._session = session
        self._catalog = session._spark.catalog

    def _visible(self, db: str | None, name: str) -> bool:
        if name.lower().startswith(MARKER_ROOT):
            return False
        enforcer = self._session._enforcer
        enforcer.snapshot()
        source = enforcer.source_for_table(db or self._catalog.currentDatabase(), name) if db is not None else None
        return source is None or enforcer.plan(source).visible

    def listTables(self, dbName: str | None = None, pattern: str | None = None) -> list[Any]:
        """Tables and views, without the governed tables the user may not see."""
        with self._session._lock:
            tables = self._catalog.listTables(dbName, pattern)
            keep = []
            for t in tables:
                if t.isTemporary:
                    if not t.name.lower().startswith(MARKER_ROOT):
                        keep.append(t)
                elif self._visible(t.namespace[0] if t.namespace else None, t.name):
                    keep.append(t)
            return keep

    def tableExists(self, tableName: str, dbName: str | None = None) -> bool:
        """False for a governed table the user may not see, as for one that does not exist."""
        with self._session._lock:
            name = f"{dbName}.{tableName}" if dbName else tableName
            source = self._session._source_by_name(name)
            if source is not None and not self._session._plan(source).visible:
                return False
            return bool(self._catalog.tableExists(tableName, dbName))

    def listColumns(self, tableName: str, dbName: str | None = None) -> list[Any]:
        """Columns as the user sees them (masked types)."""
        from pyspark.sql.catalog import Column as CatalogColumn

        name = f"{dbName}.{tableName}" if dbName else tableName
        source = self._session._source_by_name(name)
        if source is None:
            return self._catalog.listColumns(tableName, dbName)  # as Spark lists it (and fails)
        if not self._session._plan(source).visible:
            parts = tuple(_split_name(name))
            placeholder = _placeholder_parts(parts, 0)
            return self._session._missing_like_spark(
                lambda: self._catalog.listColumns(".".join(placeholder)),
                {placeholder[-1]: (parts[-1], None, None)},
                parts,
            )
        df = self._session.table(name)
        return [
            CatalogColumn(
                name=f.name,
                description=None,
                dataType=f.dataType.simpleString(),
                nullable=f.nullable,
                isPartition=False,
                isBucket=False,
                isCluster=False,
            )
            for f in df.schema.fields
        ]

    def listDatabases(self, pattern: str | None = None) -> list[Any]:
        """As Spark's ``listDatabases``."""
        return self._catalog.listDatabases(pattern)

    def currentDatabase(self) -> str:
        """As Spark's ``currentDatabase``."""
        return self._catalog.currentDatabase()

    def setCurrentDatabase(self, dbName: str) -> None:
        """As Spark's ``setCurrentDatabase``."""
        self._catalog.setCurrentDatabase(dbName)

    def dropTempView(self, viewName: str) -> bool:
        """As Spark's ``dropTempView``; the session's own enforced views are protected."""
        if viewName.lower().startswith(MARKER_ROOT):
            raise UnenforcedPathError(f"names starting with {MARKER_ROOT} are reserved for the governed session")
        return bool(self._catalog.dropTempView(viewName))

    def cacheTable(self, tableName: str) -> None:
        """``CACHE TABLE``: owners only for governed tables."""
        self._session.sql(f"CACHE TABLE {_reference_text(tableName)}")

    def uncacheTable(self, tableName: str) -> None:
        """``UNCACHE TABLE``: owners only for governed tables."""
        self._session.sql(f"UNCACHE TABLE {_reference_text(tableName)}")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"catalog.{name} is not available in a governed session")


class GovernedUDFRegistration:
    """``spark.udf`` of a governed session: Python UDFs, which only ever see enforced columns.

    A Java UDF is a JVM class that runs inside Spark with no check of what it reaches, as
    ``CREATE FUNCTION ... AS 'class'`` is in SQL; both are refused.
    """

    def __init__(self, registration: Any) -> None:
        self._registration = registration

    def register(self, name: str, f: Any, returnType: Any = None) -> Any:
        """As ``UDFRegistration.register``."""
        return self._registration.register(name, f, returnType)

    def registerJavaFunction(self, *args: Any, **kwargs: Any) -> None:
        """Refused: a Java UDF runs JVM code the governed session cannot check."""
        raise UnenforcedPathError("Java UDF classes run JVM code the governed session cannot check; not allowed")

    def registerJavaUDAF(self, *args: Any, **kwargs: Any) -> None:
        """Refused: a Java UDAF runs JVM code the governed session cannot check."""
        raise UnenforcedPathError("Java UDAF classes run JVM code the governed session cannot check; not allowed")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"'{name}' is not available on a governed session's UDF registration")


class GovernedConf:
    """``session.conf``: reads pass through; only :data:`ALLOWED_SETTINGS` may be set."""

    def __init__(self, spark: SparkSession) -> None:
        self._conf = spark.conf

    def get(self, key: str, default: Any = None) -> Any:
        """As ``RuntimeConfig.get``."""
        return self._conf.get(key, default) if default is not None else self._conf.get(key)

    def set(self, key: str, value: Any) -> None:
        """As ``RuntimeConfig.set``, for allowed settings only."""
        if not _allowed_setting(key):
            raise UnenforcedPathError(
                f"setting '{key}' may not be changed in a governed session; allowed: {', '.join(ALLOWED_SETTINGS)}"
            )
        self._conf.set(key, value)

    def unset(self, key: str) -> None:
        """As ``RuntimeConfig.unset``, for allowed settings only."""
        if not _allowed_setting(key):
            raise UnenforcedPathError(f"setting '{key}' may not be changed in a governed session")
        self._conf.unset(key)
