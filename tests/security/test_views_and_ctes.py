"""CTEs, temporary, global and permanent views, subqueries: every route to the table is enforced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.errors import AnalysisException

from immuta_spark.spark import UnenforcedPathError
from tests.security.conftest import BOB_ROWS, MEDICAL_SCHEMA, assert_no_raw, collect


@pytest.fixture(scope="module")
def expected(sample_spark: Any) -> Any:
    return sample_spark.createDataFrame(BOB_ROWS, MEDICAL_SCHEMA)


@pytest.fixture(scope="module")
def raw_views(sample_spark: Any) -> Iterator[None]:
    """Views over the raw table, made on the raw session as an owner or admin would."""
    sample_spark.sql("CREATE OR REPLACE VIEW claims.medical_everything AS SELECT * FROM claims.medical")
    sample_spark.sql("CREATE OR REPLACE TEMP VIEW raw_medical AS SELECT * FROM claims.medical")
    sample_spark.sql("CREATE OR REPLACE GLOBAL TEMP VIEW raw_medical_g AS SELECT * FROM claims.medical")
    try:
        yield
    finally:
        sample_spark.sql("DROP VIEW IF EXISTS claims.medical_everything")
        sample_spark.catalog.dropTempView("raw_medical")
        sample_spark.catalog.dropGlobalTempView("raw_medical_g")


@pytest.mark.parametrize(
    "query",
    [
        "WITH medical AS (SELECT * FROM claims.medical) SELECT * FROM medical",
        "WITH m AS (SELECT * FROM claims.medical), n AS (SELECT * FROM m) SELECT * FROM n",
        "WITH claims AS (SELECT 1 AS x) SELECT * FROM claims.medical",
        "SELECT * FROM (SELECT * FROM claims.medical) t",
        "SELECT * FROM claims.medical WHERE claim_id IN (SELECT claim_id FROM claims.medical)",
        "SELECT * FROM claims.medical m WHERE EXISTS (SELECT 1 FROM claims.medical x WHERE x.ssn <=> m.ssn)",
        "SELECT m.* FROM range(1) r, LATERAL (SELECT * FROM claims.medical) m",
        "SELECT * FROM claims.medical WHERE (SELECT count(*) FROM claims.medical) = 2",
    ],
)
def test_ctes_and_subqueries_see_only_enforced_rows(bob: Any, expected: Any, query: str) -> None:
    assert_df_equality(bob.sql(query), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_a_scalar_subquery_cannot_pull_a_raw_value_out(bob: Any) -> None:
    rows = collect(
        bob.sql("SELECT (SELECT max(ssn) FROM claims.medical) AS s, (SELECT max(amount) FROM claims.medical) AS a")
    )
    assert rows == [(None, 1200.0)]


def test_a_cte_named_like_the_table_whose_body_reads_the_table(bob: Any, expected: Any) -> None:
    # Inside its own body, a (non-recursive) CTE's name means the table: Spark reads claims.medical.
    bob.sql("USE claims")
    try:
        df = bob.sql("WITH medical AS (SELECT * FROM medical) SELECT * FROM medical")
        assert_df_equality(df, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)
    finally:
        bob.sql("USE default")


def test_a_later_cte_name_does_not_hide_the_table_an_earlier_body_reads(bob: Any, sample_spark: Any) -> None:
    sample_spark.sql("CREATE OR REPLACE TEMP VIEW later_cte_probe AS SELECT 1 AS x")
    try:
        bob.sql("USE claims")
        df = bob.sql(
            "WITH a AS (SELECT ssn, state FROM medical), medical AS (SELECT 'x' AS ssn, 'y' AS state) SELECT * FROM a"
        )
        assert sorted(collect(df)) == [(None, "Ohio"), (None, "Ohio")]
    finally:
        bob.sql("USE default")
        sample_spark.catalog.dropTempView("later_cte_probe")


def test_a_temp_view_named_like_the_table_is_the_view_not_the_table(bob: Any) -> None:
    bob.sql("CREATE OR REPLACE TEMP VIEW medical AS SELECT 'decoy' AS ssn")
    try:
        bob.sql("USE claims")
        assert collect(bob.sql("SELECT ssn FROM medical")) == [("decoy",)]
        assert len(collect(bob.sql("SELECT ssn FROM claims.medical"))) == 2
    finally:
        bob.sql("USE default")
        bob.catalog.dropTempView("medical")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM claims.medical_everything",
        "SELECT * FROM global_temp.raw_medical_g",
        "SELECT * FROM claims.medical UNION SELECT * FROM claims.medical_everything",
        "SELECT * FROM claims.medical WHERE ssn <=> (SELECT max(ssn) FROM global_temp.raw_medical_g)",
        "WITH x AS (SELECT * FROM claims.medical_everything) SELECT * FROM x",
    ],
)
def test_views_over_the_raw_table_are_enforced_for_the_reader(
    bob: Any, raw_views: None, expected: Any, query: str
) -> None:
    # A view's body is analyzed for whoever reads it: the rule enforces the table inside it.
    assert_df_equality(bob.sql(query), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_the_raw_sessions_temp_views_do_not_exist_in_a_governed_session(bob: Any, raw_views: None) -> None:
    with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
        collect(bob.sql("SELECT * FROM raw_medical"))


def test_a_permanent_view_made_by_the_owner_is_enforced_for_another_user(
    alice: Any, bob: Any, sample_spark: Any
) -> None:
    alice.sql("CREATE OR REPLACE VIEW claims.alice_view AS SELECT ssn, state FROM claims.medical")
    try:
        assert sample_spark.table("claims.alice_view").count() == 6
        assert sorted(collect(bob.sql("SELECT * FROM claims.alice_view"))) == [(None, "Ohio"), (None, "Ohio")]
        assert sorted(collect(bob.table("claims.alice_view"))) == [(None, "Ohio"), (None, "Ohio")]
    finally:
        sample_spark.sql("DROP VIEW IF EXISTS claims.alice_view")


@pytest.mark.parametrize(
    ("statement", "made"),
    [
        ("CREATE TABLE default.stolen AS SELECT * FROM claims.medical_everything", "default.stolen"),
        ("CREATE TABLE default.stolen_g AS SELECT * FROM global_temp.raw_medical_g", "default.stolen_g"),
    ],
)
def test_commands_reading_raw_views_write_only_enforced_rows(
    bob: Any, sample_spark: Any, raw_views: None, statement: str, made: str
) -> None:
    try:
        bob.sql(statement)
        rows = collect(sample_spark.table(made))
        assert sorted(rows) == sorted(BOB_ROWS)
        assert_no_raw(rows)
    finally:
        sample_spark.sql(f"DROP TABLE IF EXISTS {made}")


def test_insert_select_from_a_raw_view_writes_only_enforced_rows(bob: Any, sample_spark: Any, raw_views: None) -> None:
    sample_spark.sql("CREATE TABLE IF NOT EXISTS default.bob_copy (ssn string, state string) USING parquet")
    try:
        for statement in (
            "INSERT INTO default.bob_copy SELECT ssn, state FROM claims.medical_everything",
            "INSERT OVERWRITE TABLE default.bob_copy SELECT ssn, state FROM global_temp.raw_medical_g",
        ):
            bob.sql(statement)
            assert sorted(collect(sample_spark.table("default.bob_copy"))) == [(None, "Ohio"), (None, "Ohio")]
    finally:
        sample_spark.sql("DROP TABLE IF EXISTS default.bob_copy")


def test_set_variable_from_a_raw_view_sets_only_an_enforced_value(bob: Any, raw_views: None) -> None:
    bob.sql("DECLARE OR REPLACE VARIABLE bob_probe STRING DEFAULT 'unset'")
    bob.sql("SET VAR bob_probe = (SELECT max(ssn) FROM claims.medical_everything)")
    assert collect(bob.sql("SELECT bob_probe")) == [(None,)]
    bob.sql("SET VAR bob_probe = (SELECT max(state) FROM global_temp.raw_medical_g)")
    assert collect(bob.sql("SELECT bob_probe")) == [("Ohio",)]


def test_bob_can_keep_his_own_enforced_copy_and_it_holds_only_enforced_values(bob: Any, sample_spark: Any) -> None:
    try:
        bob.sql("CREATE TABLE default.bob_own USING parquet AS SELECT * FROM claims.medical")
        rows = collect(sample_spark.table("default.bob_own"))
        assert sorted(rows) == sorted(BOB_ROWS)
        assert_no_raw(rows)
    finally:
        sample_spark.sql("DROP TABLE IF EXISTS default.bob_own")


def test_bob_temp_view_over_his_enforced_data_is_his_alone(bob: Any, dave: Any, session_for: Any) -> None:
    bob.sql("CREATE OR REPLACE TEMP VIEW bob_view AS SELECT * FROM claims.medical")
    try:
        assert len(collect(bob.sql("SELECT * FROM bob_view"))) == 2
        for other in (dave, session_for("carol")):
            with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
                collect(other.sql("SELECT * FROM bob_view"))
    finally:
        bob.catalog.dropTempView("bob_view")


def test_global_temp_views_cannot_be_made_in_a_governed_session(bob: Any, sample_spark: Any) -> None:
    # Global temporary views are shared by every session of the application.
    with pytest.raises(UnenforcedPathError, match="global temporary view"):
        bob.sql("CREATE OR REPLACE GLOBAL TEMP VIEW bob_global AS SELECT * FROM claims.medical")
    with pytest.raises(UnenforcedPathError, match="global temporary view"):
        bob.sql("EXECUTE IMMEDIATE 'CREATE GLOBAL TEMP VIEW bob_global2 AS SELECT 1 AS x'")
    with pytest.raises(UnenforcedPathError, match="global temporary view"):
        bob.table("claims.medical").createOrReplaceGlobalTempView("bob_global3")
    names = {t.name for t in sample_spark.catalog.listTables("global_temp")}
    assert not names & {"bob_global", "bob_global2", "bob_global3"}


def test_a_permanent_view_stores_the_query_and_each_reader_gets_their_own_enforcement(
    bob: Any, alice: Any, dave: Any, sample_spark: Any
) -> None:
    bob.sql("CREATE OR REPLACE VIEW default.bob_perm AS SELECT claim_id, ssn FROM claims.medical")
    try:
        assert sorted(collect(bob.sql("SELECT * FROM default.bob_perm"))) == [(1, None), (4, None)]
        assert len(collect(alice.sql("SELECT * FROM default.bob_perm"))) == 6
        with pytest.raises(AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
            collect(dave.sql("SELECT * FROM default.bob_perm"))
    finally:
        sample_spark.sql("DROP VIEW IF EXISTS default.bob_perm")


def test_a_view_made_under_old_policies_is_enforced_under_the_new_ones(
    governed: Any, sample_spark: Any, tmp_path: Any
) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "gov.revisions", [(1, "a"), (2, "b")], "id int, v string")
    text = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE, GOVERNANCE]}
  - {name: owner}
  - {name: ann}
sources:
  - name: Revisions
    table: gov.revisions
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: hide-v, type: masking, columns: {names: [v]}, mask: "null"%s}
"""
    build = governed(text % "")
    ann = build("ann")
    ann.sql("CREATE OR REPLACE TEMP VIEW ann_old AS SELECT * FROM gov.revisions")
    assert collect(ann.sql("SELECT v FROM ann_old")) == [(None,), (None,)]
    changed = tmp_path / "changed.yaml"
    changed.write_text("version: 1\n" + text % ", except: {users: [ann]}")
    build.catalog.apply(changed)
    assert sorted(collect(ann.sql("SELECT v FROM ann_old"))) == [("a",), ("b",)]
    assert sorted(collect(ann.sql("SELECT v FROM gov.revisions"))) == [("a",), ("b",)]
