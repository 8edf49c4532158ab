"""Per-session enforcement state: who is asking, compiled plans, enforced DataFrames, views.

An enforced DataFrame is the table's scan, then the row filter, then one projection that
computes every column (masked or not), all lowered to native Spark expressions and aliased
with this session's marker. Everything the user writes sits on top of it, so joins, filters,
windows, aggregates and ``count(*)`` only ever see enforced rows and values.

The marker changes whenever the subject, the project or the catalog revision changes, so the
guard refuses DataFrames enforced under other rules.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import Plan, Snapshot, Subject, compile_plan, make_subject
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.expr import AlwaysTrue, SecretRef
from immuta_spark.model import Source
from immuta_spark.spark.errors import EnforcementError, GovernedAccessDenied, GovernedTableNotFound
from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.lower import Lowering, lower, quote_identifier

__all__ = ["Enforcer", "hadoop_user"]


def hadoop_user(spark: SparkSession) -> str:
    """The authenticated user as Hadoop sees it (Kerberos short name, HADOOP_USER_NAME, OS user)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return str(jvm.org.apache.hadoop.security.UserGroupInformation.getCurrentUser().getShortUserName())


class Enforcer:
    """Enforcement for one governed session."""

    def __init__(self, spark: SparkSession, catalog: GovernanceCatalog, *, user: str, identity: str) -> None:
        self.spark = spark
        self.jsession = spark._jsparkSession
        self.catalog = catalog
        self.user = user
        self.identity = identity
        self.project: str | None = None
        self._session_token = secrets.token_hex(6)
        self._epoch = 0
        self._revision = -1
        self._snapshot: Snapshot | None = None
        self._subject: Subject | None = None
        self._frames: dict[str, tuple[DataFrame, Plan]] = {}
        self._views: dict[str, str] = {}
        self._schemas: dict[str, list[tuple[str, str]]] = {}
        self._tables: dict[str, DataFrame] = {}
        self._plans: dict[str, Plan] = {}
        self._pinned = False
        self._command_class: Any = None
        self._locations: dict[str, str] | None = None
        self._secret_values: dict[SecretRef, bytes] = {}
        self.subject()  # refuse impersonation up front

    # --- state --------------------------------------------------------------------------

    @property
    def marker(self) -> str:
        """The alias prefix of subtrees this session enforced under the current rules."""
        return f"{MARKER_ROOT}{self._session_token}_{self._epoch}_"

    @contextmanager
    def statement(self) -> Iterator[None]:
        """Pin one snapshot for the whole of a statement (one revision check, not one per step)."""
        if self._pinned:
            yield
            return
        self.snapshot()
        self._pinned = True
        try:
            yield
        finally:
            self._pinned = False

    def snapshot(self) -> Snapshot:
        """The catalog snapshot; a new revision resets every cached plan, frame and view."""
        if self._pinned and self._snapshot is not None:
            return self._snapshot
        snap = self.catalog.snapshot()
        if snap.revision != self._revision:
            self._reset()
            self._revision = snap.revision
        self._snapshot = snap
        return snap

    def set_project(self, project: str | None) -> None:
        """Act under ``project`` (None: no project). Checked against membership now."""
        snap = self.snapshot()
        make_subject(snap, self.user, project=project, authenticated=self.identity)
        self.project = project
        self._reset()

    def subject(self) -> Subject:
        """Who is asking, under the current project."""
        snap = self.snapshot()
        if self._subject is None:
            self._subject = make_subject(snap, self.user, project=self.project, authenticated=self.identity)
        return self._subject

    def _reset(self) -> None:
        for view in self._views.values():
            self.jsession.sessionState().catalog().dropTempView(view)
        self._views.clear()
        self._frames.clear()
        self._schemas.clear()
        self._tables.clear()
        self._plans.clear()
        self._locations = None
        self._subject = None
        self._epoch += 1

    # --- resolution ---------------------------------------------------------------------

    def source_for_table(self, db: str, table: str) -> Source | None:
        """The source governing ``db.table`` (case-insensitive), if any."""
        assert self._snapshot is not None
        return self._snapshot.by_table.get(f"{db}.{table}".lower())

    def source_for_path(self, path: str) -> Source | None:
        """The source whose storage holds ``path`` (the path itself or beneath it)."""
        qualified = self.qualify(path)
        for name, location in self.locations().items():
            if qualified == location or qualified.startswith(location.rstrip("/") + "/"):
                assert self._snapshot is not None
                return self._snapshot.sources[name]
        return None

    def source_for_storage(self, path: str) -> Source | None:
        """The source whose storage overlaps ``path``: the location itself, beneath it, or above it.

        Reading a directory above a governed location (recursively, or by partition discovery)
        reads the governed files too, so an ancestor counts (fail closed).
        """
        qualified = self.qualify(path)
        assert self._snapshot is not None
        for name, location in self.storage():
            if _overlaps(qualified, location):
                return self._snapshot.sources[name]
        return None

    def storage(self) -> list[tuple[str, str]]:
        """(source, qualified location) for every governed location: the metastore's and the catalog's."""
        snap = self.snapshot()
        found = list(self.locations().items())
        for source in snap.governance.sources:
            if source.location:
                found.append((source.name, self.qualify(source.location)))
        return found

    def table_location(self, db: str, table: str) -> str | None:
        """The qualified storage location of an existing metastore table, if it has one."""
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        jcat = self.jsession.sessionState().catalog()
        ident = jvm.org.apache.spark.sql.catalyst.TableIdentifier(table, jvm.scala.Some(db))
        if not jcat.tableExists(ident):
            return None
        uri = jcat.getTableMetadata(ident).storage().locationUri()  # a view has none
        return self.qualify(str(uri.get().toString())) if uri.isDefined() else None

    def locations(self) -> dict[str, str]:
        """Qualified storage locations of the governed tables that exist (from the metastore)."""
        if self._locations is None:
            snap = self.snapshot()
            found: dict[str, str] = {}
            jcat = self.jsession.sessionState().catalog()
            jvm = self.spark.sparkContext._jvm
            assert jvm is not None
            for source in snap.governance.sources:
                db, table = source.table_key.split(".")
                ident = jvm.org.apache.spark.sql.catalyst.TableIdentifier(table, jvm.scala.Some(db))
                if jcat.tableExists(ident):
                    uri = jcat.getTableMetadata(ident).location()
                    if uri is not None and str(uri.toString()):
                        found[source.name] = self.qualify(str(uri.toString()))
                if source.location and source.name not in found:
                    found[source.name] = self.qualify(source.location)
            self._locations = found
        return self._locations

    def qualify(self, path: str) -> str:
        """A path made absolute with its file system's scheme and authority."""
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        jpath = jvm.org.apache.hadoop.fs.Path(path)
        conf = self.jsession.sessionState().newHadoopConf()
        qualified = jpath.getFileSystem(conf).makeQualified(jpath)
        if str(qualified.toUri().getScheme()) == "file":
            # A local symbolic link must not hide a governed directory: compare real paths.
            real = str(jvm.java.io.File(qualified.toUri().getPath()).getCanonicalPath())
            qualified = jvm.org.apache.hadoop.fs.Path("file", None, real)
        return str(qualified.toString()).rstrip("/")

    def command_class(self) -> Any:
        """Spark's ``Command`` interface (a JVM class object, looked up once)."""
        if self._command_class is None:
            jvm = self.spark.sparkContext._jvm
            assert jvm is not None
            self._command_class = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.Command")
        return self._command_class

    # --- plans and frames ---------------------------------------------------------------

    def _table(self, source: Source) -> DataFrame:
        """The raw table as a DataFrame (resolved once per rules version: its schema and its scan)."""
        if source.name not in self._tables:
            self._tables[source.name] = self.spark.table(_quoted_table(source.table))
        return self._tables[source.name]

    def schema(self, source: Source) -> list[tuple[str, str]]:
        """The table's (column, Spark SQL type) list."""
        if source.name not in self._schemas:
            fields = self._table(source).schema.fields
            self._schemas[source.name] = [(f.name, f.dataType.simpleString()) for f in fields]
        return self._schemas[source.name]

    def plan(self, source: Source) -> Plan:
        """The compiled plan for the current subject (cached until the rules change)."""
        self.snapshot()
        found = self._plans.get(source.name)
        if found is None:
            found = compile_plan(self.snapshot(), self.subject(), source.name, self.schema(source))
            self._plans[source.name] = found
        return found

    def enforced(self, source: Source, *, parts: list[str] | None = None, origin: tuple[Any, ...] = ()) -> DataFrame:
        """The enforced DataFrame of ``source``; raises like a missing table if it is invisible."""
        self.snapshot()
        cached = self._frames.get(source.name)
        if cached is not None:
            return cached[0]
        plan = self.plan(source)
        if not plan.visible:
            raise self.not_found(parts or source.table.split("."), *origin)
        if not plan.allowed:
            raise GovernedAccessDenied(source.name, plan.denied_reason or "denied")
        if plan.differential_privacy is not None:
            raise GovernedAccessDenied(
                source.name,
                f"policy '{plan.differential_privacy.policy}' allows only differentially private aggregate "
                "queries, which this release does not answer yet",
            )
        try:
            ctx = Lowering(self._secret, prefix=f"{self.marker}secret_")
            row_filter = None if isinstance(plan.row_filter, AlwaysTrue) else lower(plan.row_filter, ctx)
            columns = [lower(c.term, ctx).alias(c.name) for c in plan.columns]
            frame = self._table(source)
            if ctx.secret_columns:
                frame = frame.crossJoin(F.broadcast(self._secret_frame(ctx.secret_columns)))
            if row_filter is not None:
                frame = frame.filter(row_filter)
            frame = frame.select(*columns)
            frame = frame.alias(f"{self.marker}{len(self._frames)}")
        except ImmutaSparkError:
            raise
        except Exception as exc:
            raise EnforcementError(
                f"enforcement of '{source.name}' failed, so no data is returned: {exc}".splitlines()[0]
            ) from exc
        self._frames[source.name] = (frame, plan)
        return frame

    def plan_of(self, source: Source) -> Plan:
        """The plan behind the cached enforced frame (after :meth:`enforced`)."""
        return self._frames[source.name][1]

    def view(self, source: Source, *, parts: list[str] | None = None, origin: tuple[Any, ...] = ()) -> str:
        """A temporary view over the enforced DataFrame, for rewritten SQL."""
        frame = self.enforced(source, parts=parts, origin=origin)
        name = self._views.get(source.name)
        if name is None:
            name = f"{self.marker}v{len(self._views)}"
            frame.createOrReplaceTempView(name)
            self._views[source.name] = name
        return name

    def _secret_frame(self, values: dict[str, str]) -> DataFrame:
        """A one-row local relation holding ``values``: plans print its columns, never its data."""
        jvm = self.spark.sparkContext._jvm
        gateway = self.spark.sparkContext._gateway
        assert jvm is not None and gateway is not None
        row = gateway.new_array(jvm.java.lang.Object, len(values))
        for i, value in enumerate(values.values()):
            row[i] = value
        rows = jvm.java.util.ArrayList()
        rows.add(jvm.org.apache.spark.sql.RowFactory.create(row))
        ddl = ", ".join(f"{quote_identifier(name)} string" for name in values)
        schema = jvm.org.apache.spark.sql.types.StructType.fromDDL(ddl)
        return DataFrame(self.jsession.createDataFrame(rows, schema), self.spark)

    def secret_values(self) -> list[str]:
        """Hex forms of every secret lowered so far (to scrub them from EXPLAIN output)."""
        return [v.hex() for v in self._secret_values.values()] + [v[:32].hex() for v in self._secret_values.values()]

    def _secret(self, ref: SecretRef) -> bytes:
        if ref not in self._secret_values:
            self._secret_values[ref] = self.catalog.secret(ref)
        return self._secret_values[ref]

    # --- errors -------------------------------------------------------------------------

    def not_found(
        self, parts: list[str], line: int | None = None, pos: int | None = None, tree: str | None = None
    ) -> GovernedTableNotFound:
        """Spark's own TABLE_OR_VIEW_NOT_FOUND for ``parts``."""
        jcat = self.jsession.sessionState().catalogManager()
        current = f"`{jcat.currentCatalog().name()}`.`{self.spark.catalog.currentDatabase()}`"
        search = f"[`system`.`builtin`, `system`.`session`, {current}]"
        if tree is None:
            tree = f"'UnresolvedRelation [{', '.join(parts)}], [], false\n"
        return GovernedTableNotFound(list(parts), search_path=search, tree=tree, line=line, pos=pos)


def _overlaps(path: str, location: str) -> bool:
    """Whether ``path`` is ``location``, lies beneath it, or lies above it."""
    a, b = path.rstrip("/"), location.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _quoted_table(table: str) -> str:
    return ".".join(quote_identifier(p) for p in table.split("."))
