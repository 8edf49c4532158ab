"""Workspace benchmarks (issue 11): enable time, grant cost by workspace size, switch latency.

Starts its own MiniDFSCluster whose NameNode group mapping reads a fresh governance catalog, and
its own standalone Hive metastore (``hms_start_s``).

- ``ws_enable_s``: ``enable`` of a project's workspace (root check, directory, ACL, the Hive
  database in the metastore, records).
- ``ws_grant_calls_10`` / ``ws_grant_calls_10000``: NameNode calls (WebHDFS, counted) to grant
  one member on a workspace holding 10 and 10,000 files: the switch, the wait until the NameNode
  acknowledged it, and one CHECKACCESS that confirms it. Target: equal.
- ``ws_switch_ms``: a member's switch into the project until the grant is in force (the
  NameNode's acknowledgement, then CHECKACCESS says yes), median of 20; ``ws_switch_p90_ms``.
- ``ws_check_ms``: ``check`` of the 10,000-file workspace (NameNode and metastore), median of 5.
- ``ws_disable_ms``: ``disable`` with a member acting under the project, until the NameNode
  dropped the project's group (CHECKACCESS then says no).
- ``ws_purge_all_s``: ``purge --all`` of the 10,000-file workspace (data, Hive database, records).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hdfs_workspace.access import CallCounter
from hdfs_workspace.config import ClusterConfig, ClustersFile
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.metastore_testing import start_hive_metastore
from hdfs_workspace.reconcile import check
from hdfs_workspace.testing import start_minihdfs
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.store import Store

DOC = """version: 1
purposes: [{name: Research, acknowledgement: "Research only."}]
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olivia, groups: [Analysts], permissions: [CREATE_PROJECT]}
  - {name: bob, groups: [Analysts]}
sources:
  - {name: Ledger, table: db.ledger, subscription: {anyone: {}}, dictionary: [{name: region, type: string}]}
projects:
"""
PROJECTS = ("ws_small", "ws_large")


def _doc() -> str:
    body = "".join(
        f"  - {{name: {p}, owner: olivia, members: [bob], purposes: [Research], sources: [Ledger], "
        f"equalization: true, entitlement: {{groups: [Analysts]}}}}\n"
        for p in PROJECTS
    )
    return DOC + body


def _grant_calls(manager: WorkspaceManager, bob: GovernanceCatalog, counter: CallCounter, project: str) -> int:
    before = counter.snapshot()
    bob.switch_project(project)
    manager.wait_in_force()
    assert manager.member_access(project, "bob"), "the grant is not in force"
    calls = sum(counter.since(before).values())
    bob.switch_project(None)
    manager.wait_in_force()
    return calls


def run(*, switches: int = 20) -> dict[str, Any]:
    """Run the workspace benchmarks on a cluster of their own."""
    with tempfile.TemporaryDirectory(prefix="ws-bench-") as tmp:
        base = Path(tmp)
        db = base / "catalog.db"
        url = f"sqlite:///{db}"
        Store(url, create=True).engine.dispose()
        cluster = start_minihdfs(base / "hdfs", grants_url=f"jdbc:sqlite:{db}")
        metastore = None
        try:
            metastore = start_hive_metastore(base / "hms")
            admin = cluster.admin()
            admin.makedirs("/user/immuta/workspace", mode=0o755)
            admin.set_owner("/user/immuta/workspace", owner="svc_workspace", group="services")
            gov = GovernanceCatalog.open(url, identity="gov")
            (base / "governance.yaml").write_text(_doc())
            gov.apply(base / "governance.yaml", sql_checker=None, regex_checker=None)
            for user in ("olivia", "bob"):
                for project in PROJECTS:
                    GovernanceCatalog(gov.store, identity=user).acknowledge_project(project)
            counter = CallCounter()
            service = cluster.access("svc_workspace", counter=counter)
            config = ClusterConfig(
                name="bench",
                webhdfs_url=cluster.webhdfs_url,
                fs_uri=cluster.fs_uri,
                auth="insecure",
                service_user="svc_workspace",
                hive_metastore_uri=metastore.uri,
            )
            owner = GovernanceCatalog(gov.store, identity="olivia")
            manager = WorkspaceManager(owner, ClustersFile(clusters=(config,)), access=lambda _: service)
            started = time.perf_counter()
            small = manager.enable("ws_small")
            enable_s = time.perf_counter() - started
            large = manager.enable("ws_large")
            cluster.make_tree(f"{small.path}/data", user="svc_workspace", dirs=1, files_per_dir=10)
            cluster.make_tree(f"{large.path}/data", user="svc_workspace", dirs=100, files_per_dir=100)
            bob = GovernanceCatalog(gov.store, identity="bob")
            calls_small = _grant_calls(manager, bob, counter, "ws_small")
            calls_large = _grant_calls(manager, bob, counter, "ws_large")
            times = []
            for _ in range(switches):
                started = time.perf_counter()
                bob.switch_project("ws_large")
                manager.wait_in_force()
                if not manager.member_access("ws_large", "bob"):
                    raise RuntimeError("the grant was not in force after the NameNode acknowledged it")
                times.append((time.perf_counter() - started) * 1000)
                bob.switch_project(None)
                manager.wait_in_force()
            checks = []
            for _ in range(5):
                started = time.perf_counter()
                if check(manager, "ws_large"):
                    raise RuntimeError("the benchmark's workspace drifted")
                checks.append((time.perf_counter() - started) * 1000)
            bob.switch_project("ws_large")  # a member holds the grant that disable must end
            manager.wait_in_force()
            started = time.perf_counter()
            manager.disable("ws_large")
            disable_ms = (time.perf_counter() - started) * 1000
            if manager.member_access("ws_large", "bob"):
                raise RuntimeError("the member kept access after disable returned")
            started = time.perf_counter()
            manager.purge("ws_large", everything=True, sources="delete")
            purge_s = time.perf_counter() - started
        finally:
            if metastore is not None:
                metastore.stop()
            cluster.stop()
    times.sort()
    return {
        "ws_enable_s": round(enable_s, 3),
        "ws_grant_calls_10": calls_small,
        "ws_grant_calls_10000": calls_large,
        "ws_switch_ms": round(statistics.median(times), 1),
        "ws_switch_p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
        "hms_start_s": round(metastore.start_seconds, 2),
        "ws_check_ms": round(statistics.median(checks), 1),
        "ws_disable_ms": round(disable_ms, 1),
        "ws_purge_all_s": round(purge_s, 3),
    }


if __name__ == "__main__":
    print(run(switches=int(sys.argv[1]) if len(sys.argv) > 1 else 20))
