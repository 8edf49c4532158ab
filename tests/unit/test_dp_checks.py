"""Differential privacy's checks on a source: its high-cardinality column by the fingerprint, and the columns named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.dp_checks import dp_cardinality_problem
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import Source
from tests.unit.support import catalog_state, write

BASE = """\
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
sources:
  - name: Rides
    table: db.rides
    owners: [gov]
    tags: [Transport]
    high_cardinality_column: id
    dictionary:
      - {name: id, type: bigint}
      - {name: region, type: string}
      - {name: fare, type: double}
  - name: Stops
    table: db.stops
    owners: [gov]
"""


def fingerprint(rows: int, **distinct: int | None) -> dict[str, Any]:
    """A fingerprint of ``rows`` rows with the given distinct counts per column (None: no count)."""
    columns = {c: {"nulls": 0, **({} if d is None else {"distinct": d, "exact": True})} for c, d in distinct.items()}
    return {"rows": rows, "columns": columns, "k_anonymity": {}}


RIDES = Source(name="Rides", table="db.rides", high_cardinality_column="id")
UNDECLARED = Source(name="Stops", table="db.stops")


# --- dp_cardinality_problem ---------------------------------------------------------------


def test_nothing_to_check_without_a_fingerprint_or_rows() -> None:
    assert dp_cardinality_problem(RIDES, None) is None
    assert dp_cardinality_problem(RIDES, {}) is None
    assert dp_cardinality_problem(RIDES, fingerprint(0, id=0)) is None
    assert dp_cardinality_problem(UNDECLARED, fingerprint(0, region=0)) is None


def test_a_declared_column_with_90_percent_distinct_values_is_fine() -> None:
    assert dp_cardinality_problem(RIDES, fingerprint(1000, id=900, region=3)) is None
    assert dp_cardinality_problem(RIDES, fingerprint(1000, ID=1000)) is None  # names as Spark resolves them


def test_a_declared_column_below_90_percent_is_named_with_its_share() -> None:
    problem = dp_cardinality_problem(RIDES, fingerprint(1000, id=899, region=1000))
    assert problem == (
        "the high_cardinality_column 'id' of 'Rides' has 89.9% distinct values by its fingerprint (1000 rows), "
        "under the 90% differential privacy needs; declare a high_cardinality_column with at least 90% distinct "
        "values, such as the primary key"
    )


def test_an_estimated_count_says_about() -> None:
    printed = fingerprint(1000, id=500)
    printed["columns"]["id"]["exact"] = False
    problem = dp_cardinality_problem(RIDES, printed)
    assert problem is not None and "has about 50.0% distinct values" in problem


def test_an_estimate_above_the_rows_counts_as_every_row() -> None:
    assert dp_cardinality_problem(RIDES, fingerprint(1000, id=1012)) is None


def test_a_declared_column_the_fingerprint_lacks_is_a_problem() -> None:
    problem = dp_cardinality_problem(RIDES, fingerprint(10, ride=10, region=2))
    assert problem is not None
    assert "declares high_cardinality_column 'id', which its fingerprint does not have (its columns: ride, region)" in (
        problem
    )
    assert "such as the primary key, or fingerprint the table again" in problem


def test_a_declared_column_without_a_distinct_count_is_a_problem() -> None:
    problem = dp_cardinality_problem(RIDES, fingerprint(10, id=None))
    assert problem is not None and "'id' of 'Rides' has no distinct count" in problem


def test_without_a_declared_column_some_column_must_reach_90_percent() -> None:
    assert dp_cardinality_problem(UNDECLARED, fingerprint(100, region=3, stop_id=95)) is None
    problem = dp_cardinality_problem(UNDECLARED, fingerprint(100, region=3, name=29, code=29, tags=None))
    assert problem == (
        "'Stops' declares no high_cardinality_column and its most distinct column, 'name', has 29.0% distinct "
        "values by its fingerprint (100 rows), under the 90% differential privacy needs; declare a "
        "high_cardinality_column with at least 90% distinct values, such as the primary key"
    )
    assert dp_cardinality_problem(UNDECLARED, fingerprint(100, tags=None)) == (
        "no column of 'Stops' has a distinct count in its fingerprint; declare a high_cardinality_column with at "
        "least 90% distinct values, such as the primary key"
    )


# --- at apply ----------------------------------------------------------------------------------


@pytest.fixture
def fingerprinted(tmp_path: Path, catalog_url: str) -> GovernanceCatalog:
    """The base document applied, and a fingerprint stored for each source (ids only half distinct)."""
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, BASE, "base.yaml"), sql_checker=None)
    cat.store_fingerprint("Rides", fingerprint(200, id=100, region=4, fare=150))
    cat.store_fingerprint("Stops", fingerprint(50, stop_id=50))
    return cat


def with_policies(local: str = "", global_: str = "") -> str:
    """The base document with a local policy on Rides and/or global policies."""
    text = BASE.replace("    high_cardinality_column: id\n", "    high_cardinality_column: id\n" + local)
    return text + (f"policies:\n{global_}" if global_ else "")


def test_apply_refuses_a_local_dp_policy_on_a_source_without_a_high_cardinality_column(
    fingerprinted: GovernanceCatalog, tmp_path: Path, catalog_url: str
) -> None:
    before = catalog_state(fingerprinted, catalog_url)
    text = with_policies(local="    policies: [{name: rides-dp, type: differential_privacy, epsilon: 1}]\n")
    with pytest.raises(PolicyFileError) as info:
        fingerprinted.apply(write(tmp_path, text), sql_checker=None)
    assert info.value.path == "policy 'rides-dp'"
    assert info.value.reason.startswith(
        "applies differential privacy, but the high_cardinality_column 'id' of 'Rides' has 50.0% distinct values"
    )
    assert "declare a high_cardinality_column with at least 90% distinct values" in info.value.reason
    assert catalog_state(fingerprinted, catalog_url) == before


def test_apply_refuses_a_global_dp_policy_that_reaches_the_source_by_tag(
    fingerprinted: GovernanceCatalog, tmp_path: Path, catalog_url: str
) -> None:
    before = catalog_state(fingerprinted, catalog_url)
    text = with_policies(global_="  - {name: dp-transport, type: differential_privacy, epsilon: 1, "
                         "sources: {tagged: Transport}}\n")  # fmt: skip
    with pytest.raises(PolicyFileError, match=r"'id' of 'Rides' has 50\.0% distinct") as info:
        fingerprinted.apply(write(tmp_path, text), sql_checker=None)
    assert info.value.path == "policy 'dp-transport'"
    assert catalog_state(fingerprinted, catalog_url) == before


def test_a_high_cardinality_source_and_a_source_without_a_fingerprint_pass(
    fingerprinted: GovernanceCatalog, tmp_path: Path
) -> None:
    # Stops: stop_id is all distinct; Rides is not covered (no tag Transport on Stops).
    stops = with_policies(global_="  - {name: dp-stops, type: differential_privacy, epsilon: 1, "
                          "sources: {names: [Stops]}}\n")  # fmt: skip
    assert "policy:dp-stops" in fingerprinted.apply(write(tmp_path, stops), sql_checker=None).added
    cat = GovernanceCatalog.open(f"sqlite:///{tmp_path / 'fresh.db'}", identity="gov", create=True)
    everywhere = with_policies(global_="  - {name: dp-all, type: differential_privacy, epsilon: 1}\n")
    assert "policy:dp-all" in cat.apply(write(tmp_path, everywhere), sql_checker=None).added


def test_a_fingerprint_stored_after_apply_is_checked_at_the_next_apply(
    fingerprinted: GovernanceCatalog, tmp_path: Path
) -> None:
    text = with_policies(local="    policies: [{name: rides-dp, type: differential_privacy, epsilon: 1}]\n")
    fingerprinted.store_fingerprint("Rides", fingerprint(200, id=200))
    fingerprinted.apply(write(tmp_path, text), sql_checker=None)
    fingerprinted.store_fingerprint("Rides", fingerprint(200, id=120))
    with pytest.raises(PolicyFileError, match=r"has 60\.0% distinct values"):
        fingerprinted.apply(write(tmp_path, text + "\n# touched\n"), sql_checker=None)


@pytest.mark.parametrize(
    ("option", "body"),
    [("bounds", "bounds: {tip: [0, 10]}"), ("public_keys", "public_keys: {zone: [north, south]}")],
)
def test_a_global_dp_policy_naming_a_column_a_source_lacks_is_refused(
    tmp_path: Path, catalog_url: str, option: str, body: str
) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, BASE, "base.yaml"), sql_checker=None)
    before = catalog_state(cat, catalog_url)
    text = with_policies(global_=f"  - {{name: dp-all, type: differential_privacy, epsilon: 1, {body}}}\n")
    with pytest.raises(PolicyFileError) as info:
        cat.apply(write(tmp_path, text), sql_checker=None)
    column = body.split("{")[1].split(":")[0]
    assert info.value.path == "policy 'dp-all'"
    assert info.value.reason == (
        f"its {option} name column '{column}', which data source 'Rides' does not have (its data dictionary: id, "
        "region, fare); correct the column, or scope the policy so that it does not cover 'Rides'"
    )
    assert catalog_state(cat, catalog_url) == before


def test_a_source_without_a_data_dictionary_takes_any_column(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    text = with_policies(global_="  - {name: dp-stops, type: differential_privacy, epsilon: 1, "
                         "sources: {names: [Stops]}, bounds: {tip: [0, 10]}, public_keys: {Zone: [1]}}\n")  # fmt: skip
    assert "policy:dp-stops" in cat.apply(write(tmp_path, text), sql_checker=None).added


def test_dictionary_columns_match_ignoring_case_as_spark_resolves_them(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    text = with_policies(global_="  - {name: dp-t, type: differential_privacy, epsilon: 1, "
                         "sources: {tagged: Transport}, bounds: {FARE: [0, 10]}}\n")  # fmt: skip
    assert "policy:dp-t" in cat.apply(write(tmp_path, text), sql_checker=None).added
