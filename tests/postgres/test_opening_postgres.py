"""Opening never creates, on PostgreSQL: an empty database is refused, a re-created one is noticed."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from tests.postgres.conftest import PostgresServer, libpq_url
from tests.unit.conftest import CONF


def tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_an_empty_database_is_refused_naming_the_url_without_its_password(catalog_url: str) -> None:
    url = make_url(catalog_url).set(password="hunter2").render_as_string(hide_password=False)
    with pytest.raises(CatalogError, match="holds no catalog") as info:
        GovernanceCatalog.open(url)
    message = str(info.value)
    assert "hunter2" not in message and "immuta-spark init" in message
    assert make_url(catalog_url).database in message
    assert tables(catalog_url) == set()
    created = GovernanceCatalog.open(catalog_url, create=True)
    assert created.store.created and "meta" in tables(catalog_url)
    assert not GovernanceCatalog.open(catalog_url, create=True).store.created


def test_a_database_dropped_and_recreated_under_a_running_catalog_fails_closed(
    catalog_url: str, postgres_server: PostgresServer
) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    cat.apply(CONF, sql_checker=None)
    assert cat.snapshot().sources
    name = make_url(catalog_url).database
    with psycopg.connect(libpq_url(postgres_server.url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with pytest.raises(CatalogError):  # the pooled connection was ended: the server's error, or ours
        cat.snapshot()
    with pytest.raises(CatalogError, match="no longer holds a catalog"):
        cat.snapshot()  # a new connection finds a database without the catalog
    GovernanceCatalog.open(catalog_url, identity="alice", create=True)  # someone re-creates it empty
    with pytest.raises(CatalogError, match="no longer the one this process opened"):
        cat.snapshot()
    with pytest.raises(CatalogError, match="no longer the one this process opened"):
        cat.record(action="query", outcome="ok")


def test_a_catalog_whose_id_changed_fails_closed(catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    with psycopg.connect(libpq_url(catalog_url), autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = 'another' WHERE key = 'catalog_id'")
    with pytest.raises(CatalogError, match="replaced or re-created"):
        cat.snapshot()
