"""A source living in a workspace, read by a subscriber outside the project (issue 11 item 2, 3).

The workspace's ACL names only the project's Hadoop group and the service identity, so the
NameNode refuses the files to anyone else. A subscriber reaches the source only as a governed
source: their governed session reads governed storage as the service identity
(``spark.immuta.hdfs.serviceUser``), masked as its policies say, while the same user's raw
reads of the same files stay refused by the NameNode. Each reader is a Spark session in a
process of its own, as that user on the test HDFS, against the shared metastore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hdfs_workspace.hive import HiveMetastore
from hdfs_workspace.manager import WorkspaceManager
from immuta_spark.catalog import GovernanceCatalog
from tests.hdfs.readers import Readers
from tests.hdfs.workspace_support import derive_in_workspace, run_reader_session

PROJECT = "ws_svc_reads"


def _plain_reader(
    ws_manager: WorkspaceManager, hive_metastore: Any, tmp_path: Path, table: str, location: str
) -> dict[str, dict[str, Any]]:
    """erin's reads in a Spark of her own without the service identity (a one-off process: one read)."""
    spec = {
        "user": "erin",
        "catalog": ws_manager.catalog.store.url,
        "work": str(tmp_path / "erin-plain"),
        "hive_uri": hive_metastore.uri,
        "table": table,
        "location": location,
        "service": None,
    }
    return run_reader_session(spec)


def _reader(readers: Readers, table: str, location: str) -> dict[str, dict[str, Any]]:
    """erin's reads in her Spark process with service reads on, kept for the module; the steps by name."""
    return {s["step"]: s for s in readers.read("erin", "reader_session", {"table": table, "location": location})}


def test_a_subscriber_outside_the_project_reads_a_workspace_source_only_through_the_governed_session(
    ws_manager: WorkspaceManager, hive_metastore: Any, readers: Readers, tmp_path: Path
) -> None:
    record = ws_manager.enable(PROJECT)
    name = "Ledger Copy service"
    table = f"{record.hive_database}.ledger_copy"
    assert derive_in_workspace(ws_manager, hive_metastore.uri, record, tmp_path / "bob-spark", name)["source"] == name
    erin = GovernanceCatalog(ws_manager.catalog.store, identity="erin")
    assert erin.plan(erin.subject(), name).allowed  # a subscriber, not a member
    with HiveMetastore.connect(hive_metastore.uri, user="svc_workspace") as hms:
        found = hms.table(record.hive_database, "ledger_copy")
    assert found is not None
    location = found.location

    # Without the service identity the governed read fails at the NameNode: closed, never raw.
    plain = _plain_reader(ws_manager, hive_metastore, tmp_path, table, location)
    assert plain["governed-table"]["outcome"] == "refused" and plain["governed-table"]["denied_by_namenode"]

    steps = _reader(readers, table, location)
    governed = steps["governed-table"]
    assert governed["outcome"] == "read", governed
    regions = [row[0] for row in governed["rows"]]
    assert len(regions) == 2 and not {"Ohio", "Texas"} & set(regions)  # the parent's hash mask, inherited
    assert steps["governed-sql"]["rows"] == [[2]]
    for raw in ("raw-table", "raw-path"):  # the same user, the same files, outside the governed session
        assert steps[raw]["outcome"] == "refused" and steps[raw]["denied_by_namenode"], steps[raw]
    assert steps["governed-path"]["outcome"] == "read"  # a path read of the table's location is the table
    assert not {"Ohio", "Texas"} & {row[0] for row in steps["governed-path"]["rows"]}

    # Disabled, the workspace's members lose it; its sources stay readable by their subscribers.
    ws_manager.disable(PROJECT)
    after = _reader(readers, table, location)
    assert after["governed-table"]["outcome"] == "read" and len(after["governed-table"]["rows"]) == 2
    assert after["raw-path"]["outcome"] == "refused"
    assert urlsplit(location).path.startswith(record.path)
