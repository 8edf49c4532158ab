"""Differential privacy's ledger (POLICY.md 5.5): cached answers, and the privacy loss each user spends.

The Spark layer answers a query under a DP policy in three steps, each one call here:

1. :meth:`PrivacyLedger.dp_begin`, in one serialised write transaction: an unexpired cached
   answer to the identical query (same source, same query key) is returned and nothing is
   spent; otherwise, when the policy has a budget, the user's spending on the source within
   the budget's period plus this query's epsilon must fit in it (else
   :class:`PrivacyBudgetExceeded`); then the epsilon is *reserved*. Two sessions racing for
   the last of a budget are serialised by the database: only what fits is reserved.
2. The answer is computed and released.
3. :meth:`PrivacyLedger.dp_finish` marks the spend *spent*, caches the answer until the
   source's latency tolerance runs out and audits ``dp.spend``; if the computation failed
   before anything was released, :meth:`PrivacyLedger.dp_refund` deletes the reservation.

A reservation whose process died between 1 and 3 stays counted (it may have released an
answer). Serving a cached answer spends nothing and is audited by
:meth:`PrivacyLedger.dp_audit_cached` (``dp.cached``), which the Spark layer calls whenever it
serves one, from :meth:`dp_begin` or :meth:`dp_cached` alike: ``dp_begin`` audits nothing
itself. The query key must identify everything the answer depends on (the statement, the
user's plan): computing it is the Spark layer's. All of it is runtime state: ``apply`` never
touches it, and it survives restarts. :meth:`PrivacyLedger.dp_budget` shows what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.engine import DPPlan, make_subject
from immuta_spark.engine.rows import plan_differential_privacy
from immuta_spark.engine.subscriptions import subscription_status
from immuta_spark.errors import DifferentialPrivacyError, NotAuthorized, PrivacyBudgetExceeded, SourceNotFound
from immuta_spark.model import Permission, PolicyType, Source
from immuta_spark.schema import stamp

__all__ = ["BudgetLine", "DPTicket", "PrivacyLedger"]

#: Float slack when adding epsilons: 0.1 + 0.2 must fit a budget of 0.3.
_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class DPTicket:
    """What :meth:`PrivacyLedger.dp_begin` decided.

    ``cached``: the cached answer to serve (nothing was spent, ``spend_id`` is None); else
    ``spend_id`` is the reserved spend to finish (:meth:`~PrivacyLedger.dp_finish`) or refund
    (:meth:`~PrivacyLedger.dp_refund`).
    """

    cached: str | None
    spend_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetLine:
    """One user's privacy spending on one source under its DP policy, as ``dp budget`` prints it.

    With a budget, ``spent`` and ``queries`` cover its rolling period; without one (``budget``,
    ``period`` and ``remaining`` None) everything so far. ``spent`` counts reservations in flight
    (``reserved`` of them) too: they hold their epsilon until finished or refunded.
    """

    source: str
    policy: str
    epsilon: float
    budget: float | None
    period: str | None
    spent: float
    remaining: float | None
    queries: int
    reserved: int
    last_spent_at: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]


class PrivacyLedger(CatalogBase):
    """The catalog's DP answers and spending (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def dp_cached(self, source: str, key: str) -> str | None:
        """The newest unexpired cached answer to query ``key`` on ``source``, or None (a read; writes nothing)."""
        with self.store.read() as conn:
            return self.store.dp_answer(conn, source=source, key=key, at=stamp(_now()))

    def dp_begin(self, *, user: str, source: str, key: str, plan: DPPlan, tolerance_seconds: int) -> DPTicket:
        """A cached answer to serve, or a reservation of ``plan.epsilon`` for ``user`` (see the module).

        A cached answer counts only if made within the last ``tolerance_seconds`` too (the
        tolerance may have shrunk since). Raises :class:`PrivacyBudgetExceeded` when the
        reservation would not fit ``plan.budget``; nothing is stored then (the refusal is audited,
        ``dp.budget_exceeded``).
        """
        _check_tolerance(tolerance_seconds)
        moment = _now()
        refused: PrivacyBudgetExceeded | None = None
        with self.store.write() as conn:
            after = stamp(moment - timedelta(seconds=tolerance_seconds))
            cached = self.store.dp_answer(conn, source=source, key=key, at=stamp(moment), created_after=after)
            if cached is not None:
                return DPTicket(cached=cached, spend_id=None)
            if plan.budget is not None:
                since = stamp(moment - timedelta(seconds=plan.budget.seconds))
                spends = self.store.dp_spend_rows(conn, user=user, source=source, since=since)
                refused = _over_budget(user, source, plan, spends)
            if refused is None:
                spend_id = self.store.insert_dp_spend(
                    conn,
                    user=user,
                    source=source,
                    policy=plan.policy,
                    epsilon=plan.epsilon,
                    delta=plan.delta,
                    key=key,
                    spent_at=stamp(moment),
                )
                return DPTicket(cached=None, spend_id=spend_id)
        detail = {"query_key": key, "epsilon": plan.epsilon, "retry_at": refused.retry_at}
        self.record(
            action="dp.budget_exceeded",
            outcome="denied",
            user=user,
            sources=[source],
            policies=[plan.policy],
            detail=detail,
        )
        raise refused

    def dp_finish(self, ticket: DPTicket, *, answer: str, tolerance_seconds: int) -> None:
        """The answer was released: its reserved spend is spent, the answer cached for ``tolerance_seconds``
        (0: not cached), and ``dp.spend`` audited, in one transaction."""
        _check_tolerance(tolerance_seconds)
        if ticket.spend_id is None:
            raise DifferentialPrivacyError(
                "this ticket served a cached answer and reserved nothing, so there is nothing to finish; "
                "audit the cached answer with dp_audit_cached instead"
            )
        with self.store.write() as conn:
            row = _reserved(self.store.dp_spend_rows(conn, spend_id=ticket.spend_id), ticket.spend_id, "finish")
            self.store.mark_dp_spent(conn, ticket.spend_id)
            moment = _now()
            self.store.delete_expired_dp_answers(conn, source=row["source"], at=stamp(moment))
            if tolerance_seconds > 0:
                self.store.insert_dp_answer(
                    conn,
                    source=row["source"],
                    key=row["query_key"],
                    answer=answer,
                    epsilon=row["epsilon"],
                    created_at=stamp(moment),
                    expires_at=stamp(moment + timedelta(seconds=tolerance_seconds)),
                )
            self.store.append_audit(
                conn,
                user=row["user_name"],
                impersonator=self._impersonator(),
                action="dp.spend",
                outcome="ok",
                sources=[row["source"]],
                policies=[row["policy"]],
                detail={
                    "user": row["user_name"],
                    "source": row["source"],
                    "policy": row["policy"],
                    "epsilon": row["epsilon"],
                    "delta": row["delta"],
                    "query_key": row["query_key"],
                },
            )

    def dp_audit_cached(self, *, user: str, source: str, key: str) -> None:
        """Audit that ``user`` was served the cached answer to query ``key`` on ``source`` (``dp.cached``)."""
        self.record(action="dp.cached", outcome="ok", user=user, sources=[source], detail={"query_key": key})

    def dp_refund(self, ticket: DPTicket) -> None:
        """Delete the reservation of a computation that failed before releasing anything (audited ``dp.refund``).

        A ticket of a cached answer, or one refunded already, has nothing to refund. A spend
        that was finished is refused: its answer was released, so its epsilon stays spent.
        """
        if ticket.spend_id is None:
            return
        with self.store.write() as conn:
            found = self.store.dp_spend_rows(conn, spend_id=ticket.spend_id)
            if not found:
                return  # refunded already
            row = _reserved(found, ticket.spend_id, "refund")
            self.store.delete_dp_reservation(conn, ticket.spend_id)
            detail = {"query_key": row["query_key"], "epsilon": row["epsilon"], "user": row["user_name"]}
            self.store.append_audit(
                conn,
                user=row["user_name"],
                impersonator=self._impersonator(),
                action="dp.refund",
                outcome="ok",
                sources=[row["source"]],
                policies=[row["policy"]],
                detail=detail,
            )

    def dp_budget(self, user: str, source: str | None = None) -> list[BudgetLine]:
        """``user``'s spending on each source (or only ``source``) whose DP policy applies to them.

        Asked by the user themselves, a governor, or, for one source, its owners. Sources the
        user cannot see are left out (for the user themselves, a named one is not found);
        decisions use the user's plain identity, outside any project.
        """
        snapshot = self.snapshot()
        me = self._actor_subject()
        named: Source | None = None
        if source is not None:
            named = snapshot.source(source)
            if named is None:
                raise SourceNotFound(source)
        # Governors, and a named source's owners, know which sources exist; the user alone may not.
        privileged = me.has(Permission.GOVERNANCE) or (named is not None and named.is_owner(me.user, me.groups))
        if user != self.actor and not privileged:
            self.record(
                action="dp.budget", outcome="denied", sources=[named.name] if named else [], detail={"user": user}
            )
            raise NotAuthorized(
                f"'{self.actor}' may not see the privacy budget of '{user}': only that user, a governor (GOVERNANCE) "
                "or, for one source (--source), its owners may; ask one of them"
            )
        subject = make_subject(snapshot, user)
        lines: list[BudgetLine] = []
        moment = _now()
        with self.store.read() as conn:
            for src in [named] if named is not None else list(snapshot.sources.values()):
                policies = snapshot.source_policies(src)
                if not subscription_status(snapshot, subject, src, policies.all)[0]:
                    if named is not None and not privileged:
                        raise SourceNotFound(source or src.name)  # an invisible source looks like a missing one
                    continue
                dp = plan_differential_privacy(subject, src, policies.of(PolicyType.DIFFERENTIAL_PRIVACY))
                if dp is None:
                    continue
                since = None if dp.budget is None else stamp(moment - timedelta(seconds=dp.budget.seconds))
                rows = self.store.dp_spend_rows(conn, user=user, source=src.name, since=since)
                lines.append(_line(src.name, dp, rows))
        return lines


def _reserved(found: list[dict[str, Any]], spend_id: int, what: str) -> dict[str, Any]:
    """The one row of spend ``spend_id`` in ``found``, which must still be reserved to ``what`` it."""
    if not found or found[0]["status"] != "reserved":
        state = "refunded" if not found else f"{found[0]['status']} already"
        raise DifferentialPrivacyError(
            f"cannot {what} privacy spend {spend_id}: it is {state}, not reserved; a spend is finished or "
            "refunded once, so begin the query again with dp_begin"
        )
    return found[0]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_tolerance(seconds: int) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise DifferentialPrivacyError(
            f"tolerance_seconds must be a whole number of seconds >= 0, got {seconds!r}; pass the source's "
            "latency_tolerance (0: cache nothing)"
        )


def _over_budget(user: str, source: str, plan: DPPlan, spends: list[dict[str, Any]]) -> PrivacyBudgetExceeded | None:
    """The refusal when ``plan.epsilon`` more does not fit ``plan.budget`` beside ``spends`` (oldest first)."""
    budget = plan.budget
    assert budget is not None
    spent = sum(float(r["epsilon"]) for r in spends)
    if spent + plan.epsilon <= budget.epsilon + _SLACK:
        return None
    # The query fits once enough of the oldest spending has left the period.
    retry_at: str | None = None
    left = spent
    for r in spends:
        left -= float(r["epsilon"])
        if left + plan.epsilon <= budget.epsilon + _SLACK:
            retry_at = stamp(datetime.fromisoformat(r["spent_at"]) + timedelta(seconds=budget.seconds))
            break
    when = f"try again after {retry_at}" if retry_at is not None else "no wait makes it fit"
    return PrivacyBudgetExceeded(
        f"privacy budget exceeded: user '{user}' spent epsilon {spent:g} on '{source}' in the last {budget.text}, "
        f"and this query needs {plan.epsilon:g} more, past the budget of {budget.epsilon:g} per {budget.text}; "
        f"{when}, or ask a governor to raise the budget in policy '{plan.policy}'",
        user=user,
        source=source,
        retry_at=retry_at,
    )


def _line(source: str, dp: DPPlan, rows: list[dict[str, Any]]) -> BudgetLine:
    spent = sum(float(r["epsilon"]) for r in rows)
    budget = dp.budget
    return BudgetLine(
        source=source,
        policy=dp.policy,
        epsilon=dp.epsilon,
        budget=None if budget is None else budget.epsilon,
        period=None if budget is None else budget.text,
        spent=spent,
        remaining=None if budget is None else max(0.0, budget.epsilon - spent),
        queries=sum(1 for r in rows if r["status"] == "spent"),
        reserved=sum(1 for r in rows if r["status"] == "reserved"),
        last_spent_at=rows[-1]["spent_at"] if rows else None,
    )
