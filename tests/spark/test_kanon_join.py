"""K-anonymization counts each group once and joins the counts back (no window over every row).

The semantics are a window's: NULL keys form one group, the counts see the rows the row filter
keeps, several policies on one source count separately, and the count column is never output.
Without a row filter the small groups are counted once, when the template is built, and used only
over the very files they counted: a table that changed is counted again in each query.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.spark.conftest import table
from tests.spark.test_enforcement import USERS, rows, source


def _plan(df: Any) -> str:
    return str(df._jdf.queryExecution().executedPlan().toString())


def test_null_keys_form_one_group_and_no_count_column_is_output(governed: Any, sample_spark: Any) -> None:
    data = [(1, None, "x"), (2, None, "x"), (3, None, "y"), (4, "a", None), (5, "a", None), (6, "b", "y")]
    table(sample_spark, "gov.knull", data, "id int, g string, s string")
    policies = "      - {name: k, type: masking, columns: {names: [g, s]}, mask: {k_anonymize: 2}}"
    df = governed(USERS + source("gov.knull", policies=policies))("ann").table("gov.knull")
    assert df.columns == ["id", "g", "s"]
    assert rows(df) == [
        (1, None, "x"),
        (2, None, "x"),
        (3, None, None),
        (4, "a", None),
        (5, "a", None),
        (6, None, None),
    ]
    plan = _plan(df)
    # No row filter: the small groups were counted once, and the query reads the table once.
    assert "Window" not in plan and "HashAggregate" not in plan
    assert "BroadcastHashJoin" in plan and "LocalTableScan" in plan


def test_groups_counted_once_are_never_printed_and_match_counting_in_the_query(
    governed: Any, sample_spark: Any
) -> None:
    data = [(i, f"zq-common-{i % 3}", i % 2) for i in range(30)] + [(99, "zq-rare-7781", 5), (98, None, None)]
    table(sample_spark, "gov.konce", data, "id int, g string, h int")
    policies = "      - {name: k, type: masking, columns: {names: [g, h]}, mask: {k_anonymize: 4}}"
    df = governed(USERS + source("gov.konce", policies=policies))("ann").table("gov.konce")
    got = rows(df)
    assert got[-2:] == [(98, None, None), (99, None, None)]
    assert got[:-2] == [(i, f"zq-common-{i % 3}", i % 2) for i in range(30)]
    plans = _plan(df) + str(df._jdf.queryExecution().toString())
    assert "LocalTableScan" in plans and "zq-rare" not in plans and "zq-common" not in plans


def test_groups_counted_once_are_not_broadcast_where_an_administrator_turned_broadcasts_off(
    governed: Any, sample_spark: Any
) -> None:
    from immuta_spark.spark.templates import SharedFrames

    data = [(i, "common" if i < 6 else f"rare-{i}") for i in range(8)]
    table(sample_spark, "gov.knobroadcast", data, "id int, g string")
    policies = "      - {name: k, type: masking, columns: {names: [g]}, mask: {k_anonymize: 2}}"
    ann = governed(USERS + source("gov.knobroadcast", policies=policies))("ann")
    # As spark-defaults.conf would set it: for the sessions templates are built in, and for the user's.
    sessions = [SharedFrames.of(sample_spark).spark, ann]
    for session in sessions:
        session.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        df = ann.table("gov.knobroadcast")
        assert rows(df) == [(i, "common" if i < 6 else None) for i in range(8)]
        plan = _plan(df)
    finally:
        for session in sessions:
            session.conf.unset("spark.sql.autoBroadcastJoinThreshold")
    assert "LocalTableScan" in plan and "HashAggregate" not in plan  # still counted once
    assert "Broadcast" not in plan, plan


def test_a_table_rewritten_after_its_groups_were_counted_is_counted_again(governed: Any, sample_spark: Any) -> None:
    table(sample_spark, "gov.kstale", [(1, "Ohio"), (2, "Ohio"), (3, "Texas")], "id int, state string")
    policies = "      - {name: k, type: masking, columns: {names: [state]}, mask: {k_anonymize: 2}}"
    ann = governed(USERS + source("gov.kstale", policies=policies))("ann")
    assert rows(ann.table("gov.kstale")) == [(1, "Ohio"), (2, "Ohio"), (3, None)]
    # Now Ohio is the rare one: counts taken of the old files would show it.
    table(sample_spark, "gov.kstale", [(1, "Ohio"), (2, "Texas"), (3, "Texas")], "id int, state string")
    df = ann.table("gov.kstale")
    assert rows(df) == [(1, None), (2, "Texas"), (3, "Texas")]
    assert "HashAggregate" in _plan(df)  # counted in the query, over the files it reads
    # That query let the stale counts go: the next counts the new files once, at template build.
    again = ann.table("gov.kstale")
    assert rows(again) == [(1, None), (2, "Texas"), (3, "Texas")]
    assert "HashAggregate" not in _plan(again) and "LocalTableScan" in _plan(again)
    appended = sample_spark.createDataFrame([(4, "Ohio")], "id int, state string")
    appended.write.mode("append").saveAsTable("gov.kstale")
    assert rows(ann.sql("SELECT * FROM gov.kstale")) == [(1, "Ohio"), (2, "Texas"), (3, "Texas"), (4, "Ohio")]


def test_counts_see_only_the_rows_the_row_filter_keeps(governed: Any, sample_spark: Any) -> None:
    data = [(1, "Ohio", "North"), (2, "Ohio", "South"), (3, "Texas", "North"), (4, "Texas", "North")]
    table(sample_spark, "gov.kfilter", data, "id int, state string, region string")
    policies = """      - {name: r, type: row, match: {attribute: Region, column: region}}
      - {name: k, type: masking, columns: {names: [state]}, mask: {k_anonymize: 2}}"""
    build = governed(USERS + source("gov.kfilter", policies=policies))
    # ann sees North only: one Ohio row of hers (two in the table) is rare among the rows she sees.
    assert rows(build("ann").table("gov.kfilter")) == [(1, None, "North"), (3, "Texas", "North"), (4, "Texas", "North")]
    grouped = build("ann").sql("SELECT state, count(*) AS n FROM gov.kfilter GROUP BY state ORDER BY state")
    assert [tuple(r) for r in grouped.collect()] == [(None, 1), ("Texas", 2)]


def test_two_policies_on_one_source_join_their_counts_and_users_queries_sit_on_top(
    governed: Any, sample_spark: Any
) -> None:
    data = [(1, "F", "Ohio"), (2, "F", "Ohio"), (3, "F", "Iowa"), (4, "M", "Iowa"), (5, "M", "Utah")]
    table(sample_spark, "gov.ktwo", data, "id int, gender string, state string")
    policies = """      - {name: c, type: masking, columns: {names: [gender]}, mask: {k_anonymize: 3}}
      - {name: d, type: masking, columns: {names: [state]}, mask: {k_anonymize: 2}}"""
    ann = governed(USERS + source("gov.ktwo", policies=policies))("ann")
    assert rows(ann.table("gov.ktwo")) == [
        (1, "F", "Ohio"),
        (2, "F", "Ohio"),
        (3, "F", "Iowa"),
        (4, None, "Iowa"),
        (5, None, None),
    ]
    joined = ann.sql("SELECT a.id, b.state FROM gov.ktwo a JOIN gov.ktwo b ON a.id = b.id WHERE b.state IS NULL")
    assert [tuple(r) for r in joined.collect()] == [(5, None)]


def test_a_k_anonymized_source_stays_owner_only_for_writes(governed: Any, sample_spark: Any) -> None:
    from immuta_spark.spark import GovernedAccessDenied

    table(sample_spark, "gov.kwrite", [(1, "F"), (2, "F"), (3, "M")], "id int, gender string")
    policies = "      - {name: k, type: masking, columns: {names: [gender]}, mask: {k_anonymize: 2}}"
    ann = governed(USERS + source("gov.kwrite", policies=policies))("ann")
    with pytest.raises(GovernedAccessDenied, match="reserved to the source's owners"):
        ann.sql("INSERT INTO gov.kwrite SELECT * FROM gov.kwrite")
    assert sample_spark.table("gov.kwrite").count() == 3


def test_another_users_k_anonymized_dataframe_is_enforced_again_for_whoever_runs_it(
    governed: Any, sample_spark: Any
) -> None:
    data = [(1, "Ohio", "North"), (2, "Ohio", "South"), (3, "Texas", "North"), (4, "Texas", "North")]
    table(sample_spark, "gov.kagain", data, "id int, state string, region string")
    policies = """      - {name: r, type: row, match: {attribute: Region, column: region}}
      - {name: k, type: masking, columns: {names: [state]}, mask: {k_anonymize: 2}}"""
    build = governed(USERS + source("gov.kagain", policies=policies))
    ann, ben = build("ann"), build("ben")
    ben_df = ben.table("gov.kagain")
    assert rows(ben_df) == [(2, None, "South")]
    # Joined in ann's session, ben's half (its template reads the table twice) is enforced again as ann.
    joined = ann.table("gov.kagain").join(ben_df.withColumnRenamed("state", "s2"), "id").select("id", "state", "s2")
    assert rows(joined) == [(1, None, None), (3, "Texas", "Texas"), (4, "Texas", "Texas")]
