"""Spark fixtures: sample tables, governed catalogs and governed sessions on the one Spark session."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from tests.conftest import SPARK_IDENTITY

CONF = Path(__file__).resolve().parents[2] / "conf" / "governance.yaml"
_counter = itertools.count()


@pytest.fixture(scope="session")
def sample_spark(spark: Any) -> Any:
    """The Spark session with the sample tables of conf/governance.yaml created once."""
    from immuta_spark.spark.sample import create_sample_tables

    create_sample_tables(spark)
    return spark


@pytest.fixture(scope="session")
def example_catalog(sample_spark: Any, tmp_path_factory: pytest.TempPathFactory) -> GovernanceCatalog:
    """A catalog holding conf/governance.yaml (policy SQL checked by the live session's parser)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'example.db'}"
    catalog = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
    catalog.apply(CONF)
    return catalog


@pytest.fixture
def as_user(sample_spark: Any, example_catalog: GovernanceCatalog) -> Iterator[Callable[..., Any]]:
    """A governed session on the example catalog for a user (and project)."""
    from immuta_spark.spark import ImmutaSparkSession

    switched: list[Any] = []

    def make(user: str, project: str | None = None) -> Any:
        session = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user=user)
        if project is not None:
            session.acknowledge_project(project)  # members act under a project once they accept its purposes
            session.set_project(project)
            switched.append(session)
        return session

    yield make
    for session in switched:  # the project is the user's setting in the catalog: leave it as found
        session.set_project(None)


@pytest.fixture(autouse=True)
def forget_derived_sources(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's governed writes register derived sources in the shared example catalog: leave it as found."""
    if "example_catalog" not in request.fixturenames:
        yield
        return
    catalog: GovernanceCatalog = request.getfixturevalue("example_catalog")
    with catalog.store.read() as conn:
        before = catalog.store.runtime_keys(conn)
    yield
    with catalog.store.write() as conn:
        made = [name for kind, name in catalog.store.runtime_keys(conn) - before if kind == "source"]
        for name in made:
            catalog.store.delete_entity(conn, "source", name)
        if made:
            catalog.store.bump(conn)


@pytest.fixture
def governed(sample_spark: Any, tmp_path: Path) -> Callable[..., Any]:
    """Build a catalog from YAML text and return a factory of governed sessions on it.

    ``governed(yaml)(user)``: the YAML may omit ``version`` and the service user.
    """
    from immuta_spark.spark import ImmutaSparkSession

    def build(text: str) -> Callable[..., Any]:
        body = textwrap.dedent(text)
        if "version:" not in body:
            body = "version: 1\n" + body
        path = tmp_path / f"policies-{next(_counter)}.yaml"
        path.write_text(body)
        url = f"sqlite:///{tmp_path / f'catalog-{next(_counter)}.db'}"
        catalog = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
        catalog.apply(path)

        def session(user: str, project: str | None = None) -> Any:
            s = ImmutaSparkSession.wrap(sample_spark, catalog=catalog, user=user)
            if project is not None:
                s.acknowledge_project(project)
                s.set_project(project)  # a catalog of this test's own: nothing to reset
            return s

        session.catalog = catalog  # type: ignore[attr-defined]
        session.path = path  # type: ignore[attr-defined]
        return session

    return build


def table(spark: Any, name: str, rows: list[tuple[Any, ...]], schema: str) -> None:
    """(Re)create a small managed table for one test."""
    db = name.split(".")[0]
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    spark.createDataFrame(rows, schema).write.mode("overwrite").saveAsTable(name)
