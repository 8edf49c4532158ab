"""The storage wall against the real NameNode: governed sources' files refused to raw reads (issue 12 item 3).

Every user here is an ordinary HDFS user (simple auth): the NameNode's permission checker, not
the product, decides each raw read. ``protect`` runs as the service identity impersonating the
test cluster's superuser (``--as hdfs_admin``), which is what changing owners needs. Governed
reads run in the user's own Spark process (``wall_session.py``) with service reads on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hdfs_workspace.acl import AclEntryType, parse_acl_entry
from hdfs_workspace.cli import main
from hdfs_workspace.config import ClusterConfig, ClustersFile
from hdfs_workspace.errors import PermissionDenied, Unavailable
from hdfs_workspace.footers import Column, FileKind
from hdfs_workspace.hive import HiveMetastore
from hdfs_workspace.hive_tables import HiveTableSpec
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.testing import SUPERUSER, MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from tests.hdfs.readers import Readers
from tests.hdfs.workspace_support import acting, derive_in_workspace, governance_yaml

SERVICE = "svc_workspace"
CLAIMS = "/data/wall/claims"
OPEN = "/data/wall/open"
PROJECT = "ws_wall"


def _parquet(rows: list[tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    table = pa.table({"region": [r for r, _ in rows], "amount": pa.array([a for _, a in rows], pa.int32())})
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _document(fs_uri: str) -> str:
    """The workspace tests' governance plus two sources with files on the test HDFS."""
    sources = f"""
  - name: WallClaims
    table: db.wall_claims
    location: {fs_uri}{CLAIMS}
    owners: [olivia]
    ingest_users: [alice]
    subscription: {{anyone: {{}}}}
    dictionary: [{{name: region, type: string}}, {{name: amount, type: int}}]
    policies:
      - {{name: hash-claims-region, type: masking, columns: {{names: [region]}}, mask: hash}}
  - name: WallOpen
    table: db.wall_open
    location: {fs_uri}{OPEN}
    owners: [alice]
    subscription: {{anyone: {{}}}}
    dictionary: [{{name: region, type: string}}, {{name: amount, type: int}}]
"""
    doc = governance_yaml()
    doc = doc.replace("\nsources:\n", "\n  - {name: alice, groups: [Engineers]}\nsources:\n", 1)
    return doc.replace("\nprojects:\n", sources.rstrip("\n") + "\nprojects:\n", 1)


@pytest.fixture(scope="module")
def walled_files(
    ws_catalog_url: str,
    minihdfs: MiniHdfs,
    hdfs_admin: WebHdfsAccess,
    hive_metastore: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The two sources in the catalog; alice wrote their files with the usual wide modes (dirs 755, files 644)."""
    doc = tmp_path_factory.mktemp("wall-governance") / "governance.yaml"
    doc.write_text(_document(minihdfs.fs_uri))
    gov = GovernanceCatalog.open(ws_catalog_url, identity="gov")
    gov.apply(doc, sql_checker=None, regex_checker=None)
    gov.store.engine.dispose()
    alice = minihdfs.access("alice")
    hdfs_admin.makedirs("/data/wall", mode=0o755)
    for path, rows in ((CLAIMS, [("Ohio", 1), ("Texas", 2)]), (OPEN, [("Utah", 3)])):
        hdfs_admin.delete(path, recursive=True)
        hdfs_admin.makedirs(path, mode=0o755)
        hdfs_admin.set_owner(path, owner="alice")
        alice.write_bytes(f"{path}/part-0.parquet", _parquet(rows), mode=0o644)
    # The sources' tables, made by alice (who may still read the files) straight through the
    # metastore's API: a Spark JVM of her own only for two CREATE TABLEs would cost a JVM start.
    columns = (Column(name="region", type="string"), Column(name="amount", type="int"))
    with HiveMetastore.connect(hive_metastore.uri, user="alice") as hms:
        if hms.database("db") is None:
            hms.create_database("db", location=(tmp_path_factory.mktemp("alice") / "db.db").as_uri(), owner="alice")
        for table, path in (("wall_claims", CLAIMS), ("wall_open", OPEN)):
            if hms.table("db", table) is None:
                location = f"{minihdfs.fs_uri}{path}"
                spec = HiveTableSpec(
                    database="db", name=table, location=location, kind=FileKind.PARQUET, columns=columns, owner="alice"
                )
                hms.create_table(spec)
    return minihdfs.fs_uri


@pytest.fixture
def gov_manager(ws_catalog_url: str, ws_clusters: ClustersFile, minihdfs: MiniHdfs) -> Iterator[WorkspaceManager]:
    """A workspace manager acting for a governor, HDFS as the service identity."""
    service = minihdfs.access(SERVICE)
    catalog = GovernanceCatalog.open(ws_catalog_url, identity="gov")
    try:
        yield WorkspaceManager(catalog, ws_clusters, access=lambda _: service)
    finally:
        catalog.store.engine.dispose()


def _refused(access: WebHdfsAccess, path: str) -> bool:
    try:
        access.read_bytes(path)
    except PermissionDenied:
        return True
    return False


def _state(admin: WebHdfsAccess, top: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """Owner, mode and every ACL entry of each inode beneath ``top``."""
    return [
        (s.path, s.owner, s.mode, tuple(e.spec() for e in admin.get_acl(s.path).full_entries()))
        for s in admin.walk(top)
    ]


def _steps(readers: Readers, user: str, script: str, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``script``'s steps as ``user``, in that user's own Spark process: each step's outcome by name."""
    return {s["step"]: s for s in readers.read(user, script, spec)}


def test_after_protect_a_subscriber_is_refused_raw_reads_by_the_namenode_and_reads_the_source_governed_and_masked(
    walled_files: str,
    gov_manager: WorkspaceManager,
    hdfs_admin: WebHdfsAccess,
    as_user: Callable[[str], WebHdfsAccess],
    readers: Readers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    erin = as_user("erin")
    part = f"{CLAIMS}/part-0.parquet"
    assert erin.read_bytes(part) == hdfs_admin.read_bytes(part)  # HDFS's defaults: open to everyone

    assert main(["protect", "WallClaims", "--as", SUPERUSER, "--json"], manager=gov_manager) == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["source"] for t in report["protected"]] == ["WallClaims"]
    assert {d["kind"] for d in report["fixed"]} >= {"wall-owner", "wall-mode", "wall-default-acl"}
    top = hdfs_admin.status(CLAIMS)
    assert (top.owner, top.mode & 0o777) == (SERVICE, 0o770)  # group bits: the mask; the owning group has ---
    ingest = hdfs_admin.get_acl(CLAIMS).find(AclEntryType.USER, "alice")
    assert ingest is not None and ingest.spec() == "user:alice:-wx"  # alice, the ingest user, may only write
    assert _refused(erin, part) and _refused(as_user("alice"), part)

    spec = {"location": f"{walled_files}{CLAIMS}", "file": f"{walled_files}{part}", "table": "db.wall_claims"}
    steps = _steps(readers, "erin", "wall_session", spec)
    for raw in ("raw-dir", "raw-file", "raw-table"):  # the same user's own Spark, outside the governed session
        assert steps[raw]["outcome"] == "refused" and steps[raw]["denied_by_namenode"], steps[raw]
    for read in ("governed", "governed-table"):
        governed = steps[read]
        assert governed["outcome"] == "read", governed
        assert sorted(row[1] for row in governed["rows"]) == [1, 2]
        assert not {"Ohio", "Texas"} & {row[0] for row in governed["rows"]}  # hashed

    assert main(["protect", "WallClaims", "--as", SUPERUSER, "--json"], manager=gov_manager) == 0
    assert json.loads(capsys.readouterr().out)["fixed"] == []  # idempotent: nothing left to change


def test_check_reports_a_new_wide_file_and_an_added_acl_entry_and_repair_closes_them(
    walled_files: str,
    gov_manager: WorkspaceManager,
    hdfs_admin: WebHdfsAccess,
    as_user: Callable[[str], WebHdfsAccess],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["protect", "WallClaims", "--as", SUPERUSER], manager=gov_manager) == 0
    assert "WallClaims: /data/wall/claims readable by svc_workspace" in capsys.readouterr().out
    alice, erin = as_user("alice"), as_user("erin")
    new = f"{CLAIMS}/part-9.parquet"
    alice.write_bytes(new, _parquet([("Iowa", 9)]), mode=0o644)  # the ingest user writes a new file...
    assert as_user(SERVICE).read_bytes(new)  # the service reads it at once: governed reads see new data
    alice.set_mode(new, 0o644)  # ...and, as its owner, opens it up
    hdfs_admin.modify_acl_entries(CLAIMS, [parse_acl_entry("user:erin:r-x")])  # someone grants erin by hand
    hdfs_admin.modify_acl_entries(f"{CLAIMS}/part-0.parquet", [parse_acl_entry("user:erin:r--")])
    assert erin.read_bytes(f"{CLAIMS}/part-0.parquet")  # the NameNode lets her in now
    closed = f"{CLAIMS}/_incoming"
    alice.makedirs(closed, mode=0o700)  # its mask (the create mode's group bits) hides the service's entry

    # Other modules' workspaces and sources share this catalog (some left drifting, or their
    # metastore gone): only this module's own entries are asserted on.
    assert main(["check", "--json"], manager=gov_manager) == 1
    wall = [d for d in json.loads(capsys.readouterr().out)["wall"] if d["source"] == "WallClaims"]
    found = {(d["kind"], d["path"], d["found"]) for d in wall}
    assert ("wall-owner", new, "alice") in found
    assert ("wall-mode", new, "other::r--") in found
    assert ("wall-acl", CLAIMS, "extra user:erin:r-x") in found
    assert ("wall-acl", f"{CLAIMS}/part-0.parquet", "extra user:erin:r--") in found
    assert ("wall-unreadable", closed) in {(d["kind"], d["path"]) for d in wall}  # the service cannot list it
    assert main(["check"], manager=gov_manager) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["SOURCE", "KIND"] for line in lines)
    before = _state(hdfs_admin, CLAIMS)
    assert main(["check", "--repair"], manager=gov_manager) == 1  # blind to _incoming: refuses, changes nothing
    assert "cannot see beneath /data/wall/claims/_incoming" in capsys.readouterr().err
    assert _state(hdfs_admin, CLAIMS) == before

    code = main(["check", "--repair", "--as", SUPERUSER, "--json"], manager=gov_manager)
    report = json.loads(capsys.readouterr().out)
    assert {d["path"] for d in report["wall_repaired"]} >= {new, closed, CLAIMS, f"{CLAIMS}/part-0.parquet"}
    assert not [d for d in report["wall"] if d["source"] == "WallClaims"]
    assert code == (1 if report["drift"] or report["wall"] else 0)
    assert _refused(erin, f"{CLAIMS}/part-0.parquet") and _refused(alice, new)
    assert hdfs_admin.status(new).owner == SERVICE
    alice.write_bytes(f"{CLAIMS}/part-10.parquet", _parquet([("Iowa", 10)]), mode=0o600)  # she may still ingest
    assert as_user(SERVICE).list_dir(closed) == []  # the service lists it again
    for path in (new, f"{CLAIMS}/part-10.parquet", closed):
        hdfs_admin.delete(path)


class _DownBeneath:
    """The service's access, except that every call on a path beneath ``top`` finds the cluster gone."""

    def __init__(self, inner: WebHdfsAccess, top: str) -> None:
        self.inner, self.top = inner, top

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            path = args[0] if args and isinstance(args[0], str) else ""
            if path == self.top or path.startswith(self.top + "/"):
                raise Unavailable(f"cannot reach WebHDFS during {name} {path}: injected; check that it runs")
            result = attr(*args, **kwargs)
            return _DownBeneath(result, self.top) if name == "as_user" else result

        return call


def test_check_reports_a_source_it_cannot_inspect_as_drift_and_still_checks_the_others(
    walled_files: str,
    gov_manager: WorkspaceManager,
    ws_clusters: ClustersFile,
    minihdfs: MiniHdfs,
    hdfs_admin: WebHdfsAccess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    down = _DownBeneath(minihdfs.access(SERVICE), OPEN)  # WallOpen's files cannot be reached
    manager = WorkspaceManager(gov_manager.catalog, ws_clusters, access=lambda _: down)  # type: ignore[arg-type, return-value]
    part = f"{CLAIMS}/part-0.parquet"
    assert main(["protect", "WallClaims", "--as", SUPERUSER], manager=gov_manager) == 0
    capsys.readouterr()
    hdfs_admin.set_mode(part, 0o644)  # drift on the source that can be inspected
    try:
        assert main(["check", "--json"], manager=manager) == 1
        wall = json.loads(capsys.readouterr().out)["wall"]
        unchecked = [d for d in wall if d["source"] == "WallOpen"]
        assert [d["kind"] for d in unchecked] == ["wall-unchecked"]  # one finding, naming the source and what to do
        assert "'WallOpen'" in unchecked[0]["found"] and "run again once" in unchecked[0]["found"]
        assert ("wall-mode", part) in {(d["kind"], d["path"]) for d in wall if d["source"] == "WallClaims"}
        before = _state(hdfs_admin, "/data/wall")
        assert main(["protect", "--all", "--as", SUPERUSER], manager=manager) == 1  # refuses, changing nothing
        assert "'WallOpen'" in capsys.readouterr().err
        assert _state(hdfs_admin, "/data/wall") == before
    finally:
        assert main(["protect", "WallClaims", "--as", SUPERUSER], manager=gov_manager) == 0
        capsys.readouterr()
    assert _refused(minihdfs.access("erin"), part)


def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(
    walled_files: str,
    gov_manager: WorkspaceManager,
    ws_manager: WorkspaceManager,
    hdfs_admin: WebHdfsAccess,
    minihdfs: MiniHdfs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hdfs_admin.set_mode(f"{OPEN}/part-0.parquet", 0o644)  # something a wrong run would change
    before = _state(hdfs_admin, "/data/wall")
    elsewhere = ClusterConfig(
        name="other",
        webhdfs_url=minihdfs.webhdfs_url,
        fs_uri="hdfs://127.0.0.1:1",
        auth="insecure",
        service_user=SERVICE,
    )
    service = minihdfs.access(SERVICE)
    other = WorkspaceManager(gov_manager.catalog, ClustersFile(clusters=(elsewhere,)), access=lambda _: service)
    cases = [
        (["protect", "NoSuchSource"], gov_manager, "there is no data source 'NoSuchSource'"),
        (["protect", "Ledger"], gov_manager, "has no storage location"),
        (["protect", "WallOpen", "--as", SUPERUSER], other, "on no configured cluster"),
        (["protect", "--all", "--as", SUPERUSER], other, "add that cluster to the clusters file"),
        (["protect", "WallOpen", "--as", SUPERUSER], ws_manager, "olivia may not change the storage wall"),
    ]
    for argv, manager, message in cases:
        assert main(argv, manager=manager) == 1, argv
        assert message in capsys.readouterr().err, argv
    assert main(["protect"], manager=gov_manager) == 2
    assert main(["protect", "WallOpen", "--all"], manager=gov_manager) == 2
    assert _state(hdfs_admin, "/data/wall") == before


def test_protect_all_walls_every_source_and_members_under_the_project_still_read_their_workspace_source(
    walled_files: str,
    gov_manager: WorkspaceManager,
    ws_manager: WorkspaceManager,
    hive_metastore: Any,
    hdfs_admin: WebHdfsAccess,
    as_user: Callable[[str], WebHdfsAccess],
    readers: Readers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = ws_manager.enable(PROJECT)
    derive_in_workspace(ws_manager, hive_metastore.uri, record, tmp_path / "bob-spark", "Ledger Copy wall")
    copy = f"{record.path}/ledger_copy"
    files = [s.path for s in hdfs_admin.walk(copy) if not s.is_dir and s.name.endswith(".parquet")]
    assert files and hdfs_admin.status(files[0]).owner == "bob"  # the member wrote it

    assert main(["protect", "--all", "--as", SUPERUSER, "--json"], manager=gov_manager) == 0
    report = json.loads(capsys.readouterr().out)
    protected = {t["source"]: t for t in report["protected"]}
    assert {"WallClaims", "WallOpen", "Ledger Copy wall"} <= set(protected)
    assert protected["WallOpen"]["readers"] == ["alice"]  # her own view of it is the raw data
    assert protected["WallClaims"]["readers"] == []  # the region is masked for her: no native read
    assert protected["Ledger Copy wall"]["workspace_group"] == record.hadoop_group
    assert all(s.owner == "svc_workspace" for s in hdfs_admin.walk(copy))

    erin, bob = as_user("erin"), as_user("bob")
    assert as_user("alice").read_bytes(f"{OPEN}/part-0.parquet")
    assert _refused(erin, f"{OPEN}/part-0.parquet") and _refused(erin, files[0])
    bob_catalog = acting(ws_manager.catalog, "bob")
    bob_catalog.switch_project(PROJECT)
    ws_manager.wait_in_force()
    try:
        assert bob.read_bytes(files[0]) == hdfs_admin.read_bytes(files[0])  # natively, acting under the project
    finally:
        bob_catalog.switch_project(None)
        ws_manager.wait_in_force()
    assert _refused(bob, files[0])

    spec = {"table": f"{record.hive_database}.ledger_copy", "location": f"{walled_files}{copy}"}
    steps = _steps(readers, "erin", "reader_session", spec)  # a subscriber outside the project, after the wall went up
    assert steps["governed-table"]["outcome"] == "read" and len(steps["governed-table"]["rows"]) == 2
    assert not {"Ohio", "Texas"} & {row[0] for row in steps["governed-table"]["rows"]}
    assert steps["raw-path"]["outcome"] == "refused" and steps["raw-path"]["denied_by_namenode"]

    assert main(["check", PROJECT], manager=ws_manager) == 0  # workspace and wall both hold
    assert capsys.readouterr().out.splitlines() == ["no drift"]
    assert main(["protect", "--all", "--as", SUPERUSER, "--json"], manager=gov_manager) == 0
    assert json.loads(capsys.readouterr().out)["fixed"] == []
