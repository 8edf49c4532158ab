"""Workspace-directory source benchmarks (issue 12): inference from footers over a large partitioned tree.

Starts its own MiniDFSCluster (whose NameNode group mapping reads a fresh catalog) and its own
standalone Hive metastore. A member writes 1,000 small Parquet files in 100 ``day=N/``
partitions into a project's workspace, then:

- ``ws_source_infer_s``: inference over that directory as the service identity (the listing,
  one ranged read of each file's tail, the merged schema and the partitions), median of 3.
  Target <= 10 s: footers only.
- ``ws_source_infer_reads``: ranged reads that took (one a file).
- ``ws_source_create_s``: ``source create --type hive`` of the same directory (inference, the
  external table, 100 partitions through the metastore, the catalog's registration).
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hdfs_workspace.config import ClusterConfig, ClustersFile
from hdfs_workspace.infer import infer_directory
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.metastore_testing import start_hive_metastore
from hdfs_workspace.sources import WorkspaceSources
from hdfs_workspace.testing import start_minihdfs
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.store import Store

PROJECT = "ws_infer"
DOC = f"""version: 1
purposes: [{{name: Research, acknowledgement: "Research only."}}]
users:
  - {{name: gov, permissions: [GOVERNANCE]}}
  - {{name: olivia, groups: [Analysts], permissions: [CREATE_PROJECT]}}
  - {{name: bob, groups: [Analysts], permissions: [CREATE_DATA_SOURCE_IN_PROJECT]}}
sources:
  - {{name: Ledger, table: db.ledger, subscription: {{anyone: {{}}}}, dictionary: [{{name: region, type: string}}]}}
projects:
  - {{name: {PROJECT}, owner: olivia, members: [bob], purposes: [Research], sources: [Ledger],
      equalization: true, entitlement: {{groups: [Analysts]}}}}
"""


def _file(day: int, part: int) -> bytes:
    table = pa.table(
        {
            "id": pa.array(range(part * 10, part * 10 + 10), pa.int64()),
            "region": [f"r{day}"] * 10,
            "amount": [float(day)] * 10,
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def run(*, days: int = 100, files_per_day: int = 10) -> dict[str, Any]:
    """Run the benchmark on a cluster of its own."""
    with tempfile.TemporaryDirectory(prefix="ws-src-bench-") as tmp:
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
            (base / "governance.yaml").write_text(DOC)
            gov.apply(base / "governance.yaml", sql_checker=None, regex_checker=None)
            for user in ("olivia", "bob"):
                GovernanceCatalog(gov.store, identity=user).acknowledge_project(PROJECT)
            service = cluster.access("svc_workspace")
            config = ClusterConfig(
                name="bench",
                webhdfs_url=cluster.webhdfs_url,
                fs_uri=cluster.fs_uri,
                auth="insecure",
                service_user="svc_workspace",
                hive_metastore_uri=metastore.uri,
            )
            clusters = ClustersFile(clusters=(config,))
            owner = GovernanceCatalog(gov.store, identity="olivia")
            record = WorkspaceManager(owner, clusters, access=lambda _: service).enable(PROJECT)
            bob = GovernanceCatalog(gov.store, identity="bob")
            manager = WorkspaceManager(bob, clusters, access=lambda _: service)
            bob.switch_project(PROJECT)
            manager.wait_in_force()
            writer = cluster.access("bob")
            tree = f"{record.path}/events"
            for day in range(days):
                writer.makedirs(f"{tree}/day={day}", mode=0o770)

            def put(pair: tuple[int, int]) -> None:
                day, part = pair
                writer.write_bytes(f"{tree}/day={day}/part-{part:05d}.parquet", _file(day, part), mode=0o660)

            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(put, [(d, p) for d in range(days) for p in range(files_per_day)]))
            times = []
            reads = 0
            for _ in range(3):
                started = time.perf_counter()
                found = infer_directory(service, tree)
                times.append(time.perf_counter() - started)
                reads = found.reads
                if len(found.files) != days * files_per_day or len(found.partitions) != days:
                    raise RuntimeError(f"inference found {len(found.files)} files, {len(found.partitions)} partitions")
            started = time.perf_counter()
            WorkspaceSources(manager).create(PROJECT, tree, name="Events", type="hive", parents=["Ledger"])
            create_s = time.perf_counter() - started
        finally:
            if metastore is not None:
                metastore.stop()
            cluster.stop()
    return {
        "ws_source_infer_s": round(statistics.median(times), 2),
        "ws_source_infer_reads": reads,
        "ws_source_create_s": round(create_s, 2),
    }


if __name__ == "__main__":
    print(run())
