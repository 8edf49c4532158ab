"""Planning overhead of the governed session on Spark's TPC-DS queries (issue 8).

For every query of ``tests/spark/tpcds/queries`` (Spark's own TPC-DS v1.4 texts), with every
table governed but no policy applying to the user, it measures the time to a physical plan:

- raw: ``spark.sql(text)`` then ``df._jdf.queryExecution().executedPlan()`` (parse, analysis,
  optimization, physical planning; nothing runs),
- governed: the same through ``ImmutaSparkSession.sql`` (which adds the policy work: the
  statement's parse walk, enforcement, guard and audit).

Each query is planned once in both sessions first (JVM classes, enforced templates and metastore
lookups warm up), then ``repeats`` times alternately; each figure is the minimum of its repeats.
The overhead of a query is governed minus raw; it can be negative (for example when the governed
statement reads already-analyzed enforced plans where the raw one looks each table up in the
metastore). ``python -m bench.tpcds_bench [q1 q2 ...]`` sets up a local Spark session, the
generated tables and a catalog on its own and prints the results as JSON.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["QUERY_DIR", "SETTINGS", "main", "measure", "query_names", "run"]

QUERY_DIR = Path(__file__).resolve().parents[1] / "tests" / "spark" / "tpcds" / "queries"
#: Settings of the raw and the governed session alike (as in tests/spark/test_tpcds_compat.py).
SETTINGS = {"spark.sql.shuffle.partitions": "1", "spark.sql.ansi.enabled": "false"}


def query_names() -> list[str]:
    """The query files' names in numeric order (q1, q2, ..., q14a, q14b, ..., q99)."""

    def order(path: Path) -> tuple[int, str]:
        match = re.fullmatch(r"q(\d+)([a-z]?)", path.stem)
        return (int(match.group(1)), match.group(2)) if match else (10**6, path.stem)

    return [p.stem for p in sorted(QUERY_DIR.glob("q*.sql"), key=order)]


def _plan_ms(session: Any, text: str) -> float:
    started = time.perf_counter()
    df = session.sql(text)
    df._jdf.queryExecution().executedPlan()
    return (time.perf_counter() - started) * 1000


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def run(
    spark: Any,
    catalog: Any,
    *,
    user: str = "analyst",
    database: str = "tpcds",
    queries: Iterable[str] | None = None,
    repeats: int = 3,
) -> dict[str, Any]:
    """Per-query planning time, governed minus raw, on ``spark``'s tables of ``database``.

    ``catalog`` governs the tables and no policy of it applies to ``user``. Queries the governed
    session refuses are listed under ``tpcds_refused`` (first line of the error) and left out of
    the figures. Returns ``tpcds_overhead_ms_p50`` and ``tpcds_overhead_ms_max`` plus the
    per-query figures under ``tpcds_per_query``.
    """
    from immuta_spark.spark import ImmutaSparkSession

    raw = spark.newSession()
    for key, value in SETTINGS.items():
        raw.conf.set(key, value)
    raw.catalog.setCurrentDatabase(database)
    governed = ImmutaSparkSession.wrap(raw, catalog=catalog, user=user)
    governed.catalog.setCurrentDatabase(database)
    for key, value in SETTINGS.items():
        governed.conf.set(key, value)

    texts = {name: (QUERY_DIR / f"{name}.sql").read_text() for name in (queries or query_names())}
    refused: dict[str, str] = {}
    for name, text in texts.items():  # warm-up: every query planned once in both sessions
        _plan_ms(raw, text)
        try:
            _plan_ms(governed, text)
        except Exception as exc:  # noqa: BLE001 - a refusal is a result, not a crash
            refused[name] = _first_line(exc)
    per_query: dict[str, dict[str, float]] = {}
    for name, text in texts.items():
        if name in refused:
            continue
        raw_ms, governed_ms = [], []
        for _ in range(repeats):  # interleaved, so both see the same machine state
            raw_ms.append(_plan_ms(raw, text))
            governed_ms.append(_plan_ms(governed, text))
        best_raw, best_governed = min(raw_ms), min(governed_ms)
        per_query[name] = {
            "raw_ms": round(best_raw, 2),
            "governed_ms": round(best_governed, 2),
            "overhead_ms": round(best_governed - best_raw, 2),
        }
    overheads = [q["overhead_ms"] for q in per_query.values()]
    return {
        "tpcds_queries": len(per_query),
        "tpcds_overhead_ms_p50": round(statistics.median(overheads), 2) if overheads else None,
        "tpcds_overhead_ms_max": round(max(overheads), 2) if overheads else None,
        "tpcds_raw_plan_ms_p50": round(statistics.median(q["raw_ms"] for q in per_query.values()), 2)
        if per_query
        else None,
        "tpcds_per_query": per_query,
        "tpcds_refused": refused,
    }


def measure(queries: list[str] | None = None) -> dict[str, Any]:
    """Set up a local Spark session, the generated tables and their catalog; ``run``'s results."""
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.local import local_spark
    from tests.spark.tpcds.catalog import UNRESTRICTED_USER, governance_yaml
    from tests.spark.tpcds.data import create_tables

    identity = "svc_bench"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spark = local_spark(work, app="immuta-spark-tpcds-bench", identity=identity)
        try:
            create_tables(spark)
            policies = work / "tpcds.yaml"
            policies.write_text(governance_yaml(identity))
            catalog = GovernanceCatalog.open(f"sqlite:///{work / 'tpcds.db'}", identity=identity, create=True)
            catalog.apply(policies)
            return run(spark, catalog, user=UNRESTRICTED_USER, queries=queries or None)
        finally:
            spark.stop()


def main(argv: list[str]) -> int:
    """``python -m bench.tpcds_bench [q1 q2 ...]``: print :func:`measure`'s results as JSON."""
    print(json.dumps(measure(argv or None), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
