"""Workspace lifecycle against the real NameNode (issue 11 items 1, 2, 5, 6): enable, disable, purge, check.

Every HDFS effect is checked as an ordinary user or by reading the NameNode's own answer (status,
ACL, CHECKACCESS); the manager acts as the service identity ``svc_workspace``.
"""

from __future__ import annotations

import dataclasses

import pytest

from hdfs_workspace.acl import FsAction
from hdfs_workspace.config import ClustersFile
from hdfs_workspace.errors import PermissionDenied, Unavailable, WorkspaceError
from hdfs_workspace.layout import layout_for, slug
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.reconcile import check, repair
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, ProjectError
from tests.hdfs.workspace_support import FaultyAccess, acting

ROOT = "/user/immuta/workspace"


def test_enable_creates_the_directory_with_explicit_mode_and_only_the_project_group(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    record = ws_manager.enable("ws_life")
    assert record.state == "enabled"
    assert record.path == f"{ROOT}/ws_life" and record.uri.endswith(f"{ROOT}/ws_life")
    assert record.uri.startswith("hdfs://127.0.0.1:")
    status = hdfs_admin.status(record.path)
    assert (status.owner, status.mode & 0o7777) == ("svc_workspace", 0o770)
    entries = {e.spec() for e in hdfs_admin.get_acl(record.path).full_entries()}
    assert entries == {
        "user::rwx",
        "user:svc_workspace:rwx",
        "group::---",
        "group:immuta_ws_ws_life:rwx",
        "mask::rwx",
        "other::---",
        "default:user::rwx",
        "default:user:svc_workspace:rwx",
        "default:group::---",
        "default:group:immuta_ws_ws_life:rwx",
        "default:mask::rwx",
        "default:other::---",
    }
    # Enabling again converges to the same state and changes nothing.
    assert ws_manager.enable("ws_life") == dataclasses.replace(
        record, updated_at=ws_manager.catalog.workspace("ws_life").updated_at
    )  # type: ignore[union-attr]
    actions = [r.action for r in ws_manager.catalog.store.audit_records(project="ws_life")]
    assert "workspace.enable" in actions


def test_only_the_owner_of_an_equalized_project_enables(ws_manager: WorkspaceManager) -> None:
    bob = WorkspaceManager(acting(ws_manager.catalog, "bob"), ws_manager.clusters, access=ws_manager.access)
    with pytest.raises(NotAuthorized, match="only an owner"):
        bob.enable("ws_check")
    with pytest.raises(ProjectError, match="not equalized"):
        ws_manager.enable("ws_plain")
    assert ws_manager.catalog.workspace("ws_check") is None
    denied = [r for r in ws_manager.catalog.store.audit_records(action="workspace.enable") if r.outcome == "denied"]
    assert {r.user for r in denied} >= {"bob"}


def test_a_cluster_that_opts_out_is_refused_naming_the_key(ws_manager: WorkspaceManager) -> None:
    cluster = dataclasses.replace(ws_manager.clusters.clusters[0], workspace_opt_out=True, hadoop_conf_dir="/etc/x")
    manager = WorkspaceManager(ws_manager.catalog, ClustersFile(clusters=(cluster,)), access=ws_manager.access)
    with pytest.raises(WorkspaceError, match=r"immuta\.workspace\.unavailable=true"):
        manager.enable("ws_check")


def test_with_two_clusters_enable_asks_which(ws_manager: WorkspaceManager) -> None:
    one = ws_manager.clusters.clusters[0]
    two = ClustersFile(clusters=(one, dataclasses.replace(one, name="other")), default=one.name)
    manager = WorkspaceManager(ws_manager.catalog, two, access=ws_manager.access)
    with pytest.raises(WorkspaceError, match="--cluster NAME"):
        manager.enable("ws_check")


def test_the_service_identity_needs_full_access_to_the_root(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    hdfs_admin.makedirs("/locked", mode=0o755)
    hdfs_admin.set_owner("/locked", owner="alice")
    cluster = ws_manager.clusters.clusters[0]
    with pytest.raises(WorkspaceError, match="full access"):
        hdfs_admin.makedirs("/locked/root", mode=0o755)
        hdfs_admin.set_owner("/locked/root", owner="alice")
        ws_manager.check_service_root(cluster, "/locked/root")
    with pytest.raises(WorkspaceError, match="may not create it"):
        ws_manager.check_service_root(cluster, "/locked/missing")


def test_the_root_cannot_change_while_a_workspace_exists(ws_manager: WorkspaceManager) -> None:
    ws_manager.enable("ws_life")
    with pytest.raises(WorkspaceError, match="can change only while no workspace exists"):
        ws_manager.check_root(ws_manager.clusters.clusters[0], "/elsewhere")


def test_names_are_slugs_that_never_collide() -> None:
    assert slug("ws_life") == "ws_life"
    assert slug("Fraud Team") != slug("fraud_team")
    assert layout_for("Fraud Team", ROOT).path.startswith(f"{ROOT}/fraud_team_")


def test_check_reports_drift_and_repair_converges(ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess) -> None:
    record = ws_manager.enable("ws_check")
    assert check(ws_manager, "ws_check") == []
    hdfs_admin.set_mode(record.path, 0o777)
    hdfs_admin.modify_acl_entries(record.path, [*_spec("user:dave:rwx")])
    kinds = {d.kind for d in check(ws_manager, "ws_check")}
    assert kinds == {"mode", "acl"}
    repaired = repair(ws_manager, "ws_check")
    assert {d.kind for d in repaired} == {"mode", "acl"}
    assert check(ws_manager, "ws_check") == []
    hdfs_admin.delete(record.path, recursive=True)
    assert [d.kind for d in check(ws_manager, "ws_check")] == ["missing-directory"]
    repair(ws_manager, "ws_check")
    assert check(ws_manager, "ws_check") == []
    audit = [r for r in ws_manager.catalog.store.audit_records(action="workspace.repair") if r.project == "ws_check"]
    assert len(audit) == 2 and audit[0].detail["repaired"][0]["kind"] in ("mode", "acl")


def test_a_failure_halfway_through_enable_is_finished_by_a_rerun_or_a_repair(
    ws_manager: WorkspaceManager, minihdfs: object
) -> None:
    faulty = FaultyAccess(ws_manager.access(ws_manager.clusters.clusters[0].name))
    manager = WorkspaceManager(ws_manager.catalog, ws_manager.clusters, access=lambda _: faulty)  # type: ignore[arg-type, return-value]
    faulty.fail("set_acl")
    with pytest.raises(Unavailable, match="injected"):
        manager.enable("ws_fault")
    record = manager.catalog.workspace("ws_fault")
    assert record is not None and record.state == "enabling"
    assert {d.kind for d in check(manager, "ws_fault")} >= {"interrupted", "acl"}
    repair(manager, "ws_fault")
    assert manager.catalog.workspace("ws_fault").state == "enabled"  # type: ignore[union-attr]
    assert check(manager, "ws_fault") == []


def test_a_failure_halfway_through_purge_loses_nothing_it_should_keep_and_a_rerun_finishes(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    record = ws_manager.enable("ws_fault_purge")
    for name in ("a", "b", "c"):
        hdfs_admin.write_bytes(f"{record.path}/{name}/part.csv", b"1\n", mode=0o660)
    ws_manager.disable("ws_fault_purge")
    faulty = FaultyAccess(ws_manager.access(record.cluster))
    manager = WorkspaceManager(ws_manager.catalog, ws_manager.clusters, access=lambda _: faulty)  # type: ignore[arg-type, return-value]
    faulty.fail("delete")
    with pytest.raises(Unavailable, match="injected"):
        manager.purge("ws_fault_purge", everything=True, sources="delete")
    after = manager.catalog.workspace("ws_fault_purge")
    assert after is not None and after.state == "purging"
    assert len(hdfs_admin.list_dir(record.path)) == 3  # the failed call deleted nothing
    bob = GovernanceCatalog(ws_manager.catalog.store, identity="bob")
    assert bob.switch_project("ws_fault_purge") is None  # nothing left open: no grant while purging
    bob.switch_project(None)
    manager.purge("ws_fault_purge", everything=True, sources="delete")
    assert manager.catalog.workspace("ws_fault_purge") is None and not hdfs_admin.exists(record.path)


def test_disable_keeps_the_data_and_purge_needs_disable_first(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    record = ws_manager.enable("ws_purge")
    hdfs_admin.write_bytes(f"{record.path}/scratch/a.csv", b"1\n", mode=0o660)
    with pytest.raises(WorkspaceError, match="only after disabling"):
        ws_manager.purge("ws_purge")
    ws_manager.disable("ws_purge")
    assert ws_manager.catalog.workspace("ws_purge").state == "disabled"  # type: ignore[union-attr]
    assert hdfs_admin.read_bytes(f"{record.path}/scratch/a.csv") == b"1\n"
    with pytest.raises(WorkspaceError, match="--sources delete"):
        ws_manager.purge("ws_purge", everything=True)
    assert ws_manager.purge("ws_purge") == [f"{record.path}/scratch"]
    assert hdfs_admin.list_dir(record.path) == []
    ws_manager.purge("ws_purge", everything=True, sources="delete")
    assert ws_manager.catalog.workspace("ws_purge") is None
    assert not hdfs_admin.exists(record.path)
    actions = [r.action for r in ws_manager.catalog.store.audit_records(project="ws_purge")]
    assert actions.count("workspace.purge") == 2 and "workspace.disable" in actions


def test_an_ordinary_user_cannot_reach_an_enabled_workspace_without_a_grant(
    ws_manager: WorkspaceManager, as_user: object
) -> None:
    record = ws_manager.enable("ws_life")
    assert not ws_manager.member_access("ws_life", "bob")
    bob = as_user("bob")  # type: ignore[operator]
    with pytest.raises(PermissionDenied):
        bob.write_bytes(f"{record.path}/x", b"no", mode=0o660)
    assert not bob.check_access(record.path, FsAction.READ)


def _spec(text: str) -> list[object]:
    from hdfs_workspace.acl import parse_acl_spec

    return list(parse_acl_spec(text))
