"""Equalization with real Spark: every member of an equalized project reads identical data (issue 10, item 4)."""

from __future__ import annotations

from typing import Any

import pytest

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: olivia, groups: [Accounting, Finance], attributes: {Region: [East, West]}}
  - {name: bob, groups: [Accounting, Finance], attributes: {Region: [East]}}
  - {name: carol, groups: [Accounting], attributes: {Region: [East, North]}}
sources:
  - name: Ledger
    table: eq.ledger
    owners: [olivia]
    subscription: {anyone: {}}
    columns: {iban: [PII]}
    policies:
      - {name: hash-iban, type: masking, columns: {tagged: PII}, mask: hash, except: {groups: [Finance]}}
      - {name: by-region, type: row, match: {attribute: Region, column: region}, except: {users: [bob]}}
projects:
  - {name: Equal, owner: olivia, members: [bob, carol], sources: [Ledger], equalization: true}
  - {name: Demanding, owner: olivia, members: [bob, carol], sources: [Ledger], equalization: true,
     entitlement: {groups: [Accounting, Finance], attributes: {Region: [East]}}}
"""


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    rows = [(1, "DE001", "East"), (2, "DE002", "West"), (3, "DE003", "North"), (4, "DE004", "East")]
    table(sample_spark, "eq.ledger", rows, "id int, iban string, region string")
    return governed(_YAML)


def read(session: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in session.sql("SELECT id, iban, region FROM eq.ledger").collect())


def test_every_member_reads_identical_data_under_the_equalized_project(sessions: Any) -> None:
    outside = {u: read(sessions(u)) for u in ("olivia", "bob", "carol")}
    assert len({tuple(v) for v in outside.values()}) == 3  # each sees differently on their own
    assert [r[0] for r in outside["bob"]] == [1, 2, 3, 4] and outside["bob"][0][1] == "DE001"
    inside = {u: read(sessions(u, "Equal")) for u in ("olivia", "bob", "carol")}
    assert inside["olivia"] == inside["bob"] == inside["carol"]
    # The entitlement (Accounting; Region East) decides: East rows only, iban hashed (carol lacks Finance).
    assert [r[0] for r in inside["bob"]] == [1, 4] and inside["bob"][0][1] != "DE001"


def test_a_member_out_of_compliance_reads_nothing_in_the_project(sessions: Any) -> None:
    from immuta_spark.spark import GovernedAccessDenied

    # Finance in the entitlement: iban unmasked for every member who complies.
    assert read(sessions("bob", "Demanding")) == [(1, "DE001", "East"), (4, "DE004", "East")]
    with pytest.raises((GovernedAccessDenied, Exception), match="'carol' is out of compliance"):
        sessions("carol", "Demanding")
