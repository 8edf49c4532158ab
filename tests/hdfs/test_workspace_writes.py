"""Writing compliant data into the workspace (issue 11 item 4): a member's own Spark session, in its own process.

The member's governed session, acting under the project, copies a governed table into the
workspace directory on the real HDFS: what lands there is already enforced (the hash mask of
the project's level), it is not registered as a derived source, and after switching out the
same session may not write there (the session refuses) nor read what it wrote (the NameNode does).
"""

from __future__ import annotations

from pathlib import Path

from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from tests.hdfs.workspace_support import run_member_session


def test_a_member_copies_enforced_data_into_the_workspace_past_its_lease_and_loses_it_on_switching_out(
    ws_manager: WorkspaceManager, minihdfs: MiniHdfs, hdfs_admin: WebHdfsAccess, tmp_path: Path
) -> None:
    record = ws_manager.enable("ws_write")
    spec = {
        "user": "bob",
        "project": "ws_write",
        "workspace_uri": record.uri,
        "catalog": ws_manager.catalog.store.url,
        "work": str(tmp_path / "bob-spark"),
        # A 3 s lease held for 7 s: the copy works only because the session's heartbeat renews it.
        "lease_seconds": 3,
        "hold_seconds": 7,
    }
    steps = run_member_session(spec)
    copied = steps["copied"]["regions"]
    assert len(copied) == 2 and "Ohio" not in copied and "Texas" not in copied  # hashed, as the policy says
    owners = {s.owner for s in hdfs_admin.walk(f"{record.path}/copy") if s.path != f"{record.path}/copy"}
    assert owners == {"bob"}  # written by the member's own identity, not a service
    assert ws_manager.catalog.snapshot().source("copy") is None  # workspace data is no derived source
    assert steps["late-write"]["outcome"] == "refused"
    assert "cannot be registered" in steps["late-write"]["error"]
    assert steps["raw-read-after"]["outcome"] == "refused"
    assert "Permission denied" in steps["raw-read-after"]["error"]
