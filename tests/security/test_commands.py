"""Writes and commands on governed tables, settings, caching and scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.errors import AnalysisException

from immuta_spark.spark import GovernedAccessDenied, UnenforcedPathError
from tests.security.conftest import BOB_ROWS, MEDICAL, assert_no_raw, collect


@pytest.fixture
def untouched(sample_spark: Any) -> Iterator[None]:
    """claims.medical must come out of the test exactly as it went in."""

    def state() -> list[Any]:
        return [
            *sample_spark.sql(f"SELECT count(*), sum(hash(*)) FROM {MEDICAL}").collect()[0],
            sample_spark.table(MEDICAL).columns,
        ]

    before = state()
    yield
    assert state() == before


@pytest.mark.parametrize(
    ("statement", "verb"),
    [
        ("INSERT INTO claims.medical SELECT * FROM claims.medical", "INSERT"),
        ("INSERT INTO TABLE CLAIMS.Medical VALUES (9, 'x', 'x', 'Ohio', 'x', 1.0, NULL, 'F')", "INSERT"),
        ("INSERT OVERWRITE TABLE claims.medical SELECT * FROM claims.medical WHERE false", "INSERT"),
        ("INSERT INTO spark_catalog.claims.medical REPLACE WHERE true SELECT * FROM claims.medical", "INSERT"),
        ("ALTER TABLE claims.medical SET TBLPROPERTIES ('note' = 'bob was here')", "SetTableProperties"),
        ("ALTER TABLE claims.medical ADD COLUMNS (extra string)", "ALTER"),
        ("ALTER TABLE claims.medical RENAME TO claims.medical_renamed", "ALTER"),
        ("ALTER TABLE claims.medical SET LOCATION '/tmp/elsewhere'", "SetTableLocation"),
        ("DROP TABLE claims.medical", "DROP"),
        ("DROP TABLE IF EXISTS `claims`.`medical`", "DROP"),
        ("TRUNCATE TABLE claims.medical", "TRUNCATE"),
        ("DELETE FROM claims.medical WHERE true", "DELETE"),
        ("UPDATE claims.medical SET ssn = NULL", "UPDATE"),
        (
            "MERGE INTO claims.medical t USING claims.medical s ON t.claim_id = s.claim_id WHEN MATCHED THEN DELETE",
            "MERGE",
        ),
        ("CACHE TABLE claims.medical", "CACHE"),
        ("CACHE LAZY TABLE claims.medical", "CACHE"),
        ("UNCACHE TABLE claims.medical", "UNCACHE"),
        ("ANALYZE TABLE claims.medical COMPUTE STATISTICS FOR ALL COLUMNS", "AnalyzeColumn"),
        ("LOAD DATA LOCAL INPATH '/etc/hostname' INTO TABLE claims.medical", "LOAD DATA"),
        ("REFRESH TABLE claims.medical", "RefreshTable"),
        ("CREATE TABLE default.medical_shape LIKE claims.medical", "CreateTableLike"),
        ("SHOW CREATE TABLE claims.medical", "ShowCreateTable"),
        ("SHOW TBLPROPERTIES claims.medical", "ShowTableProperties"),
    ],
)
def test_bob_may_not_change_or_inspect_a_governed_table_he_does_not_own(
    bob: Any, untouched: None, statement: str, verb: str
) -> None:
    with pytest.raises(GovernedAccessDenied, match="reserved to the source's owners") as info:
        bob.sql(statement)
    assert verb in str(info.value) and "Medical Claims" in str(info.value)


def test_the_catalog_api_caches_only_for_owners(bob: Any, untouched: None) -> None:
    with pytest.raises(GovernedAccessDenied):
        bob.catalog.cacheTable("claims.medical")
    with pytest.raises(GovernedAccessDenied):
        bob.catalog.uncacheTable("claims.medical")


def test_a_table_cached_by_the_owner_is_still_enforced_for_another_user(
    alice: Any, bob: Any, sample_spark: Any
) -> None:
    cache = sample_spark._jsparkSession.sharedState().cacheManager()  # one per SparkContext
    alice.sql("CACHE TABLE claims.medical")
    try:
        assert not cache.isEmpty()
        rows = collect(bob.sql("SELECT * FROM claims.medical"))
        assert sorted(rows) == sorted(BOB_ROWS)
        assert_no_raw(rows)
    finally:
        alice.sql("UNCACHE TABLE claims.medical")
    assert cache.isEmpty()


def test_a_relation_the_owner_caches_under_a_name_does_not_exist_for_another_user(alice: Any, bob: Any) -> None:
    alice.sql("CACHE TABLE alice_cached AS SELECT * FROM claims.medical")
    try:
        with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
            collect(bob.sql("SELECT ssn FROM alice_cached"))
    finally:
        alice.sql("UNCACHE TABLE IF EXISTS alice_cached")
        alice.catalog.dropTempView("alice_cached")


def test_bob_can_cache_his_enforced_rows_and_nobody_else_can_read_them(bob: Any, dave: Any) -> None:
    bob.sql("CACHE TABLE bob_cached AS SELECT * FROM claims.medical")
    try:
        assert sorted(collect(bob.sql("SELECT * FROM bob_cached"))) == sorted(BOB_ROWS)
        with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
            collect(dave.sql("SELECT * FROM bob_cached"))
    finally:
        bob.sql("UNCACHE TABLE IF EXISTS bob_cached")
        bob.catalog.dropTempView("bob_cached")


def test_the_owner_may_alter_her_own_table(alice: Any, sample_spark: Any) -> None:
    alice.sql("ALTER TABLE claims.medical SET TBLPROPERTIES ('reviewed' = 'yes')")
    try:
        props = {r.key: r.value for r in sample_spark.sql("SHOW TBLPROPERTIES claims.medical").collect()}
        assert props.get("reviewed") == "yes"
    finally:
        sample_spark.sql("ALTER TABLE claims.medical UNSET TBLPROPERTIES IF EXISTS ('reviewed')")


@pytest.mark.parametrize(
    "statement",
    [
        "SET spark.sql.optimizer.excludedRules=org.apache.spark.sql.catalyst.optimizer.ColumnPruning",
        "SET spark.sql.optimizer.excludedRules = ''",
        "SET spark.sql.caseSensitive=true",
        "SET spark.sql.legacy.ctePrecedencePolicy=LEGACY",
        "SET spark.sql.sources.default=text",
        "RESET spark.sql.optimizer.excludedRules",
        "RESET",
    ],
)
def test_settings_that_could_switch_enforcement_off_cannot_be_changed(
    bob: Any, sample_spark: Any, statement: str
) -> None:
    before = sample_spark.conf.get("spark.sql.optimizer.excludedRules", "")
    with pytest.raises(UnenforcedPathError, match="may not"):
        bob.sql(statement)
    assert sample_spark.conf.get("spark.sql.optimizer.excludedRules", "") == before


def test_the_conf_api_refuses_the_same_settings(bob: Any) -> None:
    with pytest.raises(UnenforcedPathError):
        bob.conf.set("spark.sql.optimizer.excludedRules", "org.apache.spark.sql.catalyst.optimizer.ColumnPruning")
    with pytest.raises(UnenforcedPathError):
        bob.conf.unset("spark.sql.optimizer.excludedRules")


def test_harmless_settings_can_be_changed_and_read(bob: Any, sample_spark: Any) -> None:
    before = sample_spark.conf.get("spark.sql.shuffle.partitions")
    try:
        bob.sql("SET spark.sql.shuffle.partitions=3")
        assert collect(bob.sql("SET spark.sql.shuffle.partitions")) == [("spark.sql.shuffle.partitions", "3")]
        bob.sql("RESET spark.sql.shuffle.partitions")
        assert collect(bob.sql("SET spark.sql.optimizer.excludedRules"))[0][0] == "spark.sql.optimizer.excludedRules"
    finally:
        sample_spark.conf.set("spark.sql.shuffle.partitions", before)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT TRANSFORM(ssn) USING 'cat' AS (s) FROM claims.medical",
        "SELECT TRANSFORM(*) USING 'cat' FROM (SELECT 1)",
        "SELECT * FROM (SELECT TRANSFORM(ssn, state) USING '/bin/cat' AS (a, b) FROM claims.medical) t",
        "WITH x AS (SELECT TRANSFORM(ssn) USING 'cat' AS (s) FROM claims.medical) SELECT * FROM x",
    ],
)
def test_transform_using_a_script_is_refused(bob: Any, statement: str) -> None:
    with pytest.raises(UnenforcedPathError, match="TRANSFORM"):
        bob.sql(statement)


def test_writing_governed_rows_to_a_directory_is_refused_and_writes_nothing(bob: Any, tmp_path: Any) -> None:
    from immuta_spark.spark import EnforcementError

    out = tmp_path / "bob_out"
    # A directory cannot be registered as a derived source: its readers would see bob's rows unmasked.
    with pytest.raises(EnforcementError, match="cannot be registered as a derived data source"):
        bob.sql(f"INSERT OVERWRITE DIRECTORY '{out}' USING json SELECT * FROM claims.medical")
    assert not out.exists()


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ("BEGIN SELECT ssn FROM claims.medical; END", "SQL scripts"),
        ("BEGIN DECLARE x STRING; SET x = (SELECT max(ssn) FROM claims.medical); SELECT x; END", "SQL scripts"),
        ("ADD JAR '/tmp/nothing-here.jar'", "ADD JAR"),
        ("ADD FILE '/etc/hostname'", "ADD FILE"),
        ("CREATE TEMPORARY FUNCTION r AS 'org.apache.hadoop.hive.ql.udf.generic.GenericUDFReflect'", "JVM classes"),
        ("CREATE FUNCTION default.r AS 'org.apache.hadoop.hive.ql.udf.generic.GenericUDFReflect'", "JVM classes"),
        ("SELECT reflect('java.lang.System', 'getenv', 'HOME')", "reflect"),
        ("SELECT `java_method`('java.lang.System', 'getenv', 'HOME') FROM claims.medical", "java_method"),
        ("SELECT * FROM claims.medical WHERE try_reflect('java.lang.System', 'exit', 0) IS NULL", "try_reflect"),
    ],
)
def test_statements_that_run_unchecked_code_are_refused(bob: Any, statement: str, why: str) -> None:
    with pytest.raises(UnenforcedPathError, match=why):
        bob.sql(statement)


def test_execute_immediate_cannot_smuggle_a_raw_read(bob: Any) -> None:
    bob.sql("DECLARE OR REPLACE VARIABLE bob_stmt STRING DEFAULT 'SELECT ssn FROM claims.medical'")
    for statement in ("EXECUTE IMMEDIATE 'SELECT ssn FROM claims.medical'", "EXECUTE IMMEDIATE bob_stmt"):
        assert collect(bob.sql(statement)) == [(None,), (None,)]  # enforced: bob's two rows, ssn nulled


def test_sql_functions_are_checked_where_they_are_used(bob: Any) -> None:
    bob.sql("CREATE OR REPLACE TEMPORARY FUNCTION bob_plus1(x INT) RETURNS INT RETURN x + 1")
    assert collect(bob.sql("SELECT bob_plus1(claim_id) FROM claims.medical ORDER BY 1")) == [(2,), (5,)]
    bob.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION bob_steal() RETURNS STRING RETURN (SELECT max(ssn) FROM claims.medical)"
    )
    bob.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION bob_rows() RETURNS TABLE(ssn STRING) "
        "RETURN SELECT ssn FROM claims.medical"
    )
    assert collect(bob.sql("SELECT bob_steal()")) == [(None,)]  # the body's read is enforced
    assert collect(bob.sql("SELECT * FROM bob_rows()")) == [(None,), (None,)]


def test_java_udf_classes_cannot_be_registered_through_the_udf_api(bob: Any) -> None:
    with pytest.raises(UnenforcedPathError, match="Java UDF"):
        bob.udf.registerJavaFunction("r", "org.apache.hadoop.hive.ql.udf.generic.GenericUDFReflect")
    with pytest.raises(UnenforcedPathError, match="Java UDAF"):
        bob.udf.registerJavaUDAF("r", "org.example.Agg")
