"""A governed session never runs on a catalog that governs nothing (issue 9, deliverable 1).

A missing catalog is refused, an empty one is refused unless ``spark.immuta.allowEmptyCatalog``
says it is intended, and a session whose catalog file is deleted under it returns no data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from tests.conftest import SPARK_IDENTITY
from tests.spark.conftest import CONF

QUERY = "SELECT claim_id, ssn FROM claims.medical"


def test_a_session_on_an_empty_catalog_is_refused_unless_configured(sample_spark: Any, tmp_path: Path) -> None:
    from immuta_spark.spark import ImmutaSparkSession
    from immuta_spark.spark.session import ALLOW_EMPTY_CATALOG_KEY

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
    with pytest.raises(CatalogError, match="holds no data sources") as info:
        ImmutaSparkSession.wrap(sample_spark, catalog=empty, user="bob")
    assert ALLOW_EMPTY_CATALOG_KEY in str(info.value) and "apply" in str(info.value)
    sample_spark.conf.set(ALLOW_EMPTY_CATALOG_KEY, "true")
    try:
        session = ImmutaSparkSession.wrap(sample_spark, catalog=url)  # intended: allowed
        assert session.sql("SELECT count(*) FROM claims.medical").collect()[0][0] > 0  # ungoverned now
    finally:
        sample_spark.conf.unset(ALLOW_EMPTY_CATALOG_KEY)


def test_a_session_on_a_missing_catalog_is_refused_and_creates_nothing(sample_spark: Any, tmp_path: Path) -> None:
    from immuta_spark.spark import ImmutaSparkSession

    url = f"sqlite:///{tmp_path / 'missing.db'}"
    with pytest.raises(CatalogError, match="does not exist"):
        ImmutaSparkSession.wrap(sample_spark, catalog=url, user="bob")
    assert list(tmp_path.iterdir()) == []


def test_a_session_whose_catalog_file_was_deleted_returns_no_data(sample_spark: Any, tmp_path: Path) -> None:
    from immuta_spark.spark import ImmutaSparkSession

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    catalog = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
    catalog.apply(CONF)
    bob = ImmutaSparkSession.wrap(sample_spark, catalog=catalog, user="bob")
    assert [r.ssn for r in bob.sql(QUERY).collect()] == [None, None]
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"catalog.db{suffix}").unlink(missing_ok=True)
    for attempt in (
        lambda: bob.sql(QUERY).collect(),
        lambda: bob.table("claims.medical").collect(),
        lambda: bob.sql("SELECT count(*) FROM claims.medical").collect(),
    ):
        with pytest.raises(CatalogError, match="no longer the one this process opened"):
            attempt()
    with pytest.raises(CatalogError, match="does not exist"):
        ImmutaSparkSession.wrap(sample_spark, catalog=url, user="bob")  # and a new session neither
    assert not (tmp_path / "catalog.db").exists()
