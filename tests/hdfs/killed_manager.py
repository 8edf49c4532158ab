"""A workspace manager process that is killed (SIGKILL) in the middle of its work.

Run by tests/hdfs/test_workspace_faults.py: ``python killed_manager.py SPEC_JSON``. The manager
runs ``enable`` or ``purge --all`` of ``spec["project"]``; the ``spec["die_at"]``-th call of the
HDFS method ``spec["method"]`` kills the process before it reaches the NameNode, so no Python
cleanup, no rollback handler and no ``finally`` runs: what a crash or an OOM kill leaves.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any


def main() -> None:
    spec = json.loads(sys.argv[1])
    from hdfs_workspace.config import ClusterConfig, ClustersFile
    from hdfs_workspace.manager import WorkspaceManager
    from hdfs_workspace.webhdfs import WebHdfsAccess
    from immuta_spark.catalog import GovernanceCatalog

    service = WebHdfsAccess.insecure(spec["webhdfs_url"], user="svc_workspace")
    calls = {"n": 0}

    class Dying:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(service, name)
            if name != spec["method"]:
                return attr

            def call(*args: Any, **kwargs: Any) -> Any:
                calls["n"] += 1
                if calls["n"] == spec["die_at"]:
                    os.kill(os.getpid(), signal.SIGKILL)
                return attr(*args, **kwargs)

            return call

    cluster = ClusterConfig(
        name="test",
        webhdfs_url=spec["webhdfs_url"],
        fs_uri=spec["fs_uri"],
        auth="insecure",
        service_user="svc_workspace",
        hive_metastore_uri=spec["hive_uri"],
    )
    catalog = GovernanceCatalog.open(spec["catalog"], identity="olivia")
    manager = WorkspaceManager(catalog, ClustersFile(clusters=(cluster,)), access=lambda _: Dying())  # type: ignore[arg-type,return-value]
    if spec["action"] == "enable":
        manager.enable(spec["project"])
    else:
        manager.purge(spec["project"], everything=True, sources="delete")
    print("finished without being killed", flush=True)


if __name__ == "__main__":
    main()
