"""The advanced masks on the P1 table (issue 13): reversible, format-preserving, k-anonymization, fingerprint.

Each measures a governed read of ``bench.claims`` (written by :func:`bench.spark_bench._p1`'s
setup, 5M rows) under one policy against the raw read of the same table, both into Spark's
``noop`` sink. Part of ``python -m bench spark``.

- ``reversible_ratio``: a reversible mask on one string column (median of :data:`REVERSIBLE_PAIRS`
  interleaved pairs, as many as ``p1_ratio`` takes: a pair lasts about a second, and on a shared
  machine the median of seven gave 1.17 to 1.60 in four runs of the same code).
- ``fpe_ratio`` / ``fpe_ratio_warm``: a format-preserving mask on one string column, on a
  200k-row slice (FF3-1 in the JVM with Bouncy Castle); warm: the same again.
- ``kanon_ratio``: a two-column k-anonymization of ``bench.claims_k`` (the same rows with a
  ``zip`` column: 1% of rows have a zip of their own, so 50,000 groups are smaller than K), its
  small groups counted once; ``kanon_counted_ratio``: the same with the groups counted in every
  query (as when a row filter applies or the table changed); ``fingerprint_s``: fingerprinting
  ``bench.claims``.
- ``dp_query_ms`` / ``dp_query_cached_ms``: one differentially private aggregate end to end
  (``AVG`` by state over the 5M rows), answered afresh (fingerprint already made) and from the
  catalog's cache.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.spark_bench import best_of

__all__ = ["FPE_ROWS", "REVERSIBLE_PAIRS", "run"]

_YAML = """
version: 1
users:
  - {name: svc_bench, permissions: [IMPERSONATE, GOVERNANCE]}
  - {name: analyst}
sources:
  - name: Bench Claims
    table: TABLE
    owners: [svc_bench]
    high_cardinality_column: id
    subscription: {anyone: {}}
    policies:
      - POLICY
"""
#: Interleaved pairs ``reversible_ratio`` is the median of.
REVERSIBLE_PAIRS = 15
#: FF3-1 costs about 3 µs a value (64 µs in Python): its ratio is measured on a slice of the table.
FPE_ROWS = 200_000


def _governed(
    spark: Any, work: Path, name: str, policy: str, *, table: str = "bench.claims", settings: str = ""
) -> Any:
    """A governed session of ``analyst`` on a catalog of its own whose one source has ``policy``."""
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark import ImmutaSparkSession

    path = work / f"{name}.yaml"
    text = _YAML.replace("TABLE", table).replace("POLICY", policy)
    path.write_text(text.replace("version: 1\n", f"version: 1\n{settings}") if settings else text)
    catalog = GovernanceCatalog.open(f"sqlite:///{work / f'{name}.db'}", identity="svc_bench", create=True)
    catalog.apply(path)
    return ImmutaSparkSession.wrap(spark, catalog=catalog, user="analyst")


def _sink(make: Callable[[], Any]) -> Callable[[], None]:
    return lambda: make().write.format("noop").mode("overwrite").save()


def _pairs(masked: Callable[[], None], raw: Callable[[], None], runs: int) -> float:
    """The median ratio of ``runs`` interleaved pairs, alternating which goes first."""
    ratios = []
    for i in range(runs):
        if i % 2 == 0:
            a, b = best_of(masked, 1), best_of(raw, 1)
        else:
            b, a = best_of(raw, 1), best_of(masked, 1)
        ratios.append(a / b)
    return statistics.median(ratios)


def run(spark: Any, work: Path, *, runs: int = 7) -> dict[str, float]:
    """Every figure of this module (``bench.claims`` must exist)."""
    from pyspark.sql import functions as F

    from immuta_spark.spark.fingerprint import compute_fingerprint, table_version

    out: dict[str, float] = {}
    raw = _sink(lambda: spark.table("bench.claims"))
    tok = _governed(
        spark, work, "reversible", "{name: tok-ssn, type: masking, columns: {names: [ssn]}, mask: reversible}"
    )
    masked = _sink(lambda: tok.sql("SELECT * FROM bench.claims"))
    out["reversible_ratio"] = round(_pairs(masked, raw, max(runs, REVERSIBLE_PAIRS)), 3)

    spark.table("bench.claims").filter(F.col("id") < FPE_ROWS).write.mode("overwrite").saveAsTable("bench.claims_fpe")
    policy = "{name: fpe-ssn, type: masking, columns: {names: [ssn]}, mask: format_preserving}"
    base = best_of(_sink(lambda: spark.table("bench.claims_fpe")), 3)
    fpe = _governed(spark, work, "fpe", policy, table="bench.claims_fpe")
    masked = _sink(lambda: fpe.sql("SELECT * FROM bench.claims_fpe"))
    out["fpe_ratio_first"] = round(best_of(masked, 1) / base, 1)  # the process's first: JIT compilation too
    out["fpe_ratio_warm"] = round(statistics.median(best_of(masked, 1) / base for _ in range(3)), 1)
    # A catalog of its own is a key of its own: every value is encrypted afresh, by warm code.
    fresh = []
    for i in range(3):
        other = _governed(spark, work, f"fpe{i}", policy, table="bench.claims_fpe")
        fresh.append(best_of(_sink(lambda o=other: o.sql("SELECT * FROM bench.claims_fpe")), 1) / base)
    out["fpe_ratio"] = round(statistics.median(fresh), 1)
    out["fpe_rows"] = FPE_ROWS

    out.update(_kanon(spark, work, runs))
    frame = spark.table("bench.claims")
    started = time.perf_counter()
    compute_fingerprint(frame, cutoff=200000, groups={"k": ("state", "amount")})
    table_version(frame)
    out["fingerprint_s"] = round(time.perf_counter() - started, 2)
    out.update(_dp(spark, work, runs))
    return out


def _kanon(spark: Any, work: Path, runs: int) -> dict[str, float]:
    """``kanon_ratio`` (small groups counted once) and ``kanon_counted_ratio`` (counted in each query)."""
    from pyspark.sql import functions as F

    from immuta_spark.spark import kanon as module

    zip_code = F.when(F.col("id") % 100 == 0, F.col("id") + 1_000_000).otherwise(F.col("id") % 9973)
    spark.table("bench.claims").withColumn("zip", zip_code).write.mode("overwrite").saveAsTable("bench.claims_k")
    raw = _sink(lambda: spark.table("bench.claims_k"))
    policy = "{name: k-state-zip, type: masking, columns: {names: [state, zip]}, mask: {k_anonymize: 2}}"
    cutoff = "settings: {k_anonymization_cardinality_cutoff: 200000}\n"
    out: dict[str, float] = {}
    limit = module.RARE_LIMIT
    for name, rare_limit in (("kanon_ratio", limit), ("kanon_counted_ratio", -1)):
        module.RARE_LIMIT = rare_limit  # -1: no set of small groups is ever kept
        try:
            session = _governed(spark, work, name, policy, table="bench.claims_k", settings=cutoff)
            masked = _sink(lambda s=session: s.sql("SELECT * FROM bench.claims_k"))
            masked()  # the first query computes the fingerprint (and counts the small groups once)
            out[name] = round(_pairs(masked, raw, min(runs, 5)), 3)
        finally:
            module.RARE_LIMIT = limit
    return out


def _dp(spark: Any, work: Path, runs: int) -> dict[str, float]:
    """``dp_query_ms``: answered afresh (a new query each time); ``dp_query_cached_ms``: the same query again."""
    private = _governed(
        spark,
        work,
        "dp",
        "{name: dp-claims, type: differential_privacy, epsilon: 1.0, bounds: {amount: [0, 15000]}}",
    )
    private.sql("SELECT count(*) FROM bench.claims").collect()  # the first query makes the fingerprint
    fresh = []
    for i in range(min(runs, 5)):
        started = time.perf_counter()
        private.sql(f"SELECT state, avg(amount) FROM bench.claims WHERE id >= {i} GROUP BY state").collect()
        fresh.append(time.perf_counter() - started)
    cached = []
    for _ in range(min(runs, 5)):
        started = time.perf_counter()
        private.sql("SELECT state, avg(amount) FROM bench.claims WHERE id >= 0 GROUP BY state").collect()
        cached.append(time.perf_counter() - started)
    return {
        "dp_query_ms": round(statistics.median(fresh) * 1000, 1),
        "dp_query_cached_ms": round(statistics.median(cached) * 1000, 1),
    }
