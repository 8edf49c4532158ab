"""The noisy release of one aggregate query (immuta_spark.dp, OpenDP): groups, noise scale, post-processing.

Statistical assertions are set far from their limits: each fails by chance with probability
below 1e-9.
"""

from __future__ import annotations

import opendp.prelude as dp
import pytest

from immuta_spark.dp import Measure, Output, answer, measures, public_keys, release, threshold
from immuta_spark.errors import DifferentialPrivacyError

ROWS = Output("rows")


def test_measures_are_each_statistic_once_with_the_row_count_first_when_thresholded() -> None:
    outs = [Output("key", key=0), Output("avg", "a"), Output("sum", "a"), Output("count", "b")]
    assert measures(outs, thresholded=True) == (
        Measure("rows"),
        Measure("sum", "a"),
        Measure("count", "a"),
        Measure("count", "b"),
    )
    assert measures(outs, thresholded=False)[0] == Measure("sum", "a")


def test_the_threshold_is_the_smallest_that_releases_a_one_row_group_with_probability_at_most_delta() -> None:
    dp.enable_features("contrib")
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64"))
    metric = dp.l01inf_distance(dp.absolute_distance(T="i64"))
    for scale, delta in [(1.0, 1e-6), (4.0, 1e-6), (2.0, 1e-9)]:
        t = threshold(scale, delta)

        def cost(at: int, scale: float = scale) -> float:
            return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=at).map((1, 1, 1))[1]

        assert cost(t) <= delta < cost(t - 1)


def test_count_noise_has_the_scale_of_sensitivity_over_epsilon_split_across_statistics() -> None:
    # Laplace of scale b has mean absolute deviation b: 1 for COUNT(*) alone at epsilon 1,
    # 2 when AVG's sum and count share it.
    def deviation(outputs: list[Output], stats: list[float]) -> float:
        draws = [
            answer(outputs, [((), stats)], epsilon=1.0, delta=1e-6, bounds={"a": (0, 1)}, grouped=False)[0][0]
            for _ in range(1500)
        ]
        return sum(abs(d - 1000) for d in draws) / len(draws)

    assert 0.6 < deviation([ROWS], [1000]) < 1.4
    # COUNT(*) beside AVG(a): three statistics, scale 3
    assert 2.2 < deviation([ROWS, Output("avg", "a")], [1000, 500.0, 1000]) < 3.8


def test_a_one_row_group_is_withheld_and_a_large_one_released() -> None:
    groups = [(("big",), [100_000]), (("one",), [1])]
    for _ in range(20):
        rows = answer([Output("key", key=0), ROWS], groups, epsilon=1.0, delta=1e-6, bounds={}, grouped=True)
        assert [r[0] for r in rows] == ["big"]


def test_public_keys_release_exactly_the_declared_values_present_or_not() -> None:
    groups = [(("CA",), [500]), (("ZZ",), [400])]
    public = public_keys(["state"], {"state": ("CA", "NY")})
    assert public == [("CA",), ("NY",)]
    rows = answer([Output("key", key=0), ROWS], groups, epsilon=1.0, delta=1e-6, bounds={}, grouped=True, public=public)
    assert [r[0] for r in rows] == ["CA", "NY"]
    assert abs(rows[0][1] - 500) < 40 and 0 <= rows[1][1] < 40


def test_public_keys_need_every_grouping_column_declared() -> None:
    assert public_keys(["state", "city"], {"state": ("CA",)}) is None
    assert public_keys([None], {"state": ("CA",)}) is None
    assert public_keys(["s", "t"], {"s": ("a", "b"), "t": (1,)}) == [("a", 1), ("b", 1)]


def test_post_processing_clamps_averages_rounds_integer_sums_and_keeps_counts_non_negative() -> None:
    outs = [Output("avg", "a"), Output("sum", "a", integral=True), Output("count", "a")]
    for _ in range(50):
        ((avg, total, count),) = answer(
            outs, [((), [0.0, 0])], epsilon=0.1, delta=1e-6, bounds={"a": (10, 20)}, grouped=False
        )
        assert avg is None or 10 <= avg <= 20
        assert isinstance(total, int) and count >= 0


def test_sum_without_bounds_is_refused_saying_how_to_give_them() -> None:
    with pytest.raises(DifferentialPrivacyError, match=r"bounds: \{a: \[low, high\]\}"):
        answer([Output("sum", "a")], [((), [1.0])], epsilon=1.0, delta=1e-6, bounds={}, grouped=False)


def test_release_keeps_one_noisy_value_per_statistic_for_the_cache() -> None:
    wanted = (Measure("rows"), Measure("sum", "a"))
    got = release(wanted, [(("x",), [10_000, 5.0])], epsilon=1.0, delta=1e-6, bounds={"a": (0, 1)}, grouped=True)
    ((key, values),) = got
    assert key == ("x",) and len(values) == 2 and abs(values[0] - 10_000) < 100
