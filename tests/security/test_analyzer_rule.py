"""Enforcement in the analyzer: statements inside statements, and a session of one's own.

Written as an attacker would try them: every route the SQL reference offers to put a query or a
statement inside another (``EXECUTE IMMEDIATE``, SQL functions, views' bodies) reaches the
table through the analyzer, so the rule enforces it; and nothing one user makes in a governed
session (temporary views, checkpoints, functions, settings, the current database) is seen by
another user's session over the same SparkSession.
"""

from __future__ import annotations

from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.errors import AnalysisException

from immuta_spark.spark import ImmutaSparkSession
from tests.security.conftest import BOB_ROWS, MEDICAL_SCHEMA, assert_no_raw, collect


@pytest.fixture(scope="module")
def expected(sample_spark: Any) -> Any:
    return sample_spark.createDataFrame(BOB_ROWS, MEDICAL_SCHEMA)


@pytest.mark.parametrize(
    "query",
    [
        "EXECUTE IMMEDIATE 'SELECT * FROM claims.medical'",
        "EXECUTE IMMEDIATE 'SELECT * FROM ' || 'claims.medical'",
        "EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE ''SELECT * FROM claims.medical'''",
        "EXECUTE IMMEDIATE 'SELECT * FROM IDENTIFIER(:t)' USING 'claims.medical' AS t",
    ],
)
def test_execute_immediate_reads_only_enforced_rows(bob: Any, expected: Any, query: str) -> None:
    assert_df_equality(bob.sql(query), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_execute_immediate_of_a_statement_held_in_a_variable(bob: Any, expected: Any) -> None:
    bob.sql("DECLARE OR REPLACE VARIABLE stmt STRING DEFAULT 'SELECT * FROM claims.medical'")
    assert_df_equality(
        bob.sql("EXECUTE IMMEDIATE stmt"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


def test_execute_immediate_cannot_pull_a_raw_value_into_a_variable(bob: Any) -> None:
    bob.sql("DECLARE OR REPLACE VARIABLE v STRING")
    bob.sql("EXECUTE IMMEDIATE 'SELECT max(ssn) || max(address) FROM claims.medical' INTO v")
    rows = collect(bob.sql("SELECT v"))
    assert rows == [(None,)]


def test_a_sql_table_function_reads_only_enforced_rows(bob: Any, expected: Any) -> None:
    bob.sql("CREATE OR REPLACE TEMPORARY FUNCTION everything() RETURNS TABLE RETURN SELECT * FROM claims.medical")
    assert_df_equality(
        bob.sql("SELECT * FROM everything()"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_a_sql_scalar_function_cannot_return_a_raw_value(bob: Any) -> None:
    bob.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION top_ssn() RETURNS STRING RETURN (SELECT max(ssn) FROM claims.medical)"
    )
    bob.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION hidden_states() RETURNS BIGINT "
        "RETURN (SELECT count(*) FROM claims.medical WHERE state <> 'Ohio')"
    )
    assert collect(bob.sql("SELECT top_ssn(), hidden_states()")) == [(None, 0)]


def test_a_view_made_in_the_session_is_enforced_when_read(bob: Any, expected: Any) -> None:
    bob.sql("CREATE OR REPLACE TEMP VIEW mine AS SELECT * FROM claims.medical")
    assert_df_equality(
        bob.sql("SELECT * FROM mine"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )
    assert_df_equality(bob.table("mine"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_the_dataframe_api_of_the_users_own_spark_session_is_enforced(bob: Any, expected: Any) -> None:
    # The user's Spark session itself enforces: even pyspark's plain DataFrame API on it, with
    # no governed wrapper in between, sees only what bob may see.
    from pyspark.sql import SparkSession

    plain = SparkSession(bob._spark.sparkContext, jsparkSession=bob._spark._jsparkSession)
    assert_df_equality(
        plain.table("claims.medical"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )
    assert_no_raw(collect(plain.sql("SELECT * FROM claims.medical WHERE state <> 'Ohio'")))


# --- a session of one's own ---------------------------------------------------------------


@pytest.fixture
def pair(sample_spark: Any, example_catalog: Any) -> tuple[Any, Any]:
    """Fresh sessions for alice (sees everything) and bob over the one SparkSession."""
    alice = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user="alice")
    bob = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user="bob")
    return alice, bob


def _missing(run: Any) -> AnalysisException:
    with pytest.raises(AnalysisException) as caught:
        run()
    assert caught.value.getCondition() == "TABLE_OR_VIEW_NOT_FOUND"
    return caught.value


def test_another_users_temp_view_does_not_exist_for_you(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    alice.sql("CREATE OR REPLACE TEMP VIEW alices_claims AS SELECT * FROM claims.medical")
    alice.table("claims.medical").createOrReplaceTempView("alices_frame")
    assert len(collect(alice.sql("SELECT * FROM alices_claims"))) == 6
    _missing(lambda: bob.sql("SELECT * FROM alices_claims").collect())
    _missing(lambda: bob.table("alices_frame").collect())
    assert "alices_claims" not in [t.name for t in bob.catalog.listTables()]


def test_another_users_checkpointed_view_does_not_exist_for_you(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    alice.table("claims.medical").localCheckpoint().createOrReplaceTempView("alices_checkpoint")
    assert len(collect(alice.sql("SELECT * FROM alices_checkpoint"))) == 6
    _missing(lambda: bob.sql("SELECT ssn FROM alices_checkpoint").collect())


def test_another_users_functions_do_not_exist_for_you(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    alice.udf.register("alices_upper", lambda s: s.upper() if s else s, "string")
    alice.sql("CREATE OR REPLACE TEMPORARY FUNCTION alices_ssn() RETURNS STRING RETURN 'x'")
    assert collect(alice.sql("SELECT alices_upper('a'), alices_ssn()")) == [("A", "x")]
    for call in ("SELECT alices_upper('a')", "SELECT alices_ssn()"):
        with pytest.raises(AnalysisException) as caught:
            bob.sql(call).collect()
        assert caught.value.getCondition() == "UNRESOLVED_ROUTINE"


def test_settings_and_the_current_database_are_each_users_own(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    before = bob.conf.get("spark.sql.shuffle.partitions")
    alice.conf.set("spark.sql.shuffle.partitions", "7")
    alice.sql("USE claims")
    assert alice.conf.get("spark.sql.shuffle.partitions") == "7"
    assert bob.conf.get("spark.sql.shuffle.partitions") == before
    assert alice.catalog.currentDatabase() == "claims"
    assert bob.catalog.currentDatabase() == "default"


def _people_yaml(policies: str) -> str:
    return f"""
users:
  - {{name: svc_notebook, permissions: [IMPERSONATE, GOVERNANCE]}}
  - {{name: owner}}
  - {{name: ann}}
sources:
  - name: People
    table: rules.people
    owners: [owner]
    subscription: {{anyone: {{}}}}
    policies:
      - {{name: ohio, type: row, where: "state = 'Ohio'"}}
{policies}
"""


def test_a_temp_view_made_under_older_rules_is_enforced_under_the_new_ones(governed: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "rules.people", [(1, "Ohio", "a"), (2, "Iowa", "b")], "id int, state string, name string")
    sessions = governed(_people_yaml(""))
    ann = sessions("ann")
    ann.sql("CREATE OR REPLACE TEMP VIEW people_view AS SELECT * FROM rules.people")
    frame_view = ann.table("rules.people").filter("id > 0")
    frame_view.createOrReplaceTempView("people_frame")
    assert collect(ann.sql("SELECT id, name FROM people_view")) == [(1, "a")]
    tighter = sessions.path  # type: ignore[attr-defined]
    tighter.write_text(
        "version: 1\n" + _people_yaml('      - {name: hide, type: masking, columns: {names: [name]}, mask: "null"}')
    )
    sessions.catalog.apply(tighter)  # type: ignore[attr-defined]
    assert collect(ann.sql("SELECT id, name FROM people_view")) == [(1, None)]
    assert collect(ann.sql("SELECT id, name FROM people_frame")) == [(1, None)]


def test_a_failure_inside_enforcement_returns_no_data(governed: Any, sample_spark: Any) -> None:
    from immuta_spark.errors import PolicyBindError
    from tests.spark.conftest import table

    table(sample_spark, "rules.cards", [(1, "4111111111111111")], "id int, card string")
    sessions = governed(
        """
        users:
          - {name: svc_notebook, permissions: [IMPERSONATE]}
          - {name: owner}
          - {name: ann}
        sources:
          - name: Cards
            table: rules.cards
            owners: [owner]
            subscription: {anyone: {}}
            policies:
              - {name: round-card, type: masking, columns: {names: [card]}, mask: {round: 1000}}  # not a string's mask
        """
    )
    ann = sessions("ann")
    for query in ("SELECT * FROM rules.cards", "EXECUTE IMMEDIATE 'SELECT card FROM rules.cards'"):
        with pytest.raises((AnalysisException, PolicyBindError)) as caught:
            ann.sql(query).collect()
        assert "4111111111111111" not in str(caught.value)


# --- code that looks the session up: notebooks, pandas-on-Spark, pyspark.ml -------------------


@pytest.fixture
def fresh_bob(sample_spark: Any, example_catalog: Any) -> Any:
    """A bob session made last: the active and default session of the process."""
    return ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user="bob")


def test_the_sparksession_a_notebook_cell_looks_up_is_the_governed_one(fresh_bob: Any, expected: Any) -> None:
    from pyspark.sql import SparkSession

    for found in (SparkSession.builder.getOrCreate(), SparkSession.active(), SparkSession.getActiveSession()):
        assert found is not None
        assert_df_equality(
            found.table("claims.medical"), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
        )


def test_pandas_on_spark_reads_only_enforced_rows(fresh_bob: Any) -> None:
    import pyspark.pandas as ps

    ps.set_option("compute.fail_on_ansi_mode", False)  # as with plain Spark 4, whose ANSI mode is on
    try:
        frames = [
            fresh_bob.table("claims.medical").pandas_api().to_pandas(),
            ps.read_table("claims.medical").to_pandas(),
            ps.sql("SELECT * FROM claims.medical").to_pandas(),
        ]
    finally:
        ps.reset_option("compute.fail_on_ansi_mode")
    for frame in frames:
        assert sorted(frame["claim_id"].tolist()) == [1, 4]
        assert frame["ssn"].isna().all()
        assert_no_raw(frame.astype(str).values.tolist())


# --- commands inside statements ---------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "EXECUTE IMMEDIATE 'INSERT INTO claims.medical SELECT * FROM claims.medical'",
        "EXECUTE IMMEDIATE 'DROP TABLE claims.medical'",
        "EXECUTE IMMEDIATE 'TRUNCATE TABLE claims.medical'",
        "EXECUTE IMMEDIATE 'ALTER TABLE claims.medical SET TBLPROPERTIES (''x'' = ''y'')'",
        "EXECUTE IMMEDIATE 'ANALYZE TABLE claims.medical COMPUTE STATISTICS'",
        "EXECUTE IMMEDIATE 'CACHE TABLE claims.medical'",
        "EXECUTE IMMEDIATE 'DROP DATABASE claims CASCADE'",
        "DROP DATABASE claims CASCADE",
        "ANALYZE TABLES IN claims COMPUTE STATISTICS",
        "EXECUTE IMMEDIATE 'ANALYZE TABLES IN claims COMPUTE STATISTICS NOSCAN'",
    ],
)
def test_commands_inside_execute_immediate_are_for_owners_only(bob: Any, sample_spark: Any, statement: str) -> None:
    from immuta_spark.spark import GovernedAccessDenied

    before = sample_spark.table("claims.medical").count()
    with pytest.raises(GovernedAccessDenied, match="owners"):
        bob.sql(statement)
    assert sample_spark.catalog.tableExists("claims.medical")
    assert sample_spark.table("claims.medical").count() == before


def test_commands_inside_execute_immediate_on_an_invisible_table_fail_as_for_a_missing_one(dave: Any) -> None:
    for statement in (
        "EXECUTE IMMEDIATE 'DROP TABLE claims.medical'",
        "EXECUTE IMMEDIATE 'INSERT INTO claims.medical SELECT * FROM claims.medical'",
    ):
        with pytest.raises(AnalysisException) as caught:
            dave.sql(statement)
        assert caught.value.getCondition() == "TABLE_OR_VIEW_NOT_FOUND"


# --- side doors to secrets ------------------------------------------------------------------


def test_the_catalog_file_is_never_readable_through_a_governed_session(bob: Any, example_catalog: Any) -> None:
    import os

    path = example_catalog.store.url.removeprefix("sqlite:///")
    folder = os.path.dirname(path)
    for read in (
        lambda: bob.read.format("binaryFile").load(path),
        lambda: bob.read.text(path),
        lambda: bob.read.text(folder),
        lambda: bob.sql(f"SELECT * FROM binaryFile.`{path}`"),
        lambda: bob.sql(f"SELECT * FROM text.`{folder}`"),
        lambda: bob.sql(f"EXECUTE IMMEDIATE 'SELECT * FROM binaryFile.`{path}`'"),
    ):
        with pytest.raises(AnalysisException, match="never readable"):
            collect(read())


# --- say what is masked -------------------------------------------------------------------------


def test_the_schema_says_which_columns_are_masked_and_by_which_policy(bob: Any) -> None:
    fields = {f.name: f.metadata for f in bob.table("claims.medical").schema.fields}
    assert fields["ssn"]["immuta.mask"] and fields["ssn"]["immuta.policy"] == "null-ssn"
    assert fields["ip"]["immuta.policy"] == "ip-otherwise"
    assert "immuta.mask" not in fields["claim_id"]
    comments = {r[0]: r[2] for r in collect(bob.sql("DESCRIBE claims.medical"))}
    assert "null-ssn" in comments["ssn"] and comments["claim_id"] is None
    columns = {c.name: c.description for c in bob.catalog.listColumns("claims.medical")}
    assert "null-ssn" in columns["ssn"] and columns["claim_id"] is None


def test_an_analysis_error_never_prints_the_enforced_plan(bob: Any) -> None:
    for query in (
        "SELECT nosuch FROM claims.medical",
        "SELECT ssn FROM claims.medical WHERE nosuch = 1",
        "EXECUTE IMMEDIATE 'SELECT nosuch FROM claims.medical'",
    ):
        with pytest.raises(AnalysisException) as caught:
            bob.sql(query).collect()
        text = str(caught.value)
        assert caught.value.getCondition() and caught.value.getCondition().startswith("UNRESOLVED_COLUMN")
        for internal in ("regexp_replace", "Relation ", "__immuta_", "Filter ", "Ohio"):
            assert internal not in text, f"{internal!r} in {text!r}"
    with pytest.raises(AnalysisException) as caught:
        bob.table("claims.medical").select("nosuch")
    assert "regexp_replace" not in str(caught.value) and "Relation " not in str(caught.value)


def test_request_access_from_a_notebook_is_the_users_own_and_explain_says_pending(
    governed: Any, sample_spark: Any
) -> None:
    from immuta_spark.spark import GovernedAccessDenied
    from tests.spark.conftest import table

    table(sample_spark, "rules.approved", [(1, "a")], "id int, v string")
    sessions = governed(
        """
        users:
          - {name: svc_notebook, permissions: [IMPERSONATE]}
          - {name: owner}
          - {name: ann}
        sources:
          - name: Approved
            table: rules.approved
            owners: [owner]
            subscription: {approval: {approvers: [owner]}}
        """
    )
    ann = sessions("ann")
    with pytest.raises(GovernedAccessDenied, match=r"session.request_access\('Approved'"):
        ann.sql("SELECT * FROM rules.approved").collect()
    record = ann.request_access("rules.approved", "quarterly report")
    assert (record.user, record.source, record.status) == ("ann", "Approved", "requested")
    assert "pending" in ann.explain_policies("rules.approved")
    with pytest.raises(GovernedAccessDenied, match="pending"):
        ann.sql("SELECT * FROM rules.approved").collect()
    audit = sessions.catalog.store.audit_records(user="ann")  # type: ignore[attr-defined]
    assert any(r.action == "subscription.request" and r.impersonator == "svc_notebook" for r in audit)


def test_a_query_is_audited_with_every_source_it_reads_however_it_reaches_them(bob: Any, example_catalog: Any) -> None:
    marker = "/* audit-probe-analyzer-1 */"
    bob.sql(f"EXECUTE IMMEDIATE 'SELECT count(*) FROM claims.medical {marker}'").collect()
    found = [r for r in example_catalog.store.audit_records(user="bob") if marker in str((r.detail or {}).get("sql"))]
    assert found and found[-1].sources == ("Medical Claims",)
    assert "null-ssn" in found[-1].policies


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        (
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
            "SELECT n, (SELECT count(*) FROM claims.medical) FROM r ORDER BY n",
            [(1, 2), (2, 2), (3, 2)],
        ),
        ("SELECT count(*), max(ssn) FROM IDENTIFIER('claims.' || 'medical')", [(2, None)]),
        ("FROM claims.medical |> WHERE claim_id > 0 |> SELECT ssn", [(None,), (None,)]),
    ],
)
def test_honest_sql_forms_run_on_enforced_rows(bob: Any, query: str, rows: list[tuple[Any, ...]]) -> None:
    assert collect(bob.sql(query)) == rows


def test_identifier_with_a_parameter_marker_runs_on_enforced_rows(bob: Any) -> None:
    assert collect(bob.sql("SELECT count(*) FROM IDENTIFIER(:t)", args={"t": "claims.medical"})) == [(2,)]
