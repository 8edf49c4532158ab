"""Project equalization (issue 10, deliverable 4): the seed's table cell by cell, the entitlement, compliance."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, ProjectError
from immuta_spark.model import Entitlement
from tests.unit.support import open_catalog
from tests.unit.test_projects import as_

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olivia, groups: [Accounting, Finance], attributes: {Region: [East, West]}, permissions: [CREATE_PROJECT]}
  - {name: bob, groups: [Accounting, Finance, Golf], attributes: {Region: [East]}}
  - {name: carol, groups: [Accounting], attributes: {Region: [East, North]}}
  - {name: dave, groups: [Legal]}
sources:
  - name: Ledger
    table: db.ledger
    subscription: {anyone: {}}
    columns: {iban: [PII]}
    dictionary: [{name: iban, type: string}, {name: region, type: string}]
    policies:
      - {name: hash-iban, type: masking, columns: {tagged: PII}, mask: hash, except: {groups: [Finance]}}
      - {name: by-region, type: row, match: {attribute: Region, column: region}, except: {users: [bob]}}
      - {name: accounting-sees, type: masking, columns: {names: [region]}, mask: "null",
         except: {groups: [Accounting]}}
"""

ACCOUNTING = {"groups": ["Accounting"]}
#: The seed's table: original policy -> (equalized with entitlement Accounting, equalized without, after disabling).
TABLE: dict[str, tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]] = {
    "anyone": ({"anyone": {}}, {"when": ACCOUNTING}, None, None),
    "approval": (
        {"approval": {"approvers": ["owner"]}},
        {"approval": {"approvers": ["owner"], "when": ACCOUNTING}},
        {"approval": {"approvers": ["owner"]}},
        {"approval": {"approvers": ["owner"]}},
    ),
    "when legal": ({"when": {"groups": ["Legal"]}}, {"when": ACCOUNTING}, None, None),
    "individuals": (None, {"when": ACCOUNTING}, None, None),
}


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def project(gov: GovernanceCatalog, subscription: dict[str, Any] | None, members: tuple[str, ...] = ("carol",)) -> Any:
    olivia = as_(gov, "olivia")
    olivia.create_project("Fraud Prevention", sources=["Ledger"], subscription=subscription)
    for m in members:
        olivia.add_project_member("Fraud Prevention", m)
    return olivia


@pytest.mark.parametrize("original", sorted(TABLE))
def test_equalized_with_an_entitlement(gov: GovernanceCatalog, original: str) -> None:
    before, expected, _, _ = TABLE[original]
    olivia = project(gov, before)
    record = olivia.equalize_project("Fraud Prevention")
    assert record.entitlement == {"groups": ["Accounting"], "attributes": {"Region": ["East"]}}
    olivia.set_project_entitlement("Fraud Prevention", groups=["Accounting"])  # the seed's example entitlement
    assert olivia.project("Fraud Prevention").subscription == expected


@pytest.mark.parametrize("original", sorted(TABLE))
def test_equalized_without_an_entitlement(gov: GovernanceCatalog, original: str) -> None:
    before, _, expected, _ = TABLE[original]
    olivia = project(gov, before)
    olivia.equalize_project("Fraud Prevention")
    olivia.set_project_entitlement("Fraud Prevention")  # "No Entitlement"
    assert olivia.project("Fraud Prevention").subscription == expected


@pytest.mark.parametrize("original", sorted(TABLE))
def test_after_disabling_equalization(gov: GovernanceCatalog, original: str) -> None:
    before, _, _, expected = TABLE[original]
    olivia = project(gov, before)
    olivia.equalize_project("Fraud Prevention")
    olivia.set_project_entitlement("Fraud Prevention", groups=["Accounting"])
    record = olivia.equalize_project("Fraud Prevention", enabled=False)
    assert (record.subscription, record.entitlement, record.equalization) == (expected, None, False)


def test_the_equalized_policy_decides_who_may_join(gov: GovernanceCatalog) -> None:
    olivia = project(gov, {"anyone": {}}, members=())
    olivia.equalize_project("Fraud Prevention")  # only olivia: Accounting, Finance; Region East, West
    olivia.set_project_entitlement("Fraud Prevention", groups=["Accounting"])
    with pytest.raises(ProjectError, match="needs \\{'groups': \\['Accounting'\\]\\}, which you do not meet"):
        as_(gov, "dave").join_project("Fraud Prevention")
    as_(gov, "carol").join_project("Fraud Prevention")
    with pytest.raises(ProjectError, match="subscription policy is locked"):
        olivia.set_project_subscription("Fraud Prevention", {"anyone": {}})


def test_the_recommendation_is_what_every_member_holds_of_what_the_sources_test(gov: GovernanceCatalog) -> None:
    olivia = project(gov, None, members=("bob", "carol"))
    # Golf is held by bob only and tested by nothing; Finance is tested but carol lacks it; Region: East is common.
    assert olivia.recommended_entitlement("Fraud Prevention") == Entitlement(
        groups=frozenset({"Accounting"}), attributes={"Region": frozenset({"East"})}
    )
    olivia.add_project_member("Fraud Prevention", "dave")  # a member with nothing in common
    assert olivia.recommended_entitlement("Fraud Prevention") == Entitlement()


def test_every_member_is_evaluated_as_holding_exactly_the_entitlement(gov: GovernanceCatalog) -> None:
    olivia = project(gov, None, members=("bob", "carol"))
    olivia.equalize_project("Fraud Prevention")
    plans = {}
    for user in ("olivia", "bob", "carol"):
        me = as_(gov, user)
        plans[user] = gov.plan(me.subject(project="Fraud Prevention"), "Ledger")
    views = {u: ([(c.name, repr(c.term)) for c in p.columns], repr(p.row_filter)) for u, p in plans.items()}
    assert views["olivia"] == views["bob"] == views["carol"]  # identical data for every member
    outside = gov.plan(as_(gov, "bob").subject(), "Ledger")
    iban = {
        p: {c.name: repr(c.term) for c in plan.columns}["iban"] for p, plan in (("in", plans["bob"]), ("out", outside))
    }
    assert iban["out"] == "Column(name='iban')" != iban["in"]  # Finance exempts bob outside; carol lacks it
    # bob's own name exempts him from the row policy outside; under the project no name does.
    assert (outside.row_policies, [r.policy for r in plans["bob"].row_policies]) == ((), ["by-region"])


def test_a_member_out_of_compliance_gets_no_data_and_is_reported(gov: GovernanceCatalog) -> None:
    olivia = project(gov, None, members=("bob", "carol"))
    olivia.equalize_project("Fraud Prevention")
    olivia.set_project_entitlement("Fraud Prevention", groups=["Accounting", "Finance"])
    with pytest.raises(NotAuthorized, match=r"'carol' is out of compliance .* \(lacks group Finance\)"):
        as_(gov, "carol").subject(project="Fraud Prevention")
    assert as_(gov, "bob").subject(project="Fraud Prevention").groups == frozenset({"Accounting", "Finance"})
    assert olivia.project_compliance("Fraud Prevention") == [("carol", ["group Finance"])]
    out = io.StringIO()
    assert cli.main(["project", "compliance", "Fraud Prevention", "--format", "json"], catalog=olivia, out=out) == 0
    assert json.loads(out.getvalue()) == [{"user": "carol", "missing": ["group Finance"]}]
    with pytest.raises(ProjectError, match="only members of project 'Fraud Prevention' and governors"):
        as_(gov, "dave").project_compliance("Fraud Prevention")


def test_while_equalized_only_owners_add_sources(gov: GovernanceCatalog, tmp_path: Path) -> None:
    olivia = project(gov, None)
    olivia.equalize_project("Fraud Prevention")
    with pytest.raises(ProjectError, match="equalized: only its owners add data sources"):
        gov.add_project_source("Fraud Prevention", "Ledger")


def test_equalization_actions_are_audited(gov: GovernanceCatalog) -> None:
    olivia = project(gov, {"anyone": {}})
    olivia.equalize_project("Fraud Prevention")
    olivia.set_project_entitlement("Fraud Prevention", groups=["Accounting"], attributes={"Region": ["East"]})
    olivia.equalize_project("Fraud Prevention", enabled=False)
    records = [
        r for r in gov.audit(project="Fraud Prevention") if r.action in ("project.equalize", "project.entitlement")
    ]
    assert [(r.action, r.detail.get("enabled")) for r in records] == [
        ("project.equalize", True),
        ("project.entitlement", None),
        ("project.equalize", False),
    ]
    assert records[1].detail["entitlement"] == {"groups": ["Accounting"], "attributes": {"Region": ["East"]}}
    assert records[2].detail["subscription_before"] == {
        "when": {"all": [{"groups": ["Accounting"]}, {"attributes": {"Region": ["East"]}}]}
    }


def test_a_declared_equalized_project_follows_the_recommendation(catalog_url: str, tmp_path: Path) -> None:
    text = (
        DOC
        + "projects:\n  - {name: Filed, owner: olivia, members: [bob, carol], sources: [Ledger], equalization: true}\n"
    )
    gov = open_catalog(catalog_url, tmp_path, text)
    assert gov.project("Filed").entitlement == {"groups": ["Accounting"], "attributes": {"Region": ["East"]}}
    gov.add_project_member("Filed", "dave")
    assert gov.project("Filed").entitlement == {"groups": [], "attributes": {}}
    with pytest.raises(ProjectError, match="declared in a policy file"):
        gov.equalize_project("Filed", enabled=False)


def test_explain_under_an_equalized_project_shows_what_the_user_was_evaluated_as(gov: GovernanceCatalog) -> None:
    olivia = project(gov, None, members=("bob", "carol"))
    olivia.equalize_project("Fraud Prevention")
    plan = gov.explain("Ledger", user="bob", project="Fraud Prevention")
    assert plan.to_json()["equalized_as"] == {"groups": ["Accounting"], "attributes": {"Region": ["East"]}}
    assert gov.explain("Ledger", user="bob").to_json()["equalized_as"] is None
    out = io.StringIO()
    argv = ["explain", "--source", "Ledger", "--user", "bob", "--project", "Fraud Prevention"]
    assert cli.main(argv, catalog=gov, out=out) == 0
    assert (
        "equalized:  evaluated as project Fraud Prevention's entitlement, not the user's own: groups Accounting; "
        "attributes Region=East" in out.getvalue()
    )
