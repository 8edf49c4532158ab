"""Differential privacy with real Spark (issue 13, item 5; POLICY.md 5.5).

Only COUNT, SUM and AVG over a differentially private source are answered, with OpenDP's noise;
group keys are released when declared public or when their noisy count passes a threshold;
identical queries get the cached answer; each answered query spends the user's budget.

The noise is real, so the assertions are about what it cannot change: a count of 600 under
noise of scale 2 is never off by 60 (probability below 1e-13), and a group of one row passes a
threshold set for delta = 1e-6 with probability below 1e-6.
"""

from __future__ import annotations

from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import DifferentialPrivacyError, PrivacyBudgetExceeded

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: ann}
  - {name: bob}
  - {name: cal, groups: [Actuaries]}
  - {name: dee}
sources:
  - name: Claims
    table: dpr.claims
    high_cardinality_column: id
    latency_tolerance: 3600
    subscription: {anyone: {}}
    policies:
      - name: dp-claims
        type: differential_privacy
        epsilon: 1.0
        bounds: {amount: [0, 100]}
        budget: {epsilon: 4, period: 1d}
        except: {groups: [Actuaries]}
      - {name: ca-only, type: row, where: "state = 'CA'", except: {users: [ann, bob, cal]}}
  - name: Visits
    table: dpr.visits
    high_cardinality_column: id
    subscription: {anyone: {}}
    policies:
      - name: dp-visits
        type: differential_privacy
        epsilon: 1.0
        public_keys: {state: [CA, NY, WY, TX]}
"""


def _claims() -> list[tuple[int, str, int, int]]:
    # CA 600 rows, NY 300, WY 1: amounts 0..99, ages 20..69.
    states = ["CA"] * 600 + ["NY"] * 300 + ["WY"]
    return [(i, s, i % 100, 20 + i % 50) for i, s in enumerate(states)]


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    table(sample_spark, "dpr.claims", _claims(), "id int, state string, amount int, age int")
    table(sample_spark, "dpr.visits", _claims(), "id int, state string, amount int, age int")
    return governed(_YAML)


def test_an_aggregate_is_answered_close_to_the_truth_with_the_query_s_names_and_types(sessions: Any) -> None:
    ann = sessions("ann")
    df = ann.sql("SELECT count(*) AS n, avg(amount) AS mean_amount, sum(amount) AS total FROM dpr.claims")
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        ("n", "bigint"),
        ("mean_amount", "double"),
        ("total", "bigint"),
    ]
    (row,) = df.collect()
    exact_total = sum(r[2] for r in _claims())
    assert abs(row["n"] - 901) < 60
    assert abs(row["mean_amount"] - exact_total / 901) < 10
    assert abs(row["total"] - exact_total) < 100 * 60
    assert 0 <= row["mean_amount"] <= 100  # clamped to the bounds


def test_anything_but_an_aggregate_is_refused_saying_what_is_allowed(sessions: Any) -> None:
    ann = sessions("ann")
    for sql in (
        "SELECT * FROM dpr.claims",
        "SELECT max(amount) FROM dpr.claims",
        "SELECT count(*) FROM dpr.claims c JOIN dpr.claims d ON c.id = d.id",
        "SELECT sum(amount * 2) FROM dpr.claims",
        "SELECT count(DISTINCT state) FROM dpr.claims",
        "SELECT state, count(*) FROM dpr.claims GROUP BY state HAVING count(*) > 10",
        "SELECT count(*) FROM dpr.claims WHERE amount > (SELECT avg(amount) FROM dpr.claims)",
        "SELECT count(*) FROM (SELECT id FROM dpr.claims UNION ALL SELECT id FROM dpr.claims)",
        "SELECT round(avg(amount), 1) FROM dpr.claims",
    ):
        with pytest.raises(DifferentialPrivacyError, match=r"COUNT\(\*\), COUNT\(column\), SUM\(column\)"):
            ann.sql(sql).collect()
    with pytest.raises(DifferentialPrivacyError, match="differentially private"):
        ann.table("dpr.claims").collect()
    with pytest.raises(DifferentialPrivacyError, match="differentially private"):
        ann.table("dpr.claims").groupBy("state").count().collect()
    for command in (
        "CREATE TEMPORARY VIEW v AS SELECT * FROM dpr.claims",
        "CREATE TEMPORARY VIEW v AS SELECT count(*) FROM dpr.claims",
        "EXECUTE IMMEDIATE 'SELECT count(*) FROM dpr.claims'",
        "CACHE TABLE c AS SELECT * FROM dpr.claims",
    ):
        with pytest.raises(DifferentialPrivacyError, match="differentially private"):
            ann.sql(command).collect()
    spent = GovernanceCatalog(sessions.catalog.store, identity="gov").dp_budget("ann")
    assert [line.spent for line in spent if line.source == "Claims"] == [0]


def test_honest_forms_of_an_aggregate_are_answered_and_audited_with_the_policy(sessions: Any) -> None:
    ann = sessions("ann")
    for sql in (
        "WITH c AS (SELECT * FROM dpr.claims WHERE age > 30) SELECT count(*) AS n FROM c",
        "SELECT n FROM (SELECT count(*) AS n, state FROM dpr.claims GROUP BY state) ORDER BY n",
        "SELECT upper(state) AS s, count(amount) AS n FROM dpr.claims GROUP BY upper(state)",
        "SELECT count(*) AS n FROM dpr.claims AS c WHERE c.state IN ('CA', 'NY') AND c.amount BETWEEN 1 AND 50",
    ):
        assert ann.sql(sql).collect(), sql
    records = GovernanceCatalog(sessions.catalog.store, identity="gov").audit(user="ann")
    answered = [r for r in records if "dp-claims" in r.policies]
    assert len(answered) >= 4 and all("Claims" in r.sources for r in answered)


def test_a_group_of_one_row_is_not_released_and_large_groups_are(sessions: Any) -> None:
    rows = sessions("ann").sql("SELECT state, count(*) AS n FROM dpr.claims GROUP BY state ORDER BY state").collect()
    assert [r["state"] for r in rows] == ["CA", "NY"]  # WY has one row: below the threshold
    assert abs(rows[0]["n"] - 600) < 60 and abs(rows[1]["n"] - 300) < 60


def test_declared_public_keys_are_released_all_present_or_not_and_no_others(sessions: Any) -> None:
    rows = sessions("ann").sql("SELECT state, count(*) AS n FROM dpr.visits GROUP BY state").collect()
    got = {r["state"]: r["n"] for r in rows}
    assert sorted(got) == ["CA", "NY", "TX", "WY"]  # TX has no row; WY one: both released, noisy
    assert abs(got["CA"] - 600) < 60 and got["TX"] < 60 and got["WY"] < 60


def test_identical_queries_get_the_cached_answer_and_spend_once(sessions: Any) -> None:
    first = sessions("ann").sql("SELECT avg(amount) AS a, count(*) AS n FROM dpr.claims").collect()
    # another session, other names and order, the same statistics: the same answer
    again = sessions("bob").sql("SELECT count(*) AS rows, avg(c.amount) AS mean FROM dpr.claims c").collect()
    assert (again[0]["rows"], again[0]["mean"]) == (first[0]["n"], first[0]["a"])
    gov = GovernanceCatalog(sessions.catalog.store, identity="gov")
    (ann,) = [line for line in gov.dp_budget("ann") if line.source == "Claims"]
    (bob,) = [line for line in gov.dp_budget("bob") if line.source == "Claims"]
    assert ann.spent == pytest.approx(1.0) and bob.spent == 0
    assert len(gov.audit(action="dp.spend")) == 1


def test_a_query_beyond_the_budget_is_refused_and_spends_nothing(sessions: Any) -> None:
    ann = sessions("ann")
    for column in ("amount", "age", "id", "state"):
        ann.sql(f"SELECT count({column}) FROM dpr.claims").collect()  # four distinct queries: 4 of 4 spent
    with pytest.raises(PrivacyBudgetExceeded, match="budget"):
        ann.sql("SELECT count(*) FROM dpr.claims").collect()
    # the cached answers are still served: they spend nothing
    assert ann.sql("SELECT count(amount) FROM dpr.claims").collect()
    (line,) = [
        x for x in GovernanceCatalog(sessions.catalog.store, identity="gov").dp_budget("ann") if x.source == "Claims"
    ]
    assert line.spent == pytest.approx(4.0) and line.remaining == pytest.approx(0.0)


def test_row_filters_apply_beneath_the_noise(sessions: Any) -> None:
    (row,) = sessions("dee").sql("SELECT count(*) AS n FROM dpr.claims").collect()
    assert abs(row["n"] - 600) < 60  # dee sees CA rows only


def test_a_user_the_policy_exempts_reads_the_rows(sessions: Any) -> None:
    rows = sessions("cal").sql("SELECT state, count(*) AS n FROM dpr.claims GROUP BY state").collect()
    assert {r["state"]: r["n"] for r in rows} == {"CA": 600, "NY": 300, "WY": 1}


def test_sum_of_a_column_without_declared_bounds_uses_the_fingerprint(sessions: Any) -> None:
    (row,) = sessions("ann").sql("SELECT avg(age) AS a FROM dpr.claims").collect()
    assert 20 <= row["a"] <= 69 and abs(row["a"] - 44.5) < 5
    printed = GovernanceCatalog(sessions.catalog.store, identity="gov").fingerprint("Claims")
    assert printed is not None and printed["columns"]["age"]["min"] == 20


def test_order_by_and_limit_apply_to_the_noisy_answer(sessions: Any) -> None:
    rows = (
        sessions("ann")
        .sql("SELECT state, count(*) AS n FROM dpr.claims WHERE amount >= 0 GROUP BY state ORDER BY n DESC LIMIT 1")
        .collect()
    )
    assert [r["state"] for r in rows] == ["CA"]


def test_a_source_without_a_high_cardinality_column_is_refused_at_query_time(governed: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "dpr.low", [(i % 10, i % 3) for i in range(100)], "id int, x int")
    sessions = governed(
        """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: ann}
sources:
  - name: Low
    table: dpr.low
    high_cardinality_column: id
    subscription: {anyone: {}}
    policies:
      - {name: dp-low, type: differential_privacy, epsilon: 1.0}
"""
    )
    with pytest.raises(DifferentialPrivacyError, match="id"):
        sessions("ann").sql("SELECT count(*) FROM dpr.low").collect()
