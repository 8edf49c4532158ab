"""However a governed table is named, it is the same table, and it is enforced."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.errors import AnalysisException

from immuta_spark.spark import UnenforcedPathError
from tests.security.conftest import BOB_ROWS, MEDICAL_SCHEMA, assert_no_raw, collect


@pytest.fixture(scope="module")
def expected(sample_spark: Any) -> Any:
    return sample_spark.createDataFrame(BOB_ROWS, MEDICAL_SCHEMA)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM claims.medical",
        "SELECT m.* FROM claims.medical m",
        "SELECT m.* FROM claims.medical AS m",
        "SELECT medical.* FROM claims.medical",
        "SELECT * FROM `claims`.`medical`",
        "SELECT * FROM `claims`.medical AS `m``x`",
        "SELECT * FROM spark_catalog.claims.medical",
        "SELECT * FROM `spark_catalog`.`claims`.`medical`",
        "SELECT * FROM CLAIMS.Medical",
        "SELECT * FROM Spark_Catalog.CLAIMS.MEDICAL",
        "SELECT * FROM IDENTIFIER('claims.medical')",
        "SELECT * FROM claims.medical TABLESAMPLE (100 PERCENT)",
        "SELECT * FROM claims.medical TABLESAMPLE (100 PERCENT) s",
        "TABLE claims.medical",
        "select *\n  from\n\tclaims . medical -- a comment naming claims.medical\n",
        "SELECT * FROM /* claims.medical */ claims.medical",
    ],
)
def test_bob_sees_only_enforced_rows_however_the_table_is_named(bob: Any, expected: Any, query: str) -> None:
    assert_df_equality(bob.sql(query), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


@pytest.mark.parametrize(
    "name", ["claims.medical", "`claims`.`medical`", "CLAIMS.Medical", "spark_catalog.claims.medical"]
)
def test_session_table_enforces_every_spelling(bob: Any, expected: Any, name: str) -> None:
    assert_df_equality(bob.table(name), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_an_unqualified_name_in_the_current_database_is_enforced(bob: Any, expected: Any) -> None:
    bob.sql("USE claims")
    try:
        assert_df_equality(
            bob.sql("SELECT * FROM medical"),
            expected,
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_metadata=True,
        )
        assert_df_equality(
            bob.table("medical"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
        )
    finally:
        bob.sql("USE default")


def test_a_dotted_name_in_one_pair_of_backquotes_is_a_different_missing_table(bob: Any) -> None:
    # `claims.medical` is one identifier: Spark looks for a table named "claims.medical" and finds none.
    with pytest.raises(AnalysisException) as info:
        bob.sql("SELECT * FROM `claims.medical`").collect()
    assert info.value.getCondition() == "TABLE_OR_VIEW_NOT_FOUND"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM claims.medical VERSION AS OF 1",
        "SELECT * FROM claims.medical TIMESTAMP AS OF '2026-01-01'",
        "SELECT * FROM claims.medical WITH ('mergeSchema' = 'true')",
    ],
)
def test_forms_that_cannot_be_enforced_are_refused(bob: Any, query: str) -> None:
    with pytest.raises(UnenforcedPathError, match="cannot enforce"):
        bob.sql(query)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM __immuta_x_v0",
        "SELECT * FROM `__IMMUTA_abc`",
        "DROP VIEW IF EXISTS __immuta_anything",
        "CREATE TEMP VIEW __immuta_mine AS SELECT 1",
    ],
)
def test_the_session_reserved_names_cannot_be_used(bob: Any, query: str) -> None:
    with pytest.raises(UnenforcedPathError, match="reserved"):
        bob.sql(query)


def test_bob_cannot_drop_the_enforced_views_of_his_session(bob: Any) -> None:
    bob.table("claims.medical")
    with pytest.raises(UnenforcedPathError, match="reserved"):
        bob.catalog.dropTempView("__immuta_anything")


def test_a_name_given_through_format_fields_is_checked_after_it_is_filled_in(bob: Any, expected: Any) -> None:
    # pyspark fills {t} before Spark parses: a DataFrame becomes a view, a string a literal.
    df = bob.sql("SELECT * FROM {t}", t=bob.table("claims.medical"))
    assert_df_equality(df, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)
    # A field inside a comment can end the comment; the filled-in text is what gets enforced.
    injected = bob.sql("SELECT 1 AS x -- {t}\n", t="\nUNION ALL SELECT ssn FROM claims.medical --")
    rows = collect(injected)
    assert len(rows) == 3 and [r for r in rows if r[0] is not None] == [(1,)]
    assert_no_raw(rows)


def test_an_alias_or_cte_named_with_the_session_marker_cannot_pass_for_enforced_data(
    bob: Any, sample_spark: Any
) -> None:
    # Internal names (the secrets' columns) start with the marker; using it must not help.
    marker = re.search(r"__immuta_[0-9a-f]+_\d+_", "__immuta_0123456789ab_1_vs0")
    assert marker is not None
    for query in (
        f"SELECT ssn FROM claims.medical AS `{marker.group(0)}0`",
        f"WITH `{marker.group(0)}1` AS (SELECT * FROM claims.medical) SELECT ssn FROM `{marker.group(0)}1`",
        f"SELECT ssn FROM (SELECT * FROM claims.medical) `{marker.group(0).upper()}2`",
    ):
        with pytest.raises(UnenforcedPathError, match="reserved"):
            collect(bob.sql(query))


def test_the_error_log_of_an_invisible_table_names_the_table_as_for_a_missing_one(as_user: Any) -> None:
    import logging

    from pyspark.logger import PySparkLogger

    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        with pytest.raises(AnalysisException):
            as_user("dave").sql("SELECT * FROM claims.medical")
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert messages, "pyspark logs a not-found error; an invisible table must log one too"
    assert "`claims`.`medical` cannot be found" in messages[-1]
    assert not any("__immuta" in m for m in messages)
