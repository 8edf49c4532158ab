"""Noisy answers to one aggregate query under differential privacy (POLICY.md 5.5), from OpenDP.

The Spark layer computes, per group, the exact statistics :func:`measures` asks for (values
clamped to the bounds already) and hands them to :func:`answer`, which releases:

- the **groups**: with no GROUP BY, the one global group; with GROUP BY on columns whose values
  are all declared public (``public_keys``), exactly the declared values, present in the data
  or not (an absent key gets a noisy zero: its absence is never revealed); otherwise the
  groups whose noisy row count passes a threshold (OpenDP's ``make_laplace_threshold``, which
  costs the policy's ``delta`` as well as epsilon): releasing every key a query finds would
  reveal which keys exist, one row at a time;
- one noisy value per statistic and group, from OpenDP's Laplace mechanism (discrete for
  counts), calibrated to the statistic's sensitivity: 1 for counts, ``max(|low|, |high|)``
  for a sum of values clamped to ``[low, high]``.

The query's epsilon is split evenly across its statistics (sequential composition); groups
are disjoint, so each statistic spends its share once whatever the number of groups (parallel
composition). Neighbouring tables differ by one row (added or removed). Everything after the
noise is post-processing and costs nothing: ``AVG`` is the noisy sum over the noisy count,
clamped to the bounds; counts are never negative; sums of integral columns are rounded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Any

from immuta_spark.errors import DifferentialPrivacyError

__all__ = ["KINDS", "Measure", "Output", "answer", "assemble", "measures", "public_keys", "release", "threshold"]

#: What one output column of an aggregate query is: a grouping key, COUNT(*), COUNT(col), SUM(col), AVG(col).
KINDS = ("key", "rows", "count", "sum", "avg")


@dataclass(frozen=True, slots=True)
class Output:
    """One output column of the query: its kind and, for a statistic, the source column it reads."""

    kind: str
    column: str | None = None
    #: For a key: which grouping key it shows.
    key: int | None = None
    #: A sum whose result type is integral (rounded after the noise).
    integral: bool = False


@dataclass(frozen=True, slots=True)
class Measure:
    """One exact statistic Spark computes per group: ``rows`` (COUNT(*)), ``count`` or ``sum`` of a column."""

    kind: str
    column: str | None = None


def measures(outputs: Sequence[Output], *, thresholded: bool) -> tuple[Measure, ...]:
    """The statistics the outputs need, each once; the row count first when groups pass a threshold."""
    found: list[Measure] = [Measure("rows")] if thresholded else []
    for out in outputs:
        if out.kind == "key":
            continue
        if out.kind not in KINDS:
            raise DifferentialPrivacyError(f"unknown aggregate kind {out.kind!r}; this is a bug, report it")
        needed = {
            "rows": [Measure("rows")],
            "count": [Measure("count", out.column)],
            "sum": [Measure("sum", out.column)],
            "avg": [Measure("sum", out.column), Measure("count", out.column)],
        }[out.kind]
        found += [m for m in needed if m not in found]
    return tuple(found)


def answer(
    outputs: Sequence[Output],
    groups: Sequence[tuple[tuple[Any, ...], Sequence[Any]]],
    *,
    epsilon: float,
    delta: float,
    bounds: Mapping[str, tuple[float, float]],
    grouped: bool,
    public: Sequence[tuple[Any, ...]] | None = None,
) -> list[tuple[Any, ...]]:
    """The released rows, in output order, for exact ``groups``: :func:`release`, then :func:`assemble`."""
    wanted = measures(outputs, thresholded=grouped and public is None)
    released = release(wanted, groups, epsilon=epsilon, delta=delta, bounds=bounds, grouped=grouped, public=public)
    return assemble(outputs, wanted, released, bounds)


def release(
    wanted: Sequence[Measure],
    groups: Sequence[tuple[tuple[Any, ...], Sequence[Any]]],
    *,
    epsilon: float,
    delta: float,
    bounds: Mapping[str, tuple[float, float]],
    grouped: bool,
    public: Sequence[tuple[Any, ...]] | None = None,
) -> list[tuple[tuple[Any, ...], list[float]]]:
    """The released groups with one noisy value per statistic of ``wanted``, for exact ``groups``.

    ``groups`` are (key values, exact statistics in the order of ``wanted``, as :func:`measures`
    gives them for ``thresholded=grouped and public is None``). ``public``, when given, is the
    declared key set (every combination of the grouping columns' public values), typed as Spark
    returns the keys.
    """
    if epsilon <= 0:
        raise DifferentialPrivacyError(f"epsilon must be positive, got {epsilon}; fix the policy")
    if not wanted:
        raise DifferentialPrivacyError("the query asks for no COUNT, SUM or AVG; add one")
    thresholded = grouped and public is None
    share = epsilon / len(wanted)
    exact = {_key(k): (tuple(k), [_number(x) for x in v]) for k, v in groups}
    if public is not None:
        rows = [(tuple(k), list(exact.get(_key(k), (k, [0.0] * len(wanted)))[1])) for k in public]
    elif grouped:
        rows = [exact[k] for k in _passing(exact, list(wanted), share, delta)]
    else:
        rows = [next(iter(exact.values()), ((), [0.0] * len(wanted)))]
    noisy: list[list[float]] = []
    for i, m in enumerate(wanted):
        values = [v[i] for _k, v in rows]
        noisy.append(values if thresholded and m.kind == "rows" else _laplace(values, m, share, bounds))
    return [(key, [noisy[i][j] for i in range(len(wanted))]) for j, (key, _v) in enumerate(rows)]


def assemble(
    outputs: Sequence[Output],
    wanted: Sequence[Measure],
    released: Sequence[tuple[tuple[Any, ...], Sequence[float]]],
    bounds: Mapping[str, tuple[float, float]],
) -> list[tuple[Any, ...]]:
    """The answer's rows, in output order, from released groups (post-processing only: no privacy cost)."""
    at = {m: i for i, m in enumerate(wanted)}
    return [
        tuple(_cell(out, key, {m: values[i] for m, i in at.items()}, bounds) for out in outputs)
        for key, values in released
    ]


def threshold(scale: float, delta: float) -> int:
    """The smallest count threshold at which a group of one row is released with probability at most ``delta``."""
    return _threshold(float(scale), float(delta))


def _key(values: Sequence[Any]) -> str:
    return json.dumps([None if v is None else [type(v).__name__, str(v)] for v in values])


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _passing(
    exact: Mapping[str, tuple[tuple[Any, ...], list[Any]]], wanted: Sequence[Measure], share: float, delta: float
) -> list[str]:
    """The keys whose noisy row count passes the threshold; their statistics' row count becomes the noisy one."""
    dp = _opendp()
    scale = 1.0 / share
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64"))
    metric = dp.l01inf_distance(dp.absolute_distance(T="i64"))
    mech = dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold(scale, delta))
    at = wanted.index(Measure("rows"))
    released = mech({k: int(v[at]) for k, (_key, v) in exact.items()})
    for k, count in released.items():
        exact[k][1][at] = float(max(0, int(count)))
    return [k for k in exact if k in released]


def _laplace(values: list[float], m: Measure, share: float, bounds: Mapping[str, tuple[float, float]]) -> list[float]:
    """``values`` with Laplace noise for one statistic at privacy loss ``share``."""
    if not values:
        return []
    dp = _opendp()
    if m.kind == "sum":
        lo, hi = _bounds(m.column, bounds)
        sensitivity = max(abs(lo), abs(hi))
        if sensitivity == 0:
            return [0.0] * len(values)
        mech = _float_mechanism(sensitivity, share)
        return [float(v) for v in mech([float(v) for v in values])]
    ints = dp.vector_domain(dp.atom_domain(T="i64"))
    mech = dp.m.make_laplace(ints, dp.l1_distance(T="i64"), scale=1.0 / share)
    return [float(v) for v in mech([int(v) for v in values])]


@lru_cache(maxsize=256)
def _float_mechanism(sensitivity: float, share: float) -> Any:
    """Laplace over a vector of floats whose L1 sensitivity is ``sensitivity``, at privacy loss ``share``."""
    dp = _opendp()
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    metric = dp.l1_distance(T=float)
    # OpenDP's map rounds conservatively: search the scale it proves, not sensitivity / epsilon.
    scale = dp.binary_search_param(lambda s: dp.m.make_laplace(domain, metric, scale=s), d_in=sensitivity, d_out=share)
    return dp.m.make_laplace(domain, metric, scale=scale)


@lru_cache(maxsize=256)
def _threshold(scale: float, delta: float) -> int:
    dp = _opendp()
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64"))
    metric = dp.l01inf_distance(dp.absolute_distance(T="i64"))

    def cost(t: int) -> float:
        return float(dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=t).map((1, 1, 1))[1])

    # The tail bound gives the threshold within a step or two; OpenDP's own map decides.
    t = max(2, 1 + math.ceil(scale * math.log(1 / (2 * delta))))
    while cost(t) > delta:
        t += 1
    while t > 2 and cost(t - 1) <= delta:
        t -= 1
    return t


def _bounds(column: str | None, bounds: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    if column is None or column not in bounds:
        raise DifferentialPrivacyError(
            f"SUM and AVG of '{column}' need bounds: declare them in the policy (bounds: {{{column}: [low, high]}}) "
            "or fingerprint the source (`immuta-spark fingerprint SOURCE`) so its minimum and maximum are known"
        )
    return bounds[column]


def _cell(out: Output, key: tuple[Any, ...], noisy: Mapping[Measure, float], bounds: Mapping[str, Any]) -> Any:
    if out.kind == "key":
        assert out.key is not None
        return key[out.key]
    if out.kind == "rows":
        return max(0, round(noisy[Measure("rows")]))
    if out.kind == "count":
        return max(0, round(noisy[Measure("count", out.column)]))
    total = noisy[Measure("sum", out.column)]
    if out.kind == "sum":
        return round(total) if out.integral else total
    count = noisy[Measure("count", out.column)]
    if count < 1:
        return None  # no rows to average, as far as the noisy count tells
    lo, hi = _bounds(out.column, bounds)
    return min(max(total / count, lo), hi)


def public_keys(columns: Sequence[str | None], declared: Mapping[str, Sequence[Any]]) -> list[tuple[Any, ...]] | None:
    """Every combination of the grouping columns' declared values, or None unless each column has them."""
    if not columns or any(c is None or c not in declared for c in columns):
        return None
    return [tuple(p) for p in product(*(declared[c] for c in columns if c is not None))]


def _opendp() -> Any:
    import opendp.prelude as dp

    # The Laplace and threshold measurements are in OpenDP's contrib set (proven, not yet vetted).
    dp.enable_features("contrib")
    return dp
