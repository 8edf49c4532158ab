"""Visibility, subscription and purpose checks of one subject on one source."""

from __future__ import annotations

from collections.abc import Iterable

from immuta_spark.conditions import purpose_satisfies
from immuta_spark.engine.derived import derived_requirements
from immuta_spark.engine.subjects import Snapshot, Subject
from immuta_spark.model import Policy, PolicyType, PurposeLimit, Source, Subscription, SubscriptionKind

__all__ = ["purposes_required", "subscription_requirements", "subscription_status"]


def subscription_requirements(snapshot: Snapshot, subject: Subject, source: Source) -> list[tuple[Subscription, bool]]:
    """Every subscription policy the subject must satisfy on ``source``, each with "is local".

    A source without its own subscription policy is ``individuals: []`` plus its owners. A
    derived source has no policy of its own: it inherits
    (:func:`immuta_spark.engine.derived.derived_requirements`). Global subscription policies that
    apply to the source itself come on top, derived or not.
    """
    specs: list[tuple[Subscription, bool]]
    if source.derived is not None:
        specs = derived_requirements(snapshot, subject, source, subscription_requirements)
    else:
        specs = [(source.subscription or Subscription(kind=SubscriptionKind.INDIVIDUALS), True)]
    for p in snapshot.source_policies(source).of(PolicyType.SUBSCRIPTION):
        if p.type is PolicyType.SUBSCRIPTION:
            action = p.action_for(subject)
            if isinstance(action, Subscription):
                specs.append((action, False))
    return specs


def subscription_status(
    snapshot: Snapshot, subject: Subject, source: Source, policies: Iterable[Policy]
) -> tuple[bool, bool, str | None]:
    """(visible, subscribed, reason if not subscribed) under every applicable subscription policy."""
    owner = source.is_owner(subject.user, subject.groups)
    state = snapshot.subscriptions.get((source.name, subject.user))
    listed = subject.user in source.subscribers or (state is not None and state.added)
    revoked = state is not None and state.status == "revoked"
    approvals = state.approvals if state is not None and state.status != "revoked" else frozenset()
    visible = True
    subscribed = not revoked
    needed: list[str] = []
    for spec, is_local in subscription_requirements(snapshot, subject, source):
        kind = spec.kind
        if kind is SubscriptionKind.WHEN:
            ok = spec.condition is not None and spec.condition.holds(subject)
            visible = visible and (ok or (is_local and owner))
            subscribed = subscribed and (ok or (is_local and owner))
        elif kind is SubscriptionKind.INDIVIDUALS:
            # Being added by hand (or pre-subscribed) satisfies only the source's own policy:
            # an owner cannot add a way around a global subscription policy.
            ok = subject.user in spec.users or (is_local and (listed or owner))
            visible = visible and ok
            subscribed = subscribed and ok
        elif kind is SubscriptionKind.APPROVAL:
            if spec.condition is not None and not spec.condition.holds(subject) and not (is_local and owner):
                visible = subscribed = False  # "satisfy all of": the condition, then the approvals
            missing = [a.key for a in spec.approvers if a.key not in approvals]
            ok = not missing or (is_local and (listed or owner))
            subscribed = subscribed and ok
            if not ok:
                needed.extend(missing)
    if not visible:
        return False, False, "not visible"
    if subscribed:
        return True, True, None
    if revoked:
        return True, False, "subscription revoked; ask an owner of the source to add you again"
    if needed:
        roles = ", ".join(dict.fromkeys(needed))
        if state is not None and state.status == "requested":
            return True, False, f"not subscribed yet: your request is pending; approvals still needed from: {roles}"
        return (
            True,
            False,
            (
                f"not subscribed: request access with session.request_access('{source.name}', reason) in a "
                f"governed session, or `immuta-spark subscription request --source '{source.name}'`; approvals "
                f"needed from: {roles}"
            ),
        )
    return True, False, "not subscribed: ask an owner of the source to add you"


def purposes_required(subject: Subject, policies: Iterable[Policy]) -> tuple[tuple[str, ...], bool]:
    """(the purposes purpose-limit policies require, whether the subject acts under one of them)."""
    required: list[str] = []
    ok = True
    for p in policies:
        if p.type is not PolicyType.PURPOSE:
            continue
        action = p.action_for(subject)
        if not isinstance(action, PurposeLimit):
            continue
        required.extend(action.purposes)
        if not any(purpose_satisfies(h, r) for h in subject.purposes for r in action.purposes):
            ok = False
    return tuple(dict.fromkeys(required)), ok
