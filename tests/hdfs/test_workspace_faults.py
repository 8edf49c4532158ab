"""Workspace lifecycle under faults: a manager killed mid-work (SIGKILL, own process), a DataNode stopped.

A killed manager: the catalog never says done, and a rerun finishes. Complements the
injected-exception test in test_workspace_manager.py: here no Python cleanup runs at all.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from hdfs_workspace.errors import HdfsWorkspaceError, PermissionDenied
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.reconcile import check, repair
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from tests.hdfs.workspace_support import run_script


def _run_killed(ws_manager: WorkspaceManager, **spec: Any) -> None:
    cluster = ws_manager.clusters.clusters[0]
    spec |= {
        "webhdfs_url": cluster.webhdfs_url,
        "fs_uri": cluster.fs_uri,
        "hive_uri": cluster.hive_metastore_uri,
        "catalog": ws_manager.catalog.store.url,
    }
    done = run_script("killed_manager.py", spec)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr[-2000:])


def test_an_enable_killed_after_the_directory_is_made_is_reported_and_repaired(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    _run_killed(ws_manager, action="enable", project="ws_killed", method="set_acl", die_at=1)
    record = ws_manager.catalog.workspace("ws_killed")
    assert record is not None and record.state == "enabling"
    assert hdfs_admin.exists(record.path)  # made, but its ACL never set
    kinds = {d.kind for d in check(ws_manager, "ws_killed")}
    assert "interrupted" in kinds and "acl" in kinds
    repair(ws_manager, "ws_killed")
    assert ws_manager.catalog.workspace("ws_killed").state == "enabled"  # type: ignore[union-attr]
    assert check(ws_manager, "ws_killed") == []


def test_a_purge_killed_halfway_stays_purging_and_a_rerun_finishes_it(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess
) -> None:
    record = ws_manager.enable("ws_killed_purge")
    for name in ("a", "b", "c"):
        hdfs_admin.write_bytes(f"{record.path}/{name}/part.csv", b"1\n", mode=0o660)
    ws_manager.disable("ws_killed_purge")
    _run_killed(ws_manager, action="purge", project="ws_killed_purge", method="delete", die_at=2)
    after = ws_manager.catalog.workspace("ws_killed_purge")
    assert after is not None and after.state == "purging"  # not forgotten: the purge is not done
    left = {s.path.rsplit("/", 1)[1] for s in hdfs_admin.list_dir(record.path)}
    assert len(left) == 2  # the first deletion happened, the second never reached the NameNode
    assert "interrupted" in {d.kind for d in check(ws_manager, "ws_killed_purge")}
    ws_manager.purge("ws_killed_purge", everything=True, sources="delete")
    assert ws_manager.catalog.workspace("ws_killed_purge") is None
    assert not hdfs_admin.exists(record.path)


def test_a_stopped_datanode_stops_no_lifecycle_step_and_a_members_write_fails_loudly_until_it_returns(
    ws_manager: WorkspaceManager, minihdfs: Any, as_user: Any
) -> None:
    # enable, disable and purge change only NameNode metadata (and the metastore's), so they
    # converge while the DataNode is down; data itself waits for it, and says so.
    member = GovernanceCatalog(ws_manager.catalog.store, identity="bob")
    bob = as_user("bob")
    with minihdfs.datanode_stopped():
        record = ws_manager.enable("ws_dn_down")
        assert check(ws_manager, "ws_dn_down") == []
        member.switch_project("ws_dn_down")
        ws_manager.wait_in_force()
        assert ws_manager.member_access("ws_dn_down", "bob")
        with pytest.raises(HdfsWorkspaceError) as refused:
            bob.write_bytes(f"{record.path}/during.csv", b"1\n", mode=0o660)
        assert not isinstance(refused.value, PermissionDenied)  # the data path failed, not the grant
        assert "datanode" in str(refused.value).lower()
        assert not bob.exists(f"{record.path}/during.csv")  # nothing half-written
    bob.write_bytes(f"{record.path}/after.csv", b"2\n", mode=0o660, overwrite=True)
    assert bob.read_bytes(f"{record.path}/after.csv") == b"2\n"
    with minihdfs.datanode_stopped():
        ws_manager.disable("ws_dn_down")
        assert not ws_manager.member_access("ws_dn_down", "bob")
        assert check(ws_manager, "ws_dn_down") == []
        ws_manager.purge("ws_dn_down", everything=True, sources="delete")
        assert ws_manager.catalog.workspace("ws_dn_down") is None
    member.switch_project(None)
    assert not ws_manager.access(record.cluster).exists(record.path)
