"""The pure pieces of workspace-directory sources: footers, partitions, schema merging, overlap, DDL.

No HDFS: footers come from files pyarrow writes in memory; listings are FileStatus values. The
whole path (ranged reads on the NameNode, the metastore, the catalog) is tested in
tests/hdfs/test_workspace_dir_sources.py.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from hdfs_workspace.footers import TAIL_BYTES, Column, FileKind, FooterError, schema_from_tail, sniff, tail_needed
from hdfs_workspace.hive_tables import HiveTableSpec, create_table_ddl, quote_identifier
from hdfs_workspace.infer import DataFile, InferenceError, merge_columns, partition_columns, plan_files
from hdfs_workspace.status import FileStatus, FileType
from immuta_spark.locations import location_overlaps, normalise_location, overlapping

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def parquet_bytes(table: pa.Table) -> bytes:
    """A Parquet file of ``table``, in memory."""
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def orc_bytes(table: pa.Table) -> bytes:
    """An ORC file of ``table``, in memory."""
    out = io.BytesIO()
    orc.write_table(table, out)
    return out.getvalue()


def _tail(data: bytes) -> bytes:
    return data[-min(len(data), TAIL_BYTES) :]


def _entry(path: str, *, size: int = 100, directory: bool = False) -> FileStatus:
    return FileStatus(
        path=path,
        kind=FileType.DIRECTORY if directory else FileType.FILE,
        owner="bob",
        group="g",
        mode=0o660,
        size=size,
        replication=1,
        block_size=1,
        modified=EPOCH,
        accessed=EPOCH,
        has_acl=False,
        children=0,
        file_id=1,
    )


TABLE = pa.table(
    {
        "id": pa.array([1, 2], pa.int64()),
        "region": ["Ohio", "Texas"],
        "amount": pa.array([1.5, 2.5], pa.float64()),
        "day": pa.array([1, 2], pa.date32()),
        "price": pa.array([1, 2], pa.decimal128(10, 2)),
        "tags": [["a"], []],
        "small": pa.array([1, 2], pa.int16()),
    }
)
EXPECTED = (
    Column("id", "bigint"),
    Column("region", "string"),
    Column("amount", "double"),
    Column("day", "date"),
    Column("price", "decimal(10,2)"),
    Column("tags", "array<string>"),
    Column("small", "smallint"),
)


def test_a_parquet_schema_is_read_from_the_files_tail_alone() -> None:
    data = parquet_bytes(TABLE)
    tail = _tail(data)
    assert sniff("part-0.snappy.parquet", tail, len(data)) is FileKind.PARQUET
    assert schema_from_tail(FileKind.PARQUET, tail, where="f") == EXPECTED


def test_an_orc_schema_is_read_from_the_files_tail_alone_whatever_the_files_name() -> None:
    data = orc_bytes(TABLE)
    tail = _tail(data)
    assert sniff("000000_0", tail, len(data)) is FileKind.ORC
    assert schema_from_tail(FileKind.ORC, tail, where="f") == EXPECTED


def test_a_footer_longer_than_the_first_read_says_how_much_more_it_needs() -> None:
    wide = pa.table({f"column_with_a_long_name_{i:04d}": [i] for i in range(600)})
    data = parquet_bytes(wide)
    tail = _tail(data)
    need = tail_needed(FileKind.PARQUET, tail, len(data), where="f")
    assert need > TAIL_BYTES
    columns = schema_from_tail(FileKind.PARQUET, data[-need:], where="f")
    assert len(columns) == 600 and columns[0] == Column("column_with_a_long_name_0000", "bigint")


def test_files_that_are_not_columnar_are_known_by_their_extension() -> None:
    assert sniff("a.csv", b"x,y\n1,2\n", 8) is FileKind.CSV
    assert sniff("a.csv.gz", b"\x1f\x8b....", 6) is FileKind.CSV
    assert sniff("a.json", b'{"a": 1}\n', 9) is FileKind.JSON
    assert sniff("a.tsv", b"a\tb\n", 4) is FileKind.TSV
    assert sniff("notes", b"hello", 5) is FileKind.OTHER
    assert not FileKind.CSV.columnar and FileKind.PARQUET.columnar


def test_a_damaged_footer_is_refused_naming_the_file() -> None:
    data = parquet_bytes(TABLE)
    broken = b"garbage!" * 10 + data[-8:]
    with pytest.raises(FooterError, match=r"/ws/x\.parquet"):
        schema_from_tail(FileKind.PARQUET, broken, where="/ws/x.parquet")


def test_a_type_hive_has_no_name_for_is_refused_naming_the_column() -> None:
    data = parquet_bytes(pa.table({"t": pa.array([1], pa.time64("us"))}))
    with pytest.raises(FooterError, match="column 't'"):
        schema_from_tail(FileKind.PARQUET, _tail(data), where="/ws/x.parquet")


def test_partition_directories_give_each_file_its_values_and_hidden_entries_are_skipped() -> None:
    entries = [
        _entry("/ws/p/t", directory=True),
        _entry("/ws/p/t/_SUCCESS", size=0),
        _entry("/ws/p/t/year=2024/state=Ohio/a.parquet"),
        _entry("/ws/p/t/year=2024/state=New%20York/b.parquet"),
        _entry("/ws/p/t/year=2025/state=__HIVE_DEFAULT_PARTITION__/c.parquet"),
        _entry("/ws/p/t/year=2025/.c.parquet.crc"),
        _entry("/ws/p/t/_temporary/0/x.parquet"),
    ]
    files = plan_files("/ws/p/t", entries)
    assert [f.partition for f in files] == [
        (("year", "2024"), ("state", "Ohio")),
        (("year", "2024"), ("state", "New York")),
        (("year", "2025"), ("state", None)),
    ]
    assert partition_columns(files) == (Column("year", "int"), Column("state", "string"))


def test_a_directory_that_is_not_key_value_is_refused_naming_it() -> None:
    entries = [_entry("/ws/t/year=2024/a.parquet"), _entry("/ws/t/misc/b.parquet")]
    with pytest.raises(InferenceError, match="/ws/t/misc is not a partition directory"):
        plan_files("/ws/t", entries)


def test_files_partitioned_differently_are_refused_naming_both() -> None:
    entries = [_entry("/ws/t/year=2024/a.parquet"), _entry("/ws/t/b.parquet")]
    with pytest.raises(InferenceError, match=r"/ws/t/b.parquet is partitioned by \(nothing\) but /ws/t/year=2024"):
        plan_files("/ws/t", entries)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "2", "-3"], "int"),
        (["1", "3000000000"], "bigint"),
        (["1", "x"], "string"),
        (["007", "8"], "string"),  # leading zeros: 007 and 7 would be one value
        (["1", "99999999999999999999"], "string"),
        ([None], "string"),
    ],
)
def test_a_partition_column_is_an_integer_only_when_every_value_is_one(values: list[str | None], kind: str) -> None:
    files = [DataFile(path=f"/t/k={v}/f", size=1, partition=(("k", v),)) for v in values]
    assert partition_columns(files) == (Column("k", kind),)


def test_schemas_merge_when_columns_are_added_or_widen() -> None:
    merged = merge_columns(
        [
            ("/a", [Column("id", "int"), Column("x", "float")]),
            ("/b", [Column("ID", "bigint"), Column("x", "double"), Column("extra", "string")]),
        ]
    )
    assert merged == (Column("id", "bigint"), Column("x", "double"), Column("extra", "string"))


def test_schemas_that_disagree_on_a_type_are_refused_naming_the_column_and_both_files() -> None:
    with pytest.raises(InferenceError, match=r"'id' is bigint in /a but string in /b"):
        merge_columns([("/a", [Column("id", "bigint")]), ("/b", [Column("id", "string")])])


def test_a_column_whose_name_is_not_plain_is_refused_naming_the_file() -> None:
    with pytest.raises(InferenceError, match=r"/a: the column 'total amount' is not a plain name"):
        merge_columns([("/a", [Column("total amount", "bigint")])])


def test_locations_overlap_when_equal_or_nested_after_normalising() -> None:
    assert normalise_location("HDFS://NN:8020//ws/./a/") == "hdfs://nn:8020/ws/a"
    assert normalise_location("/ws/a", default_fs="hdfs://nn:8020") == "hdfs://nn:8020/ws/a"
    assert location_overlaps("hdfs://nn/ws/a/b", "hdfs://nn/ws/a")
    assert location_overlaps("hdfs://nn/ws/a", "hdfs://nn/ws/a/b")
    assert not location_overlaps("hdfs://nn/ws/ab", "hdfs://nn/ws/a")
    found = overlapping(
        "hdfs://nn:8020/ws/a/", [("S", "/ws/a/x"), ("T", "/ws/b"), ("U", "")], default_fs="hdfs://nn:8020"
    )
    assert found == [("S", "/ws/a/x")]


def test_the_ddl_shown_quotes_every_identifier_and_the_location() -> None:
    spec = HiveTableSpec(
        database="ws_p",
        name="t",
        location="hdfs://nn/ws/it's",
        kind=FileKind.PARQUET,
        columns=(Column("order", "bigint"), Column("a`b", "string")),
        partition_keys=(Column("year", "int"),),
    )
    assert create_table_ddl(spec) == (
        "CREATE EXTERNAL TABLE `ws_p`.`t` (\n  `order` bigint,\n  `a``b` string\n)\n"
        "PARTITIONED BY (`year` int)\nSTORED AS PARQUET\nLOCATION 'hdfs://nn/ws/it\\'s'"
    )
    assert quote_identifier("x") == "`x`"
