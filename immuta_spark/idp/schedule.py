"""``idp sync --every 15m``: a sync on a schedule that keeps running through a directory's bad moments.

After a transient failure (the directory or the catalog unreachable) the next try comes sooner,
with exponential backoff (1 s, 2 s, 4 s, ... never more than the interval); after a success, or a
failure trying again cannot fix (a refused bind, a sync refused for removing too many users), the
next try is one interval later. Nothing is ever changed by a failed try (each sync is one transaction).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from immuta_spark.errors import CatalogError, IdentityProviderError, ImmutaSparkError

__all__ = ["parse_interval", "run_every"]

T = TypeVar("T")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_interval(text: str) -> float:
    """Seconds from ``30s``, ``15m``, ``1h``, ``1d`` (a bare number is seconds); ValueError otherwise."""
    found = _INTERVAL.match(text)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"expected an interval such as 30s, 15m, 1h or 1d, got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def _transient(exc: ImmutaSparkError) -> bool:
    return isinstance(exc, IdentityProviderError | CatalogError) and bool(getattr(exc, "transient", False))


def run_every(
    task: Callable[[], T],
    *,
    interval: float,
    on_result: Callable[[T], None],
    on_error: Callable[[ImmutaSparkError, float], None],
    sleep: Callable[[float], None] = time.sleep,
    backoff_start: float = 1.0,
    runs: int | None = None,
) -> None:
    """Run ``task`` every ``interval`` seconds (``runs`` times, or for ever), retrying transient failures sooner.

    ``on_error`` gets each failure and the seconds until the next try. Errors outside the product's
    hierarchy (bugs) are not caught: a scheduled sync must not hide them.
    """
    failures = 0
    done = 0
    while runs is None or done < runs:
        done += 1
        try:
            result = task()
        except ImmutaSparkError as exc:
            if _transient(exc):
                wait = min(interval, backoff_start * 2**failures)
                failures += 1
            else:
                wait, failures = interval, 0
            on_error(exc, wait)
        else:
            failures = 0
            wait = interval
            on_result(result)
        if runs is None or done < runs:
            sleep(wait)
