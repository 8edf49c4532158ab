"""The catalog's storage, on SQLAlchemy 2 Core: a SQLite file by default, PostgreSQL by URL.

Writers are serialised by the database itself: on SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (so two processes never both hold a read lock they must upgrade), on
PostgreSQL it first takes a transaction-scoped advisory lock (reads there run at repeatable read,
one snapshot each). The schema carries a version and moves forward through :data:`MIGRATIONS`; a
catalog written by a newer release is refused.
"""

from __future__ import annotations

import json
import secrets as _secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from immuta_spark.errors import CatalogError

__all__ = ["LATEST_VERSION", "MIGRATIONS", "AuditRecord", "Store"]

metadata = MetaData()

meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
entities = Table(
    "entities",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("body", Text, nullable=False),
)
secrets_table = Table(
    "secrets",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("owner", String(512), primary_key=True),
    Column("purpose", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("source", String(512), primary_key=True),
    Column("user", String(512), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("approvals", Text, nullable=False),
    Column("added", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", String(40), nullable=False),
)
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(40), nullable=False),
    Column("user", String(512), nullable=False),
    Column("impersonator", String(512)),
    Column("project", String(512)),
    Column("purposes", Text, nullable=False),
    Column("sources", Text, nullable=False),
    Column("policies", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False),
)
fingerprints = Table(
    "fingerprints",
    metadata,
    Column("source", String(512), primary_key=True),
    Column("body", Text, nullable=False),
    Column("computed_at", String(40), nullable=False),
)
audit_ts_index = Index("audit_ts", audit.c.ts)

#: The PostgreSQL advisory lock key that serialises writers (advisory locks are per database).
_PG_WRITE_LOCK = 0x1A4D_5A7C_0001


def _v1(conn: Connection) -> None:
    """Version 1: settings, entities, secrets, subscriptions, audit."""
    for t in (meta, entities, secrets_table, subscriptions, audit):
        t.create(conn, checkfirst=True)
    conn.execute(insert(meta).values(key="revision", value="0"))


def _v2(conn: Connection) -> None:
    """Version 2: fingerprints, an audit time index, and audit made append-only in the database."""
    fingerprints.create(conn, checkfirst=True)
    audit_ts_index.create(conn, checkfirst=True)
    if conn.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS audit_no_{op.lower()} BEFORE {op} ON audit "
                "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
            )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$ LANGUAGE plpgsql"
        )
        # Per statement, so that TRUNCATE (which fires no row triggers) is refused as well.
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )


#: Forward migrations: entry i moves a catalog from version i to version i + 1.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2)
LATEST_VERSION = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One append-only audit record (section 7)."""

    id: int
    time: str
    user: str
    impersonator: str | None
    project: str | None
    purposes: tuple[str, ...]
    sources: tuple[str, ...]
    policies: tuple[str, ...]
    action: str
    outcome: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "id": self.id,
            "time": self.time,
            "user": self.user,
            "impersonator": self.impersonator,
            "project": self.project,
            "purposes": list(self.purposes),
            "sources": list(self.sources),
            "policies": list(self.policies),
            "action": self.action,
            "outcome": self.outcome,
            "detail": self.detail,
        }


class Store:
    """Transactions, migrations and the few queries the catalog needs."""

    def __init__(self, url: str, *, target_version: int = LATEST_VERSION) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise CatalogError(
                f"cannot open the catalog at {_redact(url)}: {exc}; check the URL "
                "(sqlite:///path/catalog.db or postgresql+psycopg://user@host/db; PostgreSQL needs "
                "the 'postgres' extra)"
            ) from exc
        if self.engine.dialect.name == "sqlite":
            _sqlite_events(self.engine)
        self.migrate(target_version)

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent view of the catalog)."""
        try:
            with self.engine.connect() as raw:
                conn = raw
                if raw.dialect.name == "postgresql":
                    # One snapshot for the whole transaction (read committed would take one per statement).
                    conn = raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise CatalogError(f"the catalog at {_redact(self.url)} could not be read: {exc.orig}") from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A serialised write transaction: all of it commits, or none of it."""
        try:
            with self.engine.connect() as raw:
                if raw.dialect.name == "postgresql":
                    # Read committed: after the lock, each statement sees what earlier writers committed.
                    conn = raw.execution_options(isolation_level="READ COMMITTED")
                else:
                    conn = raw.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        # A transaction-scoped advisory lock, not a row lock: it also serialises the
                        # first migration of an empty database, which has no row to lock yet.
                        conn.execute(select(func.pg_advisory_xact_lock(_PG_WRITE_LOCK)))
                    yield conn
        except OperationalError as exc:
            raise CatalogError(f"the catalog at {_redact(self.url)} could not be written: {exc.orig}") from exc

    @staticmethod
    def _has_meta(conn: Connection) -> bool:
        return inspect(conn).has_table("meta")

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

    def migrate(self, target: int = LATEST_VERSION) -> None:
        """Bring the schema forward to ``target``; never backwards."""
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

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        done = conn.execute(update(meta).where(meta.c.key == key).values(value=value))
        if done.rowcount == 0:
            conn.execute(insert(meta).values(key=key, value=value))

    # --- revision -----------------------------------------------------------------------

    def revision(self, conn: Connection | None = None) -> int:
        """The revision: it grows with every change that a snapshot would see."""
        if conn is None:
            with self.read() as c:
                return self.revision(c)
        return int(conn.execute(select(meta.c.value).where(meta.c.key == "revision")).scalar_one())

    def bump(self, conn: Connection) -> int:
        """Increase the revision inside a write transaction."""
        rev = self.revision(conn) + 1
        self._set_meta(conn, "revision", str(rev))
        return rev

    # --- entities -----------------------------------------------------------------------

    def entities(self, conn: Connection) -> dict[tuple[str, str], tuple[int, str]]:
        """Every stored entity: (kind, name) -> (position, canonical JSON body)."""
        rows = conn.execute(select(entities.c.kind, entities.c.name, entities.c.position, entities.c.body))
        return {(k, n): (p, b) for k, n, p, b in rows}

    def put_entity(self, conn: Connection, kind: str, name: str, position: int, body: str, *, new: bool) -> None:
        """Insert or replace one entity."""
        if new:
            conn.execute(insert(entities).values(kind=kind, name=name, position=position, body=body))
        else:
            conn.execute(
                update(entities)
                .where(entities.c.kind == kind, entities.c.name == name)
                .values(position=position, body=body)
            )

    def delete_entity(self, conn: Connection, kind: str, name: str) -> None:
        """Remove one entity."""
        conn.execute(delete(entities).where(entities.c.kind == kind, entities.c.name == name))

    # --- secrets ------------------------------------------------------------------------

    def ensure_secret(self, conn: Connection, scope: str, owner: str, purpose: str) -> None:
        """Generate a secret if it does not exist yet (secrets outlive their entities)."""
        found = conn.execute(
            select(secrets_table.c.value).where(
                secrets_table.c.scope == scope, secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
            )
        ).first()
        if found is None:
            conn.execute(
                insert(secrets_table).values(scope=scope, owner=owner, purpose=purpose, value=_secrets.token_hex(32))
            )

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
            "updated_at": _now(),
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

    def put_fingerprint(self, conn: Connection, source: str, body: dict[str, Any]) -> None:
        """Store (replace) a source's fingerprint."""
        conn.execute(delete(fingerprints).where(fingerprints.c.source == source))
        conn.execute(insert(fingerprints).values(source=source, body=json.dumps(body), computed_at=_now()))

    # --- audit --------------------------------------------------------------------------

    def append_audit(
        self,
        conn: Connection,
        *,
        user: str,
        action: str,
        outcome: str,
        impersonator: str | None = None,
        project: str | None = None,
        purposes: tuple[str, ...] | list[str] = (),
        sources: tuple[str, ...] | list[str] = (),
        policies: tuple[str, ...] | list[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one audit record inside the caller's transaction."""
        conn.execute(
            insert(audit).values(
                ts=_now(),
                user=user,
                impersonator=impersonator,
                project=project,
                purposes=json.dumps(list(purposes)),
                sources=json.dumps(list(sources)),
                policies=json.dumps(list(policies)),
                action=action,
                outcome=outcome,
                detail=json.dumps(detail or {}, sort_keys=True, default=str),
            )
        )

    def audit_records(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        source: str | None = None,
        project: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Audit records, oldest first, filtered."""
        q = select(audit).order_by(audit.c.id)
        if user is not None:
            q = q.where(audit.c.user == user)
        if action is not None:
            # Only * is a wildcard (% and _ are literal), and case is ignored on every backend:
            # SQLite's LIKE ignores ASCII case, PostgreSQL's does not, so both sides are lowered.
            pattern = "".join("%" if c == "*" else "\\" + c if c in "%_\\" else c for c in action.lower())
            q = q.where(func.lower(audit.c.action).like(pattern, escape="\\"))
        if outcome is not None:
            q = q.where(audit.c.outcome == outcome)
        if project is not None:
            q = q.where(audit.c.project == project)
        if since is not None:
            q = q.where(audit.c.ts >= since)
        if until is not None:
            q = q.where(audit.c.ts < until)
        with self.read() as conn:
            rows = list(conn.execute(q).mappings())
        out = []
        for r in rows:
            srcs = tuple(json.loads(r["sources"]))
            if source is not None and source not in srcs:
                continue
            out.append(
                AuditRecord(
                    id=r["id"],
                    time=r["ts"],
                    user=r["user"],
                    impersonator=r["impersonator"],
                    project=r["project"],
                    purposes=tuple(json.loads(r["purposes"])),
                    sources=srcs,
                    policies=tuple(json.loads(r["policies"])),
                    action=r["action"],
                    outcome=r["outcome"],
                    detail=json.loads(r["detail"]),
                )
            )
        if limit is not None:
            out = out[-limit:]
        return out


def _sqlite_events(engine: Engine) -> None:
    """Take transaction control from pysqlite so that writers can BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL sync never corrupts the file; a power cut may lose the last commits.
        # That keeps the per-query audit append off the fsync path.
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too broken to parse is shown as a placeholder
        return "<catalog URL>"
