"""TPC-DS compatibility: Spark's own TPC-DS queries (v1.4, 103 texts) through the governed session.

All 24 tables are governed sources (:mod:`tests.spark.tpcds.catalog`) over one small generated
data set (:mod:`tests.spark.tpcds.data`), created once for the module. For every query:

- with no mask or row policy applying to the user, the governed session returns exactly what
  plain Spark returns on the same tables (same column types, same rows);
- with masks (hash, null, round, date truncation) and row filters applying, the query runs,
  has plain Spark's columns, and masked or filtered columns that reach the output are masked
  or filtered.

Results are compared as multisets of rows (sorted lists of tuples, floats rounded to 6
digits): many queries order by a key that ties (``ORDER BY ... LIMIT`` picks *some* of the
tied rows), and row order among ties is not part of a query's result. When plain Spark's
result is exactly ``LIMIT n`` rows long, a difference may only be which tied rows the LIMIT
kept; the two sessions are then compared on the same text without its final ``LIMIT``.

Both sides run with ``spark.sql.ansi.enabled=false`` and one shuffle partition: with a few
hundred rows some denominators (``q90``'s ``pmc``, ratios of sums) are zero and ``q77``
casts ``'2000-08-03]'``; under ANSI those raise in plain Spark too, and the test would compare
errors instead of data. When plain Spark itself fails, the governed session must fail with the
same error condition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from tests.conftest import SPARK_IDENTITY
from tests.spark.tpcds.catalog import (
    MASKED_COLUMNS,
    RESTRICTED_USER,
    ROW_FILTERED_STATES,
    UNRESTRICTED_USER,
    governance_yaml,
)
from tests.spark.tpcds.data import create_tables
from tests.spark.tpcds.schema import DATABASE

QUERY_DIR = Path(__file__).resolve().parent / "tpcds" / "queries"
#: store_sales lines of the generated data set (the other tables scale with it).
ROWS = 1000
#: Settings of the plain and the governed sessions alike (see the module docstring).
SETTINGS = {"spark.sql.shuffle.partitions": "1", "spark.sql.ansi.enabled": "false"}
_LIMIT = re.compile(r"\bLIMIT\s+(\d+)\s*$", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _query_order(path: Path) -> tuple[int, str]:
    match = re.fullmatch(r"q(\d+)([a-z]?)", path.stem)
    assert match, path
    return int(match.group(1)), match.group(2)


QUERIES = [p.stem for p in sorted(QUERY_DIR.glob("q*.sql"), key=_query_order)]


@dataclass
class Tpcds:
    """The plain Spark session over the tpcds tables and the two governed sessions on it."""

    plain: Any
    unrestricted: Any
    restricted: Any


@dataclass
class Result:
    """A query's column types and rows."""

    dtypes: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def tpcds(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Tpcds:
    """The generated tables, a catalog governing all of them, and sessions of both users.

    Everything runs on a ``newSession()`` of the shared Spark session, so its current database
    and settings are not the other tests'.
    """
    from immuta_spark.spark import ImmutaSparkSession

    work = tmp_path_factory.mktemp("tpcds")
    plain = spark.newSession()
    for key, value in SETTINGS.items():
        plain.conf.set(key, value)
    create_tables(plain, rows=ROWS)
    plain.catalog.setCurrentDatabase(DATABASE)
    policies = work / "tpcds.yaml"
    policies.write_text(governance_yaml(SPARK_IDENTITY))
    catalog = GovernanceCatalog.open(f"sqlite:///{work / 'catalog.db'}", identity=SPARK_IDENTITY, create=True)
    catalog.apply(policies)
    governed = []
    for user in (UNRESTRICTED_USER, RESTRICTED_USER):
        session = ImmutaSparkSession.wrap(plain, catalog=catalog, user=user)
        session.catalog.setCurrentDatabase(DATABASE)
        for key, value in SETTINGS.items():
            session.conf.set(key, value)
        governed.append(session)
    return Tpcds(plain, *governed)


def _text(query: str) -> str:
    return (QUERY_DIR / f"{query}.sql").read_text()


def _run(session: Any, text: str) -> Result:
    df = session.sql(text)
    return Result(df.dtypes, [tuple(row) for row in df.collect()])


def _condition(exc: BaseException) -> str:
    condition = getattr(exc, "getCondition", None)
    return (condition() if callable(condition) else None) or type(exc).__name__


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _normal(value: Any) -> Any:
    if isinstance(value, float) and not math.isnan(value):
        return round(value, 6)
    return value


def _multiset(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as a sorted list (NULLs last in each column), floats rounded to 6 digits."""
    normal = [tuple(_normal(v) for v in row) for row in rows]
    return sorted(normal, key=lambda row: tuple((v is None, 0 if v is None else v) for v in row))


def _expect_same_failure(session: Any, text: str, plain_error: BaseException) -> None:
    """Plain Spark failed on ``text``: the governed session must fail with the same condition."""
    try:
        _run(session, text)
    except Exception as exc:  # noqa: BLE001 - any failure is compared with plain Spark's
        assert _condition(exc) == _condition(plain_error), (_first_line(exc), _first_line(plain_error))
        return
    pytest.fail(f"plain Spark fails ({_first_line(plain_error)}) but the governed session returned rows")


@pytest.mark.parametrize("query", QUERIES)
def test_query_matches_plain_spark_when_no_policy_applies(tpcds: Tpcds, query: str) -> None:
    text = _text(query)
    try:
        expected = _run(tpcds.plain, text)
    except Exception as exc:  # noqa: BLE001 - plain Spark's own failure becomes the expectation
        _expect_same_failure(tpcds.unrestricted, text, exc)
        return
    got = _run(tpcds.unrestricted, text)
    assert got.dtypes == expected.dtypes
    limit = _LIMIT.search(text)
    if _multiset(got.rows) != _multiset(expected.rows) and limit and len(expected.rows) == int(limit.group(1)):
        # The LIMIT may have kept different rows among ties of the ORDER BY key: compare everything.
        whole = _LIMIT.sub("", text)
        got, expected = _run(tpcds.unrestricted, whole), _run(tpcds.plain, whole)
    assert _multiset(got.rows) == _multiset(expected.rows)


@pytest.mark.parametrize("query", QUERIES)
def test_query_runs_with_masks_and_row_filters(tpcds: Tpcds, query: str) -> None:
    text = _text(query)
    try:
        columns = tpcds.plain.sql(text).columns
    except Exception as exc:  # noqa: BLE001 - plain Spark's own failure becomes the expectation
        _expect_same_failure(tpcds.restricted, text, exc)
        return
    df = tpcds.restricted.sql(text)
    rows = df.collect()
    assert df.columns == columns
    for position, name in enumerate(df.columns):
        values = [row[position] for row in rows]
        if MASKED_COLUMNS.get(name) == "hash":
            assert all(v is None or _HEX64.fullmatch(v) for v in values), (name, values[:3])
        elif MASKED_COLUMNS.get(name) == "null":
            assert all(v is None for v in values), (name, values[:3])
        if name in ROW_FILTERED_STATES:
            assert {v for v in values if v is not None} <= ROW_FILTERED_STATES[name], (name, set(values))
