"""The workspace's Hive database in the shared metastore (issue 11 item 2): made at the workspace, checked, kept safe.

The manager and members' own Spark sessions are different processes; both see the databases of
the standalone metastore the tests start (``hive_metastore``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hdfs_workspace.config import ClustersFile
from hdfs_workspace.errors import WorkspaceError
from hdfs_workspace.hive import HiveMetastore, MetastoreError
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.reconcile import check, repair
from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from tests.hdfs.workspace_support import run_member_sessions

#: The derived source bob makes in each purge test's workspace.
DERIVED = {"ws_hive_sources": "Ledger Copy disable", "ws_hive_sources_del": "Ledger Copy delete"}


def _hms(hive_metastore: Any) -> Any:
    return HiveMetastore.connect(hive_metastore.uri, user="svc_workspace")


@pytest.fixture(scope="module")
def bob_runs(
    ws_catalog_url: str,
    ws_clusters: ClustersFile,
    minihdfs: MiniHdfs,
    hive_metastore: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, dict[str, dict[str, Any]]]]:
    """{project: its steps}: bob's own Spark, one process for the module, acting under each workspace in turn.

    In ws_hive_write he saves a table into the workspace database; in each purge test's workspace
    he registers a derived source there. One JVM, not one per test: each run is the same steps a
    session of its own would take (act under the project, write, switch out, try again).
    """
    service = minihdfs.access("svc_workspace")
    catalog = GovernanceCatalog.open(ws_catalog_url, identity="olivia")
    manager = WorkspaceManager(catalog, ws_clusters, access=lambda _: service)
    try:
        runs = []
        for project in ("ws_hive_write", *DERIVED):
            record = manager.enable(project)
            run = {"project": project, "workspace_uri": record.uri, "hive_table": f"{record.hive_database}.ledger_copy"}
            runs.append(run | ({"derive": DERIVED[project]} if project in DERIVED else {}))
        spec = {
            "user": "bob",
            "catalog": ws_catalog_url,
            "work": str(tmp_path_factory.mktemp("bob-spark")),
            "hive_uri": hive_metastore.uri,
            "runs": runs,
        }
        steps = run_member_sessions(spec)
        yield {run["project"]: steps[i] for i, run in enumerate(runs)}
    finally:
        catalog.store.engine.dispose()


def test_enable_creates_the_database_whose_location_is_the_workspace(
    ws_manager: WorkspaceManager, hive_metastore: Any
) -> None:
    record = ws_manager.enable("ws_hive")
    assert record.hive_connection and hive_metastore.uri in record.hive_connection
    with _hms(hive_metastore) as hms:
        database = hms.database(record.hive_database)
    assert database is not None
    assert database.location.rstrip("/") == record.uri
    assert database.owner == "svc_workspace"
    ws_manager.enable("ws_hive")  # converges: the same database, no error
    with _hms(hive_metastore) as hms:
        assert hms.database(record.hive_database).location.rstrip("/") == record.uri  # type: ignore[union-attr]


def test_a_database_of_that_name_pointing_elsewhere_is_refused_and_left_alone(
    ws_manager: WorkspaceManager, hive_metastore: Any, tmp_path: Path
) -> None:
    elsewhere = (tmp_path / "elsewhere").as_uri()
    with _hms(hive_metastore) as hms:
        hms.create_database("ws_ws_taken", location=elsewhere)
    try:
        with pytest.raises(WorkspaceError, match=r"points at .*elsewhere.*not the workspace"):
            ws_manager.enable("ws_taken")
        with _hms(hive_metastore) as hms:
            kept = hms.database("ws_ws_taken")
        assert kept is not None and kept.location.endswith(str(tmp_path / "elsewhere"))
    finally:
        with _hms(hive_metastore) as hms:
            hms.drop_database("ws_ws_taken")


def test_check_reports_a_missing_or_moved_database_and_repair_recreates_a_missing_one(
    ws_manager: WorkspaceManager, hive_metastore: Any, tmp_path: Path
) -> None:
    record = ws_manager.enable("ws_hive_drift")
    assert check(ws_manager, "ws_hive_drift") == []
    with _hms(hive_metastore) as hms:
        hms.drop_database(record.hive_database)
    assert [d.kind for d in check(ws_manager, "ws_hive_drift")] == ["missing-database"]
    repair(ws_manager, "ws_hive_drift")
    assert check(ws_manager, "ws_hive_drift") == []
    with _hms(hive_metastore) as hms:
        hms.drop_database(record.hive_database)
        hms.create_database(record.hive_database, location=(tmp_path / "moved").as_uri())
    drift = check(ws_manager, "ws_hive_drift")
    assert [d.kind for d in drift] == ["database-location"]
    assert drift[0].found.endswith(str(tmp_path / "moved")) and drift[0].expected == record.uri
    with _hms(hive_metastore) as hms:
        hms.drop_database(record.hive_database)
    repair(ws_manager, "ws_hive_drift")
    assert check(ws_manager, "ws_hive_drift") == []


def test_purge_all_drops_the_database_after_its_data(
    ws_manager: WorkspaceManager, hive_metastore: Any, hdfs_admin: WebHdfsAccess
) -> None:
    record = ws_manager.enable("ws_hive_purge")
    ws_manager.disable("ws_hive_purge")
    ws_manager.purge("ws_hive_purge", everything=True, sources="delete")
    with _hms(hive_metastore) as hms:
        assert hms.database(record.hive_database) is None
    assert not hdfs_admin.exists(record.path)


def test_a_member_saves_a_table_into_the_workspace_database_from_their_own_spark_and_loses_it_on_switching_out(
    ws_manager: WorkspaceManager,
    hive_metastore: Any,
    hdfs_admin: WebHdfsAccess,
    bob_runs: dict[str, dict[str, dict[str, Any]]],
) -> None:
    record = ws_manager.catalog.workspace("ws_hive_write")  # bob_runs enabled it
    assert record is not None and record.state == "enabled"
    steps = bob_runs["ws_hive_write"]
    saved = steps["table"]["regions"]
    assert len(saved) == 2 and "Ohio" not in saved and "Texas" not in saved  # enforced before it landed
    # The manager's process sees the member's table in the shared metastore, stored in the workspace.
    with _hms(hive_metastore) as hms:
        found = hms.table(record.hive_database, "ledger_copy")
    assert found is not None and found.location.startswith(record.uri + "/")
    path = urlsplit(found.location).path
    assert {s.owner for s in hdfs_admin.walk(path) if s.path != path} == {"bob"}  # the member's own identity
    assert steps["raw-table-after"]["outcome"] == "refused"
    assert steps["raw-table-after"]["denied_by_namenode"], steps["raw-table-after"]["error"]


def test_a_metastore_that_dies_during_enable_leaves_it_unfinished_and_a_rerun_completes_it(
    ws_manager: WorkspaceManager, tmp_path: Path
) -> None:
    from hdfs_workspace.metastore_testing import start_hive_metastore

    server = start_hive_metastore(tmp_path / "hms")
    clusters = ClustersFile(
        clusters=(dataclasses.replace(ws_manager.clusters.clusters[0], hive_metastore_uri=server.uri),)
    )
    service = ws_manager.access(clusters.clusters[0].name)
    manager = WorkspaceManager(ws_manager.catalog, clusters, access=lambda _: service)
    try:
        server.kill()
        with pytest.raises(MetastoreError, match="cannot reach the Hive metastore"):
            manager.enable("ws_hms_down")
        record = manager.catalog.workspace("ws_hms_down")
        assert record is not None and record.state == "enabling"  # never reported as enabled
        down = check(manager, "ws_hms_down")  # check says so; it never guesses
        assert {d.kind for d in down} == {"interrupted", "unreachable-metastore"}
        unreachable = next(d for d in down if d.kind == "unreachable-metastore")
        assert "cannot reach the Hive metastore" in unreachable.found and "check that it runs" in unreachable.found
        assert not any(d.kind == "missing-database" for d in down)  # unknown is not missing
        server = start_hive_metastore(tmp_path / "hms", port=server.port)  # back, same Derby files
        assert {d.kind for d in check(manager, "ws_hms_down")} == {"interrupted", "missing-database"}
        assert manager.enable("ws_hms_down").state == "enabled"
        assert check(manager, "ws_hms_down") == []
        with HiveMetastore.connect(server.uri) as hms:
            assert hms.database(record.hive_database).location.rstrip("/") == record.uri  # type: ignore[union-attr]
    finally:
        server.stop()


@pytest.mark.parametrize(("fate", "project"), [("disable", "ws_hive_sources"), ("delete", "ws_hive_sources_del")])
def test_purge_all_disables_or_deletes_a_members_derived_source_living_there_and_leaves_nothing_behind(
    ws_manager: WorkspaceManager,
    hive_metastore: Any,
    hdfs_admin: WebHdfsAccess,
    bob_runs: dict[str, dict[str, dict[str, Any]]],
    fate: str,
    project: str,
) -> None:
    record = ws_manager.catalog.workspace(project)  # bob_runs enabled it
    assert record is not None and record.state == "enabled"
    name = f"Ledger Copy {fate}"
    assert bob_runs[project]["table"]["source"] == name == DERIVED[project]
    catalog = GovernanceCatalog(ws_manager.catalog.store, identity="gov")
    bob = GovernanceCatalog(ws_manager.catalog.store, identity="bob")
    assert catalog.workspace_sources(project) == {name: "ledger_copy"}
    with _hms(hive_metastore) as hms:
        found = hms.table(record.hive_database, "ledger_copy")
    assert found is not None and found.kind == "EXTERNAL_TABLE"  # a DROP TABLE never takes the source's data
    source_dir = urlsplit(found.location).path
    hdfs_admin.write_bytes(f"{record.path}/scratch/notes.txt", b"draft\n", mode=0o660)
    ws_manager.disable(project)
    # Non-source data goes; the source's data stays and it still answers.
    assert sorted(ws_manager.purge(project)) == [f"{record.path}/copy", f"{record.path}/scratch"]
    assert any(s.path.endswith(".parquet") for s in hdfs_admin.walk(source_dir))
    assert "disabled" not in (bob.plan(bob.subject(), name).denied_reason or "")
    with pytest.raises(WorkspaceError, match="--sources disable"):
        ws_manager.purge(project, everything=True)
    ws_manager.purge(project, everything=True, sources=fate)
    if fate == "disable":  # the source stays, with its record, answering no query
        kept = catalog.derived_source(name)
        assert kept.parents == ("Ledger",) and kept.project == project and "purged" in (kept.disabled or "")
        plan = bob.plan(bob.subject(), name)
        assert not plan.allowed and "is disabled" in (plan.denied_reason or "")
    else:
        assert name not in catalog.snapshot().sources
    # Nothing of the workspace is left anywhere.
    with _hms(hive_metastore) as hms:
        assert hms.table(record.hive_database, "ledger_copy") is None
        assert hms.database(record.hive_database) is None
    assert not hdfs_admin.exists(record.path) and catalog.workspace(project) is None
    audit = [r for r in catalog.store.audit_records(project=project) if r.action == f"source.{fate}"]
    assert [r.sources for r in audit] == [(name,)] and audit[0].user == "olivia"
