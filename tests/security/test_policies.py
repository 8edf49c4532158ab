"""User values are bound, never spliced; policy SQL may read only its own source's columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.errors import ImmutaSparkError
from tests.security.conftest import collect
from tests.spark.conftest import table

TRICKY = [
    "x' OR '1'='1",
    "Ohio') OR ('a'='a",
    "' OR 1=1 --",
    "North\\' OR true --",
    "`region` = `region`",
    'a"; DROP TABLE gov.regions; --',
]

TRICKY_GROUPS = ["North' OR 'x'='x", "x') OR true --"]

USERS = f"""
users:
  - {{name: svc_notebook, permissions: [IMPERSONATE]}}
  - {{name: owner}}
  - {{name: mallory, groups: {json.dumps(TRICKY_GROUPS)}, attributes: {{Region: {json.dumps(TRICKY[:1])}}}}}
  - {{name: eve, attributes: {{Region: {json.dumps(TRICKY[1:])}}}}}
  - {{name: nora, groups: [North], attributes: {{Region: [North]}}}}
"""


def regions_source(policies: str) -> str:
    return f"""
sources:
  - name: Regions
    table: gov.regions
    owners: [owner]
    subscription: {{anyone: {{}}}}
    policies:
{policies}
"""


@pytest.fixture(scope="module")
def regions(sample_spark: Any) -> str:
    rows = [(1, "North", "n1"), (2, "South", "s1"), *((10 + i, v, f"t{i}") for i, v in enumerate(TRICKY))]
    table(sample_spark, "gov.regions", rows, "id int, region string, secret string")
    return "gov.regions"


def test_attribute_values_with_quotes_and_sql_match_only_themselves(governed: Any, regions: str) -> None:
    build = governed(USERS + regions_source("      - {name: r, type: row, match: {attribute: Region, column: region}}"))
    assert sorted(collect(build("mallory").sql("SELECT id FROM gov.regions"))) == [(10,)]
    assert sorted(collect(build("eve").sql("SELECT id FROM gov.regions"))) == [(11,), (12,), (13,), (14,), (15,)]
    assert sorted(collect(build("nora").sql("SELECT id FROM gov.regions"))) == [(1,)]
    assert collect(build("owner").sql("SELECT count(*) FROM gov.regions")) == [(0,)]


def test_group_names_with_quotes_and_sql_match_only_themselves(governed: Any, regions: str) -> None:
    build = governed(USERS + regions_source("      - {name: r, type: row, match: {groups: true, column: region}}"))
    assert collect(build("mallory").sql("SELECT id FROM gov.regions")) == []
    assert collect(build("nora").sql("SELECT id FROM gov.regions")) == [(1,)]


def test_tricky_values_in_a_masking_exception_do_not_unmask(governed: Any, regions: str) -> None:
    policy = f"""      - {{name: m, type: masking, columns: {{names: [secret]}}, mask: "null",
         except: {{attributes: {{Region: {json.dumps([TRICKY[0] + "' OR 'a'='a"])}}}}}}}"""
    build = governed(USERS + regions_source(policy))
    for user in ("mallory", "eve", "nora"):
        assert {r[0] for r in collect(build(user).sql("SELECT secret FROM gov.regions"))} == {None}


@pytest.mark.parametrize(
    "predicate",
    [
        "region IN (SELECT region FROM claims.medical)",
        "EXISTS (SELECT 1 FROM hr.payroll)",
        "(SELECT max(salary) FROM hr.payroll) > 0",
        "gov.regions.region = 'North'",
        "claims.medical.state = region",
        "region = current_user()",
        "java_method('java.lang.System', 'getenv', 'HOME') IS NOT NULL",
        "rand() < 0.5",
    ],
)
@pytest.mark.parametrize("kind", ["row", "masking"])
def test_a_policy_predicate_that_reads_beyond_its_source_is_refused_at_apply(
    governed: Any, regions: str, predicate: str, kind: str, tmp_path: Path
) -> None:
    build = governed(USERS + regions_source("      - {name: ok, type: row, where: \"region = 'North'\"}"))
    catalog = build.catalog
    revision = catalog.snapshot().revision
    escaped = predicate.replace('"', '\\"')
    if kind == "row":
        policy = f'      - {{name: bad, type: row, where: "{escaped}"}}'
    else:
        policy = f'      - {{name: bad, type: masking, columns: {{names: [secret]}}, mask: "null", where: "{escaped}"}}'
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\n" + USERS + regions_source(policy))
    with pytest.raises(ImmutaSparkError, match=r"where"):
        catalog.apply(path)
    assert catalog.snapshot().revision == revision  # an invalid file changes nothing
    assert collect(build("nora").sql("SELECT id FROM gov.regions")) == [(1,)]
