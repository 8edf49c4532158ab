"""Registering derived data sources in the catalog: who may, from what, lineage checks, and apply keeping them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, PolicyFileError, ProjectError, RuntimeStateConflict
from tests.unit.support import acknowledge, catalog_state, open_catalog, write
from tests.unit.test_derived_sources import SEED
from tests.unit.test_projects import as_

DOC = (
    SEED.replace(
        "  - {name: bob, groups: [Legal, Medical Claims]}",
        "  - {name: bob, groups: [Legal, Medical Claims], "
        "permissions: [CREATE_PROJECT, CREATE_DATA_SOURCE_IN_PROJECT]}",
    )
    .replace("  - {name: lee, groups: [Legal]}", "  - {name: lee, groups: [Legal, Medical Claims]}")
    .split("  - name: Data Source C")[0]
    + "  - name: Elsewhere\n    table: db.elsewhere\n    subscription: {anyone: {}}\n"
)
A, B = "Data Source A", "Data Source B"
LINEAGE = {"address": [(A, "address")], "ssn_key": [(B, "ssn")]}
COLUMNS = [("address", "string"), ("ssn_key", "string")]


@pytest.fixture
def bob(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    gov = open_catalog(catalog_url, tmp_path, DOC)
    gov.add_subscriber(B, "bob")
    bob = as_(gov, "bob")
    bob.create_project("Claims Study", purposes=["Research"], sources=[A, B])
    bob.add_project_member("Claims Study", "lee")
    bob.equalize_project("Claims Study")
    acknowledge(gov, "bob", "Claims Study")
    bob.switch_project("Claims Study")
    return bob


def derive(catalog: GovernanceCatalog, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "table": "work.c",
        "parents": [A, B],
        "read": {A, B},
        "lineage": LINEAGE,
        "columns": COLUMNS,
        "certify": True,
    }
    kwargs.update(overrides)
    return catalog.create_derived_source("Data Source C", **kwargs)


def test_a_member_registers_data_source_c_and_it_inherits_as_the_seed_says(bob: GovernanceCatalog) -> None:
    record = derive(bob)
    assert record.parents == (A, B)
    assert record.project == "Claims Study"
    assert record.entitlement == {"groups": ["Legal", "Medical Claims"], "attributes": {}}
    assert record.subscription == (
        "Allow user to subscribe when they satisfy all of the following: "
        "is a member of group Legal and is a member of group Medical Claims; "
        "is approved by anyone with permission Owner (of Data Source B) and anyone with permission Governance"
    )
    assert record.purpose_policies == ("b-research",)
    assert record.column_tags == {"address": ("PII.Address",), "ssn_key": ("PII.SSN",)}
    assert "Data Source C" in bob.project("Claims Study").sources
    audit = [r for r in bob.audit() if r.action == "project.derived_source"]
    assert audit[-1].outcome == "ok" and audit[-1].detail["parents"] == [A, B]


def test_approvals_of_a_derived_source_come_from_the_parents_owners_and_governance(bob: GovernanceCatalog) -> None:
    derive(bob)
    gov, owen, lee = as_(bob, "gov"), as_(bob, "owen"), as_(bob, "lee")
    lee.request_subscription("Data Source C", reason="study")
    with pytest.raises(NotAuthorized, match="owner:Data Source B"):
        bob.approve_subscription("Data Source C", "lee")  # C's creator owns C, not B
    owen.approve_subscription("Data Source C", "lee")
    assert gov.approve_subscription("Data Source C", "lee").status == "subscribed"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"parents": [A]}, "reads 'Data Source B', which is not named as a parent"),
        ({"read": {A}}, "names 'Data Source B' as a parent, which the data does not read"),
        ({"parents": [A, B, "Elsewhere"], "read": {A, B, "Elsewhere"}}, "add that data to the project first"),
        ({"certify": False}, "certify that the data derives"),
        ({"parents": [], "read": set()}, "name the parent data sources"),
        ({"table": "db.a"}, "already governed as 'Data Source A'"),
    ],
    ids=["omitted-parent", "unread-parent", "outside-the-project", "uncertified", "no-parents", "governed-table"],
)
def test_a_registration_that_does_not_hold_is_refused_and_changes_nothing(
    bob: GovernanceCatalog, catalog_url: str, overrides: dict[str, Any], fragment: str
) -> None:
    before = catalog_state(bob, catalog_url)
    with pytest.raises(ProjectError, match=fragment):
        derive(bob, **overrides)
    after = catalog_state(bob, catalog_url)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert [r for r in bob.audit() if r.action == "project.derived_source"][-1].outcome == "denied"


def test_without_the_permission_or_outside_an_equalized_project_registration_is_refused(
    bob: GovernanceCatalog,
) -> None:
    lee = as_(bob, "lee")
    acknowledge(bob, "lee", "Claims Study")
    lee.switch_project("Claims Study")
    with pytest.raises(NotAuthorized, match="CREATE_DATA_SOURCE_IN_PROJECT"):
        derive(lee)
    bob.switch_project(None)
    with pytest.raises(ProjectError, match="acting under an equalized project"):
        derive(bob)
    bob.switch_project("Claims Study")
    bob.equalize_project("Claims Study", enabled=False)
    with pytest.raises(ProjectError, match="is not equalized"):
        derive(bob)


def test_apply_keeps_a_derived_source_and_refuses_to_orphan_or_shadow_it(
    bob: GovernanceCatalog, tmp_path: Path
) -> None:
    derive(bob)
    gov = as_(bob, "gov")
    gov.apply(write(tmp_path, DOC, "again.yaml"))
    assert gov.derived_source("Data Source C").parents == (A, B)
    without_b = DOC.replace("  - name: Data Source B", "  - name: Data Source B2").replace("db.b\n", "db.b2\n")
    with pytest.raises(RuntimeStateConflict, match="derives from 'Data Source B'"):
        gov.apply(write(tmp_path, without_b, "no-b.yaml"))
    shadow = DOC + "  - name: Shadow\n    table: work.c\n"
    with pytest.raises(RuntimeStateConflict, match="derived data source 'Data Source C'"):
        gov.apply(write(tmp_path, shadow, "shadow.yaml"))
    assert gov.derived_source("Data Source C").parents == (A, B)
    assert "derived" not in gov.export()


def test_a_policy_file_cannot_declare_a_derived_source(bob: GovernanceCatalog, tmp_path: Path) -> None:
    forged = DOC + "  - name: Forged\n    table: work.f\n    derived: {parents: [Elsewhere], created_by: gov}\n"
    with pytest.raises(PolicyFileError, match="cannot declare a derived data source"):
        as_(bob, "gov").apply(write(tmp_path, forged, "forged.yaml"))


def test_only_its_owners_and_governors_delete_a_derived_source(bob: GovernanceCatalog) -> None:
    derive(bob)
    with pytest.raises(NotAuthorized):
        as_(bob, "lee").delete_derived_source("Data Source C")
    as_(bob, "gov").delete_derived_source("Data Source C")
    assert bob.derived_sources() == []


def test_the_cli_shows_what_a_derived_source_inherits_as_text_and_json(bob: GovernanceCatalog) -> None:
    import io
    import json

    from immuta_spark import cli

    derive(bob)
    out = io.StringIO()
    assert cli.main(["source", "derived", "Data Source C"], catalog=bob, out=out) == 0
    text = out.getvalue()
    assert "parents: Data Source A, Data Source B" in text
    assert "is approved by anyone with permission Owner (of Data Source B)" in text
    assert "ssn_key <- Data Source B.ssn (PII.SSN)" in text
    out = io.StringIO()
    assert cli.main(["source", "derived", "--format", "json"], catalog=bob, out=out) == 0
    assert [r["name"] for r in json.loads(out.getvalue())] == ["Data Source C"]
    out = io.StringIO()
    assert cli.main(["source", "delete-derived", "Data Source C"], catalog=as_(bob, "gov"), out=out) == 0
    assert bob.derived_sources() == []


def test_a_derived_source_hidden_from_a_user_looks_missing_to_them(bob: GovernanceCatalog) -> None:
    from immuta_spark.errors import SourceNotFound

    derive(bob)
    ann = as_(bob, "ann")  # not in Legal: Data Source C is not visible to her
    assert ann.derived_sources() == []
    with pytest.raises(SourceNotFound):
        ann.derived_source("Data Source C")
    assert [r.name for r in as_(bob, "lee").derived_sources()] == ["Data Source C"]
