"""Enforcement state of one governed session: who is asking, compiled plans, decisions for the JVM.

The JVM rules (:mod:`immuta_spark.spark.governor`) ask :meth:`Enforcer.decide` the first time a
query reaches a source under the current rules. The answer for a readable source is a template:
the table's scan, then the row filter, then one projection that computes every column (masked
or not), all lowered to native Spark expressions and analyzed once in an ungoverned internal
session. The rule puts it over the very relation the user's plan holds, so everything the user
writes sits on top of it: joins, filters, windows, aggregates and ``count(*)`` only ever see
enforced rows and values. Templates are built and shared by
:class:`~immuta_spark.spark.templates.SharedFrames` (re-exported here).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.grants import DEFAULT_LEASE_SECONDS
from immuta_spark.engine import Plan, Snapshot, Subject, compile_plan, make_subject
from immuta_spark.expr import SecretRef
from immuta_spark.model import Source
from immuta_spark.spark.errors import GovernedAccessDenied, GovernedTableNotFound
from immuta_spark.spark.fingerprint import FreshFingerprints
from immuta_spark.spark.governor import JvmGovernor
from immuta_spark.spark.heartbeat import LEASE_SETTING, LeaseHeartbeat
from immuta_spark.spark.limits import storage_limits
from immuta_spark.spark.objects import with_files
from immuta_spark.spark.service_reads import ServiceReads
from immuta_spark.spark.settings import ALLOWED_SETTINGS
from immuta_spark.spark.templates import SharedFrames, quoted_table

__all__ = ["Enforcer", "SharedFrames", "hadoop_user"]


def hadoop_user(spark: SparkSession) -> str:
    """The authenticated user as Hadoop sees it (Kerberos short name, HADOOP_USER_NAME, OS user)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return str(jvm.org.apache.hadoop.security.UserGroupInformation.getCurrentUser().getShortUserName())


class Enforcer:
    """Enforcement for one governed session."""

    def __init__(
        self, spark: SparkSession, catalog: GovernanceCatalog, *, user: str, identity: str, root: SparkSession
    ) -> None:
        self.spark = spark
        self.jsession = spark._jsparkSession
        self.catalog = catalog
        self.user = user
        self.identity = identity
        self.project: str | None = None
        self._revision = -1
        self._snapshot: Snapshot | None = None
        self._subject: Subject | None = None
        self.shared = SharedFrames.of(root)
        self.fingerprints = FreshFingerprints(self._raw_frame, self.acting)
        self._plans: dict[str, Plan] = {}
        #: The fresh fingerprint each plan's k-anonymization used (its distinct counts size the group counts' join).
        self._printed: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._heartbeat: LeaseHeartbeat | None = None
        self.governor = JvmGovernor(spark, self)
        self.governor.limit(storage_limits(root, catalog.store.url), ALLOWED_SETTINGS)
        self.service_reads = ServiceReads(spark, root, self.governor.token)
        self._pinned = False
        self._command_class: Any = None
        self._locations: dict[str, str] | None = None
        self._secret_values: set[str] = set()
        self._acting: GovernanceCatalog | None = None
        #: Set once a plan decided files of an object-backed source: they are listed again at each statement.
        self._listed = False
        self.subject()  # refuse impersonation up front

    # --- state --------------------------------------------------------------------------

    @property
    def stamp_prefix(self) -> str:
        """How enforced subtrees made under this session's current rules are stamped."""
        return self.governor.prefix

    @contextmanager
    def statement(self) -> Iterator[None]:
        """Pin one snapshot for the whole of a statement (one revision check, not one per step)."""
        if self._pinned:
            yield
            return
        if self._listed:
            # Files come and go (and their xattrs change) without a catalog change: decide them afresh.
            self._revision = -1
        self.snapshot()
        self._pinned = True
        try:
            with self.reading():
                yield
        finally:
            self._pinned = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the block as this session's own reading: governed storage as the service identity, when set."""
        if not self.service_reads.enabled:
            yield
            return
        snap = self.snapshot()
        self.service_reads.govern(snap.revision, self.locations())
        with self.service_reads.active():
            yield

    def snapshot(self) -> Snapshot:
        """The catalog snapshot; a new revision resets every cached plan and the JVM rules' decisions."""
        if self._pinned and self._snapshot is not None:
            return self._snapshot
        # The project is the user's setting in the catalog: a switch made anywhere (another
        # session, the CLI) takes effect here at the next statement.
        snap, project = self.catalog.snapshot_for(self.user)
        changed = snap.revision != self._revision or project != self.project
        if changed:
            self._reset()
            self._revision = snap.revision
            self.project = project
        self._snapshot = snap
        if changed:
            self._push(snap)
        return snap

    def set_project(self, project: str | None) -> None:
        """Make the user act under ``project`` (None: no project), in every session of theirs.

        Checked against membership now and audited (see
        :meth:`immuta_spark.catalog.GovernanceCatalog.switch_project`).
        """
        lease = float(self.spark.conf.get(LEASE_SETTING, str(DEFAULT_LEASE_SECONDS)))
        grant = self.catalog.switch_project(project, user=self.user, lease_seconds=lease)
        self.stop_heartbeat()
        if grant is not None:

            def renew() -> bool:
                return self.acting().renew_workspace_access(lease_seconds=lease) is not None

            # The catalog may have granted less than asked (settings.workspace_lease_max_seconds):
            # renew on the lease actually granted.
            self._heartbeat = LeaseHeartbeat(renew, min(lease, grant.expires_at - time.time()))
        self.snapshot()

    def stop_heartbeat(self) -> None:
        """Stop renewing this session's workspace grant (the session is stopping, or switching)."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def acknowledge_project(self, project: str, *, accept: bool) -> list[tuple[str, str]]:
        """The user accepts (or rejects) every purpose statement of ``project``; audited."""
        statements = self.catalog.acknowledge_project(project, accept=accept, user=self.user)
        self.snapshot()
        return statements

    def acting(self) -> GovernanceCatalog:
        """The catalog acting as this session's user (authenticated as its identity): requests, registrations.

        One per session, so that its snapshot is loaded once per catalog revision, not once per write.
        """
        if self._acting is None:
            self._acting = GovernanceCatalog(self.catalog.store, identity=self.identity, act_as=self.user)
        return self._acting

    def subject(self) -> Subject:
        """Who is asking, under the current project."""
        snap = self.snapshot()
        if self._subject is None:
            self._subject = make_subject(snap, self.user, project=self.project, authenticated=self.identity)
        return self._subject

    def _reset(self) -> None:
        self._listed = False
        self._plans.clear()
        self._printed.clear()
        self._locations = None
        self._subject = None

    def _push(self, snap: Snapshot) -> None:
        """Tell the JVM rules which tables and locations are governed under the new rules."""
        tables = {key: source.name for key, source in snap.by_table.items()}
        declared = {s.name: s.location for s in snap.governance.sources if s.location}
        self.governor.reset(tables, declared)

    def decide(self, name: str) -> None:
        """Hand the JVM rules the decision for source ``name`` under the current rules (asked by the rule)."""
        # A py4j callback runs on a JVM thread of its own: the template's reads need the session's mark there too.
        with self._lock, self.reading():
            snap = self.snapshot()
            source = snap.sources.get(name)
            if source is None:
                self.governor.fail(name, f"'{name}' is not a governed source any more; run the query again")
                return
            subject = self.subject()
            owner = source.is_owner(subject.user, subject.groups)
            plan = self.plan(source)
            if not plan.visible:
                self.governor.hide(name)
                return
            if not plan.allowed:
                self.governor.deny(name, plan.denied_reason or "denied", owner=owner)
                return
            # The catalog's id too: a catalog re-created at the same URL restarts its revisions.
            catalog = f"{self.catalog.store.url}#{self.catalog.store.catalog_id}"
            entry = self.shared.enforced(
                source, plan, (catalog, snap.revision), self._secret, self._printed.get(source.name)
            )
            self._secret_values.update(entry.secrets)
            if plan.differential_privacy is not None:
                # Masks and row filters apply beneath the noise; only spark/dp.py's aggregates read it.
                self.governor.enforce_private(name, entry.template, owner=owner)
                return
            self.governor.enforce(name, entry.template, owner=owner, pinned=entry.pinned, listing=entry.listing)

    # --- resolution ---------------------------------------------------------------------

    def source_for_table(self, db: str, table: str) -> Source | None:
        """The source governing ``db.table`` (case-insensitive), if any."""
        assert self._snapshot is not None
        return self._snapshot.by_table.get(f"{db}.{table}".lower())

    def names_governed(self, plan_text: str) -> bool:
        """Whether a plan's text (as an analysis error prints it) reads a governed table."""
        low = plan_text.lower()
        snap = self.snapshot()
        for key in snap.by_table:
            db, _, table = key.partition(".")
            if f"{db}.{table}[" in low or f"`{db}`.`{table}`" in low:
                return True
        return False

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

    def schema(self, source: Source) -> list[tuple[str, str]]:
        """The table's (column, Spark SQL type) list (resolving the table reads its storage: as the session)."""
        with self.reading():
            if source.object is not None:
                return self.object_raw(source).schema
            return self.shared.raw(source.table).schema

    def _raw_frame(self, table: str) -> DataFrame:
        """The raw DataFrame a fingerprint is taken of: the table's, or an object-backed source's files."""
        source = self.snapshot().by_table.get(table.lower())
        if source is not None and source.object is not None:
            return self.object_raw(source).frame
        return self.shared.raw(table).frame

    def object_raw(self, source: Source) -> Any:
        """An object-backed source's raw read (``frame``, ``schema``), inferred in the internal session.

        A user's read is given its schema: inferring it in the user's session would read the
        files by a relation of their own, which the rules rightly refuse.
        """
        catalog = f"{self.catalog.store.url}#{self.catalog.store.catalog_id}"
        with self.reading():
            return self.shared.raw_of(source, (catalog, self.snapshot().revision))

    def plan(self, source: Source) -> Plan:
        """The compiled plan for the current subject (cached until the rules change)."""
        self.snapshot()
        found = self._plans.get(source.name)
        if found is None:
            snap, schema = self.snapshot(), self.schema(source)
            # A k-anonymization needs the table's fresh fingerprint (its cutoff and K): recomputed when stale.
            printed = self.fingerprints.fresh(snap, source, [c for c, _ in schema])
            found = compile_plan(snap, self.subject(), source.name, schema, printed)
            self._printed[source.name] = printed
            if found.allowed:
                with self.reading():
                    found, listed = with_files(self.spark, source, found)
                self._listed = self._listed or listed
            self._plans[source.name] = found
        return found

    def enforced(self, source: Source, *, parts: list[str] | None = None, origin: tuple[Any, ...] = ()) -> DataFrame:
        """The enforced DataFrame of ``source`` in this session (for its schema).

        Raises like a missing table if the source is invisible.
        """
        plan = self.plan(source)
        if not plan.visible:
            raise self.not_found(parts or source.table.split("."), *origin)
        if not plan.allowed:
            raise GovernedAccessDenied(source.name, plan.denied_reason or "denied")
        return self.spark.table(quoted_table(source.table))

    def secret_values(self) -> list[str]:
        """Hex forms of every secret lowered so far (to scrub them from EXPLAIN output)."""
        return sorted(self._secret_values)

    def _secret(self, ref: SecretRef) -> bytes:
        return self.catalog.secret(ref)

    # --- errors -------------------------------------------------------------------------

    def not_found(
        self,
        parts: list[str],
        line: int | None = None,
        pos: int | None = None,
        tree: str | Callable[[], str] | None = None,
    ) -> GovernedTableNotFound:
        """Spark's own TABLE_OR_VIEW_NOT_FOUND for ``parts`` (``tree``: the parsed plan's text, or how to get it)."""
        jcat = self.jsession.sessionState().catalogManager()
        current = f"`{jcat.currentCatalog().name()}`.`{self.spark.catalog.currentDatabase()}`"
        search = f"[`system`.`builtin`, `system`.`session`, {current}]"
        if callable(tree):
            tree = tree()
        if tree is None:
            tree = f"'UnresolvedRelation [{', '.join(parts)}], [], false\n"
        return GovernedTableNotFound(list(parts), search_path=search, tree=tree, line=line, pos=pos)


def _overlaps(path: str, location: str) -> bool:
    """Whether ``path`` is ``location``, lies beneath it, or lies above it."""
    a, b = path.rstrip("/"), location.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
