"""Fixtures for the pure core: no JVM, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog

CONF = Path(__file__).resolve().parents[2] / "conf" / "governance.yaml"


@pytest.fixture
def catalog_url(tmp_path: Path) -> str:
    """A fresh SQLite catalog URL."""
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture
def catalog(catalog_url: str) -> GovernanceCatalog:
    """A catalog holding conf/governance.yaml, acting as the governor alice.

    SQL predicates are not parsed here (that needs Spark's parser, tested in tests/spark).
    """
    cat = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    cat.apply(CONF, sql_checker=None, regex_checker=None)
    return cat


@pytest.fixture(autouse=True)
def _no_jvm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never start a JVM: the default checkers (Spark's parser, Java's regex) are off."""
    monkeypatch.setattr("immuta_spark.checkers.default_sql_checker", lambda: None)
    monkeypatch.setattr("immuta_spark.checkers.default_regex_checker", lambda: None)
