"""Query latency while another process holds the catalog's write lock (``audit_locked_p99_ms``).

A real process holds ``BEGIN IMMEDIATE`` on the SQLite catalog for the whole measurement; a
governed session runs and collects small queries meanwhile. Each query's audit record waits at
most the audit wait, then goes to the spool; afterwards every record must be in the catalog.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["locked_audit"]

_YAML = """
version: 1
users:
  - {name: svc_bench, permissions: [IMPERSONATE, GOVERNANCE]}
  - {name: analyst, attributes: {State: [Ohio]}}
sources:
  - name: Audit Bench
    table: bench.audit_rows
    owners: [svc_bench]
    subscription: {anyone: {}}
    policies:
      - {name: hash-ssn, type: masking, columns: {names: [ssn]}, mask: hash}
      - {name: state-rows, type: row, match: {attribute: State, column: state}}
"""

_HOLDER = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); "
    "print('locked', flush=True); sys.stdin.readline(); c.execute('ROLLBACK')"
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(session: Any, queries: int, marker: str) -> list[float]:
    times = []
    for i in range(queries):
        t = time.perf_counter()
        session.sql(f"SELECT id, ssn FROM bench.audit_rows WHERE id > {i % 7} /* {marker}-{i} */").collect()
        times.append((time.perf_counter() - t) * 1000)
    return times


def locked_audit(spark: Any, work: Path, queries: int = 200) -> dict[str, float]:
    """p50/p99 of governed queries with and without another process holding the write lock."""
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark import ImmutaSparkSession

    spark.sql("CREATE DATABASE IF NOT EXISTS bench")
    rows = [(i, f"{i:03d}-00-0000", "Ohio" if i % 2 else "Texas") for i in range(100)]
    spark.createDataFrame(rows, "id int, ssn string, state string").write.mode("overwrite").saveAsTable(
        "bench.audit_rows"
    )
    (work / "audit.yaml").write_text(_YAML)
    path = work / "audit.db"
    catalog = GovernanceCatalog.open(f"sqlite:///{path}", identity="svc_bench", create=True)
    catalog.apply(work / "audit.yaml")
    session = ImmutaSparkSession.wrap(spark, catalog=catalog, user="analyst")
    _timed(session, 20, "warm")
    free = _timed(session, queries, "free")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked = _timed(session, queries, "locked")
        spooled = catalog.store.audit_log.spool.pending()
    finally:
        holder.communicate("\n", timeout=60)
    catalog.store.audit_log.drain()
    stored = sum(1 for r in catalog.audit(user="analyst") if "locked-" in str(r.detail.get("sql", "")))
    return {
        "audit_free_p50_ms": round(statistics.median(free), 2),
        "audit_free_p99_ms": round(_pct(free, 0.99), 2),
        "audit_locked_p50_ms": round(statistics.median(locked), 2),
        "audit_locked_p99_ms": round(_pct(locked, 0.99), 2),
        "audit_locked_spooled": spooled,
        "audit_locked_lost": queries - stored,
    }
