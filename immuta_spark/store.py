"""The catalog's storage, on SQLAlchemy 2 Core: a SQLite file by default, PostgreSQL by URL.

Writers are serialised by the database itself: on SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (so two processes never both hold a read lock they must upgrade), on
PostgreSQL it first takes a transaction-scoped advisory lock (reads there run at repeatable read,
one snapshot each). The schema carries a version and moves forward through :data:`MIGRATIONS`; a
catalog written by a newer release is refused.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, func, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from immuta_spark.auditlog import AuditLog, audit_row, default_spool_directory, insert_new
from immuta_spark.dp_store import DPRows
from immuta_spark.entity_store import EntityRows
from immuta_spark.errors import CatalogError
from immuta_spark.idp_store import IdpRows
from immuta_spark.project_store import ProjectRows
from immuta_spark.schema import (
    CATALOG_ID,
    LATEST_VERSION,
    MIGRATIONS,
    AuditRecord,
    application_id,
    current_projects,
    fingerprints,
    meta,
    now,
    secrets_table,
    subscriptions,
)
from immuta_spark.sqlite_file import FileWatch, sqlite_events, sqlite_file
from immuta_spark.unmask_store import UnmaskRows
from immuta_spark.workspace_store import WorkspaceRows

__all__ = ["LATEST_VERSION", "MIGRATIONS", "AuditRecord", "Store", "redact_url"]

#: The PostgreSQL advisory lock key that serialises writers (advisory locks are per database).
_PG_WRITE_LOCK = 0x1A4D_5A7C_0001
#: The meta keys one revision check reads.
_STAMP_KEYS = ("revision", CATALOG_ID)


class Store(EntityRows, ProjectRows, WorkspaceRows, UnmaskRows, DPRows, IdpRows):
    """Transactions, migrations and the few queries the catalog needs.

    Opening never creates: a SQLite file that does not exist, or a database without the
    catalog's tables, is a :class:`CatalogError` unless ``create`` is true (``immuta-spark
    init``, the first ``apply``). The catalog's id (``meta.catalog_id``) and, on SQLite, the
    file's identity are remembered; once the database behind the URL is found deleted, replaced
    or re-created, every later read and write fails closed until the catalog is opened again.
    """

    def __init__(
        self,
        url: str,
        *,
        create: bool = False,
        target_version: int = LATEST_VERSION,
        audit_spool: Path | None = None,
    ) -> None:
        self.url = url
        #: Whether this open created the catalog (an empty database or no file before).
        self.created = False
        self.catalog_id: str | None = None
        self._lost: str | None = None
        #: Called inside every write transaction that moved the revision, before it commits.
        self.revision_hook: Callable[[Connection], None] | None = None
        self._file = sqlite_file(url)
        if self._file is not None and not self._file.exists():
            if not create:
                raise CatalogError(self._missing(f"the file {self._file.path} does not exist"))
            if not self._file.path.parent.is_dir():
                raise CatalogError(
                    f"cannot create the catalog at {redact_url(url)}: the directory {self._file.path.parent} "
                    "does not exist; check the path, or create the directory first"
                )
            self._file.create()
        elif self._file is not None and not create:
            try:
                found = self._file.has_table("meta")  # before any connection changes the file (WAL)
            except sqlite3.Error as exc:
                raise CatalogError(
                    f"the catalog at {redact_url(url)} could not be read: {exc}; check that the URL names a "
                    "catalog file"
                ) from exc
            if not found:
                raise CatalogError(self._missing("the database holds no catalog (no catalog tables)"))
        self._watch = FileWatch(self._file) if self._file is not None else None
        try:
            engine_url = self._file.engine_url(make_url(url)) if self._file is not None else url
            self.engine: Engine = create_engine(engine_url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise CatalogError(
                f"cannot open the catalog at {redact_url(url)}: {exc}; check the URL "
                "(sqlite:///path/catalog.db or postgresql+psycopg://user@host/db; PostgreSQL needs "
                "the 'postgres' extra)"
            ) from exc
        if self.engine.dialect.name == "sqlite":
            sqlite_events(self.engine)
        if not create and self.version() == 0:
            raise CatalogError(self._missing("the database holds no catalog (no catalog tables)"))
        before = self.migrate(target_version)
        self.created = before == 0
        if self._file is not None and before < target_version:
            self._file.checkpoint(self.engine)  # the new header (application id) on disk
        with self.read() as conn:
            self.catalog_id = self._stamp(conn).get(CATALOG_ID)
        if self._watch is not None and self.catalog_id is not None:
            self._watch.expect(application_id(self.catalog_id))
        spool = audit_spool or default_spool_directory(
            self._file.path if self._file else None, self.catalog_id or "no-catalog-id"
        )
        #: The audit records: appended with a bounded wait, spooled locally when the lock is held.
        self.audit_log = AuditLog(self, spool)
        self.audit_log.drain(wait_ms=self.audit_log.wait_ms)  # what a process that died left spooled

    def _missing(self, why: str) -> str:
        shown = redact_url(self.url)
        return (
            f"no governance catalog at {shown}: {why}. Check the URL (a mistyped path opens nothing); "
            f"to create a new, empty catalog there run `immuta-spark init {shown}`, or apply your policy "
            f"file (`immuta-spark --catalog {shown} apply FILE`, whose first run creates the catalog)"
        )

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return redact_url(self.url)

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent view of the catalog)."""
        self._check_file()
        try:
            with self.engine.connect() as raw:
                conn = raw
                if raw.dialect.name == "postgresql":
                    # One snapshot for the whole transaction (read committed would take one per statement).
                    conn = raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise CatalogError(
                f"the catalog at {redact_url(self.url)} could not be read: {exc.orig}; "
                "check that the database is reachable and is a catalog, then try again",
                transient=isinstance(exc, OperationalError),
            ) from exc

    @contextmanager
    def write(self, *, wait_ms: int | None = None, lock: bool = True) -> Iterator[Connection]:
        """A serialised write transaction: all of it commits, or none of it.

        ``wait_ms`` bounds the wait for the write lock (default: a minute). ``lock=False`` is for
        appends that need no serialisation (audit records): PostgreSQL then takes no advisory
        lock; SQLite has one writer at a time whatever is written.
        """
        self._check_file()
        try:
            with self.engine.connect() as raw:
                if raw.dialect.name == "postgresql":
                    # Read committed: after the lock, each statement sees what earlier writers committed.
                    conn = raw.execution_options(isolation_level="READ COMMITTED")
                else:
                    conn = raw.execution_options(sqlite_begin="IMMEDIATE", sqlite_busy_ms=wait_ms)
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        if wait_ms is not None:
                            for name in ("lock_timeout", "statement_timeout"):
                                conn.execute(select(func.set_config(name, f"{int(wait_ms)}ms", True)))
                        if lock:
                            # A transaction-scoped advisory lock, not a row lock: it also serialises
                            # the first migration of an empty database, which has no row to lock yet.
                            conn.execute(select(func.pg_advisory_xact_lock(_PG_WRITE_LOCK)))
                    conn.info.pop("bumped", None)  # info outlives a rolled-back transaction
                    yield conn
                    if conn.info.pop("bumped", False) and self.revision_hook is not None:
                        # Inside the same transaction: what the change makes invalid goes with it.
                        self.revision_hook(conn)
        except (OperationalError, ProgrammingError) as exc:
            raise CatalogError(
                f"the catalog at {redact_url(self.url)} could not be written: {exc.orig}; "
                "check that the database is reachable and writable, then try again",
                transient=isinstance(exc, OperationalError),
            ) from exc

    @staticmethod
    def _has_meta(conn: Connection) -> bool:
        return inspect(conn).has_table("meta")

    # --- identity -----------------------------------------------------------------------

    def _check_file(self) -> None:
        """Fail closed once the database was lost, or when the SQLite file is gone or replaced."""
        if self._lost is not None:
            raise CatalogError(self._lost)
        if self._watch is not None and (why := self._watch.changed()) is not None:
            self._lose(why)

    def _lose(self, what: str) -> None:
        """Refuse every later read and write of this store (the database is not the one opened)."""
        self._lost = (
            f"the catalog at {redact_url(self.url)} is no longer the one this process opened: {what}. "
            "Nothing more is read from it or written to it (fail closed). Restore the catalog, or check "
            "that the database now behind the URL is the one you mean, then open it again (a new "
            "GovernanceCatalog.open or governed session)"
        )
        self.engine.dispose()
        raise CatalogError(self._lost)

    def _stamp(self, conn: Connection) -> dict[str, str]:
        """The revision and catalog id, in one read; a changed or vanished id loses the store."""
        try:
            rows = conn.execute(select(meta.c.key, meta.c.value).where(meta.c.key.in_(_STAMP_KEYS)))
            found = {str(k): str(v) for k, v in rows}
        except (OperationalError, ProgrammingError) as exc:
            if self.catalog_id is not None and _no_table(exc):
                self._lose("the database no longer holds a catalog")
            raise
        if self.catalog_id is not None and found.get(CATALOG_ID) != self.catalog_id:
            found_id = found.get(CATALOG_ID)
            self._lose(
                f"the database was replaced or re-created (catalog id {self.catalog_id} when opened, "
                f"now {found_id or 'none'})"
            )
        return found

    # --- schema -------------------------------------------------------------------------

    def version(self) -> int:
        """The schema version of the catalog (0: empty database)."""
        with self.read() as conn:
            return self._version(conn)

    def _version(self, conn: Connection) -> int:
        if not self._has_meta(conn):
            return 0
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        return int(row[0]) if row else 1

    def migrate(self, target: int = LATEST_VERSION) -> int:
        """Bring the schema forward to ``target``; never backwards. Returns the version found (0: created)."""
        found = self.version()
        if 0 < found <= LATEST_VERSION and found >= target:
            return found  # nothing to do: no write lock (opening never waits for another writer)
        with self.write() as conn:
            current = self._version(conn)
            if current > LATEST_VERSION:
                raise CatalogError(
                    f"the catalog has schema version {current}, newer than this release understands "
                    f"({LATEST_VERSION}); upgrade immuta-spark"
                )
            for version in range(current, target):
                MIGRATIONS[version](conn)
                self._set_meta(conn, "schema_version", str(version + 1))
            return current

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        done = conn.execute(update(meta).where(meta.c.key == key).values(value=value))
        if done.rowcount == 0:
            conn.execute(insert(meta).values(key=key, value=value))

    # --- revision -----------------------------------------------------------------------

    def revision(self, conn: Connection | None = None) -> int:
        """The revision: it grows with every change that a snapshot would see.

        The same read checks the catalog's id (see :class:`Store`), so every snapshot check
        notices a replaced catalog.
        """
        if conn is None:
            with self.read() as c:
                return self.revision(c)
        return int(self._stamp(conn)["revision"])

    def bump(self, conn: Connection) -> int:
        """Increase the revision inside a write transaction."""
        rev = self.revision(conn) + 1
        self._set_meta(conn, "revision", str(rev))
        conn.info["bumped"] = True
        return rev

    # --- secrets (entity rows and ensure_secret(s): immuta_spark.entity_store) ----------

    def secret(self, scope: str, owner: str, purpose: str) -> bytes:
        """A secret's bytes, created on first use."""
        with self.read() as conn:
            found = conn.execute(
                select(secrets_table.c.value).where(
                    secrets_table.c.scope == scope, secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
                )
            ).first()
        if found is None:
            try:
                with self.write() as conn:
                    self.ensure_secret(conn, scope, owner, purpose)
            except IntegrityError:  # another process created it first: use theirs
                pass
            return self.secret(scope, owner, purpose)
        return bytes.fromhex(found[0])

    # --- subscriptions ------------------------------------------------------------------

    def current_project(self, conn: Connection, user: str) -> str | None:
        """The project ``user`` acts under (None: no project)."""
        row = conn.execute(select(current_projects.c.project).where(current_projects.c.user == user)).first()
        return None if row is None else str(row[0])

    def set_current_project(self, conn: Connection, user: str, project: str | None) -> None:
        """Make ``user`` act under ``project`` (None: no project), inside the caller's write transaction."""
        conn.execute(delete(current_projects).where(current_projects.c.user == user))
        if project is not None:
            conn.execute(insert(current_projects).values(user=user, project=project, set_at=now()))

    def subscriptions(self, conn: Connection) -> list[dict[str, Any]]:
        """Every subscription record."""
        rows = conn.execute(select(subscriptions)).mappings()
        return [{**r, "approvals": json.loads(r["approvals"])} for r in rows]

    def subscription(self, conn: Connection, source: str, user: str) -> dict[str, Any] | None:
        """One user's subscription record on a source, or None."""
        row = (
            conn.execute(select(subscriptions).where(subscriptions.c.source == source, subscriptions.c.user == user))
            .mappings()
            .first()
        )
        return None if row is None else {**row, "approvals": json.loads(row["approvals"])}

    def put_subscription(
        self,
        conn: Connection,
        *,
        source: str,
        user: str,
        status: str,
        approvals: list[str],
        added: bool,
        reason: str = "",
    ) -> None:
        """Insert or replace a subscription record."""
        values = {
            "status": status,
            "approvals": json.dumps(sorted(approvals)),
            "added": added,
            "reason": reason,
            "updated_at": now(),
        }
        done = conn.execute(
            update(subscriptions).where(subscriptions.c.source == source, subscriptions.c.user == user).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(subscriptions).values(source=source, user=user, **values))

    # --- fingerprints -------------------------------------------------------------------

    def fingerprints(self, conn: Connection) -> dict[str, dict[str, Any]]:
        """Stored fingerprints by source."""
        return {s: json.loads(b) for s, b in conn.execute(select(fingerprints.c.source, fingerprints.c.body))}

    def fingerprint_of(self, conn: Connection, source: str) -> dict[str, Any] | None:
        """One source's stored fingerprint, or None."""
        row = conn.execute(select(fingerprints.c.body).where(fingerprints.c.source == source)).first()
        return None if row is None else dict(json.loads(row[0]))

    def put_fingerprint(self, conn: Connection, source: str, body: dict[str, Any]) -> None:
        """Store (replace) a source's fingerprint."""
        conn.execute(delete(fingerprints).where(fingerprints.c.source == source))
        conn.execute(insert(fingerprints).values(source=source, body=json.dumps(body), computed_at=now()))

    # --- audit --------------------------------------------------------------------------

    def append_audit(self, conn: Connection, **fields: Any) -> None:
        """Append one audit record inside the caller's transaction (fields: see :func:`audit_row`)."""
        insert_new(conn, audit_row(**fields))

    def audit_records(self, **filters: Any) -> list[AuditRecord]:
        """Audit records, oldest first, filtered (see :meth:`AuditLog.records`)."""
        return self.audit_log.records(**filters)


def _no_table(exc: SQLAlchemyError) -> bool:
    """Whether a database error says the catalog's tables are not there."""
    orig = getattr(exc, "orig", None)
    return "no such table" in str(orig) or getattr(orig, "sqlstate", None) == "42P01"


def redact_url(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too broken to parse is shown as a placeholder
        return "<catalog URL>"
