"""Faults (issue 9, deliverable 5): an apply killed mid-transaction leaves the old state, whole.

A real process applies a file and is killed with SIGKILL while its write transaction is open
(every entity written, nothing committed); the catalog is then exactly as before, intact, and
takes the next apply. The same runs on PostgreSQL (tests/postgres/test_faults_postgres.py).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from immuta_spark.catalog import GovernanceCatalog
from tests.unit.conftest import CONF
from tests.unit.support import CATALOG_TABLES, catalog_state, db_path, write

ROOT = Path(__file__).resolve().parents[2]

#: Applies argv[2] to the catalog argv[1] and stops, never to commit, inside the transaction.
KILLED_APPLY = textwrap.dedent(
    """
    import sys, time
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.store import Store

    def bump_then_wait(self, conn):
        Store.bump.__wrapped__(self, conn)
        print("in-transaction", flush=True)
        time.sleep(600)

    bump_then_wait.__wrapped__ = Store.bump
    Store.bump = bump_then_wait
    GovernanceCatalog.open(sys.argv[1], identity="alice").apply(sys.argv[2], sql_checker=None, regex_checker=None)
    """
)


def kill_apply_midway(url: str, file: Path) -> None:
    """Run an apply in another process and SIGKILL it inside its open write transaction."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_APPLY, url, str(file)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "in-transaction"
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def renamed(directory: Path) -> Path:
    """conf/governance.yaml with a source renamed, a source added and a policy changed."""
    text = CONF.read_text().replace("name: Payroll", "name: Payroll Renamed")
    return write(directory, text.replace("mask: hash", "mask: 'null'", 1), "changed.yaml")


def test_an_apply_killed_inside_its_transaction_leaves_the_old_state_intact(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    catalog.add_subscriber("Payroll", "zoe")  # runtime state that must survive
    before = catalog_state(catalog, catalog_url)
    kill_apply_midway(catalog_url, renamed(tmp_path))
    reopened = GovernanceCatalog.open(catalog_url, identity="alice")
    assert catalog_state(reopened, catalog_url) == before
    with sqlite3.connect(db_path(catalog_url)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert set(CATALOG_TABLES) <= {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_after_a_killed_apply_the_next_apply_takes_and_keeps_runtime_state(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    catalog.add_subscriber("Medical Claims", "zoe")
    kill_apply_midway(catalog_url, renamed(tmp_path))
    reopened = GovernanceCatalog.open(catalog_url, identity="alice")
    result = reopened.apply(renamed(tmp_path), sql_checker=None)
    assert "source:Payroll Renamed" in result.added and "source:Payroll" in result.removed
    assert "zoe" in {s.user for s in reopened.subscriptions(source="Medical Claims")}
    assert catalog.snapshot().revision == reopened.snapshot().revision  # the first handle sees it too
