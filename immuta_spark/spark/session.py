"""``ImmutaSparkSession``: a governed wrapper around a SparkSession.

It wraps (never subclasses) a SparkSession and offers ``table``, ``sql``, ``read``,
``catalog``, ``set_project``/``project``, ``explain_policies``, ``conf``, ``createDataFrame``,
``range``, ``udf`` and ``stop``. Everything else of SparkSession that could reach governed data
(``sparkContext``, ``readStream``, the JVM handles) is absent on purpose.

Every statement goes through the same steps: parse with Spark's parser, find every table it
references, compile each governed table's plan, rewrite the references to enforced views,
analyze, guard the analyzed plan, audit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import Plan
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.model import Source
from immuta_spark.spark.enforce import Enforcer, hadoop_user
from immuta_spark.spark.errors import GovernedAccessDenied, UnenforcedPathError
from immuta_spark.spark.guard import MARKER_ROOT, check_plan
from immuta_spark.spark.lower import quote_identifier
from immuta_spark.spark.refs import FILE_FORMATS, Parsed, Reference, parse_statement

__all__ = ["ALLOWED_SETTINGS", "GovernedCatalogAPI", "GovernedConf", "GovernedReader", "ImmutaSparkSession"]

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
#: Commands whose governed target only an owner may touch.
_TARGET_COMMANDS = frozenset({"CacheTable", "UncacheTable"})
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

    def __init__(self, spark: SparkSession, catalog: GovernanceCatalog, *, user: str | None = None) -> None:
        identity = hadoop_user(spark)
        if catalog.identity != identity:
            catalog = GovernanceCatalog(catalog.store, identity=identity)
        self._spark = spark
        self._catalog = catalog
        self._lock = threading.RLock()
        self._enforcer = Enforcer(spark, catalog, user=user or identity, identity=identity)

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
        """The enforced DataFrame of a table (an ungoverned table is returned as is)."""
        with self._lock:
            return self.sql(f"SELECT * FROM {_reference_text(tableName)}")

    def sql(self, sqlQuery: str, args: dict[str, Any] | list[Any] | None = None, **kwargs: Any) -> DataFrame:
        """Run SQL with every governed table enforced. Refuses what it cannot enforce."""
        with self._lock:
            started = time.perf_counter()
            sources: list[str] = []
            policies: list[str] = []
            try:
                df = self._statement(sqlQuery, args, kwargs, sources, policies)
            except Exception as exc:
                self._audit(
                    "query",
                    "denied" if isinstance(exc, ImmutaSparkError) else "error",
                    sources=sources,
                    policies=policies,
                    detail={"sql": sqlQuery[:2000], "error": str(exc).splitlines()[0][:500] if str(exc) else ""},
                )
                raise
            self._audit(
                "query",
                "ok",
                sources=sources,
                policies=policies,
                detail={"sql": sqlQuery[:2000], "policy_ms": round((time.perf_counter() - started) * 1000, 3)},
            )
            return df

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
    def udf(self) -> Any:
        """UDF registration (UDFs run on enforced data only)."""
        return self._spark.udf

    @property
    def version(self) -> str:
        """Spark's version."""
        return self._spark.version

    def createDataFrame(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.createDataFrame`` (the user's own data)."""
        return self._spark.createDataFrame(*args, **kwargs)

    def range(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.range``."""
        return self._spark.range(*args, **kwargs)

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
        """Stop the underlying SparkSession."""
        self._spark.stop()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'{name}' is not available in a governed session: it could reach governed data without "
            "enforcement. Use table, sql, read or catalog."
        )

    # --- statements ---------------------------------------------------------------------

    def _statement(
        self, sql: str, args: Any, kwargs: dict[str, Any], sources: list[str], policies: list[str]
    ) -> DataFrame:
        enforcer = self._enforcer
        enforcer.snapshot()
        parsed = parse_statement(enforcer.jsession, sql)
        for _cls, parts in parsed.identifiers:
            if any(p.lower().startswith(MARKER_ROOT) for p in parts):
                raise UnenforcedPathError(f"names starting with {MARKER_ROOT} are reserved for the governed session")
        if "ScriptTransformation" in parsed.classes:
            raise UnenforcedPathError("TRANSFORM ... USING runs scripts on raw rows; it is not allowed")
        root = parsed.root
        if root == "SetCommand":
            self._check_set(parsed)
            return self._spark.sql(sql)
        if root == "ResetCommand":
            return self._spark.sql(sql)
        if root in _DESCRIBE:
            return self._describe(parsed, sources)
        if root in _SHOW_TABLES:
            return self._show_tables(sql)
        governed, targets = self._classify(parsed)
        for _ref, source in governed:
            sources.append(source.name)
        for parts, source in targets:
            sources.append(source.name)
            self._require_owner(source, parts, root)
        if root in _OWNER_ONLY_SHOW or root == "ShowColumns":
            return self._spark.sql(sql)
        is_command = root not in ("ExplainCommand",) and _is_command(enforcer, parsed)
        if is_command and all(self._owns(s) for _r, s in governed) and (governed or targets):
            rewritten = sql  # an owner's own DDL or write: run as written
        else:
            rewritten = self._rewrite(parsed, governed, policies)
        df = self._spark.sql(rewritten, args, **kwargs)
        if root == "ExplainCommand":
            return self._scrub_explain(df)
        if not is_command:
            self._guard(df)
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
            if lowered[0] in FILE_FORMATS and ("/" in parts[1] or ":" in parts[1]):
                return enforcer.source_for_path(parts[1])
            return enforcer.source_for_table(lowered[0], lowered[1])
        if len(lowered) == 3 and lowered[0] == "spark_catalog":
            return enforcer.source_for_table(lowered[1], lowered[2])
        return None

    def _rewrite(self, parsed: Parsed, governed: list[tuple[Reference, Source]], policies: list[str]) -> str:
        """Replace each governed reference's text with its enforced view (ours, quoted)."""
        sql = parsed.sql
        tree = None
        for ref, source in sorted(governed, key=lambda rs: rs[0].start, reverse=True):
            if tree is None:
                tree = str(parsed.plan.treeString())
            view = self._enforcer.view(source, parts=list(ref.parts), origin=(ref.line, ref.pos, tree))
            policies.extend(self._enforcer.plan_of(source).policies_applied)
            replacement = quote_identifier(view)
            if not ref.aliased:
                replacement += " AS " + quote_identifier(ref.parts[-1])
            sql = sql[: ref.start] + replacement + sql[ref.stop + 1 :]
        return sql

    def _guard(self, df: DataFrame) -> None:
        enforcer = self._enforcer
        try:
            check_plan(
                df._jdf.queryExecution().analyzed(),
                marker=enforcer.marker,
                governed_table=lambda db, t: s.name if (s := enforcer.source_for_table(db, t)) else None,
                governed_path=lambda p: s.name if (s := enforcer.source_for_path(p)) else None,
            )
        except ImmutaSparkError:
            raise
        except Exception as exc:
            raise UnenforcedPathError(f"the plan could not be checked, so it is refused: {exc}") from exc

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

    def _describe(self, parsed: Parsed, sources: list[str]) -> DataFrame:
        parts = parsed.identifiers[0][1] if parsed.identifiers else ()
        source = self._resolve(parts, identifier_class="UnresolvedTableOrView") if parts else None
        if source is None:
            return self._spark.sql(parsed.sql)
        sources.append(source.name)
        frame = self._enforcer.enforced(source, parts=list(parts))
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
            keep.append(row)
        return self._spark.createDataFrame(keep, raw.schema)

    def _scrub_explain(self, df: DataFrame) -> DataFrame:
        text = "\n".join(str(r[0]) for r in df.collect())
        for secret in self._enforcer.secret_values():
            text = text.replace(secret, "<redacted>")
        return self._spark.createDataFrame([(text,)], "plan string")

    def _owns(self, source: Source) -> bool:
        subject = self._enforcer.subject()
        return source.is_owner(subject.user, subject.groups)

    def _require_owner(self, source: Source, parts: tuple[str, ...], root: str) -> None:
        plan = self._enforcer.plan(source)
        if not plan.visible:
            raise self._enforcer.not_found(list(parts))
        if not self._owns(source):
            raise GovernedAccessDenied(
                source.name,
                f"{_verb(root)} on a governed table is reserved to the source's owners; query it instead",
            )

    def _source_by_name(self, table: str) -> Source | None:
        self._enforcer.snapshot()
        parts = tuple(p.strip("`") for p in table.split("."))
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


def _verb(root: str) -> str:
    words = {
        "InsertIntoStatement": "INSERT",
        "DropTable": "DROP",
        "TruncateTable": "TRUNCATE",
        "CacheTable": "CACHE",
        "UncacheTable": "UNCACHE",
    }
    return words.get(root, "ALTER" if "Alter" in root or "Add" in root or "Rename" in root else root)


def _is_command(enforcer: Enforcer, parsed: Parsed) -> bool:
    if parsed.root in ("InsertIntoStatement",) or parsed.root.endswith("Command") or parsed.root.startswith("Show"):
        return True
    jvm = enforcer.spark.sparkContext._jvm
    assert jvm is not None
    command = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.Command")
    return bool(command.isInstance(parsed.plan))


def _reference_text(name: str) -> str:
    """A table name as SQL text: each part backquoted (the name is data, never spliced raw)."""
    parts = [p[1:-1].replace("``", "`") if p.startswith("`") and p.endswith("`") else p for p in _split_name(name)]
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
        with self._session._lock:
            enforcer = self._session._enforcer
            enforcer.snapshot()
            governed = [(p, enforcer.source_for_path(p)) for p in paths]
            hits = [(p, s) for p, s in governed if s is not None]
            if hits:
                if len(paths) != 1 or enforcer.qualify(paths[0]) != enforcer.locations()[hits[0][1].name]:
                    raise UnenforcedPathError(
                        f"{hits[0][0]} lies in the storage of governed data source '{hits[0][1].name}'; read the "
                        "whole table (session.table) so its policies apply"
                    )
                return self._session._enforced_source(hits[0][1])
            df = self._reader.load(path) if path is not None else self._reader.load()
            self._session._guard(df)
            return df

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
