"""Sources living in a workspace, and what ``purge --all --sources disable|delete`` does to them in the catalog.

A source lives in a workspace when its table is in the workspace's Hive database. Purging
everything deletes its data, so the project's owner says what becomes of the source: disabled
(kept with its record, answering no query) or deleted. No HDFS here: the manager's part is
tested against the real NameNode and metastore in tests/hdfs/test_workspace_hive.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.errors import NotAuthorized, ProjectError
from tests.unit.support import write
from tests.unit.test_derived_catalog import DOC, bob, derive
from tests.unit.test_projects import as_

__all__ = ["bob"]  # the fixture, shared

PROJECT = "Claims Study"
DATABASE = "ws_claims_study"


def with_workspace(owner: GovernanceCatalog) -> GovernanceCatalog:
    owner.save_workspace(
        WorkspaceRecord(
            project=PROJECT,
            cluster="local",
            root="/user/immuta/workspace",
            path="/user/immuta/workspace/claims_study",
            uri="hdfs://127.0.0.1:8020/user/immuta/workspace/claims_study",
            hadoop_group="immuta_ws_claims_study",
            hive_database=DATABASE,
            hive_uri="thrift://127.0.0.1:9083",
            state="disabled",
            enabled_by="bob",
        ),
        action="workspace.disable",
    )
    return owner


def test_a_derived_source_whose_table_is_in_the_workspace_database_lives_there(bob: GovernanceCatalog) -> None:
    with_workspace(bob)
    derive(bob, table=f"{DATABASE.upper()}.C")
    assert bob.workspace_sources(PROJECT) == {"Data Source C": "c"}
    assert bob.workspace_sources("no such project") == {}


def test_disabling_keeps_the_source_and_its_record_and_it_answers_no_query(
    bob: GovernanceCatalog, tmp_path: Path
) -> None:
    with_workspace(bob)
    derive(bob, table=f"{DATABASE}.c")
    lee = as_(bob, "lee")
    before = lee.plan(lee.subject("lee"), "Data Source C")
    assert before.visible and "disabled" not in (before.denied_reason or "")
    assert bob.retire_workspace_sources(PROJECT, how="disable") == ["Data Source C"]
    record = bob.derived_source("Data Source C")
    assert record.parents == ("Data Source A", "Data Source B") and "purged" in (record.disabled or "")
    after = lee.plan(lee.subject("lee"), "Data Source C")
    assert not after.allowed and after.visible
    assert "is disabled" in (after.denied_reason or "") and "delete-derived" in (after.denied_reason or "")
    # Runtime state: an apply keeps it, disabled; disabling again changes nothing.
    gov = as_(bob, "gov")
    gov.apply(write(tmp_path, DOC, "again.yaml"))
    assert gov.derived_source("Data Source C").disabled == record.disabled
    assert bob.retire_workspace_sources(PROJECT, how="disable") == ["Data Source C"]
    out = io.StringIO()
    assert cli.main(["source", "derived", "Data Source C"], catalog=bob, out=out) == 0
    assert "DISABLED: the data of project 'Claims Study''s workspace was purged" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["source", "derived", "--format", "json"], catalog=bob, out=out) == 0
    assert json.loads(out.getvalue())[0]["disabled"] == record.disabled
    actions = [r.action for r in bob.store.audit_records(source="Data Source C")]
    assert actions.count("source.disable") == 2


def test_deleting_unregisters_every_source_there_and_the_project_no_longer_lists_it(bob: GovernanceCatalog) -> None:
    with_workspace(bob)
    derive(bob, table=f"{DATABASE}.c")
    assert "Data Source C" in bob.snapshot().projects[PROJECT].sources
    assert bob.retire_workspace_sources(PROJECT, how="delete") == ["Data Source C"]
    assert bob.derived_sources() == [] and bob.workspace_sources(PROJECT) == {}
    assert "Data Source C" not in bob.snapshot().projects[PROJECT].sources
    assert bob.retire_workspace_sources(PROJECT, how="delete") == []  # a rerun finds nothing left


def test_only_the_projects_owners_and_governors_retire_its_sources_and_a_refusal_changes_nothing(
    bob: GovernanceCatalog, tmp_path: Path
) -> None:
    with_workspace(bob)
    derive(bob, table=f"{DATABASE}.c")
    with pytest.raises(NotAuthorized, match="only an owner of project"):
        as_(bob, "lee").retire_workspace_sources(PROJECT, how="delete")
    with pytest.raises(ProjectError, match="unknown way"):
        bob.retire_workspace_sources(PROJECT, how="archive")
    assert bob.derived_source("Data Source C").disabled is None
    # A source a policy file declares in the workspace database would come back at the next apply.
    gov = as_(bob, "gov")
    gov.apply(write(tmp_path, DOC + f"  - name: Declared\n    table: {DATABASE}.declared\n", "declared.yaml"))
    with pytest.raises(ProjectError, match=r"Declared live in the workspace .* a policy file declares them"):
        bob.retire_workspace_sources(PROJECT, how="disable")
    assert bob.derived_source("Data Source C").disabled is None
