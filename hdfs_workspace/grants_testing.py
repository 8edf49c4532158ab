"""A test-side writer of the workspace grants tables that the NameNode's group mapping polls.

The tables and their contract are defined in ``hdfs_workspace/jvm/WorkspaceGroupsMapping.java``
(and docs/hdfs.md, "Workspace groups in the NameNode"); the governance catalog is their real
writer. This module writes them the same way for tests of the NameNode side: every change
bumps the generation in the same transaction, and :meth:`GrantsDb.wait_acked` waits until the
NameNode acknowledges a generation, after which every group lookup reflects it.

This module is for tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from hdfs_workspace.errors import HdfsWorkspaceError

__all__ = ["GRANTS_SCHEMA", "AckTimeout", "Grant", "GrantsDb"]

#: The normative schema (the same text as the Java provider's header comment).
GRANTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace_grants (
  project TEXT NOT NULL, user_name TEXT NOT NULL, hadoop_group TEXT NOT NULL,
  holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (project, user_name, holder));
CREATE TABLE IF NOT EXISTS workspace_grant_generation (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workspace_grant_acks (
  node TEXT PRIMARY KEY, generation INTEGER NOT NULL, acked_at DOUBLE PRECISION NOT NULL);
INSERT OR IGNORE INTO workspace_grant_generation (id, generation) VALUES (1, 0);
"""


class AckTimeout(HdfsWorkspaceError):
    """The NameNode did not acknowledge a grants generation in time."""


@dataclass(frozen=True, slots=True)
class Grant:
    """One row of ``workspace_grants``: ``user`` is in ``group`` until ``expires_at`` (unix s)."""

    project: str
    user: str
    group: str
    holder: str
    expires_at: float


class GrantsDb:
    """The grants tables in one SQLite file; every change bumps the generation atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def url(self) -> str:
        """The JDBC URL the NameNode is configured with."""
        return f"jdbc:sqlite:{self.path}"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10.0, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def create(self) -> GrantsDb:
        """Create the tables (idempotent) with generation 0; return self."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
            conn.executescript(GRANTS_SCHEMA)
            conn.commit()
        return self

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> int:
        conn.execute(
            "INSERT INTO workspace_grant_generation (id, generation) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET generation = generation + 1"
        )
        return int(conn.execute("SELECT generation FROM workspace_grant_generation WHERE id = 1").fetchone()[0])

    def grant(self, grants: Iterable[Grant]) -> int:
        """Insert or replace the rows; return the new generation."""
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO workspace_grants (project, user_name, hadoop_group, holder, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(g.project, g.user, g.group, g.holder, g.expires_at) for g in grants],
            )
            return self._bump(conn)

    def revoke(self, project: str, user: str, holder: str) -> int:
        """Delete one row; return the new generation."""
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM workspace_grants WHERE project = ? AND user_name = ? AND holder = ?",
                (project, user, holder),
            )
            return self._bump(conn)

    def clear(self) -> int:
        """Delete every grant; return the new generation."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM workspace_grants")
            return self._bump(conn)

    def drop_tables(self) -> None:
        """Drop the three tables (the NameNode must then fail closed)."""
        with self._transaction() as conn:
            for table in ("workspace_grants", "workspace_grant_generation", "workspace_grant_acks"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")

    def acked(self, node: str = "namenode") -> int | None:
        """The generation ``node`` acknowledged last, or None."""
        with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
            try:
                row = conn.execute("SELECT generation FROM workspace_grant_acks WHERE node = ?", (node,)).fetchone()
            except sqlite3.OperationalError:
                return None
        return None if row is None else int(row[0])

    def wait_acked(self, generation: int, *, node: str = "namenode", timeout: float = 30.0) -> None:
        """Poll until ``node`` acknowledged ``generation`` or later; raise :class:`AckTimeout`."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.acked(node)
            if seen is not None and seen >= generation:
                return
            if time.monotonic() > deadline:
                raise AckTimeout(
                    f"{node} did not acknowledge grants generation {generation} within {timeout:.0f}s "
                    f"(last acknowledged: {seen})"
                )
            time.sleep(0.02)
