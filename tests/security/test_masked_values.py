"""Functions, predicates, joins, aggregates and windows only ever see masked values and visible rows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.spark.sample import MEDICAL_ROWS
from tests.conftest import SPARK_IDENTITY
from tests.security.conftest import BOB_ROWS, RAW_SSNS, RAW_VALUES, assert_no_raw, collect

MASKS = """
version: 1
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: ann, groups: [Staff]}
sources:
  - name: Masked Claims
    table: claims.medical
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: h-ssn, type: masking, columns: {names: [ssn]}, mask: hash}
      - {name: tok-address, type: masking, columns: {names: [address]}, mask: reversible}
      - {name: c-state, type: masking, columns: {names: [state]}, mask: {constant: REDACTED}}
      - {name: r-amount, type: masking, columns: {names: [amount]}, mask: {round: 1000}}
      - {name: n-ip, type: masking, columns: {names: [ip]}, mask: "null"}
      - {name: some-rows, type: row, where: "claim_id < 6"}
"""


@pytest.fixture(scope="module")
def ann(sample_spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """ann on a catalog that hashes ssn, tokenizes address, replaces state, rounds amount, nulls ip."""
    from immuta_spark.spark import ImmutaSparkSession

    root: Path = tmp_path_factory.mktemp("masks")
    (root / "masks.yaml").write_text(MASKS)
    catalog = GovernanceCatalog.open(f"sqlite:///{root / 'masks.db'}", identity=SPARK_IDENTITY, create=True)
    catalog.apply(root / "masks.yaml")
    yield ImmutaSparkSession.wrap(sample_spark, catalog=catalog, user="ann")


def test_typeof_length_and_hash_see_the_masked_value(ann: Any) -> None:
    rows = collect(
        ann.sql(
            "SELECT typeof(ssn), length(ssn), length(address), hash(state), hash(ip), typeof(amount) "
            "FROM claims.medical WHERE ssn IS NOT NULL"
        )
    )
    redacted = collect(ann.sql("SELECT hash('REDACTED'), hash(CAST(NULL AS STRING))"))[0]
    assert len(rows) == 5
    for typ, ssn_len, address_len, state_hash, ip_hash, amount_type in rows:
        assert (typ, ssn_len, amount_type) == ("string", 64, "double")  # a SHA-256 hex, not an 11-char ssn
        assert address_len in (60, 80)  # a token (IV, the value padded to 16 or 32 bytes, tag) in base64
        assert (state_hash, ip_hash) == redacted


def test_bob_functions_of_masked_columns_match_functions_of_the_masks(bob: Any) -> None:
    rows = collect(
        bob.sql("SELECT claim_id, typeof(ssn), length(address), hash(ip), md5(ip), crc32(ssn) FROM claims.medical")
    )
    expected = collect(
        bob.sql(
            "SELECT claim_id, 'string', CAST(NULL AS INT), hash(ip), md5(ip), CAST(NULL AS BIGINT) FROM VALUES "
            "(1, '164.16.13.XXX'), (4, '172.16.0.XXX') AS v(claim_id, ip)"
        )
    )
    assert sorted(rows) == sorted(expected)


@pytest.mark.parametrize(
    "where",
    [
        "ssn = '123-45-6789'",
        "ssn LIKE '123-%'",  # a hex hash can start with 123; never with 123-
        "address = '1 Main St'",
        "contains(address, 'Main')",
        "state = 'Ohio'",
        "ip = '164.16.13.1'",
        "ip IS NOT NULL",
        "amount = 1234.5",
        "amount BETWEEN 1234 AND 1235",
        "ssn = sha2('123-45-6789', 256)",
        "claim_id = 6",
    ],
)
def test_a_where_on_raw_values_matches_nothing(ann: Any, where: str) -> None:
    assert collect(ann.sql(f"SELECT * FROM claims.medical WHERE {where}")) == []


@pytest.mark.parametrize(
    "where",
    ["ssn = '123-45-6789'", "state = 'Missouri'", "state IN ('Missouri', 'Florida')", "ip = '164.16.13.1'",
     "amount = 1234.5", "address IS NOT NULL", "claim_id IN (2, 3, 5, 6)"],
)  # fmt: skip
def test_bob_where_on_raw_values_or_hidden_rows_matches_nothing(bob: Any, where: str) -> None:
    assert collect(bob.sql(f"SELECT claim_id FROM claims.medical WHERE {where}")) == []


def test_a_self_join_of_a_masked_column_against_raw_literals_matches_nothing(ann: Any, bob: Any) -> None:
    literals = ", ".join(f"('{s}')" for s in RAW_SSNS)
    join = f"SELECT m.claim_id FROM claims.medical m JOIN (SELECT * FROM VALUES {literals} AS v(s)) r ON m.ssn = r.s"
    assert collect(ann.sql(join)) == []
    assert collect(bob.sql(join)) == []
    unsalted = ", ".join(f"('{hashlib.sha256(s.encode()).hexdigest()}')" for s in RAW_SSNS)
    join = f"SELECT m.claim_id FROM claims.medical m JOIN (SELECT * FROM VALUES {unsalted} AS v(s)) r ON m.ssn = r.s"
    assert collect(ann.sql(join)) == []


def test_a_self_join_on_a_hashed_column_matches_masked_values_only(ann: Any) -> None:
    rows = collect(
        ann.sql("SELECT a.claim_id, a.ssn, b.ssn FROM claims.medical a JOIN claims.medical b ON a.ssn = b.ssn")
    )
    assert sorted(r[0] for r in rows) == [1, 2, 3, 4, 5]
    assert all(r[1] == r[2] and len(r[1]) == 64 for r in rows)
    assert_no_raw(rows)


def test_count_star_counts_only_visible_rows(bob: Any, ann: Any) -> None:
    assert collect(bob.sql("SELECT count(*) FROM claims.medical")) == [(2,)]
    assert collect(bob.sql("SELECT count(*) FROM claims.medical WHERE state = 'Missouri'")) == [(0,)]
    assert collect(bob.sql("SELECT count(1), count(ssn), count(DISTINCT state) FROM claims.medical")) == [(2, 0, 1)]
    assert collect(ann.sql("SELECT count(*) FROM claims.medical")) == [(5,)]
    assert bob.table("claims.medical").count() == 2


def test_aggregates_see_only_enforced_values(bob: Any) -> None:
    rows = collect(
        bob.sql(
            "SELECT max(amount), sum(amount), min(claim_date), max(ssn), collect_list(ip), "
            "collect_set(state), approx_count_distinct(ssn) FROM claims.medical"
        )
    )
    assert rows[0][:4] == (1200.0, 1600.0, BOB_ROWS[1][6], None)
    assert sorted(rows[0][4]) == ["164.16.13.XXX", "172.16.0.XXX"] and rows[0][5] == ["Ohio"]
    assert_no_raw(rows)


def test_window_functions_see_only_enforced_rows_and_values(bob: Any) -> None:
    rows = collect(
        bob.sql(
            "SELECT claim_id, count(*) OVER (), sum(amount) OVER (), max(claim_id) OVER (), "
            "row_number() OVER (ORDER BY claim_id), lag(ip) OVER (ORDER BY claim_id), "
            "first_value(ssn) OVER (PARTITION BY state ORDER BY claim_id), "
            "percent_rank() OVER (ORDER BY amount) FROM claims.medical"
        )
    )
    assert sorted(rows) == [
        (1, 2, 1600.0, 4, 1, None, None, 1.0),
        (4, 2, 1600.0, 4, 2, "164.16.13.XXX", None, 0.0),
    ]
    assert_no_raw(rows)


def test_group_by_a_masked_column_groups_masked_values(ann: Any) -> None:
    rows = collect(ann.sql("SELECT state, amount, count(*) FROM claims.medical GROUP BY state, amount"))
    assert sorted(rows) == [("REDACTED", 0.0, 3), ("REDACTED", 1000.0, 2)]


def test_rdd_and_local_iteration_give_enforced_rows(bob: Any) -> None:
    df = bob.table("claims.medical")
    assert sorted(df.rdd.map(tuple).collect()) == sorted(BOB_ROWS)
    assert sorted(tuple(r) for r in df.toLocalIterator()) == sorted(BOB_ROWS)
    assert sorted(df.rdd.flatMap(lambda r: [v for v in r if isinstance(v, str)]).collect()) == sorted(
        ["Ohio", "Ohio", "164.16.13.XXX", "172.16.0.XXX", "F", "M"]
    )


def test_python_udfs_run_on_enforced_values_only(bob: Any) -> None:
    bob.udf.register("peek", lambda v: f"saw:{v}", "string")
    rows = collect(bob.sql("SELECT peek(ssn), peek(address), peek(ip) FROM claims.medical"))
    assert sorted(rows) == [("saw:None", "saw:None", "saw:164.16.13.XXX"), ("saw:None", "saw:None", "saw:172.16.0.XXX")]
    assert_no_raw(rows, [v for v in RAW_VALUES if isinstance(v, str)])


def test_the_sample_rows_hold_the_raw_values_this_suite_looks_for() -> None:
    # Guards the suite itself: the raw values it checks for are really in the table.
    assert {r[1] for r in MEDICAL_ROWS} >= set(RAW_SSNS)
