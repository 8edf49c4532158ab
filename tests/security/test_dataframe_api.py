"""The DataFrames a governed session returns, used through pyspark's own DataFrame API."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.errors import AnalysisException

from immuta_spark.errors import ImmutaSparkError
from immuta_spark.spark.dataframe import GovernedDataFrame
from immuta_spark.spark.errors import UnenforcedPathError
from tests.security.conftest import BOB_ROWS, assert_no_raw, collect


def test_transformations_of_an_enforced_dataframe_stay_enforced(bob: Any) -> None:
    df = bob.table("claims.medical")
    joined = df.alias("a").join(bob.table("claims.medical").alias("b"), "claim_id")
    rows = collect(joined.select("claim_id", "a.ssn", "b.ip").orderBy("claim_id"))
    assert rows == [(1, None, "164.16.13.XXX"), (4, None, "172.16.0.XXX")]
    assert collect(df.groupBy("state").count()) == [("Ohio", 2)]
    assert sorted(collect(df.filter("ssn IS NULL"))) == sorted(BOB_ROWS)
    assert collect(df.filter("ssn = '123-45-6789'")) == []


def test_writing_an_enforced_dataframe_writes_enforced_values(bob: Any, sample_spark: Any) -> None:
    sample_spark.sql("DROP TABLE IF EXISTS default.bob_enforced")
    bob.table("claims.medical").write.saveAsTable("default.bob_enforced")
    rows = collect(sample_spark.table("default.bob_enforced"))
    assert sorted(rows) == sorted(BOB_ROWS)
    assert_no_raw(rows)
    sample_spark.sql("DROP TABLE default.bob_enforced")


@pytest.mark.parametrize(
    "attempt",
    [
        lambda s: s.range(1).selectExpr("(SELECT max(ssn) FROM claims.medical) AS s"),
        lambda s: s.table("claims.medical").selectExpr("(SELECT min(ssn) FROM claims.medical) AS s"),
        lambda s: s.table("claims.medical").filter("EXISTS (SELECT 1 FROM claims.medical WHERE state = 'Florida')"),
    ],
    ids=["range-selectExpr", "table-selectExpr", "table-filter-exists"],
)
def test_expressions_given_to_dataframe_methods_cannot_read_the_raw_table(bob: Any, attempt: Any) -> None:
    try:
        rows = collect(attempt(bob))
    except (AnalysisException, ImmutaSparkError):  # refused: what the product must do
        return
    assert_no_raw(rows)
    assert rows == [] or all(v is None for v in rows[0])


def test_a_returned_dataframe_does_not_hand_out_the_raw_session(bob: Any, sample_spark: Any) -> None:
    assert bob.table("claims.medical").sparkSession is not sample_spark


def test_an_expression_with_a_subquery_sees_only_enforced_rows(bob: Any) -> None:
    from pyspark.sql import functions as F

    grouped = bob.table("claims.medical").groupBy("state")
    assert collect(grouped.agg(F.expr("(SELECT max(ssn) FROM claims.medical)").alias("s"))) == [("Ohio", None)]
    assert collect(bob.range(1).withColumn("s", F.expr("(SELECT max(address) FROM claims.medical)"))) == [(0, None)]
    florida = F.expr("EXISTS (SELECT 1 FROM claims.medical WHERE state = 'Florida')")
    assert collect(bob.range(1).filter(florida)) == []


def test_a_refused_dataframe_expression_is_audited(bob: Any, example_catalog: Any, medical_location: str) -> None:
    probe = "dataframe-audit-probe-7"
    with pytest.raises(UnenforcedPathError):
        bob.range(1).selectExpr(f"(SELECT count(*) FROM parquet.`{medical_location}/*`) AS `{probe}`")
    found = [r for r in example_catalog.store.audit_records(user="bob") if probe in str((r.detail or {}).get("sql"))]
    assert [(r.action, r.outcome, r.sources) for r in found] == [("query", "denied", ("Medical Claims",))]


def test_every_dataframe_handed_out_is_governed(bob: Any) -> None:
    from pyspark.sql import DataFrame

    df = bob.table("claims.medical")
    made = [
        df,
        bob.sql("SELECT 1 AS x"),
        bob.range(3),
        bob.createDataFrame([(1,)], "x int"),
        df.filter("claim_id > 0").select("claim_id"),
        df.groupBy("state").count(),
        df.na.fill("n/a"),
        df.stat.sampleBy("state", {"Ohio": 1.0}, seed=1),
        *df.randomSplit([0.5, 0.5], seed=1),
        df.transform(lambda d: d.limit(1)),
        df.cache(),
    ]
    for frame in made:
        assert isinstance(frame, GovernedDataFrame) and isinstance(frame, DataFrame)
        assert frame.sparkSession is bob
    assert df.cache() is df
    df.unpersist()


def test_a_returned_dataframe_hands_out_the_governed_session(bob: Any) -> None:
    df = bob.table("claims.medical")
    assert df.sparkSession is bob
    assert df.select("claim_id").sparkSession is bob
    with pytest.raises(AttributeError):
        df.sql_ctx  # noqa: B018


def test_joins_and_unions_of_governed_dataframes_work(bob: Any) -> None:
    from pyspark.sql import functions as F

    left = bob.table("claims.medical").select("claim_id", "ssn", "state")
    right = bob.table("claims.medical").select("claim_id", "ip")
    assert sorted(collect(left.join(right, "claim_id"))) == [
        (1, None, "Ohio", "164.16.13.XXX"),
        (4, None, "Ohio", "172.16.0.XXX"),
    ]
    assert sorted(collect(left.join(F.broadcast(right), "claim_id").select("claim_id", "ip"))) == [
        (1, "164.16.13.XXX"),
        (4, "172.16.0.XXX"),
    ]
    assert sorted(collect(left.union(left).select("claim_id"))) == [(1,), (1,), (4,), (4,)]
    assert collect(left.intersect(left).select("claim_id").orderBy("claim_id")) == [(1,), (4,)]


def test_chained_transformations_return_the_enforced_data(bob: Any) -> None:
    from chispa import assert_df_equality
    from pyspark.sql import functions as F

    df = bob.table("claims.medical")
    ids = bob.createDataFrame([(1, "one"), (4, "four"), (3, "three")], "claim_id bigint, word string")
    result = (
        df.filter(F.col("amount") > 0)
        .withColumn("amount2", F.col("amount") * 2)
        .select("claim_id", "ssn", "ip", "amount2")
        .union(df.select("claim_id", "ssn", "ip", F.col("amount").alias("amount2")))
        .join(ids, "claim_id")
        .orderBy("claim_id", "amount2")
        .limit(3)
    )
    expected = bob.createDataFrame(
        [
            (1, None, "164.16.13.XXX", 1200.0, "one"),
            (1, None, "164.16.13.XXX", 2400.0, "one"),
            (4, None, "172.16.0.XXX", 400.0, "four"),
        ],
        "claim_id bigint, ssn string, ip string, amount2 double, word string",
    )
    assert_df_equality(result, expected, ignore_nullable=True, ignore_metadata=True)
    assert_no_raw(collect(result))


def test_temporary_views_may_not_take_reserved_names(bob: Any) -> None:
    with pytest.raises(UnenforcedPathError):
        bob.range(1).createOrReplaceTempView("__immuta_mine")


def test_jvm_reflection_is_refused_in_dataframe_expressions(bob: Any) -> None:
    from pyspark.sql import functions as F

    with pytest.raises(UnenforcedPathError):
        bob.range(1).selectExpr("reflect('java.lang.System', 'getProperty', 'user.name')")
    with pytest.raises(UnenforcedPathError):
        bob.range(1).select(F.java_method(F.lit("java.lang.System"), F.lit("getProperty"), F.lit("user.home")))
    wide = [F.lit(i).alias(f"c{i}") for i in range(60)]  # past the fields a plan prints by default
    with pytest.raises(UnenforcedPathError):
        bob.range(1).select(*wide, F.expr("try_reflect('java.lang.System', 'getProperty', 'user.name')"))


def test_grouped_and_na_helpers_hand_out_only_the_governed_session(bob: Any) -> None:
    df = bob.table("claims.medical")
    assert df.groupBy("state").session is bob
    assert df.na.df.sparkSession is bob
    assert isinstance(df.stat.df, GovernedDataFrame)


def test_model_tuning_runs_on_enforced_rows(governed: Any, sample_spark: Any) -> None:
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.regression import LinearRegression
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder, TrainValidationSplit

    from tests.spark.conftest import table

    rows = [(i, float(i), float(3 * i + 1), "North" if i % 2 else "South") for i in range(80)]
    table(sample_spark, "ml.points", rows, "id int, x double, y double, region string")
    sessions = governed(
        """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: ann, attributes: {Region: [North]}}
sources:
  - name: Points
    table: ml.points
    owners: [svc_notebook]
    subscription: {anyone: {}}
    policies:
      - {name: north-only, type: row, match: {attribute: Region, column: region}}
"""
    )
    df = VectorAssembler(inputCols=["x"], outputCol="features").transform(sessions("ann").table("ml.points"))
    assert df.count() == 40  # ann's rows only
    lr = LinearRegression(labelCol="y")
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.5]).build()
    evaluator = RegressionEvaluator(labelCol="y")
    for tuner in (
        CrossValidator(estimator=lr, estimatorParamMaps=grid, evaluator=evaluator, numFolds=2, parallelism=2),
        TrainValidationSplit(estimator=lr, estimatorParamMaps=grid, evaluator=evaluator, parallelism=2),
    ):
        model = tuner.fit(df)
        assert abs(model.bestModel.coefficients[0] - 3.0) < 0.05
        assert isinstance(model.transform(df), GovernedDataFrame)
