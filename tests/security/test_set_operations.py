"""UNION, EXCEPT and INTERSECT combine enforced rows only: raw values cannot be probed or merged in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.conftest import RAW_IPS, RAW_SSNS, assert_no_raw, collect

SSN_LITERALS = ", ".join(f"('{s}')" for s in RAW_SSNS)
IP_LITERALS = ", ".join(f"('{s}')" for s in RAW_IPS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT state FROM claims.medical UNION SELECT state FROM claims.medical", {("Ohio",)}),
        ("SELECT state FROM claims.medical UNION ALL SELECT 'Mars'", {("Ohio",), ("Mars",)}),
        ("SELECT ssn FROM claims.medical UNION SELECT ssn FROM claims.medical", {(None,)}),
        (f"SELECT ssn FROM claims.medical INTERSECT SELECT * FROM VALUES {SSN_LITERALS}", set()),
        (f"SELECT ip FROM claims.medical INTERSECT ALL SELECT * FROM VALUES {IP_LITERALS}", set()),
        ("SELECT state FROM claims.medical INTERSECT SELECT * FROM VALUES ('Missouri'), ('Florida')", set()),
        ("SELECT claim_id FROM claims.medical EXCEPT SELECT claim_id FROM claims.medical WHERE claim_id = 1", {(4,)}),
        (
            f"SELECT * FROM VALUES {SSN_LITERALS} AS v(s) EXCEPT SELECT ssn FROM claims.medical",
            {(s,) for s in RAW_SSNS},  # nothing of bob's matches a raw ssn, so every literal survives
        ),
        (
            "SELECT claim_id FROM claims.medical MINUS SELECT claim_id FROM claims.medical WHERE state = 'Missouri'",
            {(1,), (4,)},
        ),
    ],
)
def test_bob_cannot_see_or_probe_raw_values_through_set_operations(
    bob: Any, query: str, expected: set[tuple[Any, ...]]
) -> None:
    rows = collect(bob.sql(query))
    assert set(rows) == expected
    if not any(s in query for s in RAW_SSNS):
        assert_no_raw(rows)


def test_bob_cannot_see_raw_ssn_through_a_union_with_another_governed_route(bob: Any, medical_location: str) -> None:
    from immuta_spark.spark import UnenforcedPathError

    files = f"parquet.`{medical_location}/*`"  # the table's files, beneath its location: never enforced
    with pytest.raises(UnenforcedPathError):
        collect(bob.sql(f"SELECT ssn FROM claims.medical UNION SELECT ssn FROM {files}"))
    with pytest.raises(UnenforcedPathError):
        collect(bob.sql(f"SELECT ssn FROM claims.medical EXCEPT SELECT ssn FROM {files}"))


def test_counting_a_union_counts_enforced_rows_only(bob: Any) -> None:
    rows = collect(
        bob.sql(
            "SELECT count(*) FROM (SELECT claim_id FROM claims.medical UNION ALL SELECT claim_id FROM claims.medical)"
        )
    )
    assert rows == [(4,)]


def test_a_union_across_users_sessions_keeps_each_users_enforcement(bob: Any, session_for: Any) -> None:
    # carol (Finance + Medical Claims, Ohio and Florida) sees more rows than bob; each sees their own.
    carol = session_for("carol")
    bob_states = {
        r[0] for r in collect(bob.sql("SELECT state FROM claims.medical UNION SELECT state FROM claims.medical"))
    }
    carol_states = {
        r[0] for r in collect(carol.sql("SELECT state FROM claims.medical UNION SELECT state FROM claims.medical"))
    }
    assert bob_states == {"Ohio"}
    assert "Missouri" in carol_states
