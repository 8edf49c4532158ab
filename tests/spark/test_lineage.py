"""Column lineage of governed DataFrames (immuta_spark.spark.lineage), on the demo governance file.

carol (Medical Claims and Finance; owner of Taxi Rides) reads two governed sources of
conf/governance.yaml: Medical Claims (claims.medical) and Taxi Rides (transport.rides).
"""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from immuta_spark.spark import EnforcementError
from immuta_spark.spark.lineage import Lineage, parse, plan_lineage
from tests.spark.conftest import table

MC = "Medical Claims"
TR = "Taxi Rides"


def mc(*columns: str) -> frozenset[tuple[str, str]]:
    return frozenset((MC, c) for c in columns)


def tr(*columns: str) -> frozenset[tuple[str, str]]:
    return frozenset((TR, c) for c in columns)


NONE: frozenset[tuple[str, str]] = frozenset()


@pytest.fixture
def carol(as_user: Any) -> Any:
    return as_user("carol")


def lineage(session: Any, df: Any) -> Lineage:
    return plan_lineage(session, df._jdf)


def sql(session: Any, text: str) -> Lineage:
    return lineage(session, session.sql(text))


def test_plain_select_maps_each_column_to_its_source_column(carol: Any) -> None:
    got = sql(carol, "SELECT claim_id, ssn, state FROM claims.medical")
    assert got == Lineage(
        sources=frozenset({MC}),
        columns=(("claim_id", mc("claim_id")), ("ssn", mc("ssn")), ("state", mc("state"))),
    )


def test_star_gives_every_column_of_the_source_in_order(carol: Any) -> None:
    got = sql(carol, "SELECT * FROM transport.rides")
    names = ["ride_id", "pickup_time", "passenger_count", "fare", "region"]
    assert got.columns == tuple((n, tr(n)) for n in names)
    assert got.sources == {TR}


def test_an_alias_of_an_expression_keeps_the_lineage_of_what_it_computes(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT sha2(ssn, 256) AS ssn_key, concat(state, ':', ip) AS where_from, 1 AS one, "
        "CASE WHEN amount > 10 THEN address ELSE NULL END AS addr FROM claims.medical",
    )
    assert got.columns == (
        ("ssn_key", mc("ssn")),
        ("where_from", mc("state", "ip")),
        ("one", NONE),
        ("addr", mc("amount", "address")),
    )


def test_a_join_of_two_sources_takes_each_column_from_its_side_and_not_from_the_keys(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT sha2(m.ssn, 256) AS ssn_key, r.region, m.amount + r.fare AS total "
        "FROM claims.medical m JOIN transport.rides r ON m.claim_id = r.ride_id AND r.fare > 0",
    )
    assert got == Lineage(
        sources=frozenset({MC, TR}),
        columns=(("ssn_key", mc("ssn")), ("region", tr("region")), ("total", mc("amount") | tr("fare"))),
    )


def test_a_using_join_coalesces_both_sides_of_a_full_outer_key(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT * FROM (SELECT state AS k, ssn FROM claims.medical) FULL OUTER JOIN "
        "(SELECT region AS k, fare FROM transport.rides) USING (k)",
    )
    assert got.columns == (("k", mc("state") | tr("region")), ("ssn", mc("ssn")), ("fare", tr("fare")))


def test_aggregate_with_group_by(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT state, count(*) AS n, sum(amount) AS total, max(length(ssn)) AS longest, upper(gender) AS g "
        "FROM claims.medical GROUP BY state, upper(gender) HAVING count(ip) > 0",
    )
    assert got.columns == (
        ("state", mc("state")),
        ("n", NONE),
        ("total", mc("amount")),
        ("longest", mc("ssn")),
        ("g", mc("gender")),
    )
    assert got.sources == {MC}


def test_rollup_goes_through_expand(carol: Any) -> None:
    got = sql(carol, "SELECT state, gender, sum(amount) AS total FROM claims.medical GROUP BY ROLLUP(state, gender)")
    assert got.columns == (("state", mc("state")), ("gender", mc("gender")), ("total", mc("amount")))


def test_union_is_positional_over_every_branch(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT state AS place, amount AS money FROM claims.medical "
        "UNION SELECT region, fare FROM transport.rides "
        "UNION ALL SELECT 'x', 1.0",
    )
    assert got == Lineage(
        sources=frozenset({MC, TR}),
        columns=(("place", mc("state") | tr("region")), ("money", mc("amount") | tr("fare"))),
    )


def test_dataframe_union_by_name_follows_names_not_positions(carol: Any) -> None:
    a = carol.table("claims.medical").select(F.col("state").alias("p"), F.col("amount").alias("m"))
    b = carol.table("transport.rides").select(F.col("fare").alias("m"), F.col("region").alias("p"))
    got = lineage(carol, a.unionByName(b))
    assert got.columns == (("p", mc("state") | tr("region")), ("m", mc("amount") | tr("fare")))


def test_except_takes_its_columns_from_the_left_and_intersect_from_both(carol: Any) -> None:
    left = "SELECT state FROM claims.medical"
    right = "SELECT region FROM transport.rides"
    got = sql(carol, f"{left} EXCEPT {right}")
    assert got == Lineage(sources=frozenset({MC, TR}), columns=(("state", mc("state")),))
    assert sql(carol, f"{left} INTERSECT {right}").columns == (("state", mc("state") | tr("region")),)


def test_window_functions_depend_on_their_arguments_partitioning_and_ordering(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT claim_id, rank() OVER (PARTITION BY state ORDER BY amount) AS r, "
        "sum(amount) OVER (PARTITION BY gender) AS s, lag(ssn) OVER (ORDER BY claim_id) AS prev "
        "FROM claims.medical",
    )
    assert got.columns == (
        ("claim_id", mc("claim_id")),
        ("r", mc("state", "amount")),
        ("s", mc("amount", "gender")),
        ("prev", mc("ssn", "claim_id")),
    )


def test_dataframe_window(carol: Any) -> None:
    w = Window.partitionBy("region").orderBy("pickup_time")
    df = carol.table("transport.rides").select("ride_id", F.row_number().over(w).alias("n"))
    assert lineage(carol, df).columns == (("ride_id", tr("ride_id")), ("n", tr("region", "pickup_time")))


def test_a_subquery_in_where_counts_as_a_source_but_gives_no_column_lineage(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT region, fare FROM transport.rides WHERE ride_id IN (SELECT claim_id FROM claims.medical) "
        "AND EXISTS (SELECT 1 FROM claims.medical m WHERE m.amount > fare)",
    )
    assert got == Lineage(sources=frozenset({TR, MC}), columns=(("region", tr("region")), ("fare", tr("fare"))))


def test_a_scalar_subquery_in_where_only_and_one_in_the_select_list(carol: Any) -> None:
    only_where = sql(carol, "SELECT region FROM transport.rides WHERE fare > (SELECT avg(amount) FROM claims.medical)")
    assert only_where == Lineage(sources=frozenset({TR, MC}), columns=(("region", tr("region")),))
    selected = sql(
        carol,
        "SELECT region, (SELECT max(m.amount) FROM claims.medical m WHERE m.claim_id = r.ride_id) AS top "
        "FROM transport.rides r",
    )
    assert selected.columns == (("region", tr("region")), ("top", mc("amount")))


def test_a_predicate_subquery_computed_as_a_column_gives_that_column_its_lineage(carol: Any) -> None:
    got = sql(carol, "SELECT region IN (SELECT state FROM claims.medical) AS seen FROM transport.rides")
    assert got == Lineage(sources=frozenset({TR, MC}), columns=(("seen", tr("region") | mc("state")),))


def test_explode_generates_columns_from_the_generator_input(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT claim_id, word FROM claims.medical LATERAL VIEW explode(split(address, ' ')) t AS word",
    )
    assert got.columns == (("claim_id", mc("claim_id")), ("word", mc("address")))
    df = carol.table("claims.medical").select(
        "state", F.posexplode(F.array(F.col("ssn"), F.col("ip"))).alias("pos", "value")
    )
    assert lineage(carol, df).columns == (("state", mc("state")), ("pos", mc("ssn", "ip")), ("value", mc("ssn", "ip")))


def test_a_dataframe_api_chain(carol: Any) -> None:
    df = (
        carol.table("claims.medical")
        .withColumn("ssn_key", F.sha2(F.col("ssn"), 256))
        .filter(F.col("ip").isNotNull())
        .select("ssn_key", (F.col("amount") * 2).alias("double"), "state")
        .withColumnRenamed("state", "st")
        .orderBy("double")
        .limit(5)
        .distinct()
    )
    got = lineage(carol, df)
    assert got == Lineage(
        sources=frozenset({MC}),
        columns=(("ssn_key", mc("ssn")), ("double", mc("amount")), ("st", mc("state"))),
    )
    assert got.column("double") == mc("amount")


def test_range_and_literals_have_no_lineage(carol: Any) -> None:
    got = lineage(carol, carol.range(3).select("id", F.lit("x").alias("lit"), (F.col("id") + 1).alias("next")))
    assert got == Lineage(sources=frozenset(), columns=(("id", NONE), ("lit", NONE), ("next", NONE)))
    joined = carol.range(3).crossJoin(carol.table("transport.rides").select("region"))
    assert lineage(carol, joined) == Lineage(sources=frozenset({TR}), columns=(("id", NONE), ("region", tr("region"))))


def test_ctes_and_temp_views(carol: Any) -> None:
    got = sql(
        carol,
        "WITH m AS (SELECT ssn, state FROM claims.medical), r AS (SELECT region FROM transport.rides) "
        "SELECT a.ssn, b.state, (SELECT count(*) FROM r) AS n FROM m a JOIN m b ON a.state = b.state",
    )
    assert got == Lineage(
        sources=frozenset({MC, TR}), columns=(("ssn", mc("ssn")), ("state", mc("state")), ("n", NONE))
    )
    carol.sql("SELECT upper(region) AS up, fare FROM transport.rides").createOrReplaceTempView("lineage_rides")
    got = sql(carol, "SELECT up, fare * 2 AS f2 FROM lineage_rides")
    assert got == Lineage(sources=frozenset({TR}), columns=(("up", tr("region")), ("f2", tr("fare"))))


def test_a_recursive_cte_makes_every_column_depend_on_every_column(carol: Any) -> None:
    got = sql(
        carol,
        "WITH RECURSIVE t(n, s) AS (SELECT 1, state FROM claims.medical WHERE claim_id = 1 "
        "UNION ALL SELECT n + 1, s FROM t WHERE n < 3) SELECT n, s FROM t",
    )
    assert got == Lineage(sources=frozenset({MC}), columns=(("n", mc("state")), ("s", mc("state"))))


def test_a_node_the_walk_does_not_model_depends_on_every_column_of_its_children(carol: Any) -> None:
    def same(batches: Any) -> Any:
        yield from batches

    df = carol.table("transport.rides").select("region", "fare").mapInPandas(same, "region string, fare double")
    assert lineage(carol, df).columns == (("region", tr("region", "fare")), ("fare", tr("region", "fare")))


def test_the_session_or_its_enforcer_and_a_dataframe_or_its_jdf(carol: Any) -> None:
    df = carol.sql("SELECT ssn FROM claims.medical")
    want = Lineage(sources=frozenset({MC}), columns=(("ssn", mc("ssn")),))
    assert plan_lineage(carol, df._jdf) == want
    assert plan_lineage(carol._enforcer, df._jdf) == want
    assert plan_lineage(carol, df) == want
    with pytest.raises(TypeError):
        plan_lineage(object(), df._jdf)


def test_a_plan_enforced_under_older_rules_is_refused(governed: Any, sample_spark: Any) -> None:
    table(sample_spark, "lineage.items", [(1, "a", 2.0)], "id bigint, name string, price double")
    policy = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE, GOVERNANCE]}
  - {name: ann}
sources:
  - name: Items
    table: lineage.items
    owners: [svc_notebook]
    subscription: {anyone: {}}
    policies:
      - {name: mask-name, type: masking, columns: {names: [name]}, mask: "null"}
"""
    make = governed(policy)
    ann = make("ann")
    df = ann.sql("SELECT name, price FROM lineage.items")
    assert plan_lineage(ann, df._jdf) == Lineage(
        sources=frozenset({"Items"}),
        columns=(("name", frozenset({("Items", "name")})), ("price", frozenset({("Items", "price")}))),
    )
    make.path.write_text("version: 1\n" + policy.replace('mask: "null"', "mask: hash"))
    make.catalog.apply(make.path)
    with pytest.raises(EnforcementError, match="other rules"):
        plan_lineage(ann, df._jdf)
    fresh = ann.sql("SELECT name FROM lineage.items")
    assert plan_lineage(ann, fresh._jdf).sources == {"Items"}


def test_an_answer_that_cannot_be_read_is_refused() -> None:
    assert parse("S\x01A\nC\x01x\x01A\x01a\\1b\n") == Lineage(
        sources=frozenset({"A"}), columns=(("x", frozenset({("A", "a\x01b")})),)
    )
    for bad in ("C\x01x\x01A\n", "Q\x01what\n", "S\n", "X\x01tok:1|A\n"):
        with pytest.raises(EnforcementError):
            parse(bad)


def test_a_lateral_subquery_gives_its_columns_their_own_lineage(carol: Any) -> None:
    got = sql(
        carol,
        "SELECT m.state, l.region, l.s2 FROM claims.medical m, "
        "LATERAL (SELECT r.region, m.ssn AS s2 FROM transport.rides r WHERE r.ride_id = m.claim_id) l",
    )
    assert got == Lineage(
        sources=frozenset({MC, TR}), columns=(("state", mc("state")), ("region", tr("region")), ("s2", mc("ssn")))
    )


def test_unpivot_and_higher_order_functions(carol: Any) -> None:
    got = sql(carol, "SELECT * FROM (SELECT claim_id, ssn, ip FROM claims.medical) UNPIVOT (v FOR k IN (ssn, ip))")
    assert got.columns == (("claim_id", mc("claim_id")), ("k", NONE), ("v", mc("ssn", "ip")))
    got = sql(
        carol,
        "SELECT transform(array(ssn, ip), x -> upper(x)) AS t, aggregate(array(amount), 0D, (a, b) -> a + b) AS agg "
        "FROM claims.medical",
    )
    assert got.columns == (("t", mc("ssn", "ip")), ("agg", mc("amount")))
