"""A table written from governed data is registered as a derived source with the writer's access (issue 10, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import compile_plan, make_subject
from immuta_spark.errors import ProjectError
from tests.unit.support import open_catalog
from tests.unit.test_projects import as_

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE, CREATE_PROJECT]}
  - {name: alice, groups: [Legal, Golf], attributes: {State: [Ohio], Team: [Blue]}}
  - {name: bob, groups: [Golf], attributes: {State: [Ohio]}}
  - {name: carol, groups: [Legal], attributes: {State: [Ohio, Texas]}}
  - {name: dave, groups: [Legal], attributes: {State: [Texas]}}
purposes: [{name: Research}, {name: Audit}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    subscription: {anyone: {}}
    dictionary: [{name: id, type: bigint}, {name: address, type: string}, {name: state, type: string}]
    policies:
      - {name: address, type: masking, columns: {names: [address]}, mask: "null", except: {groups: [Legal]}}
      - {name: by-state, type: row, match: {attribute: State, column: state}}
  - name: Notes
    table: db.notes
    owners: [gov]
    subscription: {anyone: {}}
    dictionary: [{name: id, type: bigint}, {name: note, type: string}]
    policies:
      - {name: note, type: masking, columns: {names: [note]}, mask: hash, except: {users: [alice]}}
  - name: Studies
    table: db.studies
    owners: [gov]
    subscription: {anyone: {}}
    dictionary: [{name: id, type: bigint}, {name: result, type: string}]
    policies:
      - {name: result, type: masking, columns: {names: [result]}, mask: "null", except: {purposes: [Research]}}
"""


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def write(catalog: GovernanceCatalog, table: str, read: set[str], *, append: bool = False) -> str | None:
    lineage = {"id": [(sorted(read)[0], "id")]}
    return catalog.register_governed_write(table, read=read, lineage=lineage, columns=[("id", "bigint")], append=append)


def visible(catalog: GovernanceCatalog, user: str, source: str) -> bool:
    snap = catalog.snapshot()
    return compile_plan(snap, make_subject(snap, user), source).visible


def test_a_copy_needs_the_groups_and_attribute_values_the_writer_saw_it_with(gov: GovernanceCatalog) -> None:
    alice = as_(gov, "alice")
    assert write(alice, "alice_db.copy", {"Claims"}) == "alice_db.copy"
    record = gov.derived_source("alice_db.copy")
    # Legal (the mask's exception) and State=Ohio (the row filter); not Golf, which no policy tests.
    assert record.entitlement == {"groups": ["Legal"], "attributes": {"State": ["Ohio"]}}
    assert record.project is None and record.created_by == "alice"
    assert visible(gov, "carol", "alice_db.copy")  # Legal and Ohio (and Texas: more than needed)
    assert not visible(gov, "bob", "alice_db.copy")  # not Legal: would see the addresses alice saw
    assert not visible(gov, "dave", "alice_db.copy")  # not Ohio: would see Ohio's rows
    audit = [r for r in gov.audit() if r.action == "write.derived_source"]
    assert audit[-1].detail["parents"] == ["Claims"]


def test_a_policy_that_names_the_writer_makes_the_writer_its_only_reader(gov: GovernanceCatalog) -> None:
    write(as_(gov, "alice"), "alice_db.notes", {"Notes"})
    assert visible(gov, "alice", "alice_db.notes")
    assert not visible(gov, "carol", "alice_db.notes")


def test_data_written_under_a_purpose_its_policies_test_needs_that_purpose(gov: GovernanceCatalog) -> None:
    gov.create_project("Study", purposes=["Research"], sources=["Studies"])
    gov.add_project_member("Study", "alice")
    alice = as_(gov, "alice")
    alice.acknowledge_project("Study")
    alice.switch_project("Study")
    write(alice, "alice_db.results", {"Studies"})
    record = gov.derived_source("alice_db.results")
    assert record.project == "Study"
    assert record.purpose_policies == ("alice_db.results: written under Research",)


def test_an_append_merges_what_the_data_derives_from(gov: GovernanceCatalog) -> None:
    alice = as_(gov, "alice")
    write(alice, "alice_db.mix", {"Claims"})
    write(alice, "alice_db.mix", {"Notes"}, append=True)
    record = gov.derived_source("alice_db.mix")
    assert record.parents == ("Claims", "Notes")
    assert not visible(gov, "carol", "alice_db.mix")  # Notes singled alice out: readers merged


def test_an_overwrite_replaces_what_the_data_derives_from(gov: GovernanceCatalog) -> None:
    alice = as_(gov, "alice")
    write(alice, "alice_db.t", {"Notes"})
    write(alice, "alice_db.t", {"Claims"})
    assert gov.derived_source("alice_db.t").parents == ("Claims",)
    assert visible(gov, "carol", "alice_db.t")


def test_an_append_under_other_purposes_is_refused_before_writing(gov: GovernanceCatalog) -> None:
    alice = as_(gov, "alice")
    gov.create_project("Audit", purposes=["Audit"], sources=["Studies"])
    gov.add_project_member("Audit", "alice")
    alice.acknowledge_project("Audit")
    alice.switch_project("Audit")
    write(alice, "alice_db.r", {"Studies"})
    gov.create_project("Study", purposes=["Research"], sources=["Studies"])
    gov.add_project_member("Study", "alice")
    alice.acknowledge_project("Study")
    alice.switch_project("Study")
    with pytest.raises(ProjectError, match="written under Audit and this append acts under Research"):
        alice.check_governed_write("alice_db.r", read={"Studies"}, append=True)


def test_nothing_governed_or_a_source_from_itself_registers_nothing(gov: GovernanceCatalog) -> None:
    assert write(gov, "db.claims", {"Claims"}) is None  # the owner reloads its own source: its own policies
    with pytest.raises(ProjectError, match="under 'Claims''s policies"):
        write(gov, "db.claims", {"Notes"})  # another source's data would be read under Claims' policies
    assert gov.register_governed_write("x.y", read=set(), lineage={}, columns=[], append=False) is None
    assert gov.derived_sources() == []
