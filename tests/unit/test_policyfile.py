"""Reading and writing policy as code: forms that must survive apply, export and apply again."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.model import ConstantMask, NullMask, PolicyType, RegexMask
from tests.unit.support import load, write

HEAD = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}, {name: bob, groups: [Legal]}]
sources:
  - name: S
    table: db.s
    owners: [gov]
    subscription: {anyone: {}}
    dictionary: [{name: a, type: string}, {name: d, type: date}, {name: t, type: timestamp}]
    policies:
"""


@pytest.mark.parametrize(
    "policy",
    [
        "{name: p, type: masking, columns: {names: [a]}, mask: none, priority: 9}",
        "{name: p, type: masking, columns: {names: [a]}, mask: none, except: {groups: [Legal]}}",
        "{name: p, type: masking, columns: {names: [d]}, mask: {constant: 2020-01-31}}",
        "{name: p, type: masking, columns: {names: [t]}, mask: {constant: 2020-01-31 10:00:00}}",
        "{name: p, type: masking, columns: {names: [a]}, mask: hash, description: Hash it.}",
        "{name: p, type: masking, columns: {names: [a]}, "
        "rules: [{who: {groups: [Legal]}, mask: none}, {otherwise: {}}]}",
        "{name: p, type: masking, columns: {names: [a]}, mask: {regex: {pattern: '(\\d+)$', replacement: '\\$$1'}}}",
        "{name: p, type: row, where: \"a = 'x'\", description: Only x.}",
    ],
    ids=[
        "mask-none",
        "mask-none-except",
        "constant-date",
        "constant-timestamp",
        "description",
        "exempt-rule",
        "regex-groups",
        "row-description",
    ],
)
def test_apply_export_apply_changes_nothing(catalog_url: str, tmp_path: Path, policy: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, HEAD + f"      - {policy}\n"), sql_checker=None)
    exported = cat.export()
    assert cat.apply(write(tmp_path, exported, "exported.yaml"), sql_checker=None).is_noop
    assert cat.export() == exported
    assert cat.explain("S", user="bob").source == "S"  # the stored catalog still reads back


def test_mask_none_exempts_everyone_the_policy_covers() -> None:
    policy = load(HEAD + "      - {name: p, type: masking, columns: {names: [a]}, mask: none}\n").sources[0].policies[0]
    assert policy.actions() == ()


@pytest.mark.parametrize("written", ["null", '"null"', "~"])
def test_unquoted_and_quoted_null_both_mean_the_null_mask(written: str) -> None:
    text = HEAD + f"      - {{name: p, type: masking, columns: {{names: [a]}}, mask: {written}}}\n"
    assert load(text).sources[0].policies[0].actions() == (NullMask(),)


def test_an_unquoted_yaml_date_constant_is_kept_as_iso_text() -> None:
    policy = load(HEAD + "      - {name: p, type: masking, columns: {names: [d]}, mask: {constant: 2020-01-31}}\n")
    assert policy.sources[0].policies[0].actions() == (ConstantMask("2020-01-31"),)


@pytest.mark.parametrize("replacement", ["XXX", "$0", "$1-$1", "\\$", "\\\\", "a\\b", "12"])
def test_valid_java_replacements_are_accepted(replacement: str) -> None:
    text = (
        HEAD
        + "      - {name: p, type: masking, columns: {names: [a]}, mask: {regex: {pattern: '(x)', replacement: R}}}\n"
    )
    quoted = "'" + replacement.replace("'", "''") + "'"
    mask = load(text.replace("replacement: R", f"replacement: {quoted}")).sources[0].policies[0].actions()[0]
    assert mask == RegexMask("(x)", replacement)


def test_every_policy_type_reads_back_as_its_type() -> None:
    g = load(
        """
        version: 1
        purposes: [{name: Research}]
        sources: [{name: S, table: db.s, high_cardinality_column: id}]
        policies:
          - {name: m, type: masking, columns: {tagged: PII}, mask: hash}
          - {name: r, type: row, where: "id > 0"}
          - {name: p, type: purpose, purposes: [Research]}
          - {name: d, type: differential_privacy, epsilon: 0.5}
          - {name: s, type: subscription, anyone: {}}
        """
    )
    assert [p.type for p in g.policies] == [
        PolicyType.MASKING,
        PolicyType.ROW,
        PolicyType.PURPOSE,
        PolicyType.DIFFERENTIAL_PRIVACY,
        PolicyType.SUBSCRIPTION,
    ]
