"""Workspace records and native-access grants in the catalog (issue 11 item 3), no HDFS.

The NameNode's group mapping reads ``workspace_grants``; these tests pin down when a row exists:
only while the member acts under the project, the workspace is enabled, the project is
equalized and the member may act under it. Every change is audited and moves the generation.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.errors import NotAuthorized, ProjectError, RuntimeStateConflict
from tests.unit.support import open_catalog, raw_rows
from tests.unit.test_projects import as_

DOC = """
version: 1
purposes:
  - {name: Research, acknowledgement: "Research only."}
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olivia, groups: [Analysts], permissions: [CREATE_PROJECT]}
  - {name: bob, groups: [Analysts]}
  - {name: carol, groups: [Analysts]}
  - {name: dave, groups: [Sales]}
sources:
  - name: Ledger
    table: db.ledger
    subscription: {anyone: {}}
    dictionary: [{name: region, type: string}]
projects:
  - name: proj_x
    owner: olivia
    members: [bob, carol, dave]
    purposes: [Research]
    sources: [Ledger]
    equalization: true
    entitlement: {groups: [Analysts]}
  - name: proj_y
    owner: olivia
    members: [bob]
    purposes: [Research]
    sources: [Ledger]
    equalization: true
    entitlement: {groups: [Analysts]}
"""


def record(project: str = "proj_x", state: str = "enabled") -> WorkspaceRecord:
    return WorkspaceRecord(
        project=project,
        cluster="local",
        root="/user/immuta/workspace",
        path=f"/user/immuta/workspace/{project}",
        uri=f"hdfs://127.0.0.1:8020/user/immuta/workspace/{project}",
        hadoop_group=f"immuta_ws_{project}",
        hive_database=f"ws_{project}",
        hive_uri="thrift://127.0.0.1:9083",
        state=state,
        enabled_by="olivia",
    )


@pytest.fixture
def catalog(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    cat = open_catalog(catalog_url, tmp_path, DOC)
    for user in ("olivia", "bob", "carol", "dave"):
        for project in ("proj_x", "proj_y"):
            try:
                as_(cat, user).acknowledge_project(project)
            except (NotAuthorized, ProjectError):
                pass  # not a member of that one
    return cat


def enabled(catalog: GovernanceCatalog, project: str = "proj_x") -> GovernanceCatalog:
    owner = as_(catalog, "olivia")
    owner.save_workspace(record(project), action="workspace.enable")
    return owner


def groups_of(catalog: GovernanceCatalog, user: str) -> set[str]:
    return {g.hadoop_group for g in catalog.workspace_grants(user=user) if g.expires_at > time.time()}


def test_a_member_switching_in_gets_the_workspace_group_and_switching_out_loses_it(
    catalog: GovernanceCatalog,
) -> None:
    enabled(catalog)
    bob = as_(catalog, "bob")
    generation = catalog.grant_generation()[0]
    grant = bob.switch_project("proj_x")
    assert grant is not None and grant.hadoop_group == "immuta_ws_proj_x"
    assert groups_of(catalog, "bob") == {"immuta_ws_proj_x"}
    assert catalog.grant_generation()[0] > generation
    bob.switch_project(None)
    assert groups_of(catalog, "bob") == set()
    actions = [r.action for r in catalog.store.audit_records(user="bob") if r.action.startswith("workspace.")]
    assert actions == ["workspace.grant", "workspace.revoke"]


def test_switching_to_another_project_revokes_the_first_workspace(catalog: GovernanceCatalog) -> None:
    enabled(catalog, "proj_x")
    enabled(catalog, "proj_y")
    bob = as_(catalog, "bob")
    bob.switch_project("proj_x")
    bob.switch_project("proj_y")
    assert groups_of(catalog, "bob") == {"immuta_ws_proj_y"}


def test_a_member_out_of_compliance_gets_no_grant(catalog: GovernanceCatalog) -> None:
    enabled(catalog)
    # dave lacks the entitlement (Analysts): the switch itself is refused, and no grant exists.
    with pytest.raises(NotAuthorized, match="out of compliance"):
        as_(catalog, "dave").switch_project("proj_x")
    assert groups_of(catalog, "dave") == set()


def test_members_already_acting_under_the_project_are_granted_when_it_is_enabled(catalog: GovernanceCatalog) -> None:
    as_(catalog, "bob").switch_project("proj_x")
    assert groups_of(catalog, "bob") == set()
    enabled(catalog)
    assert groups_of(catalog, "bob") == {"immuta_ws_proj_x"}


def test_disabling_the_workspace_revokes_every_grant_at_once(catalog: GovernanceCatalog) -> None:
    owner = enabled(catalog)
    as_(catalog, "bob").switch_project("proj_x")
    as_(catalog, "carol").switch_project("proj_x")
    owner.save_workspace(record(state="disabled"), action="workspace.disable")
    assert catalog.workspace_grants(project="proj_x") == []
    assert as_(catalog, "bob").renew_workspace_access() is None


def test_leaving_the_project_revokes_in_the_same_commit(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    enabled(catalog)
    as_(catalog, "bob").switch_project("proj_x")
    as_(catalog, "carol").switch_project("proj_x")
    path = tmp_path / "fewer.yaml"
    path.write_text(DOC.replace("members: [bob, carol, dave]", "members: [carol, dave]"))
    catalog.apply(path, sql_checker=None)
    assert groups_of(catalog, "bob") == set()
    assert groups_of(catalog, "carol") == {"immuta_ws_proj_x"}
    revoke = [r for r in catalog.store.audit_records(user="bob") if r.action == "workspace.revoke"][-1]
    assert "not a member" in revoke.detail["reason"]


def test_turning_equalization_off_revokes_the_grants(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    enabled(catalog)
    as_(catalog, "bob").switch_project("proj_x")
    path = tmp_path / "plain.yaml"
    path.write_text(DOC.replace("equalization: true", "equalization: false", 1))
    catalog.apply(path, sql_checker=None)
    assert groups_of(catalog, "bob") == set()


def test_a_lease_runs_out_and_a_renewal_extends_it(catalog: GovernanceCatalog) -> None:
    enabled(catalog)
    bob = as_(catalog, "bob")
    grant = bob.switch_project("proj_x", holder="session-1", lease_seconds=0.05)
    assert grant is not None
    time.sleep(0.1)
    assert groups_of(catalog, "bob") == set()  # the NameNode counts only grants whose lease runs
    renewed = bob.renew_workspace_access(holder="session-1", lease_seconds=60)
    assert renewed is not None and renewed.expires_at > time.time() + 30
    assert [g.holder for g in catalog.workspace_grants(user="bob")] == ["session-1"]
    assert [g.user for g in catalog.expire_workspace_grants()] == []
    bob.release_workspace_access(holder="session-1")
    assert catalog.workspace_grants(user="bob") == []


def test_the_catalog_caps_the_lease_a_session_asks_for(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    enabled(catalog)
    bob = as_(catalog, "bob")
    grant = bob.switch_project("proj_x", lease_seconds=10**9)
    assert grant is not None and grant.expires_at <= time.time() + 3600  # the default cap, not a year
    path = tmp_path / "short.yaml"
    path.write_text(DOC.replace("version: 1\n", "version: 1\nsettings: {workspace_lease_max_seconds: 60}\n"))
    catalog.apply(path, sql_checker=None)
    renewed = bob.renew_workspace_access(lease_seconds=10**9)
    assert renewed is not None and time.time() + 30 < renewed.expires_at <= time.time() + 60
    short = bob.renew_workspace_access(lease_seconds=5)
    assert short is not None and short.expires_at <= time.time() + 5  # a shorter ask is kept


def test_only_owners_and_governors_record_a_workspace(catalog: GovernanceCatalog) -> None:
    with pytest.raises(NotAuthorized, match="only an owner"):
        as_(catalog, "bob").save_workspace(record(), action="workspace.enable")
    as_(catalog, "gov").save_workspace(record(), action="workspace.enable")
    assert catalog.workspace("proj_x") is not None


def test_a_project_that_is_not_equalized_gets_no_workspace(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(DOC.replace("equalization: true", "equalization: false", 1))
    catalog.apply(path, sql_checker=None)
    owner = as_(catalog, "olivia")
    with pytest.raises(ProjectError, match="not equalized"):
        owner.save_workspace(record(), action="workspace.enable")
    assert raw_rows(catalog.store.url, "workspaces") == []


def test_revocation_wins_over_racing_renewals(catalog: GovernanceCatalog) -> None:
    enabled(catalog)
    bob = as_(catalog, "bob")
    bob.switch_project("proj_x")
    stop = threading.Event()

    def renew() -> None:
        while not stop.is_set():
            as_(catalog, "bob").renew_workspace_access()

    threads = [threading.Thread(target=renew) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        bob.switch_project(None)
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert catalog.workspace_grants(user="bob") == []


def test_grants_survive_an_apply_that_keeps_them_valid(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    enabled(catalog)
    as_(catalog, "bob").switch_project("proj_x")
    path = tmp_path / "again.yaml"
    path.write_text(DOC.replace("Research only.", "Research only, really."))
    catalog.apply(path, sql_checker=None)
    # The purpose statement changed: bob must acknowledge it again, so the grant goes.
    assert groups_of(catalog, "bob") == set()
    as_(catalog, "bob").acknowledge_project("proj_x")
    as_(catalog, "bob").switch_project("proj_x")
    path.write_text(DOC.replace("Research only.", "Research only, really.").replace("dave, groups: [Sales]", "dave"))
    catalog.apply(path, sql_checker=None)
    assert groups_of(catalog, "bob") == {"immuta_ws_proj_x"}


@pytest.mark.parametrize("root", ["/data/workspaces", "/user/immuta"])
def test_apply_refuses_a_new_workspace_root_while_a_workspace_exists_and_changes_nothing(
    catalog: GovernanceCatalog, tmp_path: Path, root: str
) -> None:
    enabled(catalog)
    path = tmp_path / "moved.yaml"
    path.write_text(DOC.replace("version: 1\n", f"version: 1\nsettings:\n  workspace_root: {root}\n"))
    with pytest.raises(RuntimeStateConflict, match=r"moved\.yaml: settings\.workspace_root: .* existing workspaces"):
        catalog.apply(path, sql_checker=None)
    assert catalog.snapshot().governance.settings.workspace_root == "/user/immuta/workspace"
    assert groups_of(catalog, "bob") == set() and catalog.workspace("proj_x") is not None
    # The same root, written out, applies; once no workspace exists any root does.
    path.write_text(DOC.replace("version: 1\n", "version: 1\nsettings:\n  workspace_root: /user/immuta/workspace\n"))
    catalog.apply(path, sql_checker=None)
    as_(catalog, "olivia").forget_workspace("proj_x", action="workspace.purge", detail={})
    path.write_text(DOC.replace("version: 1\n", f"version: 1\nsettings:\n  workspace_root: {root}\n"))
    catalog.apply(path, sql_checker=None)
    assert catalog.snapshot().governance.settings.workspace_root == root
