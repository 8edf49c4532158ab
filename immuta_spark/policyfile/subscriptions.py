"""Subscription policies: ``anyone``, ``when``, ``individuals`` and ``approval``."""

from __future__ import annotations

from typing import Any

from immuta_spark.model import Approver, Subscription, SubscriptionKind
from immuta_spark.policyfile.common import At, Context, describe, expect_list, expect_mapping, expect_string
from immuta_spark.policyfile.conditions import parse_condition

__all__ = ["parse_subscription", "parse_subscription_kind"]


def parse_subscription(value: Any, at: At, ctx: Context) -> Subscription:
    """A source's own ``subscription``: exactly one kind."""
    kinds = [k.value for k in SubscriptionKind]
    m = expect_mapping(value, at, allowed=kinds)
    if len(m) != 1:
        at.fail(f"give exactly one subscription kind: {', '.join(kinds)}")
    ((key, val),) = m.items()
    return parse_subscription_kind(key, val, at.key(key), ctx)


def parse_subscription_kind(key: str, val: Any, at: At, ctx: Context) -> Subscription:
    """The subscription of kind ``key`` with settings ``val``."""
    kind = SubscriptionKind(key)
    if kind is SubscriptionKind.ANYONE:
        if val not in ({}, None):
            at.fail("'anyone' takes no settings: write 'anyone: {}'")
        return Subscription(kind=kind)
    if kind is SubscriptionKind.WHEN:
        return Subscription(kind=kind, condition=parse_condition(val, at, ctx))
    if kind is SubscriptionKind.INDIVIDUALS:
        return Subscription(kind=kind, users=frozenset(ctx.users_list(val, at)))
    a = expect_mapping(val, at, allowed=("approvers", "when"), required=("approvers",))
    approvers = []
    a_at = at.key("approvers")
    for i, item in enumerate(expect_list(a["approvers"], a_at)):
        if item in ("owner", "governance"):
            approvers.append(Approver(role=item))
        elif isinstance(item, dict):
            g = expect_mapping(item, a_at.index(i), allowed=("group",), required=("group",))
            group = expect_string(g["group"], a_at.index(i).key("group"), what="a group name")
            approvers.append(Approver(role="group", group=group))
        else:
            a_at.index(i).fail(f"expected 'owner', 'governance' or {{group: G}}, got {describe(item)}")
    if not approvers:
        a_at.fail("list at least one approver")
    if len({x.key for x in approvers}) != len(approvers):
        a_at.fail("duplicate approver")
    condition = parse_condition(a["when"], at.key("when"), ctx) if a.get("when") is not None else None
    return Subscription(kind=kind, approvers=tuple(approvers), condition=condition)
