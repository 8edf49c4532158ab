"""The catalog's audit log: records in, records out, and a query that never stalls on the write lock.

Records written inside a catalog change (apply, subscriptions) share that change's transaction.
A record of its own (a query, a denial) is written by :meth:`AuditLog.record`: it waits for the
write lock at most ``wait_ms``, then goes to the durable local spool
(:class:`immuta_spark.auditspool.AuditSpool`), which drains into the catalog later. Either way
it is durable before ``record`` returns; when it cannot be, ``record`` raises and the caller
fails closed. See docs/catalog.md, "Audit under a held write lock".
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, func, insert, select

from immuta_spark.auditspool import DEFAULT_AUDIT_WAIT_MS, AuditSpool
from immuta_spark.errors import CatalogError
from immuta_spark.schema import AuditRecord, audit, now

__all__ = ["AUDIT_SPOOL_ENV", "AuditLog", "audit_row", "insert_new", "insert_rows"]

#: Environment variable naming the audit spool directory (default: beside a SQLite catalog, or
#: under ``$XDG_STATE_HOME/immuta-spark/audit-spool/`` for a server catalog).
AUDIT_SPOOL_ENV = "IMMUTA_SPARK_AUDIT_SPOOL"
#: Rows inserted per statement when draining (SQLite allows 32k bound parameters).
_CHUNK = 500


class _Transactions(Protocol):
    """What the log needs of a store."""

    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self, *, wait_ms: int | None = None, lock: bool = True) -> AbstractContextManager[Connection]: ...


def audit_row(
    *,
    user: str,
    action: str,
    outcome: str,
    impersonator: str | None = None,
    project: str | None = None,
    purposes: Sequence[str] = (),
    sources: Sequence[str] = (),
    policies: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit record as stored (its time is now; its ``record_id`` is fresh and random)."""
    return {
        "record_id": uuid.uuid4().hex,
        "ts": now(),
        "user": user,
        "impersonator": impersonator,
        "project": project,
        "purposes": json.dumps(list(purposes)),
        "sources": json.dumps(list(sources)),
        "policies": json.dumps(list(policies)),
        "action": action,
        "outcome": outcome,
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
    }


def insert_new(conn: Connection, row: dict[str, Any]) -> None:
    """Insert a record just made by :func:`audit_row` (its random id is new: nothing to look up)."""
    conn.execute(insert(audit).values(**_columns(row)))


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose ``record_id`` the catalog lacks (a repeated drain stores nothing twice)."""
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        fresh.setdefault(str(row["record_id"]), row)
    ids = list(fresh)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for (found,) in conn.execute(select(audit.c.record_id).where(audit.c.record_id.in_(chunk))):
            fresh.pop(found, None)
    if fresh:
        conn.execute(insert(audit), [_columns(r) for r in fresh.values()])
    return len(fresh)


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    names = ("record_id", "ts", "user", "impersonator", "project", "purposes", "sources", "policies")
    return {k: row.get(k) for k in (*names, "action", "outcome", "detail")}


def default_spool_directory(sqlite_path: Path | None, catalog_id: str) -> Path:
    """Where a catalog's audit spool lives: a directory of its own, named by the catalog's id.

    The base is :data:`AUDIT_SPOOL_ENV` when set, else beside a SQLite catalog's file, else
    ``$XDG_STATE_HOME/immuta-spark/audit-spool``. The catalog id keeps catalogs sharing a base
    (or a catalog re-created at the same URL) from ever receiving each other's records.
    """
    if configured := os.environ.get(AUDIT_SPOOL_ENV):
        base = Path(configured)
    elif sqlite_path is not None:
        base = sqlite_path.with_name(sqlite_path.name + ".audit-spool")
    else:
        base = (
            Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "immuta-spark" / "audit-spool"
        )
    return base / catalog_id


class AuditLog:
    """Append and read the audit records of one store."""

    def __init__(self, store: _Transactions, spool: Path, *, wait_ms: int = DEFAULT_AUDIT_WAIT_MS) -> None:
        self._store = store
        self.wait_ms = wait_ms
        self.spool = AuditSpool(spool, self._drain_into_catalog)
        self.spool.background_store = lambda rows: self._drain_into_catalog(rows, 4 * wait_ms)

    def record(self, row: dict[str, Any]) -> bool:
        """Store ``row`` now, or spool it when the catalog's lock is held past ``wait_ms``.

        True when it went straight into the catalog, False when it was spooled. Raises
        :class:`CatalogError` when it could be made durable neither way.
        """
        try:
            with self._store.write(wait_ms=self.wait_ms, lock=False) as conn:
                # Even if this commit took but reported failure, the spooled copy drains as a no-op.
                insert_new(conn, row)
            return True
        except CatalogError as exc:
            if not exc.transient:
                raise
        self.spool.append(row)
        return False

    def _drain_into_catalog(self, rows: list[dict[str, Any]], wait_ms: int | None = None) -> None:
        with self._store.write(wait_ms=wait_ms, lock=False) as conn:
            insert_rows(conn, rows)

    def drain(self, *, wait_ms: int | None = None) -> int:
        """Drain the spool now; the records stored.

        With ``wait_ms`` it is best effort: a catalog still busy after that long leaves the
        records spooled (0 is returned) instead of raising.
        """
        if wait_ms is None:
            return self.spool.drain()
        try:
            # The background drain holds its turn for at most about 4 * wait_ms per segment.
            return self.spool.drain(lambda rows: self._drain_into_catalog(rows, wait_ms), wait_s=wait_ms * 8 / 1000)
        except CatalogError as exc:
            if not exc.transient:
                raise
            return 0

    def records(self, **filters: Any) -> list[AuditRecord]:
        """Audit records, oldest first, filtered (what is still spooled is drained first, if it can be)."""
        self.drain(wait_ms=self.wait_ms)
        return list(_select(self._store, **filters))


def _select(
    store: _Transactions,
    *,
    user: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    source: str | None = None,
    project: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> Iterator[AuditRecord]:
    if limit is not None and limit < 0:
        raise CatalogError(f"an audit limit must be 0 or more, not {limit}")
    q = select(audit).order_by(audit.c.ts, audit.c.id)
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
    with store.read() as conn:
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
        out = out[-limit:] if limit else []
    yield from out
