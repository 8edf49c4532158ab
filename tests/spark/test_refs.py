"""The JVM helper's reference walk finds exactly what the py4j walk finds, statement by statement."""

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
]


def _walked(parsed: Parsed) -> tuple[Any, ...]:
    return (parsed.references, parsed.spans, parsed.cte_references)


@pytest.mark.parametrize("sql", STATEMENTS)
def test_the_jvm_walk_and_the_py4j_walk_agree(spark: Any, sql: str) -> None:
    helper = inspector(spark)
    assert helper is not None, "the JVM helper could not be built: is javac (a JDK) installed?"
    jsession = spark._jsparkSession
    by_jvm = parse_statement(jsession, sql, inspector=helper)
    by_py4j = parse_statement(jsession, sql)
    assert _walked(by_jvm) == _walked(by_py4j)


def test_names_holding_separators_and_newlines_come_back_whole(spark: Any) -> None:
    parsed = parse_statement(spark._jsparkSession, STATEMENTS[24], inspector=inspector(spark))
    assert [r.parts for r in parsed.references] == [("we`ird", "na\nme"), ("a\x01b", "c\x02d"), ("back\\slash", "x")]
