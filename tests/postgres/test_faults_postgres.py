"""Faults on PostgreSQL: a killed apply, and a catalog database that goes away under a governed session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from immuta_spark.store import Store
from tests.conftest import SPARK_IDENTITY
from tests.postgres.conftest import PostgresServer, libpq_url
from tests.unit.conftest import CONF
from tests.unit.test_faults import kill_apply_midway, renamed


@contextmanager
def database_refusing_connections(server: PostgresServer, url: str) -> Iterator[None]:
    """The catalog's database takes no connections (its open ones are ended) until the block ends."""
    name = make_url(url).database
    admin = libpq_url(server.url("postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_an_apply_killed_inside_its_transaction_leaves_the_old_state(catalog_url: str, tmp_path: Path) -> None:
    catalog = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    catalog.apply(CONF, sql_checker=None)
    catalog.add_subscriber("Payroll", "zoe")
    before = catalog.export(), catalog.store.revision(), catalog.subscriptions(source="Payroll")
    kill_apply_midway(catalog_url, renamed(tmp_path))
    reopened = GovernanceCatalog.open(catalog_url, identity="alice")
    assert (reopened.export(), reopened.store.revision(), reopened.subscriptions(source="Payroll")) == before
    result = reopened.apply(renamed(tmp_path), sql_checker=None)  # the killed one's lock died with it
    assert "source:Payroll Renamed" in result.added


def test_a_governed_query_fails_closed_while_the_catalog_database_is_gone_then_recovers(
    spark: Any, postgres_server: PostgresServer, catalog_url: str, tmp_path: Path
) -> None:
    from immuta_spark.spark import ImmutaSparkSession

    spark.sql("CREATE DATABASE IF NOT EXISTS faults")
    spark.createDataFrame([(1, "Ohio"), (2, "Iowa")], "id int, state string").write.mode("overwrite").saveAsTable(
        "faults.people"
    )
    (tmp_path / "p.yaml").write_text(
        "version: 1\nusers:\n  - {name: svc_notebook, permissions: [IMPERSONATE]}\n  - {name: owner}\n"
        "  - {name: ann}\nsources:\n  - name: People\n    table: faults.people\n    owners: [owner]\n"
        "    subscription: {anyone: {}}\n    policies:\n"
        "      - {name: ohio, type: row, where: \"state = 'Ohio'\"}\n"
    )
    GovernanceCatalog.open(catalog_url, identity=SPARK_IDENTITY, create=True).apply(
        tmp_path / "p.yaml", sql_checker=None
    )
    store = Store(catalog_url, audit_spool=tmp_path / "spool")
    ann = ImmutaSparkSession.wrap(spark, catalog=GovernanceCatalog(store, identity=SPARK_IDENTITY), user="ann")
    assert ann.sql("SELECT id FROM faults.people").collect() == [(1,)]
    with database_refusing_connections(postgres_server, catalog_url):
        # The first use finds its pooled connection ended, the next no connection at all.
        with pytest.raises(CatalogError, match="could not be read"):
            ann.sql("SELECT id FROM faults.people").collect()
        with pytest.raises(CatalogError, match="not currently accepting connections"):
            ann.table("faults.people").collect()
    assert [tuple(r) for r in ann.sql("SELECT id, state FROM faults.people").collect()] == [(1, "Ohio")]
