"""The workspace half of ``make demo``: a project's HDFS workspace that follows bob's project context.

It starts a throw-away MiniDFSCluster (the tests' harness, on 127.0.0.1; its NameNode's group
mapping reads this demo's catalog), applies ``conf/governance.yaml``, and lets alice, owner of
the equalized project *Fraud Prevention*, enable its workspace. bob then writes a file while
acting under the project, exposes a directory of Parquet files as a derived source of the
project (``hdfs-workspace source create``: schema from the footers, what it inherits), and is
refused by the NameNode as soon as he switches out.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.config import ClusterConfig, ClustersFile
from hdfs_workspace.errors import HdfsWorkspaceError, PermissionDenied
from hdfs_workspace.grants_testing import GrantsDb
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.sources import WorkspaceSources
from hdfs_workspace.testing import SERVICE_USER, SUPERUSER, MiniHdfs, start_minihdfs
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.store import Store

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "governance.yaml"
PROJECT = "Fraud Prevention"


def _switch(catalog: GovernanceCatalog, manager: WorkspaceManager, user: str, project: str | None) -> None:
    GovernanceCatalog(catalog.store, identity=user).switch_project(project)
    manager.wait_in_force()  # the NameNode has the change when this returns


def _attempt(label: str, run: Callable[[], object]) -> None:
    try:
        run()
        print(f"  {label:<44} done")
    except PermissionDenied as exc:
        print(f"  {label:<44} refused by the NameNode: {str(exc).splitlines()[0][:70]}...")


def _derive(admin: GovernanceCatalog, clusters: ClustersFile, service: HdfsAccess, bob: HdfsAccess, root: str) -> None:
    """bob writes Parquet files under the project and registers their directory as a derived source."""
    scored = pa.table({"claim_id": pa.array([7, 8], pa.int64()), "score": [0.9, 0.2]})
    sink = pa.BufferOutputStream()
    pq.write_table(scored, sink)
    bob.makedirs(f"{root}/scored", mode=0o770)
    bob.write_bytes(f"{root}/scored/part-0.parquet", sink.getvalue().to_pybytes(), mode=0o660)
    as_bob = WorkspaceManager(GovernanceCatalog(admin.store, identity="bob"), clusters, access=lambda _: service)
    sources = WorkspaceSources(as_bob)
    report = sources.inspect(PROJECT, "scored", name="Scored Claims")
    columns = ", ".join(f"{c.name} {c.type}" for c in report.inference.columns)
    print(f"  source inspect scored/: {len(report.inference.files)} parquet file, columns {columns} (footers only)")
    made = sources.create(PROJECT, "scored", name="Scored Claims", type="hdfs", parents=["Medical Claims"])
    print(f"  source create --type hdfs: '{made.name}' ({made.table}) derives from {', '.join(made.parents)}")
    print(f"  it inherits the subscription: {made.subscription}")


def run(work: Path) -> None:
    """Run the workspace demo in ``work`` (a fresh directory)."""
    url = f"sqlite:///{work / 'catalog.db'}"
    Store(url, create=True).engine.dispose()
    grants = GrantsDb(work / "catalog.db").create()
    started = time.perf_counter()
    cluster: MiniHdfs = start_minihdfs(work / "hdfs", grants_url=grants.url)
    try:
        print(f"MiniDFSCluster up in {time.perf_counter() - started:.1f}s at {cluster.fs_uri}")
        admin = GovernanceCatalog.open(url, identity="svc_notebook")
        print(f"applying {CONF.relative_to(ROOT)}: {admin.apply(CONF).summary()}")
        hdfs_admin = cluster.access(SUPERUSER)
        root = "/user/immuta/workspace"
        hdfs_admin.makedirs(root, mode=0o755)
        hdfs_admin.set_owner(root, owner=SERVICE_USER)
        clusters = ClustersFile(
            clusters=(
                ClusterConfig(
                    name="demo",
                    webhdfs_url=cluster.webhdfs_url,
                    fs_uri=cluster.fs_uri,
                    auth="insecure",
                    service_user=SERVICE_USER,
                ),
            )
        )
        service = cluster.access(SERVICE_USER)
        alice = GovernanceCatalog(admin.store, identity="alice")
        manager = WorkspaceManager(alice, clusters, access=lambda _: service)
        record = manager.enable(PROJECT)
        print(f"\n--- alice enables the workspace of '{PROJECT}' (equalized): {record.uri}")
        print(f"  its ACL names one Hadoop group, {record.hadoop_group}, which the NameNode fills from the catalog")
        GovernanceCatalog(admin.store, identity="bob").acknowledge_project(PROJECT)
        bob = cluster.access("bob")
        path = f"{record.path}/bob-notes.csv"
        _switch(admin, manager, "bob", PROJECT)
        print(f"--- bob acts under '{PROJECT}':")
        _attempt(f"write {path.rsplit('/', 1)[1]}", lambda: bob.write_bytes(path, b"claim,score\n7,0.9\n", mode=0o660))
        _attempt("read it back", lambda: bob.read_bytes(path))
        _derive(admin, clusters, service, bob, record.path)
        _switch(admin, manager, "bob", None)
        print("--- bob switches out of the project (the grant is revoked at once):")
        _attempt("read his own file", lambda: bob.read_bytes(path))
        _attempt("write another", lambda: bob.write_bytes(f"{record.path}/late.csv", b"x\n", mode=0o660))
        actions = [r.action for r in admin.store.audit_records(user="bob", project=PROJECT)]
        print(f"  audit: {actions.count('workspace.grant')} grant, {actions.count('workspace.revoke')} revoke for bob")
        manager.disable(PROJECT)
        kept = len(service.list_dir(record.path))
        print(f"--- alice disables the workspace; its data stays ({kept} entr{'y' if kept == 1 else 'ies'})")
    finally:
        cluster.stop()


def main(workdir: Path | None = None) -> int:
    """Start the demo cluster, run the workspace walk-through, stop it; 1 with a message when it cannot."""
    work = workdir or ROOT / ".demo-workspace"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        run(work)
    except HdfsWorkspaceError as exc:
        print(f"the workspace demo could not run: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
