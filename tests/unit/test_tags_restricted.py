"""Hierarchical tags, and restricted global policies that apply only to named owners' sources."""

from __future__ import annotations

import pytest

from immuta_spark.conditions import tag_matches
from tests.unit.support import plan, snapshot

DOC = """
version: 1
users:
  - {name: bob}
  - {name: olga, groups: [Stewards]}
  - {name: oscar}
  - {name: lena, groups: [Legal]}
sources:
  - {name: ByOlga, table: db.olga, owners: [olga], subscription: {anyone: {}}, tags: [PHI.Claims.Dental],
     columns: {a: [PII.SSN], b: [PII], c: [PIIX], d: [Other]}}
  - {name: ByOscar, table: db.oscar, owners: [oscar], subscription: {anyone: {}}, tags: [PHIX],
     columns: {a: [PII.SSN], b: [PII], c: [PIIX], d: [Other]}}
  - {name: ByStewards, table: db.stewards, owners: [{group: Stewards}], subscription: {anyone: {}},
     columns: {a: [PII.SSN], b: [PII], c: [PIIX], d: [Other]}}
  - {name: ByLegal, table: db.legal, owners: [{group: Legal}], subscription: {anyone: {}},
     columns: {a: [PII.SSN], b: [PII], c: [PIIX], d: [Other]}}
  - {name: Nobodys, table: db.nobody, subscription: {anyone: {}},
     columns: {a: [PII.SSN], b: [PII], c: [PIIX], d: [Other]}}
policies:
  - {name: hash-pii, type: masking, columns: {tagged: PII}, mask: hash}
  - {name: phi-sample, type: row, sources: {tagged: PHI.Claims}, where: "a IS NOT NULL"}
  - {name: olga-null-d, type: masking, owners: [olga], columns: {names: [d]}, mask: "null"}
  - {name: stewards-rows, type: row, owners: [{group: Stewards}], where: "d = 'x'"}
  - {name: lena-rows, type: row, owners: [lena], where: "d = 'y'"}
"""
SNAP = snapshot(DOC)


@pytest.mark.parametrize(
    ("tag", "target", "hit"),
    [
        ("PII", "PII", True),
        ("PII.SSN", "PII", True),
        ("PII.SSN.Last4", "PII", True),
        ("PII", "PII.SSN", False),
        ("PIIX", "PII", False),
        ("pii", "PII", False),  # tags are case-sensitive
        ("Other.PII", "PII", False),
    ],
)
def test_a_tag_target_hits_the_tag_and_its_descendants(tag: str, target: str, hit: bool) -> None:
    assert tag_matches(tag, target) is hit


def test_a_column_tag_policy_hits_descendant_tags_only() -> None:
    masked = {c.name for c in plan(SNAP, "bob", "ByOlga").columns if c.policy == "hash-pii"}
    assert masked == {"a", "b"}


@pytest.mark.parametrize(("source", "hit"), [("ByOlga", True), ("ByOscar", False), ("Nobodys", False)])
def test_a_source_tag_scope_hits_descendant_source_tags(source: str, hit: bool) -> None:
    rows = [r.policy for r in plan(SNAP, "bob", source).row_policies]
    assert ("phi-sample" in rows) is hit


@pytest.mark.parametrize(
    ("source", "policy", "applies"),
    [
        ("ByOlga", "olga-null-d", True),
        ("ByOscar", "olga-null-d", False),
        ("Nobodys", "olga-null-d", False),
        ("ByStewards", "olga-null-d", True),  # olga owns it through her group
        ("ByLegal", "olga-null-d", False),
        ("ByStewards", "stewards-rows", True),  # same owning group
        ("ByOlga", "stewards-rows", True),  # owned by a member of the group
        ("ByOscar", "stewards-rows", False),
        ("ByLegal", "lena-rows", True),  # lena owns it through Legal
        ("ByStewards", "lena-rows", False),
    ],
)
def test_restricted_global_policies_apply_only_to_the_named_owners_sources(
    source: str, policy: str, applies: bool
) -> None:
    result = plan(SNAP, "bob", source)
    names = {c.policy for c in result.columns} | {r.policy for r in result.row_policies}
    assert (policy in names) is applies


def test_a_restricted_policy_follows_ownership_changes() -> None:
    moved = snapshot(DOC.replace("owners: [oscar]", "owners: [olga]"))
    assert {c.name: c.policy for c in plan(moved, "bob", "ByOscar").columns}["d"] == "olga-null-d"
