"""Policy compile time for one source in a catalog of 1k sources x 1k policies x 10k users."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.catalog_gen import COLUMNS, synthetic_governance
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import compile_plan, make_subject

__all__ = ["run"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(compiles: int = 2000) -> dict[str, float]:
    """Apply the synthetic catalog, then time ``compiles`` compiles of random (user, source)."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog = GovernanceCatalog.open(f"sqlite:///{Path(tmp) / 'bench.db'}", identity="admin", create=True)
        t0 = time.perf_counter()
        catalog.apply_governance(synthetic_governance())
        apply_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        snapshot = catalog.snapshot()
        load_s = time.perf_counter() - t0
        rnd = random.Random(1)
        times = []
        for _ in range(compiles):
            user = f"user{rnd.randrange(9999)}"
            source = f"source{rnd.randrange(1000)}"
            t = time.perf_counter()
            subject = make_subject(snapshot, user)
            compile_plan(snapshot, subject, source, COLUMNS)
            times.append((time.perf_counter() - t) * 1000)
    return {
        "compile_p50_ms": round(statistics.median(times), 3),
        "compile_p99_ms": round(_pct(times, 0.99), 3),
        "catalog_apply_s": round(apply_s, 2),
        "snapshot_load_s": round(load_s, 2),
    }


if __name__ == "__main__":  # pragma: no cover
    print(run())
