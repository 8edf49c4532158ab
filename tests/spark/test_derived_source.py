"""Derived data sources with real Spark: the seed's A / B / C example, lineage from the plan (issue 10, item 7)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ProjectError

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: bob, groups: [Legal, Medical Claims], permissions: [CREATE_DATA_SOURCE_IN_PROJECT]}
  - {name: lee, groups: [Legal, Medical Claims], permissions: [CREATE_PROJECT]}
  - {name: ann, groups: [Medical Claims]}
  - {name: owen, groups: [Medical Claims]}
purposes: [{name: Research}]
sources:
  - name: Data Source A
    table: dv.a
    owners: [gov]
    columns: {address: [PII.Address]}
    subscription: {when: {groups: [Medical Claims]}}
    policies:
      - {name: a-address, type: masking, columns: {names: [address]}, mask: "null", except: {groups: [Legal]}}
  - name: Data Source B
    table: dv.b
    owners: [owen]
    subscribers: [bob]
    columns: {ssn: [PII.SSN]}
    subscription: {approval: {approvers: [owner, governance]}}
    policies:
      - {name: b-research, type: purpose, purposes: [Research]}
policies:
  - {name: hash-ssn, type: masking, columns: {tagged: PII.SSN}, mask: hash, except: {groups: [Auditors]}}
projects:
  - {name: Claims Study, owner: bob, members: [lee], purposes: [Research], sources: [Data Source A, Data Source B],
     equalization: true}
"""
A, B, C = "Data Source A", "Data Source B", "Data Source C"
JOIN = "SELECT a.id, a.address, sha2(b.ssn, 256) AS ssn_key FROM dv.a a JOIN dv.b b ON a.id = b.id"


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    table(sample_spark, "dv.a", [(1, "1 Main St"), (2, "2 Side St")], "id int, address string")
    table(sample_spark, "dv.b", [(1, "111-22-3333"), (2, "444-55-6666")], "id int, ssn string")
    root = Path(urlsplit(sample_spark.catalog.getDatabase("dv").locationUri).path)
    for name in ("dv.c", "dv.c2"):
        sample_spark.sql(f"DROP TABLE IF EXISTS {name}")
        shutil.rmtree(root / name.split(".")[1], ignore_errors=True)  # external: the drop keeps the files
    return governed(_YAML)


def test_data_source_c_is_written_from_the_plan_and_inherits_as_the_seed_says(sessions: Any, sample_spark: Any) -> None:
    bob = sessions("bob", "Claims Study")
    record = bob.create_derived_source(C, bob.sql(JOIN), parents=[A, B], table="dv.c")
    assert record.subscription == (
        "Allow user to subscribe when they satisfy all of the following: "
        "is a member of group Legal and is a member of group Medical Claims; "
        "is approved by anyone with permission Owner (of Data Source B) and anyone with permission Governance"
    )
    assert record.purpose_policies == ("b-research",)
    # sha2(ssn) AS ssn_key keeps ssn's tag: the lineage is the plan's, not equal names.
    assert record.column_tags == {"address": ("PII.Address",), "ssn_key": ("PII.SSN",)}
    written = sorted(tuple(r) for r in sample_spark.table("dv.c").collect())
    # Written under the equalized entitlement (Legal): addresses in the clear, the ssn hashed then sha2'd.
    assert [r[:2] for r in written] == [(1, "1 Main St"), (2, "2 Side St")]
    assert all(len(r[2]) == 64 for r in written)


def test_a_reader_of_data_source_c_needs_what_it_inherits(sessions: Any, sample_spark: Any) -> None:
    from immuta_spark.spark import GovernedAccessDenied

    bob = sessions("bob", "Claims Study")
    bob.create_derived_source(C, bob.sql(JOIN), parents=[A, B], table="dv.c")
    catalog: GovernanceCatalog = sessions.catalog
    store = catalog.store
    # ann is not in Legal (the entitlement the data was written at): C does not exist for her.
    with pytest.raises(Exception, match="TABLE_OR_VIEW_NOT_FOUND"):
        sessions("ann").sql("SELECT * FROM dv.c").collect()
    lee = GovernanceCatalog(store, identity="lee")
    lee.request_subscription(C, reason="a study")
    GovernanceCatalog(store, identity="owen").approve_subscription(C, "lee")
    GovernanceCatalog(store, identity="gov").approve_subscription(C, "lee")
    # Subscribed, but not acting under Research (B's purpose restriction, inherited): denied.
    with pytest.raises(GovernedAccessDenied, match="Research"):
        sessions("lee").sql("SELECT * FROM dv.c").collect()
    lee.create_project("Reading", purposes=["Research"], sources=[C])
    rows = sorted(tuple(r) for r in sessions("lee", "Reading").sql("SELECT id, address, ssn_key FROM dv.c").collect())
    raw = sorted(tuple(r) for r in sample_spark.table("dv.c").collect())
    assert [r[:2] for r in rows] == [r[:2] for r in raw]
    # The inherited PII.SSN tag brings the global hash mask: lee (not an Auditor) sees ssn_key hashed again.
    assert [r[2] for r in rows] != [r[2] for r in raw]


def test_parents_that_do_not_match_the_plan_are_refused_and_nothing_is_written(
    sessions: Any, sample_spark: Any
) -> None:
    bob = sessions("bob", "Claims Study")
    with pytest.raises(ProjectError, match="reads 'Data Source B', which is not named as a parent"):
        bob.create_derived_source(C, bob.sql(JOIN), parents=[A], table="dv.c2")
    with pytest.raises(ProjectError, match="names 'Data Source B' as a parent, which the data does not read"):
        bob.create_derived_source(C, bob.sql("SELECT id, address FROM dv.a"), parents=[A, B], table="dv.c2")
    assert not sample_spark.catalog.tableExists("dv.c2")
    assert GovernanceCatalog(sessions.catalog.store, identity="gov").derived_sources() == []


def test_the_derived_table_is_external_so_dropping_it_keeps_the_data_and_its_place_is_never_reused(
    sessions: Any, sample_spark: Any
) -> None:
    from immuta_spark.spark.errors import EnforcementError

    bob = sessions("bob", "Claims Study")
    bob.create_derived_source(C, bob.sql(JOIN), parents=[A, B], table="dv.c")
    assert sample_spark.catalog.getTable("dv.c").tableType == "EXTERNAL"
    files = Path(urlsplit(sample_spark.catalog.getDatabase("dv").locationUri).path) / "c"
    sample_spark.sql("DROP TABLE dv.c")
    assert any(p.suffix == ".parquet" for p in files.iterdir())  # a DROP TABLE deletes no source's data
    gov = GovernanceCatalog(sessions.catalog.store, identity="gov")
    gov.delete_derived_source(C)
    with pytest.raises(EnforcementError, match=r"directory already exists .* never writes into existing data"):
        bob.create_derived_source(C, bob.sql(JOIN), parents=[A, B], table="dv.c")
    assert not sample_spark.catalog.tableExists("dv.c") and gov.derived_sources() == []


def test_a_subquery_counts_as_reading_its_source(sessions: Any) -> None:
    bob = sessions("bob", "Claims Study")
    only_a = bob.sql("SELECT id, address FROM dv.a WHERE id IN (SELECT id FROM dv.b)")
    with pytest.raises(ProjectError, match="reads 'Data Source B'"):
        bob.create_derived_source(C, only_a, parents=[A], table="dv.c2")


def test_the_derive_command_creates_data_source_c_from_a_query(sessions: Any, sample_spark: Any) -> None:
    import io
    import json

    from immuta_spark.spark import derive_cli

    bob = sessions("bob", "Claims Study")  # bob acts under the project (his setting in the catalog)
    url = sessions.catalog.store.url
    out = io.StringIO()
    argv = ["--catalog", url, "--user", "bob", "--name", C, "--parents", A, "--parents", B, "--table", "dv.c"]
    assert derive_cli.main([*argv, "--sql", JOIN], spark=sample_spark, out=io.StringIO()) == 2  # not certified
    assert not sample_spark.catalog.tableExists("dv.c")
    assert derive_cli.main([*argv, "--sql", JOIN, "--certify", "--format", "json"], spark=sample_spark, out=out) == 0
    record = json.loads(out.getvalue())
    assert record["parents"] == [A, B] and record["column_tags"]["ssn_key"] == ["PII.SSN"]
    assert bob.project == "Claims Study"
