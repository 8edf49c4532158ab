"""Aggregate queries over differentially private sources, answered with noise (POLICY.md 5.5).

A source under a ``differential_privacy`` policy is enforced (its masks and row filters) only
while this module answers a query on the same thread (``JvmGovernor.privately``); anywhere else
the analyzer refuses it, saying what is allowed. A query is answered in five steps:

1. the statement is analyzed in DP mode and ``DpQuery.java`` reads what it asks: grouping keys,
   COUNT(*) / COUNT(col) / SUM(col) / AVG(col), over filtered rows of one source, then ORDER BY,
   LIMIT or a projection of the answer; anything else is refused;
2. the bounds of every summed column are the policy's, else the fingerprint's minimum and
   maximum; the fingerprint (made fresh when the table changed) must show a column with at
   least 90% distinct values (:func:`~immuta_spark.catalog.dp_checks.dp_cardinality_problem`);
3. the catalog is asked for a cached answer to the same query (same rows after Spark's
   canonicalization, same keys and statistics, same policy): one within the source's latency
   tolerance is returned as it is and spends nothing. Otherwise the query's epsilon is
   reserved from the user's budget, in the same transaction;
4. Spark computes the exact statistics per group (values clamped to the bounds), at most
   :data:`MAX_GROUPS` groups, and :mod:`immuta_spark.dp` adds OpenDP's noise and keeps only the
   groups it may release;
5. the noisy answer is stored (cache and spend) and returned as a DataFrame of its own, with the
   query's column names and types, ordered and limited as asked.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, IntegralType, StringType, StructType

from immuta_spark.catalog.dp_checks import dp_cardinality_problem
from immuta_spark.dp import Measure, Output, assemble, measures, public_keys, release
from immuta_spark.engine.plan import DPPlan
from immuta_spark.errors import DifferentialPrivacyError
from immuta_spark.model import Source
from immuta_spark.spark.jvm import helper

if TYPE_CHECKING:
    from immuta_spark.spark.enforce import Enforcer

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "MAX_GROUPS", "answer", "private_source"]

#: How long an answer is cached when the source sets no ``latency_tolerance``.
DEFAULT_TOLERANCE_SECONDS = 24 * 3600
#: The most groups one query may have: more is refused (which tells the user only that there are more).
MAX_GROUPS = 100_000


def private_source(enforcer: Enforcer, sources: Sequence[Source]) -> Source | None:
    """The first of ``sources`` the session's user reads under differential privacy, if any."""
    for source in sources:
        plan = enforcer.plan(source)
        if plan.visible and plan.allowed and plan.differential_privacy is not None:
            return source
    return None


def answer(enforcer: Enforcer, sql: str, args: Any, policies: list[str]) -> DataFrame:
    """The noisy answer to aggregate query ``sql`` over a differentially private source."""
    spark = enforcer.spark
    with enforcer.governor.privately():
        analyzed = spark.sql(sql, args)
        query = helper(spark).dp_query(analyzed._jdf)
        spec = json.loads(str(query.spec()))
        snapshot = enforcer.snapshot()
        source = snapshot.sources[spec["source"]]
        plan = enforcer.plan(source).differential_privacy
        if plan is None:
            raise DifferentialPrivacyError(
                f"'{source.name}' is not differentially private any more; run the query again"
            )
        policies.append(plan.policy)
        outputs = [_output(o) for o in spec["outputs"]]
        key_columns = [k["column"] for k in spec["keys"]]
        grouped = bool(key_columns)
        public = public_keys(key_columns, plan.public_keys) if grouped else None
        wanted = measures(outputs, thresholded=grouped and public is None)
        bounds = _bounds(enforcer, source, plan, wanted)
        key = _cache_key(spec, wanted, plan, bounds, public)
        tolerance = source.latency_tolerance or DEFAULT_TOLERANCE_SECONDS
        catalog = enforcer.acting()
        ticket = catalog.dp_begin(
            user=enforcer.user, source=source.name, key=key, plan=plan, tolerance_seconds=tolerance
        )
        if ticket.cached is not None:
            released = _decode(ticket.cached, wanted)
            catalog.dp_audit_cached(user=enforcer.user, source=source.name, key=key)
        else:
            try:
                exact = query.exact()
                if public is not None:
                    _check_public(plan, key_columns, DataFrame(exact, spark).schema)
                groups = _exact(DataFrame(exact, spark), len(key_columns), wanted, bounds, spec)
                released = release(
                    wanted,
                    groups,
                    epsilon=plan.epsilon,
                    delta=plan.delta,
                    bounds=bounds,
                    grouped=grouped,
                    public=public,
                )
                catalog.dp_finish(ticket, answer=_encode(released, wanted), tolerance_seconds=tolerance)
            except BaseException:
                catalog.dp_refund(ticket)
                raise
    schema = StructType.fromJson(json.loads(spec["schema"]))
    rows = [_typed(row, schema) for row in assemble(outputs, wanted, released, bounds)]
    frame = spark.createDataFrame(rows, schema)
    return _after(frame, spec["after"])


def _output(o: Mapping[str, Any]) -> Output:
    return Output(o["kind"], o.get("column"), o.get("key"), bool(o.get("integral", False)))


def _bounds(
    enforcer: Enforcer, source: Source, plan: DPPlan, wanted: Sequence[Measure]
) -> dict[str, tuple[float, float]]:
    """Bounds of every summed column: the policy's, else the fresh fingerprint's minimum and maximum."""
    fingerprint = enforcer.fingerprints.current(enforcer.snapshot(), source)
    problem = dp_cardinality_problem(source, dict(fingerprint))
    if problem:
        raise DifferentialPrivacyError(problem)
    bounds = {c: (float(lo), float(hi)) for c, (lo, hi) in plan.bounds.items()}
    stats = fingerprint.get("columns", {})
    for m in wanted:
        if m.kind != "sum" or m.column is None or m.column in bounds:
            continue
        entry = stats.get(m.column, {})
        lo, hi = entry.get("min"), entry.get("max")
        if not isinstance(lo, int | float) or not isinstance(hi, int | float) or isinstance(lo, bool):
            raise DifferentialPrivacyError(
                f"SUM and AVG of '{m.column}' need bounds: declare them in policy '{plan.policy}' "
                f"(bounds: {{{m.column}: [low, high]}}); its fingerprint has no numeric minimum and maximum"
            )
        bounds[m.column] = (float(lo), float(hi))
    return bounds


def _check_public(plan: DPPlan, columns: Sequence[str | None], schema: StructType) -> None:
    for name, field in zip(columns, schema.fields, strict=False):
        if not isinstance(field.dataType, StringType | IntegralType):
            raise DifferentialPrivacyError(
                f"policy '{plan.policy}' declares public keys of '{name}', a {field.dataType.simpleString()} "
                "column; public keys are for string and integer columns: group by a string or integer column"
            )


def _exact(
    frame: DataFrame, keys: int, wanted: Sequence[Measure], bounds: Mapping[str, tuple[float, float]], spec: Any
) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """Per group: (key values, exact statistics of ``wanted``), values clamped to their bounds."""
    values = spec["values"]
    aggs = []
    for m in wanted:
        if m.kind == "rows":
            aggs.append(F.count(F.lit(1)))
            continue
        col = F.col(f"v{values.index(m.column)}")
        if m.kind == "count":
            aggs.append(F.count(col))
        else:
            lo, hi = bounds[m.column]
            aggs.append(F.sum(F.least(F.greatest(col.cast("double"), F.lit(lo)), F.lit(hi))))
    named = [a.alias(f"s{i}") for i, a in enumerate(aggs)]
    if keys:
        got = frame.groupBy(*[f"k{i}" for i in range(keys)]).agg(*named).limit(MAX_GROUPS + 1).collect()
        if len(got) > MAX_GROUPS:
            raise DifferentialPrivacyError(
                f"this GROUP BY has more than {MAX_GROUPS} groups, more than a differentially private answer "
                "may hold; group by fewer or coarser columns"
            )
    else:
        got = frame.agg(*named).collect()
    return [(tuple(r[:keys]), list(r[keys:])) for r in got]


def _cache_key(
    spec: Mapping[str, Any],
    wanted: Sequence[Measure],
    plan: DPPlan,
    bounds: Mapping[str, tuple[float, float]],
    public: Sequence[tuple[Any, ...]] | None,
) -> str:
    """The same query for the cache: its rows (canonical), keys and statistics, under the same policy."""
    body = {
        "source": spec["source"],
        "rows": spec["rows"],
        "keys": [k["sql"] for k in spec["keys"]],
        "measures": sorted([m.kind, m.column or ""] for m in wanted),
        "policy": [plan.policy, plan.epsilon, plan.delta],
        "bounds": sorted([c, list(b)] for c, b in bounds.items()),
        "public": None if public is None else [[_plain(v) for v in k] for k in public],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _encode(released: Sequence[tuple[tuple[Any, ...], Sequence[float]]], wanted: Sequence[Measure]) -> str:
    return json.dumps(
        {
            "measures": [[m.kind, m.column] for m in wanted],
            "groups": [[[_plain(v) for v in key], list(values)] for key, values in released],
        }
    )


def _decode(text: str, wanted: Sequence[Measure]) -> list[tuple[tuple[Any, ...], list[float]]]:
    body = json.loads(text)
    stored = [Measure(k, c) for k, c in body["measures"]]
    order = [stored.index(m) for m in wanted]
    return [(tuple(_unplain(v) for v in key), [values[i] for i in order]) for key, values in body["groups"]]


def _plain(v: Any) -> Any:
    """A key value as JSON keeps it, its type marked where JSON has none."""
    if isinstance(v, dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, bytes | bytearray):
        return {"bytes": base64.b64encode(bytes(v)).decode()}
    return v


def _unplain(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    ((kind, text),) = v.items()
    if kind == "datetime":
        return dt.datetime.fromisoformat(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "decimal":
        return decimal.Decimal(text)
    return base64.b64decode(text)


def _typed(row: tuple[Any, ...], schema: StructType) -> tuple[Any, ...]:
    """``row`` with each noisy number in its column's type (Spark's type for the same aggregate)."""
    out = []
    for value, field in zip(row, schema.fields, strict=True):
        kind = field.dataType
        if value is None or isinstance(value, bool):
            out.append(value)
        elif isinstance(kind, DecimalType) and isinstance(value, int | float):
            out.append(decimal.Decimal(repr(round(float(value), kind.scale))))
        elif isinstance(kind, IntegralType) and isinstance(value, float):
            out.append(round(value))
        else:
            out.append(value)
    return tuple(out)


def _after(frame: DataFrame, ops: Sequence[Mapping[str, Any]]) -> DataFrame:
    """The answer ordered, projected and limited as the query asked (of the noisy values: free)."""
    for op in ops:
        cols = frame.columns
        if op["op"] == "sort":
            order = []
            for k in op["keys"]:
                c = F.col(f"`{cols[k['output']].replace('`', '``')}`")
                if k["ascending"]:
                    order.append(c.asc_nulls_first() if k["nullsFirst"] else c.asc_nulls_last())
                else:
                    order.append(c.desc_nulls_first() if k["nullsFirst"] else c.desc_nulls_last())
            frame = frame.orderBy(*order)
        elif op["op"] == "project":
            frame = frame.select(*[frame[i] for i in op["outputs"]])
        else:
            frame = frame.limit(int(op["rows"]))
    return frame
