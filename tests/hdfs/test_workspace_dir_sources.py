"""Derived sources from a workspace directory (issue 12 item 1), on the real NameNode and the shared metastore.

bob, a member holding CREATE_DATA_SOURCE_IN_PROJECT and acting under the project, writes files
into the workspace as himself and exposes a directory as a source. For Parquet and ORC the
schema and partitions come from the footers (ranged reads, counted), an external table is made
in the workspace's database as the service identity, and the source is a derived one. Readers
are Spark sessions of their own, in processes of their own, as other users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from hdfs_workspace.cli import main
from hdfs_workspace.hive import HiveMetastore
from hdfs_workspace.infer import InferenceError
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.sources import DirectorySourceError, WorkspaceSources
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.errors import NotAuthorized
from tests.hdfs.readers import Readers
from tests.hdfs.workspace_support import acting
from tests.unit.test_workspace_inference import orc_bytes, parquet_bytes

PROJECT = "ws_src"
LEAVE = "ws_src_leave"
SERVICE = "svc_workspace"


def _ledger(regions: list[str], amounts: list[int]) -> pa.Table:
    return pa.table({"region": regions, "amount": pa.array(amounts, pa.int32())})


class Member:
    """A member's catalog handle and manager, acting under a project, writing into its workspace as themselves."""

    def __init__(self, ws_manager: WorkspaceManager, minihdfs: Any, project: str, user: str = "bob") -> None:
        self.service = ws_manager.access("test")
        self.record: WorkspaceRecord = ws_manager.enable(project)
        self.catalog = acting(ws_manager.catalog, user)
        self.manager = WorkspaceManager(self.catalog, ws_manager.clusters, access=lambda _: self.service)
        self.sources = WorkspaceSources(self.manager)
        self.catalog.switch_project(project)
        self.manager.wait_in_force()
        self.hdfs = minihdfs.access(user)

    def put(self, relative: str, data: bytes) -> str:
        path = f"{self.record.path}/{relative}"
        self.hdfs.makedirs(path.rsplit("/", 1)[0], mode=0o770)
        self.hdfs.write_bytes(path, data, mode=0o660, overwrite=True)
        return path

    def uri(self, relative: str) -> str:
        return f"{self.record.uri}/{relative}"

    def opens(self, run: Callable[[], Any]) -> tuple[Any, int]:
        """Run ``run``; (its result, OPEN calls the service identity made)."""
        before = self.service.counter.snapshot()
        result = run()
        return result, self.service.counter.since(before).get("OPEN", 0)


def _state(member: Member, hive_uri: str) -> tuple[list[str], list[str]]:
    """What a refused attempt must leave unchanged: the catalog's sources and the database's tables."""
    with HiveMetastore.connect(hive_uri, user=SERVICE) as hms:
        tables = hms.tables(member.record.hive_database)
    return sorted(member.catalog.snapshot().sources), tables


def _read(readers: Readers, user: str, tables: list[str]) -> dict[str, dict[str, Any]]:
    """``user``'s governed reads of ``tables``, in that user's own Spark process: each table's outcome."""
    return {r["table"]: r for r in readers.read(user, "source_reader", {"tables": tables})}


@pytest.fixture
def bob(ws_manager: WorkspaceManager, minihdfs: Any) -> Member:
    return Member(ws_manager, minihdfs, PROJECT)


def test_sources_made_by_a_member_who_then_leaves_keep_answering_their_readers(
    ws_manager: WorkspaceManager, minihdfs: Any, hive_metastore: Any, readers: Readers
) -> None:
    bob = Member(ws_manager, minihdfs, LEAVE)
    db = bob.record.hive_database
    bob.put("sales/part-0.parquet", parquet_bytes(_ledger(["Ohio"], [1])))
    bob.put("sales/part-1.parquet", parquet_bytes(_ledger(["Texas"], [2])))
    bob.put("sales/_SUCCESS", b"")
    bob.put("sales_orc/000000_0", orc_bytes(_ledger(["Utah"], [3])))
    bob.put("sales_orc/000001_0", orc_bytes(_ledger(["Iowa"], [4])))
    for year, state, n in ((2024, "Ohio", 10), (2024, "Texas", 20), (2025, "Ohio", 30)):
        events = pa.table({"id": pa.array([n, n + 1], pa.int64()), "amount": [n * 1.5, n * 2.5]})
        bob.put(f"events/year={year}/state={state}/part-0.parquet", parquet_bytes(events))
    bob.put("people/part-0.parquet", parquet_bytes(pa.table({"id": pa.array([1], pa.int32()), "name": ["ann"]})))
    people = pa.table({"id": pa.array([5_000_000_000], pa.int64()), "name": ["ben"], "score": [0.5]})
    bob.put("people/part-1.parquet", parquet_bytes(people))

    report, opens = bob.opens(lambda: bob.sources.inspect(LEAVE, bob.uri("events"), name="Events"))
    assert opens == 3  # footers only: one ranged read a file, nothing else
    assert report.inference.offered_types == ("hive", "hdfs")
    assert [(c.name, c.type) for c in report.inference.partition_keys] == [("year", "int"), ("state", "string")]
    assert report.ddl is not None and f"CREATE EXTERNAL TABLE `{db}`.`events`" in report.ddl
    assert "PARTITIONED BY (`year` int, `state` string)" in report.ddl

    made, opens = bob.opens(
        lambda: bob.sources.create(LEAVE, "sales", name="Sales Files", type="hive", parents=["Ledger"])
    )
    assert opens == 2 and made.parents == ("Ledger",) and made.table == f"{db}.sales_files"
    assert bob.catalog.snapshot().sources["Sales Files"].location == bob.uri("sales")
    code = main(
        [
            *("source", "create", LEAVE, f"{bob.record.path}/sales_orc", "--name", "Sales ORC", "--type", "hive"),
            *("--parents", "Ledger", "--certify", "--json"),
        ],
        manager=bob.manager,
    )
    assert code == 0
    bob.sources.create(LEAVE, "events", name="Events", type="hive", parents=["Ledger"])
    merged = bob.sources.create(LEAVE, "people", name="People", type="hive", parents=["Ledger"])
    assert merged.table == f"{db}.people"
    bob.put("raw_csv/a.csv", b"region,amount\nErie,5\n")
    raw = bob.sources.create(
        LEAVE, "raw_csv", name="Raw CSV", type="hdfs", parents=["Ledger"], options={"header": "true"}
    )

    with HiveMetastore.connect(hive_metastore.uri, user=SERVICE) as hms:
        table = hms.table(db, "events")
        parts = hms.partitions(db, "events")
    assert table is not None and table.kind == "EXTERNAL_TABLE" and table.owner == SERVICE
    assert table.location == bob.uri("events")
    assert [p[0] for p in parts] == [("2024", "Ohio"), ("2024", "Texas"), ("2025", "Ohio")]

    # bob leaves the project; the workspace's sources are the service's, and stay readable.
    acting(ws_manager.catalog, "olivia").revoke_project_member(LEAVE, "bob")
    tables = [f"{db}.sales_files", f"{db}.sales_orc", f"{db}.events", f"{db}.people", raw.table]
    seen = _read(readers, "erin", tables)
    for name in tables:
        assert seen[name]["outcome"] == "read", seen[name]
    assert seen[tables[0]]["rows"] == [["Ohio", 1], ["Texas", 2]]
    assert seen[tables[1]]["rows"] == [["Iowa", 4], ["Utah", 3]]
    assert seen[tables[2]]["columns"] == [["id", "bigint"], ["amount", "double"], ["year", "int"], ["state", "string"]]
    assert sorted(seen[tables[2]]["rows"]) == [
        [10, 15.0, 2024, "Ohio"],
        [11, 25.0, 2024, "Ohio"],
        [20, 30.0, 2024, "Texas"],
        [21, 50.0, 2024, "Texas"],
        [30, 45.0, 2025, "Ohio"],
        [31, 75.0, 2025, "Ohio"],
    ]
    assert seen[tables[3]]["columns"] == [["id", "bigint"], ["name", "string"], ["score", "double"]]
    assert sorted(seen[tables[3]]["rows"], key=str) == [[1, "ann", None], [5_000_000_000, "ben", 0.5]]
    assert seen[tables[4]]["rows"] == [["Erie", "5"]]  # an hdfs source made by bob, read after he left

    # Disabled, the workspace is closed to its members' native reads; the sources still answer carol, a member
    # (outside the project: a project its policy file declares keeps the sources the file lists).
    ws_manager.disable(LEAVE)
    later = _read(readers, "carol", [*tables[:2], raw.table])
    assert later[tables[0]]["rows"] == [["Ohio", 1], ["Texas", 2]]
    assert later[tables[1]]["rows"] == [["Iowa", 4], ["Utah", 3]]
    assert later[raw.table]["rows"] == [["Erie", "5"]]

    # Purging what belongs to no source keeps every source's directory (its table's location).
    bob.service.write_bytes(f"{bob.record.path}/scratch/notes.txt", b"x", mode=0o660)
    deleted = ws_manager.purge(LEAVE)
    assert deleted == [f"{bob.record.path}/scratch"]
    assert all(bob.service.exists(f"{bob.record.path}/{d}") for d in ("sales", "sales_orc", "events", "people"))


@pytest.mark.parametrize(
    ("directory", "files"),
    [
        ("csv", {"a.csv": b"region,amount\nOhio,1\n", "b.csv": b"region,amount\nTexas,2\n"}),
        ("json", {"a.json": b'{"region": "Ohio", "amount": 1}\n'}),
    ],
)
def test_files_that_are_not_parquet_or_orc_offer_only_an_hdfs_source(
    bob: Member, hive_metastore: Any, directory: str, files: dict[str, bytes]
) -> None:
    for name, data in files.items():
        bob.put(f"{directory}/{name}", data)
    report = bob.sources.inspect(PROJECT, directory)
    assert report.inference.offered_types == ("hdfs",) and report.ddl is None
    assert report.inference.kinds == {directory: len(files)}
    before = _state(bob, hive_metastore.uri)
    with pytest.raises(InferenceError, match=r"not Parquet or ORC .* register the directory with --type hdfs"):
        bob.sources.create(PROJECT, directory, name=f"Raw {directory}", type="hive", parents=["Ledger"])
    with pytest.raises(DirectorySourceError, match="reader options are for --type hdfs"):
        bob.sources.create(
            PROJECT, directory, name=f"Raw {directory}", type="hive", parents=["Ledger"], options={"header": "true"}
        )
    assert _state(bob, hive_metastore.uri) == before
    made = bob.sources.create(PROJECT, directory, name=f"Raw {directory}", type="hdfs", parents=["Ledger"])
    source = bob.catalog.snapshot().sources[made.name]
    assert source.location == bob.uri(directory) and source.object is not None
    assert source.object.format == directory and made.parents == ("Ledger",)
    assert _state(bob, hive_metastore.uri)[1] == before[1]  # no Hive table behind an hdfs source


def test_hdfs_sources_of_csv_and_json_files_answer_a_subscriber_outside_the_project(
    bob: Member, readers: Readers
) -> None:
    bob.put("drop_csv/a.csv", b"region,amount\nOhio,1\n")
    bob.put("drop_csv/b.csv", b"region,amount\nTexas,2\n")
    bob.put("drop_json/a.json", b'{"region": "Utah", "amount": 3}\n{"region": "Iowa", "amount": 4}\n')
    code = main(
        [
            *("source", "create", PROJECT, "drop_csv", "--name", "Dropped CSV", "--type", "hdfs"),
            *("--parents", "Ledger", "--certify", "--option", "header=true", "--option", "inferSchema=true"),
        ],
        manager=bob.manager,
    )
    assert code == 0
    assert (
        main(
            [
                "source",
                "create",
                PROJECT,
                "drop_json",
                "--name",
                "x",
                "--type",
                "hdfs",
                "--parents",
                "Ledger",
                "--certify",
                "--option",
                "header",
            ],
            manager=bob.manager,
        )
        == 2
    )  # not KEY=VALUE: argparse refuses
    made = bob.sources.create(PROJECT, "drop_json", name="Dropped JSON", type="hdfs", parents=["Ledger"])
    db = bob.record.hive_database
    tables = [f"{db}.dropped_csv", made.table]
    seen = _read(readers, "erin", tables)
    assert seen[tables[0]]["outcome"] == "read", seen[tables[0]]
    assert seen[tables[0]]["columns"] == [["region", "string"], ["amount", "int"]]
    assert seen[tables[0]]["rows"] == [["Ohio", 1], ["Texas", 2]]
    assert seen[tables[1]]["outcome"] == "read", seen[tables[1]]
    assert seen[tables[1]]["rows"] == [[3, "Utah"], [4, "Iowa"]]  # json columns: amount, region


def test_a_directory_already_backing_a_source_or_holding_one_or_inside_one_is_refused_naming_it(
    bob: Member, hive_metastore: Any
) -> None:
    bob.put("lake/events/year=2024/part-0.parquet", parquet_bytes(_ledger(["Ohio"], [1])))
    bob.put("lake/events/year=2025/part-0.parquet", parquet_bytes(_ledger(["Utah"], [2])))
    bob.sources.create(PROJECT, "lake/events", name="Lake Events", type="hive", parents=["Ledger"])
    before = _state(bob, hive_metastore.uri)
    for directory, kind in (("lake/events", "hdfs"), ("lake", "hdfs"), ("lake/events/year=2024", "hive")):
        with pytest.raises(DirectorySourceError, match=r"overlaps the storage of source 'Lake Events'") as err:
            bob.sources.create(PROJECT, directory, name="Again", type=kind, parents=["Ledger"])
        assert "a hdfs source and a hive source may never be backed by the same location" in str(err.value)
    assert _state(bob, hive_metastore.uri) == before


def test_files_whose_columns_disagree_on_a_type_are_refused_naming_the_column(bob: Member, hive_metastore: Any) -> None:
    bob.put("mixed/part-0.parquet", parquet_bytes(pa.table({"id": [1]})))
    bob.put("mixed/part-1.parquet", parquet_bytes(pa.table({"id": ["one"]})))
    before = _state(bob, hive_metastore.uri)
    with pytest.raises(InferenceError, match=r"'id' is bigint in .*part-0.parquet but string in .*part-1.parquet"):
        bob.sources.create(PROJECT, "mixed", name="Mixed", type="hive", parents=["Ledger"])
    assert _state(bob, hive_metastore.uri) == before
    denied = bob.catalog.audit(action="project.derived_source", outcome="denied", user="bob")
    assert any("'id' is bigint" in (r.detail or {}).get("error", "") for r in denied)


def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(
    bob: Member, ws_manager: WorkspaceManager, hive_metastore: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bob.put("good/part-0.parquet", parquet_bytes(_ledger(["Ohio"], [1])))
    bob.hdfs.makedirs(f"{bob.record.path}/empty", mode=0o770)
    bob.put("empty/_SUCCESS", b"")
    root = bob.record.path
    before = _state(bob, hive_metastore.uri)
    attempts: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"directory": "/user/immuta/workspace/ws_plain/x"}, DirectorySourceError, "is not beneath the workspace"),
        ({"directory": "/tmp"}, DirectorySourceError, "is not beneath the workspace"),
        ({"directory": f"{root}/good/../../ws_svc_reads"}, DirectorySourceError, "'..' are not allowed"),
        ({"directory": "../ws_svc_reads"}, DirectorySourceError, "'..' are not allowed"),
        ({"directory": root}, DirectorySourceError, "is not beneath the workspace"),
        ({"directory": "hdfs://elsewhere:8020/x"}, DirectorySourceError, "is not on the workspace's file system"),
        ({"directory": "empty"}, InferenceError, "holds no data files"),
        ({"directory": "missing"}, DirectorySourceError, "there is no directory"),
        ({"directory": "good/part-0.parquet"}, DirectorySourceError, "is a file"),
        ({"project": "No Such Project"}, DirectorySourceError, "there is no project 'No Such Project'"),
        ({"project": "ws_plain"}, DirectorySourceError, "has no workspace"),
        ({"type": "table"}, DirectorySourceError, "unknown source type 'table'"),
        ({"parents": ["Nope"]}, Exception, "is not a source of project"),
        ({"certify": False}, Exception, "certify"),
        ({"name": "Ledger"}, Exception, "already exists"),
    ]
    for change, error, text in attempts:
        call = {"project": PROJECT, "directory": "good", "name": "Good", "type": "hive", "parents": ["Ledger"]}
        call.update(change)
        with pytest.raises(error, match=text):
            bob.sources.create(call.pop("project"), call.pop("directory"), **call)

    carol = acting(ws_manager.catalog, "carol")  # a member without CREATE_DATA_SOURCE_IN_PROJECT
    carol.switch_project(PROJECT)
    carol_sources = WorkspaceSources(WorkspaceManager(carol, ws_manager.clusters, access=lambda _: bob.service))
    with pytest.raises(NotAuthorized, match="CREATE_DATA_SOURCE_IN_PROJECT"):
        carol_sources.create(PROJECT, "good", name="Good", type="hive", parents=["Ledger"])
    erin = acting(ws_manager.catalog, "erin")  # not a member: neither inspects nor creates
    erin_sources = WorkspaceSources(WorkspaceManager(erin, ws_manager.clusters, access=lambda _: bob.service))
    with pytest.raises(DirectorySourceError, match="acts under no project, not 'ws_src'"):
        erin_sources.inspect(PROJECT, "good")

    code = main(
        ["source", "create", PROJECT, "/tmp", "--name", "G", "--type", "hive", "--parents", "Ledger", "--certify"],
        manager=bob.manager,
    )
    assert code == 1 and "is not beneath the workspace" in capsys.readouterr().err
    assert _state(bob, hive_metastore.uri) == before
    denied = bob.catalog.audit(action="project.derived_source", outcome="denied", user="bob")
    assert any("is not beneath the workspace" in (r.detail or {}).get("error", "") for r in denied)

    # The same directory, asked properly, becomes a source: nothing above left anything in the way.
    assert main(["source", "inspect", PROJECT, "good"], manager=bob.manager) == 0
    assert "CREATE EXTERNAL TABLE" in capsys.readouterr().out
    made = bob.sources.create(PROJECT, "good", name="Good", type="hive", parents=["Ledger"])
    assert made.name == "Good"


def test_a_footer_longer_than_the_first_read_takes_exactly_one_more_ranged_read(
    bob: Member, hive_metastore: Any
) -> None:
    wide = pa.table({f"measure_with_a_long_name_{i:04d}": pa.array([i], pa.int64()) for i in range(600)})
    data = parquet_bytes(wide)
    path = bob.put("wide/part-0.parquet", data)
    assert bob.service.read_bytes(path, offset=len(data) - 4, length=4) == b"PAR1"  # the ranged read itself
    before = _state(bob, hive_metastore.uri)
    report, opens = bob.opens(lambda: bob.sources.inspect(PROJECT, "wide"))
    assert opens == 2 and report.inference.reads == 2
    assert len(report.inference.columns) == 600 and report.inference.columns[-1].type == "bigint"
    assert _state(bob, hive_metastore.uri) == before  # inspect changes nothing


def test_refresh_registers_partitions_added_since_and_readers_see_their_rows(
    bob: Member, hive_metastore: Any, readers: Readers, capsys: pytest.CaptureFixture[str]
) -> None:
    bob.put("daily/day=1/part-0.parquet", parquet_bytes(_ledger(["Ohio"], [1])))
    made = bob.sources.create(PROJECT, "daily", name="Daily", type="hive", parents=["Ledger"])
    bob.put("daily/day=2/part-0.parquet", parquet_bytes(_ledger(["Utah"], [2])))
    bob.put("daily/day=3/part-0.parquet", parquet_bytes(_ledger(["Iowa"], [3])))
    assert main(["source", "refresh", PROJECT, "Daily"], manager=bob.manager) == 0
    assert "Daily: 2 new partitions registered (2, 3)" in capsys.readouterr().out
    assert bob.sources.refresh(PROJECT, "Daily") == []  # nothing new: nothing added
    db, table = made.table.split(".")
    with HiveMetastore.connect(hive_metastore.uri, user=SERVICE) as hms:
        assert [v for v, _ in hms.partitions(db, table)] == [("1",), ("2",), ("3",)]

    # New files with another column: refused, naming it; the table keeps its partitions.
    wider = pa.table({"region": ["Erie"], "amount": pa.array([4], pa.int32()), "note": ["x"]})
    bob.put("daily/day=4/part-0.parquet", parquet_bytes(wider))
    with pytest.raises(DirectorySourceError, match=r"columns changed since 'Daily' was made \(note string\)"):
        bob.sources.refresh(PROJECT, "Daily")
    with HiveMetastore.connect(hive_metastore.uri, user=SERVICE) as hms:
        assert len(hms.partitions(db, table)) == 3
    bob.put("drop_refresh/a.csv", b"region,amount\nOhio,1\n")
    bob.sources.create(PROJECT, "drop_refresh", name="Dropped Refresh", type="hdfs", parents=["Ledger"])
    with pytest.raises(DirectorySourceError, match="is an hdfs source: its files are listed at every query"):
        bob.sources.refresh(PROJECT, "Dropped Refresh")
    with pytest.raises(DirectorySourceError, match="'Ledger' is not a source made from a directory"):
        bob.sources.refresh(PROJECT, "Ledger")

    seen = _read(readers, "erin", [made.table])[made.table]
    assert seen["outcome"] == "read", seen
    assert seen["rows"] == [["Iowa", 3, 3], ["Ohio", 1, 1], ["Utah", 2, 2]]
