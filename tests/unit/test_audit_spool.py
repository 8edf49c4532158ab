"""Audit that neither stalls nor loses (issue 9, deliverable 4): a held write lock, killed processes, torn spools.

Another process holds the catalog's write lock (a real ``BEGIN IMMEDIATE`` in a real process);
a record then waits at most the audit wait, is spooled durably, and drains into the catalog
exactly once when the lock is free, even across a killed process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from immuta_spark.auditlog import audit_row, insert_rows
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from immuta_spark.store import LATEST_VERSION, Store
from tests.unit.support import db_path, raw_rows, write_lock_held

ROOT = Path(__file__).resolve().parents[2]


def notes(url: str) -> list[tuple[str, str]]:
    """(user, detail) of every worker.note record, read with sqlite3 (not through our code)."""
    rows = raw_rows(url, "audit")
    return sorted((r[2], r[10]) for r in rows if r[8] == "worker.note")


def spool_of(cat: GovernanceCatalog) -> Path:
    return cat.store.audit_log.spool.directory


def test_a_record_during_a_held_lock_is_spooled_without_waiting_for_the_holder(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    with write_lock_held(catalog_url) as holder:
        catalog.record(action="worker.note", outcome="ok", user="bob", detail={"i": 1})
        assert holder.poll() is None  # the lock is still held: the record did not wait for it
        assert notes(catalog_url) == []
        assert catalog.store.audit_log.spool.pending() == 1
        assert [r.action for r in catalog.audit(action="worker.note")] == []  # not drained yet
    catalog.store.audit_log.drain()
    assert notes(catalog_url) == [("bob", '{"i": 1}')]
    assert catalog.store.audit_log.spool.pending() == 0


def test_spooled_records_drain_in_the_background_once_the_lock_is_free(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    with write_lock_held(catalog_url):
        for i in range(20):
            catalog.record(action="worker.note", outcome="ok", user="bob", detail={"i": i})
    assert catalog.store.audit_log.spool.wait_drained(timeout=60)
    assert sorted(r.detail["i"] for r in catalog.audit(action="worker.note")) == list(range(20))


def test_a_spooled_record_keeps_its_own_time_and_reads_in_time_order(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    with write_lock_held(catalog_url):
        catalog.record(action="worker.note", outcome="ok", detail={"i": "spooled"})
    catalog.record(action="worker.note", outcome="ok", detail={"i": "direct"})  # before the drain
    records = catalog.audit(action="worker.note")
    assert [r.detail["i"] for r in records] == ["spooled", "direct"]
    assert records[0].time < records[1].time


def test_draining_a_record_the_catalog_already_has_stores_nothing_twice(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    # A drain killed after its commit but before removing the segment leaves both copies.
    row = audit_row(user="bob", action="worker.note", outcome="ok", detail={"i": 7})
    with catalog.store.write() as conn:
        insert_rows(conn, [row])
    spool = spool_of(catalog)
    spool.mkdir(parents=True)
    (spool / "999999-deadbeef.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    assert catalog.store.audit_log.drain() == 2
    assert notes(catalog_url) == [("bob", '{"i": 7}')]
    assert list(spool.iterdir()) == []


def test_a_torn_last_line_is_ignored_and_the_rest_is_stored(catalog: GovernanceCatalog, catalog_url: str) -> None:
    spool = spool_of(catalog)
    spool.mkdir(parents=True)
    good = audit_row(user="bob", action="worker.note", outcome="ok", detail={"i": 1})
    (spool / "1-torn.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(good)[:40])
    catalog.store.audit_log.drain()
    assert notes(catalog_url) == [("bob", '{"i": 1}')]


KILLED = textwrap.dedent(
    """
    import os, sys
    from immuta_spark.catalog import GovernanceCatalog
    cat = GovernanceCatalog.open(sys.argv[1], identity="alice")
    cat.record(action="worker.note", outcome="ok", user="carol", detail={"i": 1})
    cat.record(action="worker.note", outcome="ok", user="carol", detail={"i": 2})
    print(cat.store.audit_log.spool.pending(), flush=True)
    os.kill(os.getpid(), 9)  # no drain, no clean exit: the spool is all there is
    """
)


def test_records_spooled_by_a_killed_process_are_drained_by_the_next_opener(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    with write_lock_held(catalog_url):
        proc = subprocess.run(
            [sys.executable, "-c", KILLED, catalog_url], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert proc.stdout.strip() == "2"
    assert notes(catalog_url) == []
    GovernanceCatalog.open(catalog_url, identity="alice")  # opening drains what the dead left
    assert notes(catalog_url) == [("carol", '{"i": 1}'), ("carol", '{"i": 2}')]
    assert list(spool_of(catalog).iterdir()) == []


LIVE = textwrap.dedent(
    """
    import sys
    from immuta_spark.catalog import GovernanceCatalog
    cat = GovernanceCatalog.open(sys.argv[1], identity="alice")
    cat.store.audit_log.spool.background = False  # this test drains by hand
    cat.record(action="worker.note", outcome="ok", user="dave", detail={"i": 1})
    print("spooled", flush=True)
    sys.stdin.readline()
    """
)


def test_another_live_process_active_segment_is_left_to_it(catalog: GovernanceCatalog, catalog_url: str) -> None:
    with write_lock_held(catalog_url):
        live = subprocess.Popen(
            [sys.executable, "-c", LIVE, catalog_url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert live.stdout is not None and live.stdout.readline().strip() == "spooled"
    try:
        assert catalog.store.audit_log.drain() == 0  # its lock says it is in use
        assert notes(catalog_url) == []
    finally:
        live.communicate("\n", timeout=60)
    catalog.store.audit_log.drain()  # it exited: the segment is drainable now
    assert notes(catalog_url) == [("dave", '{"i": 1}')]


def test_a_record_that_cannot_be_made_durable_fails_closed_and_names_the_spool(
    catalog_url: str, tmp_path: Path, catalog: GovernanceCatalog
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    store = Store(catalog_url, audit_spool=blocked / "spool")
    cat = GovernanceCatalog(store, identity="alice")
    before = raw_rows(catalog_url, "audit")
    with write_lock_held(catalog_url), pytest.raises(CatalogError) as info:
        cat.record(action="worker.note", outcome="ok")
    assert str(blocked / "spool") in str(info.value)
    assert "refused" in str(info.value)
    assert raw_rows(catalog_url, "audit") == before


def test_after_a_failed_spool_write_the_next_record_goes_to_a_fresh_segment(
    catalog: GovernanceCatalog, catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = catalog.store.audit_log.spool
    spool.background = False
    real_fsync = os.fsync
    with write_lock_held(catalog_url):
        catalog.record(action="worker.note", outcome="ok", detail={"i": 1})
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
        with pytest.raises(CatalogError, match="No space left"):
            catalog.record(action="worker.note", outcome="ok", detail={"i": 2})
        monkeypatch.setattr(os, "fsync", real_fsync)
        catalog.record(action="worker.note", outcome="ok", detail={"i": 3})
    catalog.store.audit_log.drain()
    # The failed one may or may not have reached the disk (it was refused either way); none is lost.
    assert {d for _u, d in notes(catalog_url)} >= {'{"i": 1}', '{"i": 3}'}


def test_without_a_held_lock_records_go_straight_to_the_catalog(catalog: GovernanceCatalog, catalog_url: str) -> None:
    catalog.record(action="worker.note", outcome="ok", user="erin", detail={"i": 1})
    assert notes(catalog_url) == [("erin", '{"i": 1}')]
    assert not spool_of(catalog).exists()  # nothing spooled, no directory made


def test_an_old_catalog_gains_record_ids_and_keeps_its_records(catalog_url: str) -> None:
    old = Store(catalog_url, create=True, target_version=3)
    with sqlite3.connect(db_path(catalog_url)) as conn:  # the audit table as version 3 made it
        conn.execute("DROP INDEX audit_record_id")
        conn.execute("ALTER TABLE audit DROP COLUMN record_id")
    with old.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit (ts, user, purposes, sources, policies, action, outcome, detail) "
            "VALUES ('2026-01-01T00:00:00+00:00', 'bob', '[]', '[]', '[]', 'query', 'ok', '{}')"
        )
    new = Store(catalog_url)
    assert new.version() == LATEST_VERSION
    new.audit_log.record(audit_row(user="carol", action="query", outcome="ok"))
    assert [(r.user, r.action) for r in new.audit_records()] == [("bob", "query"), ("carol", "query")]
