"""Purposes (sections 3, 5.4, 6): hierarchy, projects, purpose limits and what explain says."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.conditions import purpose_satisfies
from immuta_spark.errors import NotAuthorized
from immuta_spark.expr import Column
from tests.unit.support import acknowledge, open_catalog, plan, snapshot

DOC = """
version: 1
users:
  - {name: owner}
  - {name: bob}
  - {name: carol}
  - {name: dave}
purposes:
  - {name: Research, acknowledgement: "Research only."}
  - {name: Research.Onboarding, acknowledgement: "Onboarding research only."}
  - {name: Research.Onboarding.Customer, acknowledgement: "Customer onboarding research only."}
  - {name: ResearchX}
  - {name: Fraud}
sources:
  - name: Patients
    table: db.patients
    owners: [owner]
    subscription: {anyone: {}}
    columns: {ssn: [PII]}
    dictionary: [{name: ssn, type: string}, {name: zip, type: string}]
    policies:
      - {name: research-only, type: purpose, purposes: [Research]}
      - {name: hash-unless-fraud, type: masking, columns: {tagged: PII}, mask: hash, except: {purposes: [Fraud]}}
  - name: Onboarding
    table: db.onboarding
    subscription: {anyone: {}}
    dictionary: [{name: x, type: int}]
    policies:
      - {name: onboarding-only, type: purpose, purposes: [Research.Onboarding, Fraud], except: {users: [dave]}}
  - name: Elsewhere
    table: db.elsewhere
    subscription: {anyone: {}}
projects:
  - {name: Study, owner: owner, members: [bob], purposes: [Research], sources: [Patients, Onboarding]}
  - {name: Customers, owner: owner, members: [bob, carol], purposes: [Research.Onboarding.Customer],
     sources: [Patients, Onboarding]}
  - {name: Lookalike, owner: owner, members: [bob], purposes: [ResearchX], sources: [Patients]}
  - {name: Investigation, owner: owner, members: [carol], purposes: [Fraud], sources: [Patients, Onboarding]}
  - {name: Nothing, owner: owner, members: [bob], sources: [Patients]}
"""
SNAP = snapshot(DOC)


@pytest.mark.parametrize(
    ("held", "required", "ok"),
    [
        ("Research", "Research", True),
        ("Research.Onboarding.Customer", "Research", True),
        ("Research.Onboarding", "Research.Onboarding.Customer", False),
        ("ResearchX", "Research", False),
        ("Research", "research", False),  # purposes are case-sensitive
    ],
)
def test_a_sub_purpose_satisfies_its_ancestors_only(held: str, required: str, ok: bool) -> None:
    assert purpose_satisfies(held, required) is ok


@pytest.mark.parametrize(
    ("user", "project", "allowed"),
    [
        ("bob", None, False),
        ("bob", "Nothing", False),
        ("bob", "Lookalike", False),
        ("bob", "Study", True),
        ("bob", "Customers", True),  # a sub-purpose of Research
        ("owner", "Study", True),  # the owner acts under its project
    ],
)
def test_a_purpose_limited_source_needs_a_project_with_the_purpose(
    user: str, project: str | None, allowed: bool
) -> None:
    result = plan(SNAP, user, "Patients", project=project)
    assert result.allowed is allowed
    assert result.purposes_required == ("Research",)
    if not allowed:
        assert result.denied_reason == ("purpose required: act under a project with one of Research (or a sub-purpose)")


def test_explain_lists_every_purpose_that_would_satisfy_the_limit() -> None:
    data = plan(SNAP, "bob", "Onboarding").to_json()
    assert data["purposes_required"] == ["Research.Onboarding", "Fraud"]
    assert data["denied_reason"] is not None and "Research.Onboarding, Fraud" in data["denied_reason"]


@pytest.mark.parametrize(
    ("user", "project", "allowed"),
    [
        ("bob", "Study", False),  # Research is the parent, not a sub-purpose
        ("carol", "Customers", True),
        ("carol", "Investigation", True),
    ],
)
def test_a_limit_to_a_sub_purpose_is_not_met_by_its_parent(user: str, project: str, allowed: bool) -> None:
    assert plan(SNAP, user, "Onboarding", project=project).allowed is allowed


def test_an_excepted_user_needs_no_purpose() -> None:
    result = plan(SNAP, "dave", "Onboarding")
    assert (result.allowed, result.purposes_required) == (True, ())


def test_acting_under_a_project_needs_membership() -> None:
    message = r"'dave' is not a member of project 'Study'; ask to join .* or ask its owner 'owner' to add you"
    with pytest.raises(NotAuthorized, match=message):
        plan(SNAP, "dave", "Patients", project="Study")


def test_an_unknown_project_is_refused() -> None:
    with pytest.raises(NotAuthorized, match="there is no project 'Nope'"):
        plan(SNAP, "bob", "Patients", project="Nope")


def test_under_a_project_a_source_outside_it_is_refused_saying_so() -> None:
    result = plan(SNAP, "bob", "Elsewhere", project="Study")
    assert (result.visible, result.allowed) == (True, False)  # bob sees it outside: no secret to him
    assert result.denied_reason is not None
    assert "data source 'Elsewhere' is not in project 'Study', which you act under" in result.denied_reason
    assert "immuta-spark project switch --none" in result.denied_reason
    assert plan(SNAP, "bob", "Elsewhere").allowed


def test_a_purpose_condition_exempts_members_acting_under_that_purpose() -> None:
    def ssn(user: str, project: str | None) -> object:
        return {c.name: c.term for c in plan(SNAP, user, "Patients", project=project).columns}["ssn"]

    assert ssn("carol", "Investigation") == Column("ssn")
    assert ssn("carol", "Customers") != Column("ssn")
    assert ssn("carol", None) != Column("ssn")


def test_acting_under_a_project_records_its_purposes_in_the_audit(catalog_url: str, tmp_path: Path) -> None:
    governed = DOC.replace("- {name: owner}", "- {name: owner, permissions: [GOVERNANCE]}")
    cat = open_catalog(catalog_url, tmp_path, governed, identity="owner")
    acknowledge(cat, "bob", "Customers")
    cat.explain("Patients", user="bob", project="Customers")
    (record,) = cat.audit(action="explain")
    assert (record.project, record.purposes) == ("Customers", ("Research.Onboarding.Customer",))
