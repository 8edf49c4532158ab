"""The governed session's lease heartbeat (no JVM): renews until told to stop or until no grant is left."""

from __future__ import annotations

import threading

from immuta_spark.spark.heartbeat import LeaseHeartbeat


def test_it_renews_until_the_renewal_reports_no_grant() -> None:
    calls: list[int] = []
    done = threading.Event()

    def renew() -> bool:
        calls.append(1)
        if len(calls) == 3:
            done.set()
            return False
        return True

    beat = LeaseHeartbeat(renew, lease_seconds=0.15)
    assert done.wait(30)
    beat.join(30)
    assert len(calls) == 3 and not beat.alive


def test_a_failing_renewal_is_retried_and_stop_ends_it() -> None:
    calls: list[int] = []
    twice = threading.Event()

    def renew() -> bool:
        calls.append(1)
        if len(calls) >= 2:
            twice.set()
        raise OSError("catalog unreachable")

    beat = LeaseHeartbeat(renew, lease_seconds=0.15)
    assert twice.wait(30)  # an error does not end the heartbeat: the next tick tries again
    beat.stop()
    assert not beat.alive
    beat.join(30)
    settled = len(calls)
    threading.Event().wait(0.2)
    assert len(calls) == settled
