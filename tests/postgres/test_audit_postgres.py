"""Audit that neither stalls nor loses, on PostgreSQL: a held apply, a locked audit table, a database gone away."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from immuta_spark.store import Store
from tests.postgres.conftest import PostgresServer, libpq_url
from tests.unit.conftest import CONF


@pytest.fixture
def catalog(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    """A PostgreSQL catalog holding conf/governance.yaml, its audit spool in the test's directory."""
    GovernanceCatalog.open(catalog_url, identity="alice", create=True).apply(CONF, sql_checker=None)
    return GovernanceCatalog(Store(catalog_url, audit_spool=tmp_path / "spool"), identity="alice")


def notes(url: str) -> list[str]:
    """The detail of every worker.note record, read with psycopg (not through our code)."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT detail FROM audit WHERE action = 'worker.note' ORDER BY ts").fetchall()
    return [r[0] for r in rows]


@contextmanager
def audit_table_locked(url: str) -> Iterator[None]:
    """Another session holds an exclusive lock on the audit table (as a long migration would)."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("BEGIN")
        conn.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def test_an_apply_holding_the_write_lock_does_not_delay_a_record(catalog: GovernanceCatalog, catalog_url: str) -> None:
    held, release = threading.Event(), threading.Event()

    def apply_in_progress() -> None:
        with catalog.store.write():
            held.set()
            release.wait(60)

    writer = threading.Thread(target=apply_in_progress)
    writer.start()
    try:
        assert held.wait(30)
        assert catalog.store.audit_log.record(
            {"record_id": "a" * 32, "ts": "2026-12-02T00:00:00+00:00", "user": "bob", "action": "worker.note"}
            | {"outcome": "ok", "purposes": "[]", "sources": "[]", "policies": "[]", "detail": '{"i": 1}'}
        )  # True: straight into the catalog, while the apply still holds its lock
        assert notes(catalog_url) == ['{"i": 1}']
    finally:
        release.set()
        writer.join(60)


def test_a_record_while_the_audit_table_is_locked_is_spooled_then_stored_once(
    catalog: GovernanceCatalog, catalog_url: str
) -> None:
    catalog.store.audit_log.spool.background = False
    with audit_table_locked(catalog_url):
        catalog.record(action="worker.note", outcome="ok", detail={"i": 1})
        assert catalog.store.audit_log.spool.pending() == 1
    assert notes(catalog_url) == []
    assert catalog.store.audit_log.drain() == 1
    assert catalog.store.audit_log.drain() == 0
    assert notes(catalog_url) == ['{"i": 1}']


def test_records_made_while_the_database_refuses_connections_are_stored_when_it_is_back(
    catalog: GovernanceCatalog, catalog_url: str, postgres_server: PostgresServer
) -> None:
    name = make_url(catalog_url).database
    admin = libpq_url(postgres_server.url("postgres"))
    catalog.store.audit_log.spool.background = False
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        for i in range(3):
            catalog.record(action="worker.note", outcome="ok", detail={"i": i})
        assert catalog.store.audit_log.spool.pending() == 3
        with pytest.raises(CatalogError, match="not currently accepting connections"):
            catalog.audit(action="worker.note")  # reading fails closed meanwhile
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert [r.detail["i"] for r in catalog.audit(action="worker.note")] == [0, 1, 2]
    assert notes(catalog_url) == ['{"i": 0}', '{"i": 1}', '{"i": 2}']
