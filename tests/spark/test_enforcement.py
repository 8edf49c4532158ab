"""Every mask and row kind, with exceptions and OTHERWISE, enforced by a real Spark session."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from chispa import assert_df_equality

from tests.spark.conftest import table

USERS = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: ann, groups: [Staff], attributes: {Region: [North]}}
  - {name: ben, groups: [Staff, Legal], attributes: {Region: [South, "x' OR '1'='1"]}}
  - {name: cid, groups: [Staff, North], attributes: {}}
"""


def source(table_name: str, extra: str = "", policies: str = "", sub: str = "{anyone: {}}") -> str:
    return f"""
sources:
  - name: T
    table: {table_name}
    owners: [owner]
    subscription: {sub}
{extra}
    policies:
{policies}
"""


@pytest.fixture(scope="module")
def people(sample_spark: Any) -> str:
    table(
        sample_spark,
        "gov.people",
        [
            (1, "Ann", "164.16.13.1", 1234.5, dt.date(2026, 5, 17), dt.datetime(2026, 5, 17, 13, 45), "North", 7),
            (2, "Ben", "10.0.0.22", 99.0, dt.date(2025, 12, 31), dt.datetime(2025, 12, 31, 23, 59), "South", 42),
            (3, None, None, None, None, None, None, None),
        ],
        "id bigint, name string, ip string, amount double, born date, seen timestamp, region string, score int",
    )
    return "gov.people"


def rows(df: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in df.orderBy("id").collect()]


def test_null_mask_keeps_the_column_type(governed: Any, people: str) -> None:
    s = governed(
        USERS + source(people, policies='      - {name: p, type: masking, columns: {names: [score]}, mask: "null"}')
    )
    df = s("ann").table(people)
    assert dict(df.dtypes)["score"] == "int"
    assert [r[0] for r in df.select("score").collect()] == [None, None, None]


def test_constant_mask_casts_to_the_column_type_or_becomes_a_string(governed: Any, people: str) -> None:
    policies = """      - {name: p1, type: masking, columns: {names: [score]}, mask: {constant: 0}}
      - {name: p2, type: masking, columns: {names: [amount]}, mask: {constant: REDACTED}}"""
    df = governed(USERS + source(people, policies=policies))("ann").table(people)
    assert dict(df.dtypes)["score"] == "int" and dict(df.dtypes)["amount"] == "string"
    assert {r.score for r in df.collect()} == {0} and {r.amount for r in df.collect()} == {"REDACTED"}


def test_regex_mask_hides_the_last_octet_as_in_the_seed(governed: Any, people: str) -> None:
    policies = r"""      - {name: p, type: masking, columns: {names: [ip]},
         mask: {regex: {pattern: '\d+$', replacement: XXX}}}"""
    df = governed(USERS + source(people, policies=policies))("ann").table(people)
    assert [r.ip for r in df.orderBy("id").collect()] == ["164.16.13.XXX", "10.0.0.XXX", None]


def test_round_floors_numbers_and_truncates_dates(governed: Any, people: str) -> None:
    policies = """      - {name: p1, type: masking, columns: {names: [amount]}, mask: {round: 100}}
      - {name: p2, type: masking, columns: {names: [born]}, mask: {round: month}}
      - {name: p3, type: masking, columns: {names: [seen]}, mask: {round: hour}}"""
    df = governed(USERS + source(people, policies=policies))("ann").table(people)
    got = [(r.amount, r.born, r.seen) for r in df.orderBy("id").collect()]
    assert got == [
        (1200.0, dt.date(2026, 5, 1), dt.datetime(2026, 5, 17, 13, 0)),
        (0.0, dt.date(2025, 12, 1), dt.datetime(2025, 12, 31, 23, 0)),
        (None, None, None),
    ]


def test_hash_is_salted_sha256_equal_within_a_source_and_different_across_sources(
    governed: Any, people: str, sample_spark: Any
) -> None:
    table(sample_spark, "gov.people2", [(1, "Ann")], "id bigint, name string")
    text = USERS + source(people, policies="      - {name: p, type: masking, columns: {names: [name]}, mask: hash}")
    text += """
  - name: T2
    table: gov.people2
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: p, type: masking, columns: {names: [name]}, mask: hash}
"""
    build = governed(text)
    s = build("ann")
    first = s.table(people).orderBy("id").collect()
    salt = build.catalog.store.secret("source", "T", "hash_salt").hex()
    assert first[0].name == hashlib.sha256((salt + "Ann").encode()).hexdigest()
    assert first[2].name is None
    other = s.table("gov.people2").collect()[0].name
    assert other != first[0].name


def test_except_exempts_and_otherwise_rules_pick_the_first_match(governed: Any, people: str) -> None:
    policies = r"""      - {name: p1, type: masking, columns: {names: [name]}, mask: "null", except: {groups: [Legal]}}
      - name: p2
        type: masking
        columns: {names: [ip]}
        rules:
          - {who: {groups: [Legal]}}
          - {who: {attributes: {Region: [North]}}, mask: {regex: {pattern: '\d+$', replacement: XXX}}}
          - {otherwise: {mask: {constant: hidden}}}"""
    build = governed(USERS + source(people, policies=policies))
    ann, ben, cid = (rows(build(u).table(people).select("id", "name", "ip")) for u in ("ann", "ben", "cid"))
    assert ann == [(1, None, "164.16.13.XXX"), (2, None, "10.0.0.XXX"), (3, None, None)]
    assert ben == [(1, "Ann", "164.16.13.1"), (2, "Ben", "10.0.0.22"), (3, None, None)]
    assert cid == [(1, None, "hidden"), (2, None, "hidden"), (3, None, "hidden")]


def test_conditional_masking_masks_only_matching_rows_and_null_counts_as_true(governed: Any, people: str) -> None:
    policies = (
        """      - {name: p, type: masking, columns: {names: [name]}, mask: {constant: X}, where: "region = 'North'"}"""
    )
    got = rows(governed(USERS + source(people, policies=policies))("ann").table(people).select("id", "name"))
    assert got == [(1, "X"), (2, "Ben"), (3, "X")]


def test_attribute_row_filter_binds_values_even_with_quotes(governed: Any, people: str) -> None:
    policies = "      - {name: r, type: row, match: {attribute: Region, column: region}}"
    build = governed(USERS + source(people, policies=policies))
    assert [r.id for r in build("ann").table(people).collect()] == [1]
    # ben's second value is SQL text: it is a bound literal, so it matches nothing.
    assert [r.id for r in build("ben").table(people).collect()] == [2]
    assert build("cid").table(people).count() == 0


def test_group_row_filter_and_where_filter_apply_together(governed: Any, people: str) -> None:
    policies = """      - {name: r1, type: row, match: {groups: true, column: region}}
      - {name: r2, type: row, where: "score > 10", except: {users: [cid]}}"""
    build = governed(USERS + source(people, policies=policies))
    assert build("cid").table(people).count() == 1  # group North matches row 1; r2 exempts cid
    assert build("ann").table(people).count() == 0  # ann is in no group named like a region


def test_time_window_keeps_recent_rows(governed: Any, sample_spark: Any) -> None:
    now = dt.datetime.now()
    table(
        sample_spark,
        "gov.events",
        [(1, now - dt.timedelta(hours=1)), (2, now - dt.timedelta(days=40)), (3, None)],
        "id bigint, at timestamp",
    )
    text = USERS + source(
        "gov.events", extra="    event_time: at", policies="      - {name: w, type: row, time_window: 30d}"
    )
    assert [r.id for r in governed(text)("ann").table("gov.events").collect()] == [1]


def test_minimize_gives_the_same_stable_sample_to_everyone(governed: Any, sample_spark: Any) -> None:
    sample_spark.range(0, 2000).withColumnRenamed("id", "k").write.mode("overwrite").saveAsTable("gov.big")
    text = USERS + source(
        "gov.big", extra="    high_cardinality_column: k", policies="      - {name: m, type: row, minimize: 10}"
    )
    build = governed(text)
    ann = sorted(r.k for r in build("ann").table("gov.big").collect())
    cid = sorted(r.k for r in build("cid").table("gov.big").collect())
    assert ann == cid and 120 < len(ann) < 280


SEED = [("Female", "Ohio"), ("Female", "Florida"), ("Female", "Florida"), ("Female", "Arkansas"), ("Male", "Florida")]


def test_k_anonymization_policy_a_masks_rare_combinations(governed: Any, sample_spark: Any) -> None:
    table(sample_spark, "gov.seed", [(i, g, s) for i, (g, s) in enumerate(SEED)], "id int, gender string, state string")
    text = USERS + source(
        "gov.seed",
        extra="    columns: {gender: [QI], state: [QI]}",
        policies="      - {name: a, type: masking, columns: {tagged: QI}, mask: {k_anonymize: 2}}",
    )
    got = rows(governed(text)("ann").table("gov.seed"))
    assert [(g, s) for _i, g, s in got] == [
        (None, None),
        ("Female", "Florida"),
        ("Female", "Florida"),
        (None, None),
        (None, None),
    ]


def test_k_anonymization_policies_c_and_d_mask_columns_separately(governed: Any, sample_spark: Any) -> None:
    table(sample_spark, "gov.seed", [(i, g, s) for i, (g, s) in enumerate(SEED)], "id int, gender string, state string")
    policies = """      - {name: c, type: masking, columns: {names: [gender]}, mask: {k_anonymize: 2}}
      - {name: d, type: masking, columns: {names: [state]}, mask: {k_anonymize: 2}}"""
    got = rows(governed(USERS + source("gov.seed", policies=policies))("ann").table("gov.seed"))
    assert [(g, s) for _i, g, s in got] == [
        ("Female", None),
        ("Female", "Florida"),
        ("Female", "Florida"),
        ("Female", None),
        (None, "Florida"),
    ]


def test_bob_sees_the_example_masked_and_only_ohio(as_user: Any, sample_spark: Any) -> None:
    df = as_user("bob").sql("SELECT claim_id, ssn, address, state, ip FROM claims.medical")
    expected = sample_spark.createDataFrame(
        [(1, None, None, "Ohio", "164.16.13.XXX"), (4, None, None, "Ohio", "172.16.0.XXX")],
        "claim_id bigint, ssn string, address string, state string, ip string",
    )
    assert_df_equality(df, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_decimal_and_count_star_see_only_enforced_rows(as_user: Any) -> None:
    bob = as_user("bob")
    assert bob.sql("SELECT count(*) AS n FROM claims.medical").collect()[0].n == 2
    assert bob.table("claims.medical").count() == 2
