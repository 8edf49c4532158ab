"""Which k-anonymization groups a plan counts, and when their count table is broadcast."""

from __future__ import annotations

from immuta_spark.expr import Column, GroupSmallerThan, If, NullOf
from immuta_spark.spark.kanon import BROADCAST_GROUPS, broadcastable, group_columns


def _mask(columns: tuple[str, ...], k: int, name: str) -> If:
    return If(GroupSmallerThan(columns, k), NullOf("string"), Column(name))


def test_each_distinct_group_is_counted_once_in_first_seen_order() -> None:
    terms = [_mask(("b", "a"), 2, "a"), Column("c"), _mask(("b", "a"), 5, "b"), _mask(("c",), 3, "c")]
    assert group_columns(terms) == [("b", "a"), ("c",)]
    assert group_columns([Column("a")]) == []


def test_the_fingerprint_bounds_the_groups_by_the_product_of_distinct_counts() -> None:
    printed = {
        "rows": 5_000_000,
        "columns": {
            "state": {"distinct": 5, "exact": True, "nulls": 0},
            "amount": {"distinct": 100_000, "exact": True, "nulls": 0},
            "zip": {"distinct": 1_000, "exact": False, "nulls": 3},
        },
    }
    assert broadcastable(printed, ("state", "amount"))  # at most 500,000 groups
    assert not broadcastable(printed, ("amount", "zip"))  # up to about 1e8: Spark picks the join
    assert broadcastable({**printed, "rows": BROADCAST_GROUPS}, ("amount", "zip"))  # no more groups than rows
    assert not broadcastable(printed, ("state", "missing"))  # no distinct count: no hint
    assert not broadcastable(None, ("state",))
