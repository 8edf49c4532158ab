"""SQLite catalogs: the file behind a URL, opened read-write and never created by a connection.

A ``sqlite:///path`` URL is opened as the SQLite URI ``file:/abs/path?mode=rw``, so no
connection (a pooled one opened later included) ever creates the file: only an explicit
creation (:func:`create_file`) does. :func:`identity` is the file's (device, inode), which
tells a deleted or replaced file from the one a process opened.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL, make_url

__all__ = ["FileWatch", "SqliteFile", "sqlite_events", "sqlite_file"]


@dataclass(frozen=True, slots=True)
class SqliteFile:
    """The database file of a ``sqlite:///`` URL (an absolute path)."""

    path: Path

    def exists(self) -> bool:
        """Whether the file is there."""
        return self.path.is_file()

    def identity(self) -> tuple[int, int] | None:
        """(device, inode) of the file, or None when it is gone."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def header_application_id(self) -> int | None:
        """The application id in the file's header as it is on disk (None: no readable header).

        Read through SQLite (``immutable=1``: the file's own bytes, no WAL, no locks), never with
        ``os.open``: closing a descriptor of the database file drops every POSIX lock this process
        holds on it, so another process's last connection would then delete the WAL under our
        open connections (SQLite's "how to corrupt" 2.2). SQLite's own VFS defers such closes.
        """
        if not self.exists():
            return None
        try:
            conn = sqlite3.connect(self._uri("ro") + "&immutable=1", uri=True)
            try:
                row = conn.execute("PRAGMA application_id").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        return int(row[0]) if row is not None else None

    def has_table(self, name: str) -> bool:
        """Whether the database has table ``name``, read without changing the file (read-only)."""
        conn = sqlite3.connect(self._uri("ro"), uri=True)
        try:
            return (
                conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
                is not None
            )
        finally:
            conn.close()

    def checkpoint(self, engine: Engine) -> None:
        """Write the WAL into the file (so its header holds the application id); best effort."""
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]

    def create(self) -> None:
        """Create the (empty) database file; its directory must exist."""
        sqlite3.connect(self._uri("rwc"), uri=True).close()

    def engine_url(self, url: URL) -> URL:
        """``url`` as a SQLite URI that opens the file read-write only (never creating it)."""
        query = {k: v for k, v in url.query.items() if k not in ("mode", "uri")}
        return url.set(database=f"file:{quote(str(self.path))}", query={**query, "mode": "rw", "uri": "true"})

    def _uri(self, mode: str) -> str:
        return f"file:{quote(str(self.path))}?mode={mode}"


class FileWatch:
    """What a process saw of its catalog file when it opened it, and whether that still holds.

    A file deleted, moved or replaced by another (a new inode) is noticed by ``stat``; a
    database copied over the file in place (same inode) by the application id in the file's
    header, which the catalog sets from its id and which SQLite keeps on disk once checkpointed.
    """

    def __init__(self, file: SqliteFile) -> None:
        self.file = file
        self.inode = file.identity()
        self.application_id: int | None = None
        self._seen = False

    def expect(self, application_id: int) -> None:
        """The header's application id this catalog has (checked from now on)."""
        self.application_id = application_id
        self.changed()

    def changed(self) -> str | None:
        """Why the file is no longer the one opened, or None while it is."""
        if self.file.identity() != self.inode:
            return "its file was deleted or moved" if not self.file.exists() else "its file was replaced by another"
        if self.application_id is None:
            return None
        unreadable = True
        for attempt in range(5):
            found = self.file.header_application_id()
            if found == self.application_id:
                self._seen = True
                return None
            if found is not None:
                unreadable = False
                if not (found or self._seen):
                    return None  # a header that is merely not checkpointed yet
            # Another id, ours gone, or no readable header: unless a checkpoint was rewriting the
            # first page just then (a torn read), which another look tells apart; a real overwrite stays.
            if attempt < 4:
                time.sleep(0.02 * (attempt + 1))
        if unreadable:
            # Never readable in these looks: say nothing here. Reading the catalog itself fails
            # closed if the file really is no database any more.
            return None
        return "its file was overwritten by another database (the id in its header changed)"


def sqlite_file(url: str) -> SqliteFile | None:
    """The file behind a SQLite file URL; None for other databases, memory and ``uri=true`` URLs."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported by create_engine
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or str(parsed.query.get("uri", "")).lower() in ("true", "1"):
        return None
    return SqliteFile(Path(os.path.abspath(database)))


def _wal(cur: Any, wait: float = 60.0) -> None:
    """Put the file in WAL mode; waits while another process holds the lock that needs.

    Switching a new file to WAL takes an exclusive lock, for which SQLite does not call the busy
    handler: two processes creating one catalog at once saw "database is locked" here.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def sqlite_events(engine: Engine) -> None:
    """Take transaction control from pysqlite so that writers can BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        _wal(cur)
        # WAL with NORMAL sync never corrupts the file; a power cut may lose the last commits.
        # That keeps the per-query audit append off the fsync path.
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        mode = options.get("sqlite_begin", "DEFERRED")
        # Per transaction: a query's audit append waits for the write lock only briefly.
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(options.get('sqlite_busy_ms') or 60000)}")
        conn.exec_driver_sql(f"BEGIN {mode}")
