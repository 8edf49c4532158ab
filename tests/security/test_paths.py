"""Reading a governed table's files by path gets the table's enforcement, or is refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.spark import GovernedAccessDenied, UnenforcedPathError
from tests.security.conftest import BOB_ROWS, assert_no_raw, collect


def local(location: str) -> str:
    return location.removeprefix("file:")


@pytest.fixture(scope="module")
def data_file(medical_location: str) -> str:
    return str(next(Path(local(medical_location)).glob("*.parquet")))


@pytest.mark.parametrize(
    "read",
    [
        lambda s, loc: s.read.parquet(loc),
        lambda s, loc: s.read.parquet(local(loc)),
        lambda s, loc: s.read.parquet(loc + "/"),
        lambda s, loc: s.read.parquet(local(loc) + "/../medical"),
        lambda s, loc: s.read.orc(loc),
        lambda s, loc: s.read.csv(loc, header=True),
        lambda s, loc: s.read.json(loc),
        lambda s, loc: s.read.load(loc),
        lambda s, loc: s.read.format("parquet").load(loc),
        lambda s, loc: s.read.format("parquet").option("path", loc).load(),
        lambda s, loc: s.read.options(mergeSchema="true").parquet(loc),
        lambda s, loc: s.sql(f"SELECT * FROM parquet.`{loc}`"),
        lambda s, loc: s.sql(f"SELECT * FROM parquet.`{local(loc)}/`"),
        lambda s, loc: s.sql(f"SELECT * FROM orc.`{loc}`"),
        lambda s, loc: s.sql(f"SELECT * FROM json.`{loc}`"),
        lambda s, loc: s.sql(f"SELECT x.* FROM range(1) r JOIN parquet.`{loc}` x ON true"),
        lambda s, loc: s.read.parquet(os.path.dirname(local(loc)) + "/med*"),
        lambda s, loc: s.sql(f"SELECT * FROM parquet.`{os.path.dirname(local(loc))}/med*`"),
    ],
    ids=["parquet", "parquet-no-scheme", "parquet-slash", "parquet-dotdot", "orc", "csv", "json", "load", "format",
         "option-path", "options", "sql-parquet", "sql-no-scheme", "sql-orc", "sql-json", "sql-join",
         "glob-matching-only-the-location", "sql-glob-matching-only-the-location"],
)  # fmt: skip
def test_a_path_read_of_the_table_location_gets_the_table_enforcement(
    bob: Any, medical_location: str, read: Any
) -> None:
    rows = collect(read(bob, medical_location))
    assert sorted(rows) == sorted(BOB_ROWS)
    assert_no_raw(rows)


@pytest.mark.parametrize(
    "read",
    [
        lambda s, loc, f: s.read.parquet(f),
        lambda s, loc, f: s.read.text(f),
        lambda s, loc, f: s.read.parquet(loc + "/*"),
        lambda s, loc, f: s.read.parquet(loc, local(loc) + "/../medical"),
        lambda s, loc, f: s.read.option("recursiveFileLookup", "true").parquet(os.path.dirname(local(loc))),
        lambda s, loc, f: s.read.option("pathGlobFilter", "*.parquet").parquet(os.path.dirname(local(loc))),
        lambda s, loc, f: s.read.format("binaryFile").load(f),
        lambda s, loc, f: s.sql(f"SELECT * FROM parquet.`{f}`"),
        lambda s, loc, f: s.sql(f"SELECT * FROM text.`{f}`"),
        lambda s, loc, f: s.sql(f"SELECT * FROM binaryFile.`{os.path.dirname(local(loc))}/medical/*`"),
    ],
    ids=["file", "text-file", "glob-inside", "two-paths", "parent-recursive", "parent-filter",
         "binary-file", "sql-file", "sql-text-file", "sql-binary-glob"],
)  # fmt: skip
def test_a_path_read_inside_or_above_the_table_location_is_refused(
    bob: Any, medical_location: str, data_file: str, read: Any
) -> None:
    with pytest.raises(UnenforcedPathError, match="Medical Claims"):
        collect(read(bob, medical_location, data_file))


def test_a_temp_view_over_the_table_files_reads_as_the_table(bob: Any, medical_location: str, data_file: str) -> None:
    bob.sql(f"CREATE OR REPLACE TEMP VIEW medical_files USING parquet OPTIONS (path '{medical_location}')")
    try:
        assert collect(bob.sql("SELECT ssn FROM medical_files")) == [(None,), (None,)]
        with pytest.raises(UnenforcedPathError, match="reads files of governed data source"):
            bob.sql(f"CREATE OR REPLACE TEMP VIEW medical_file USING parquet OPTIONS (path '{data_file}')")
            collect(bob.sql("SELECT ssn FROM medical_file"))
    finally:
        bob.catalog.dropTempView("medical_files")


def test_a_symbolic_link_to_the_table_files_reads_as_the_table(bob: Any, medical_location: str, tmp_path: Path) -> None:
    link = tmp_path / "innocent"
    link.symlink_to(local(medical_location), target_is_directory=True)
    for df in (bob.read.parquet(str(link)), bob.sql(f"SELECT * FROM parquet.`{link}`")):
        assert sorted(collect(df)) == sorted(BOB_ROWS)
    with pytest.raises(UnenforcedPathError, match="Medical Claims"):
        collect(bob.read.parquet(str(link / Path(next(Path(local(medical_location)).glob("*.parquet"))).name)))


@pytest.fixture
def external_over_governed(sample_spark: Any, medical_location: str) -> Iterator[str]:
    """A table an admin laid over the governed files (not governed itself)."""
    sample_spark.sql(f"CREATE TABLE default.medical_again USING parquet LOCATION '{medical_location}'")
    try:
        yield "default.medical_again"
    finally:
        sample_spark.sql("DROP TABLE IF EXISTS default.medical_again")  # external: the files stay


def test_a_table_over_the_governed_files_is_refused(bob: Any, external_over_governed: str) -> None:
    for read in (
        lambda: bob.sql(f"SELECT ssn FROM {external_over_governed}"),
        lambda: bob.table(external_over_governed),
        lambda: bob.sql(f"SELECT * FROM claims.medical WHERE ssn IN (SELECT ssn FROM {external_over_governed})"),
    ):
        with pytest.raises(UnenforcedPathError, match="reads files of governed data source 'Medical Claims'"):
            collect(read())


def test_writes_into_a_table_over_the_governed_files_are_refused(
    bob: Any, sample_spark: Any, external_over_governed: str
) -> None:
    before = sample_spark.table("claims.medical").count()
    for statement in (
        f"INSERT INTO {external_over_governed} SELECT * FROM claims.medical",
        f"INSERT OVERWRITE TABLE {external_over_governed} SELECT * FROM claims.medical WHERE false",
    ):
        with pytest.raises(GovernedAccessDenied, match="storage of a governed table"):
            bob.sql(statement)
    assert sample_spark.table("claims.medical").count() == before


def test_bob_cannot_lay_a_table_over_or_write_into_the_governed_files(
    bob: Any, sample_spark: Any, medical_location: str, data_file: str
) -> None:
    sample_spark.sql("CREATE TABLE IF NOT EXISTS default.bob_table (v string) USING parquet")
    try:
        for statement in (
            f"CREATE TABLE default.bob_ext USING parquet LOCATION '{medical_location}'",
            f"CREATE TABLE default.bob_ext USING parquet OPTIONS (path '{local(medical_location)}')",
            f"CREATE TABLE default.bob_ext (v string) STORED AS PARQUET LOCATION '{medical_location}/x'",
            f"CREATE TABLE default.bob_ext USING parquet LOCATION '{medical_location}' AS SELECT * FROM claims.medical",
            f"ALTER TABLE default.bob_table SET LOCATION '{medical_location}'",
            f"INSERT OVERWRITE DIRECTORY '{medical_location}' USING parquet SELECT * FROM claims.medical",
            f"INSERT OVERWRITE DIRECTORY '{os.path.dirname(local(medical_location))}' USING parquet SELECT 1",
            f"LOAD DATA INPATH '{data_file}' INTO TABLE default.bob_table",
        ):
            with pytest.raises(GovernedAccessDenied, match="storage of a governed table"):
                bob.sql(statement)
        assert not sample_spark.catalog.tableExists("default.bob_ext")
        assert Path(data_file).exists()
        assert sample_spark.table("claims.medical").count() == 6
    finally:
        sample_spark.sql("DROP TABLE IF EXISTS default.bob_table")
        sample_spark.sql("DROP TABLE IF EXISTS default.bob_ext")
