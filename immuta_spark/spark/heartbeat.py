"""Keeps a governed session's workspace grant alive while the session lives (a lease heartbeat).

A switch into a project with an enabled workspace grants native HDFS access for a lease
(``spark.immuta.workspace.leaseSeconds``, default 900 s). The session renews it every third of
the lease from a daemon thread; the renewal re-checks membership, compliance and the workspace's
state, so it ends the grant as soon as any of them fails. A session that dies, or a process that
exits, stops renewing and the grant runs out: the lease, not the session, is what fails closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["LEASE_SETTING", "LeaseHeartbeat"]

#: The Spark setting for the lease of a governed session's workspace grants, in seconds.
LEASE_SETTING = "spark.immuta.workspace.leaseSeconds"

_log = logging.getLogger(__name__)


class LeaseHeartbeat:
    """Calls ``renew`` every ``lease_seconds / 3`` until it returns False or :meth:`stop` is called."""

    def __init__(self, renew: Callable[[], bool], lease_seconds: float) -> None:
        self._renew = renew
        self.interval = max(lease_seconds / 3.0, 0.05)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="immuta-lease-heartbeat")
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether it still renews."""
        return self._thread.is_alive() and not self._stopped.is_set()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                if not self._renew():
                    return  # no grant any more: nothing to keep alive
            except Exception:  # noqa: BLE001 - a failed renewal lets the lease run out (fail closed)
                _log.warning("renewing the workspace grant failed; it ends when its lease runs out", exc_info=True)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the heartbeat's thread to end (after :meth:`stop`, or once no grant is left)."""
        self._thread.join(timeout)

    def stop(self) -> None:
        """Stop renewing (the grant then ends when its lease runs out, or at the next switch)."""
        self._stopped.set()
