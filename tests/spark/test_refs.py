"""The JVM helper's parse description finds exactly what the py4j scan and walk find, statement by statement."""

from __future__ import annotations

from typing import Any

import pytest

from immuta_spark.spark.jvm import inspector
from immuta_spark.spark.refs import Parsed, parse_statement

STATEMENTS = [
    "SELECT * FROM claims.medical",
    "SELECT m.ssn FROM claims.medical m JOIN claims.patients AS p ON m.patient_id = p.patient_id",
    "SELECT * FROM `claims`.`medical` TABLESAMPLE (50 PERCENT) s",
    "SELECT * FROM spark_catalog.claims.medical",
    "WITH medical AS (SELECT 1 AS x) SELECT * FROM medical, claims.medical",
    "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM claims.medical) SELECT * FROM a, b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "WITH r AS (SELECT * FROM r) SELECT * FROM r",
    "SELECT (SELECT max(amount) FROM claims.medical) AS m, * FROM claims.patients",
    "SELECT * FROM claims.patients WHERE EXISTS (SELECT 1 FROM claims.medical WHERE amount > 1)",
    "SELECT * FROM claims.patients p, LATERAL (SELECT * FROM claims.medical m WHERE m.patient_id = p.patient_id)",
    "SELECT ssn FROM claims.medical UNION SELECT ssn FROM claims.medical EXCEPT SELECT 'x'",
    "SELECT * FROM claims.medical WITH ('k' = 'v')",
    "INSERT INTO claims.medical SELECT * FROM claims.medical",
    "INSERT OVERWRITE TABLE t1 SELECT * FROM claims.medical",
    "DESCRIBE TABLE claims.medical",
    "DROP TABLE claims.medical",
    "ALTER TABLE claims.medical SET TBLPROPERTIES ('a' = 'b')",
    "EXPLAIN EXTENDED SELECT * FROM claims.medical",
    "DESCRIBE QUERY SELECT * FROM claims.medical",
    "CACHE TABLE c AS SELECT * FROM claims.medical",
    "CREATE TEMPORARY VIEW v AS SELECT * FROM claims.medical",
    "CREATE TABLE t2 AS WITH x AS (SELECT * FROM claims.medical) SELECT * FROM x",
    "SELECT * FROM parquet.`/tmp/some/where`",
    "SELECT * FROM `we``ird`.`na\nme` JOIN `a\x01b`.`c\x02d` ON true JOIN `back\\slash`.`x` ON true",
    "SELECT * FROM `line\u2028sep`.`t\x1cx` t",
    "SELECT * FROM\n  claims.medical\n  WHERE ssn IN (SELECT ssn FROM claims.medical)",
    "SELECT count(*) FROM (SELECT * FROM (SELECT * FROM claims.medical) a) b",
    "MERGE INTO claims.medical t USING claims.patients s ON t.patient_id = s.patient_id WHEN MATCHED THEN DELETE",
    "SELECT * FROM VALUES (1), (2) AS v(x)",
    "SHOW TABLES IN claims",
    "SELECT reflect('java.lang.System', 'exit', 0), db.fn(1), `Java_Method`('a', 'b')",
    "SELECT * FROM claims.medical AS __IMMUTA_x",
    "WITH __immuta_cte AS (SELECT 1) SELECT * FROM __immuta_cte",
    "SELECT 'a string with __Immuta_ inside'",
    "SELECT CAST(NULL AS STRUCT<__immuta_f: INT>)",
    "CREATE TABLE t3 (x INT) USING parquet LOCATION '/tmp/there'",
    "ALTER TABLE claims.medical SET LOCATION '/tmp/elsewhere'",
    "LOAD DATA LOCAL INPATH '/tmp/file' INTO TABLE claims.medical",
    "INSERT OVERWRITE DIRECTORY '/tmp/out' USING parquet SELECT * FROM claims.medical",
    "CACHE LAZY TABLE claims.medical",
    "UNCACHE TABLE IF EXISTS claims.medical",
    "EXECUTE IMMEDIATE 'SELECT * FROM claims.medical'",
    "SELECT * FROM IDENTIFIER('claims.medical')",
    "SELECT TRANSFORM(ssn) USING 'cat' FROM claims.medical",
    "SET spark.sql.ansi.enabled = true",
    "SELECT * FROM claims.medical VERSION AS OF 1",
    "FROM claims.medical |> WHERE amount > 1 |> SELECT ssn",
    "SELECT * FROM claims.medical m WHERE m.x IN (SELECT y FROM claims.patients WHERE EXISTS (SELECT 1))",
    "DESCRIBE TABLE EXTENDED claims.medical ssn",
    "SHOW COLUMNS IN claims.medical",
]


def _walked(parsed: Parsed) -> tuple[Any, ...]:
    return (
        parsed.root,
        parsed.references,
        parsed.spans,
        parsed.cte_references,
        parsed.identifiers,
        parsed.classes,
        parsed.locations,
        parsed.uses_reserved,
        parsed.functions,
    )


@pytest.mark.parametrize("sql", STATEMENTS)
def test_the_jvm_walk_and_the_py4j_walk_agree(spark: Any, sql: str) -> None:
    helper = inspector(spark)
    assert helper is not None, "the JVM helper could not be built: is javac (a JDK) installed?"
    jsession = spark._jsparkSession
    by_jvm = parse_statement(jsession, sql, reserved="__immuta_", inspector=helper)
    by_py4j = parse_statement(jsession, sql, reserved="__immuta_")
    assert _walked(by_jvm) == _walked(by_py4j)


def test_the_jvm_scan_sees_what_the_statement_names(spark: Any) -> None:
    """The comparison above would pass if both found nothing: check the scan finds the names."""
    parsed = parse_statement(spark._jsparkSession, STATEMENTS[31], reserved="__immuta_", inspector=inspector(spark))
    assert {"reflect", "fn", "java_method"} <= parsed.functions
    for sql in STATEMENTS[32:36]:
        parsed = parse_statement(spark._jsparkSession, sql, reserved="__immuta_", inspector=inspector(spark))
        assert parsed.uses_reserved, sql
    assert not parse_statement(spark._jsparkSession, STATEMENTS[0], reserved="__immuta_").uses_reserved
    located = parse_statement(spark._jsparkSession, STATEMENTS[36], inspector=inspector(spark))
    assert any("/tmp/there" in p for p in located.locations)
    cached = parse_statement(spark._jsparkSession, STATEMENTS[40], inspector=inspector(spark))
    assert ("CacheTable", ("claims", "medical")) in cached.identifiers


def test_names_holding_separators_and_newlines_come_back_whole(spark: Any) -> None:
    parsed = parse_statement(spark._jsparkSession, STATEMENTS[24], inspector=inspector(spark))
    assert [r.parts for r in parsed.references] == [("we`ird", "na\nme"), ("a\x01b", "c\x02d"), ("back\\slash", "x")]
