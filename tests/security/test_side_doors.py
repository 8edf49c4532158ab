"""Side doors, tried as an attacker would: statements inside statements, file metadata,
statistics, files outside the data roots, and JDBC.

Each form is tried directly, through ``EXECUTE IMMEDIATE`` (which the Python pre-check never
sees) and, where there is one, through the DataFrame API: the analyzer's check must refuse all
of them alike.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

from immuta_spark.spark import ImmutaSparkSession, UnenforcedPathError
from tests.security.conftest import MEDICAL, assert_no_raw, collect


def ei(statement: str) -> str:
    """``statement`` inside EXECUTE IMMEDIATE (quotes doubled)."""
    return "EXECUTE IMMEDIATE '" + statement.replace("'", "''") + "'"


# --- statements inside statements -----------------------------------------------------------

_REFLECT = "SELECT reflect('java.lang.System', 'getProperty', 'user.dir')"


@pytest.mark.parametrize(
    "statement",
    [
        ei(_REFLECT),
        ei("SELECT java_method('java.lang.System', 'getenv', 'PATH')"),
        ei("SELECT try_reflect('java.lang.System', 'getProperty', 'user.dir')"),
        ei(ei(_REFLECT)),
        ei("SELECT * FROM (SELECT reflect('java.util.UUID', 'randomUUID') AS x)"),
        ei("CREATE TEMPORARY FUNCTION side_fn() RETURNS STRING RETURN reflect('java.lang.System', 'getProperty', 'a')"),
        ei("SELECT TRANSFORM(1) USING 'cat' AS x"),
        ei("ADD JAR /tmp/attacker.jar"),
        ei("ADD FILE /etc/hostname"),
        ei("ADD ARCHIVE /tmp/attacker.zip"),
        ei("CREATE TEMPORARY FUNCTION side_cls AS 'org.apache.spark.sql.hive.execution.HiveSimpleUDF'"),
        ei("SET spark.sql.cbo.planStats.enabled=true"),
        ei("SET spark.sql.optimizer.excludedRules=x"),
        ei("RESET"),
        ei("RESET spark.sql.warehouse.dir"),
        ei("SHOW TABLES IN claims"),
        ei("SHOW TABLE EXTENDED IN claims LIKE '*'"),
        ei("SHOW VIEWS IN claims"),
    ],
    ids=["reflect", "java_method", "try_reflect", "nested", "subquery", "sql-function-body", "transform",
         "add-jar", "add-file", "add-archive", "function-class", "set-stats", "set-excluded-rules", "reset-all",
         "reset-one", "show-tables", "show-table-extended", "show-views"],
)  # fmt: skip
def test_what_a_statement_may_not_do_it_may_not_do_inside_execute_immediate(dave: Any, statement: str) -> None:
    with pytest.raises(UnenforcedPathError) as info:
        dave.sql(statement).collect()
    assert "medical" not in str(info.value)


def test_a_setting_refused_inside_execute_immediate_keeps_its_value(bob: Any) -> None:
    before = bob.conf.get("spark.sql.cbo.planStats.enabled")
    with pytest.raises(UnenforcedPathError):
        bob.sql(ei("SET spark.sql.cbo.planStats.enabled=true"))
    assert bob.conf.get("spark.sql.cbo.planStats.enabled") == before


def test_allowed_settings_and_sql_functions_still_work_inside_execute_immediate(bob: Any) -> None:
    bob.sql(ei("SET spark.sql.shuffle.partitions=3"))
    assert bob.conf.get("spark.sql.shuffle.partitions") == "3"
    bob.sql(ei("CREATE OR REPLACE TEMPORARY FUNCTION side_plus(x INT) RETURNS INT RETURN x + 1"))
    assert bob.sql("SELECT side_plus(1)").first()[0] == 2


def test_execute_immediate_runs_its_statement_once(alice: Any) -> None:
    alice.sql("CREATE TABLE IF NOT EXISTS default.side_once (a INT) USING parquet")
    alice.sql("TRUNCATE TABLE default.side_once")
    alice.sql(ei("INSERT INTO default.side_once VALUES (1)"))
    assert alice.sql("SELECT count(*) FROM default.side_once").first()[0] == 1
    alice.sql("DROP TABLE default.side_once")


# --- file and storage metadata ----------------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.sql(f"SELECT input_file_name() FROM {MEDICAL}"),
        lambda s: s.sql(f"SELECT input_file_block_start(), input_file_block_length() FROM {MEDICAL}"),
        lambda s: s.sql(f"SELECT state, input_file_name() AS f FROM (SELECT * FROM {MEDICAL}) GROUP BY state, f"),
        lambda s: s.sql(ei(f"SELECT input_file_name() FROM {MEDICAL}")),
        lambda s: s.table(MEDICAL).select(F.input_file_name()),
        lambda s: s.table(MEDICAL).withColumn("f", F.expr("input_file_name()")),
        lambda s: s.table(MEDICAL).join(s.range(3), F.lit(True)).select(F.input_file_name()),
    ],
    ids=["sql", "block", "subquery", "execute-immediate", "dataframe", "expr", "join"],
)
def test_file_names_of_a_governed_table_are_refused(bob: Any, read: Any) -> None:
    with pytest.raises(UnenforcedPathError, match="input_file_name"):
        read(bob).collect()


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.sql(f"SELECT _metadata.file_path FROM {MEDICAL}"),
        lambda s: s.sql(f"SELECT _metadata FROM {MEDICAL}"),
        lambda s: s.sql(f"SELECT m._metadata.file_name FROM {MEDICAL} m"),
        lambda s: s.sql(ei(f"SELECT _metadata.file_path FROM {MEDICAL}")),
        lambda s: s.table(MEDICAL).select("_metadata.file_path"),
        lambda s: s.table(MEDICAL).select(F.col("_metadata")),
    ],
    ids=["sql", "struct", "aliased", "execute-immediate", "dataframe", "column"],
)
def test_file_metadata_columns_do_not_resolve_over_a_governed_table(bob: Any, read: Any) -> None:
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as info:
        collect(read(bob))
    assert info.value.getCondition() is not None and "UNRESOLVED" in info.value.getCondition()
    assert "warehouse" not in str(info.value)


def test_input_files_are_refused_over_governed_data_and_listed_for_owners(bob: Any, alice: Any) -> None:
    for df in (bob.table(MEDICAL), bob.table(MEDICAL).filter("amount > 0"), bob.sql(f"SELECT state FROM {MEDICAL}")):
        with pytest.raises(UnenforcedPathError, match="inputFiles"):
            df.inputFiles()
    assert alice.table(MEDICAL).inputFiles()  # the owner lists the table's files


def test_file_names_of_ungoverned_files_are_left_alone(bob: Any, tmp_path: Path) -> None:
    bob.range(3).write.parquet(str(tmp_path / "own"))
    df = bob.read.parquet(str(tmp_path / "own"))
    assert all("own" in r[0] for r in df.select(F.input_file_name()).collect())
    assert df.inputFiles()


# --- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "explain",
    [
        lambda s: s.sql(f"EXPLAIN COST SELECT * FROM {MEDICAL}").collect(),
        lambda s: s.sql(f"EXPLAIN COST SELECT state, count(*) FROM {MEDICAL} GROUP BY state").collect(),
        lambda s: s.sql(ei(f"EXPLAIN COST SELECT * FROM {MEDICAL}")).collect(),
        lambda s: s.table(MEDICAL).explain("cost"),
        lambda s: s.table(MEDICAL).explain(mode="cost"),
        lambda s: s.table(MEDICAL).groupBy("state").count().explain("cost"),
    ],
    ids=["sql", "aggregate", "execute-immediate", "dataframe", "dataframe-mode", "dataframe-aggregate"],
)
def test_explain_cost_over_governed_data_is_refused(bob: Any, explain: Any) -> None:
    with pytest.raises(UnenforcedPathError, match=r"(?i)explain"):
        explain(bob)


def test_explain_cost_is_refused_over_an_owners_cache_and_plain_explain_works(bob: Any, alice: Any) -> None:
    alice.sql(f"CACHE TABLE {MEDICAL}")
    try:
        with pytest.raises(UnenforcedPathError):
            bob.sql(f"EXPLAIN COST SELECT count(*) FROM {MEDICAL}").collect()
        text = bob.sql(f"EXPLAIN EXTENDED SELECT * FROM {MEDICAL}").first()[0]
        assert "Statistics(" not in text and "rowCount" not in text
    finally:
        alice.sql(f"UNCACHE TABLE {MEDICAL}")
    assert "Statistics(" in alice.sql(f"EXPLAIN COST SELECT * FROM {MEDICAL}").first()[0]  # the owner's own
    assert "Statistics(" in bob.sql("EXPLAIN COST SELECT * FROM range(3)").first()[0]


# --- files beneath the data roots only -----------------------------------------------------------


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A directory outside every data root, holding a file of data."""
    with tempfile.TemporaryDirectory(dir="/tmp" if Path("/tmp").is_dir() else None) as d:
        path = Path(d)
        (path / "secret.csv").write_text("name,value\nroot-password,hunter2\n")
        yield path


@pytest.mark.parametrize(
    "read",
    [
        lambda s, p: s.read.text(str(p / "secret.csv")),
        lambda s, p: s.read.csv(str(p), header=True),
        lambda s, p: s.read.format("binaryFile").load(str(p)),
        lambda s, p: s.read.text("/etc/hostname"),
        lambda s, p: s.read.text("file:///etc/hostname"),
        lambda s, p: s.sql(f"SELECT * FROM text.`{p}/secret.csv`"),
        lambda s, p: s.sql(f"SELECT * FROM csv.`{p}`"),
        lambda s, p: s.sql(ei(f"SELECT * FROM text.`{p}/secret.csv`")),
    ],
    ids=["text", "csv-dir", "binary-file", "etc", "etc-uri", "sql-text", "sql-csv", "execute-immediate"],
)
def test_files_outside_the_data_roots_are_not_readable(bob: Any, outside: Path, read: Any) -> None:
    with pytest.raises(UnenforcedPathError, match="data roots") as info:
        rows = collect(read(bob, outside))
        assert_no_raw(rows, ["hunter2", "root-password"])
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE default.side_ext (value STRING) USING text LOCATION '{p}'",
        "INSERT OVERWRITE DIRECTORY '{p}/out' USING parquet SELECT 1 AS a",
        "CREATE TABLE default.side_ctas USING parquet LOCATION '{p}/ctas' AS SELECT 1 AS a",
    ],
    ids=["external-table", "insert-directory", "ctas-location"],
)
def test_tables_and_writes_outside_the_data_roots_are_refused(bob: Any, outside: Path, statement: str) -> None:
    for text in (statement.format(p=outside), ei(statement.format(p=outside))):
        with pytest.raises(UnenforcedPathError, match="data roots"):
            bob.sql(text).collect()
    assert not (outside / "out").exists() and not (outside / "ctas").exists()
    assert not bob.catalog.tableExists("default.side_ext")


def test_dataframe_writes_outside_the_data_roots_are_refused(bob: Any, outside: Path) -> None:
    for write in (
        lambda: bob.range(2).write.parquet(str(outside / "df")),
        lambda: bob.range(2).write.format("csv").save(str(outside / "df")),
        lambda: bob.range(2).write.option("path", str(outside / "df")).saveAsTable("default.side_df"),
    ):
        with pytest.raises(UnenforcedPathError, match="data roots"):
            write()
    assert not (outside / "df").exists()


def test_a_configured_data_root_is_readable_and_the_catalog_inside_it_is_not(
    sample_spark: Any, example_catalog: Any, outside: Path
) -> None:
    from immuta_spark.spark.limits import DATA_ROOTS_KEY

    previous = sample_spark.conf.get(DATA_ROOTS_KEY, None)
    sample_spark.conf.set(DATA_ROOTS_KEY, str(outside))
    try:
        session = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user="bob")
    finally:
        if previous is None:
            sample_spark.conf.unset(DATA_ROOTS_KEY)
        else:
            sample_spark.conf.set(DATA_ROOTS_KEY, previous)
    rows = session.read.csv(str(outside / "secret.csv"), header=True).collect()
    assert [tuple(r) for r in rows] == [("root-password", "hunter2")]
    catalog_file = example_catalog.store.url.removeprefix("sqlite:///")
    with pytest.raises(UnenforcedPathError, match="governance catalog"):
        session.read.format("binaryFile").load(catalog_file).collect()
    with pytest.raises(UnenforcedPathError):
        session.conf.set(DATA_ROOTS_KEY, "/")


def test_load_data_cannot_move_the_catalog_or_outside_files_into_a_table(
    alice: Any, example_catalog: Any, outside: Path
) -> None:
    alice.sql("CREATE TABLE IF NOT EXISTS default.side_load (line STRING) STORED AS TEXTFILE")
    try:
        catalog_file = example_catalog.store.url.removeprefix("sqlite:///")
        for path in (catalog_file, str(outside / "secret.csv")):
            with pytest.raises(UnenforcedPathError):
                alice.sql(f"LOAD DATA LOCAL INPATH '{path}' INTO TABLE default.side_load")
        assert alice.sql("SELECT count(*) FROM default.side_load").first()[0] == 0
        assert Path(catalog_file).exists() and (outside / "secret.csv").exists()
    finally:
        alice.sql("DROP TABLE IF EXISTS default.side_load")


# --- JDBC -----------------------------------------------------------------------------------------


def _metastore_dir(spark: Any) -> str:
    url = spark.sparkContext.getConf().get("spark.hadoop.javax.jdo.option.ConnectionURL")
    return url.split("databaseName=", 1)[1].split(";", 1)[0]


@pytest.fixture(scope="module")
def derby_reader(sample_spark: Any, example_catalog: Any) -> Any:
    """bob, in a session whose administrator opened every Derby database to JDBC."""
    from immuta_spark.spark.limits import JDBC_ROOTS_KEY

    sample_spark.conf.set(JDBC_ROOTS_KEY, "jdbc:derby:memory:side_,jdbc:derby:")
    try:
        return ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user="bob")
    finally:
        sample_spark.conf.unset(JDBC_ROOTS_KEY)


@pytest.mark.parametrize(
    "url",
    [
        lambda m: f"jdbc:derby:;databaseName={m}",
        lambda m: f"jdbc:derby:{m}",
        lambda m: f"jdbc:derby:directory:{m}",
        lambda m: f"jdbc:derby:{m};create=false",
    ],
    ids=["as-spark-has-it", "short", "subprotocol", "with-attributes"],
)
def test_the_metastore_database_is_never_reachable_by_jdbc(
    bob: Any, derby_reader: Any, sample_spark: Any, url: Any
) -> None:
    target = url(_metastore_dir(sample_spark))
    for session in (bob, derby_reader):  # no JDBC root; a root that covers every Derby database
        for read in (
            lambda s=session: s.read.format("jdbc").option("url", target).option("dbtable", "TAB_COL_STATS").load(),
            lambda s=session: s.read.jdbc(target, "TBLS"),
            lambda s=session: s.read.format("jdbc").options(url=target, query="SELECT * FROM TBLS").load(),
        ):
            with pytest.raises(UnenforcedPathError, match="JDBC"):
                collect(read())


def test_a_jdbc_root_opens_databases_beneath_it_only(bob: Any, derby_reader: Any) -> None:
    url = "jdbc:derby:memory:side_db;create=true"
    derby_reader.range(3).write.jdbc(url, "NUMBERS", mode="overwrite")
    assert sorted(r[0] for r in derby_reader.read.jdbc(url, "NUMBERS").collect()) == [0, 1, 2]
    with pytest.raises(UnenforcedPathError, match="JDBC"):
        bob.read.jdbc(url, "NUMBERS").collect()
    with pytest.raises(UnenforcedPathError, match="JDBC"):
        bob.range(1).write.jdbc("jdbc:derby:memory:side_other;create=true", "T")
