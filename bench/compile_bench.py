"""Policy compile time for one source in a catalog of 1k sources x 1k policies x 10k users."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.catalog_gen import COLUMNS, synthetic_governance
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import Snapshot, compile_plan, make_subject
from immuta_spark.model import Governance

__all__ = ["compile_times", "pct", "run"]


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def compile_times(snapshot: Snapshot, governance: Governance, compiles: int, *, seed: int = 1) -> list[float]:
    """Milliseconds of ``compiles`` compiles of random (user, source), each with its subject."""
    users = [u.name for u in governance.users if u.name != "admin"]
    sources = [s.name for s in governance.sources]
    rnd = random.Random(seed)
    times = []
    for _ in range(compiles):
        user = rnd.choice(users)
        source = rnd.choice(sources)
        t = time.perf_counter()
        subject = make_subject(snapshot, user)
        compile_plan(snapshot, subject, source, COLUMNS)
        times.append((time.perf_counter() - t) * 1000)
    return times


def run(compiles: int = 2000) -> dict[str, float]:
    """Apply the synthetic catalog, then time ``compiles`` compiles of random (user, source)."""
    governance = synthetic_governance()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = GovernanceCatalog.open(f"sqlite:///{Path(tmp) / 'bench.db'}", identity="admin", create=True)
        t0 = time.perf_counter()
        catalog.apply_governance(governance)
        apply_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        snapshot = catalog.snapshot()
        load_s = time.perf_counter() - t0
        times = compile_times(snapshot, governance, compiles)
    return {
        "compile_p50_ms": round(statistics.median(times), 3),
        "compile_p99_ms": round(pct(times, 0.99), 3),
        "catalog_apply_s": round(apply_s, 2),
        "snapshot_load_s": round(load_s, 2),
    }


if __name__ == "__main__":  # pragma: no cover
    print(run())
