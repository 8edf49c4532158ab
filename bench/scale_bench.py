"""The catalog at scale: apply into an empty catalog, re-apply a few changes, compile among 10k policies.

Each figure is the median of ``repeats`` runs, each on a catalog of its own (two shared cores
vary a lot from run to run). Part of ``python -m bench compile``.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.catalog_gen import synthetic_governance
from bench.compile_bench import compile_times, pct
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.model import Governance

__all__ = ["changed_users", "run"]


def changed_users(governance: Governance, count: int) -> Governance:
    """The same catalog with ``count`` users (spread over the list) in one more group."""
    users = list(governance.users)
    step = max(1, (len(users) - 1) // count)
    for i in range(count):
        j = 1 + i * step  # users[0] is the admin who applies
        users[j] = dataclasses.replace(users[j], groups=users[j].groups | {"changed"})
    return dataclasses.replace(governance, users=tuple(users))


def _open(directory: Path, name: str, *, create: bool = False) -> GovernanceCatalog:
    return GovernanceCatalog.open(f"sqlite:///{directory / name}", identity="admin", create=create)


def _timed(action: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def run(repeats: int = 3, compiles: int = 2000) -> dict[str, float]:
    """Every scale figure (see ``bench/__main__.py`` for what each measures)."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        big = synthetic_governance(sources=2000, policies=2000)
        runs = []
        for i in range(repeats):
            catalog = _open(directory, f"a{i}.db", create=True)
            runs.append(_timed(lambda catalog=catalog: catalog.apply_governance(big)))
        out["apply_2000_s"] = round(statistics.median(runs), 2)

        many = synthetic_governance(users=100_000)
        changed = changed_users(many, 100)
        applies, reapplies = [], []
        for i in range(repeats):
            catalog = _open(directory, f"u{i}.db", create=True)
            applies.append(_timed(lambda catalog=catalog: catalog.apply_governance(many)))
            again = _open(directory, f"u{i}.db")  # a new handle, as a new `immuta-spark apply` has
            t0 = time.perf_counter()
            result = again.apply_governance(changed)
            reapplies.append(time.perf_counter() - t0)
            assert len(result.changed) == 100 and not result.added and not result.removed
        out["apply_100k_users_s"] = round(statistics.median(applies), 2)
        out["reapply_100k_users_100_changed_s"] = round(statistics.median(reapplies), 2)
        out["snapshot_load_100k_users_s"] = round(_timed(again.snapshot), 2)

        wide = synthetic_governance(policies=10_000)
        _open(directory, "p.db", create=True).apply_governance(wide)
        p50s, p99s = [], []
        for _ in range(repeats):
            snapshot = _open(directory, "p.db").snapshot()  # a new snapshot: nothing compiled yet
            times = compile_times(snapshot, wide, compiles)
            p50s.append(statistics.median(times))
            p99s.append(pct(times, 0.99))
        out["compile_p50_ms_10k_policies"] = round(statistics.median(p50s), 3)
        out["compile_p99_ms_10k_policies"] = round(statistics.median(p99s), 3)
    out["entitlement_ms"] = entitlement_ms(repeats)
    return out


def entitlement_ms(repeats: int = 3) -> float:
    """The recommended entitlement of a 1,000-member, 50-source equalized project (fresh snapshot), median ms."""
    from bench.catalog_gen import project_governance
    from immuta_spark.engine import Snapshot

    governance = project_governance()
    project = governance.projects[0]
    times = []
    for _ in range(repeats):
        snapshot = Snapshot(governance)  # nothing computed yet: the policy lookups are part of it
        t0 = time.perf_counter()
        snapshot.recommended_entitlement(project)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


if __name__ == "__main__":  # pragma: no cover
    print(run())
