"""Subscription policies in the seed's own words ("Allow users to subscribe when ...").

``project show``, ``source show`` and the derived-source docs print policies this way, so the
seed's Data Source A / B / C example can be read off the product word for word.
"""

from __future__ import annotations

from immuta_spark.conditions import AllOf, AnyOf, Condition, Everyone, HasAttribute, InGroups, IsUser, UnderPurpose
from immuta_spark.model import Approver, Subscription, SubscriptionKind

__all__ = ["describe_condition", "describe_subscription"]


def describe_condition(condition: Condition) -> str:
    """A condition as the seed words it: "is a member of group Legal and is a member of group Medical Claims"."""
    if isinstance(condition, InGroups):
        return " or ".join(f"is a member of group {g}" for g in sorted(condition.groups))
    if isinstance(condition, HasAttribute):
        return " or ".join(f"possesses attribute {condition.name} with value {v}" for v in sorted(condition.values))
    if isinstance(condition, UnderPurpose):
        return " or ".join(f"is acting under purpose {p}" for p in sorted(condition.purposes))
    if isinstance(condition, IsUser):
        return " or ".join(f"is user {u}" for u in sorted(condition.users))
    if isinstance(condition, AllOf):
        return " and ".join(describe_condition(p) for p in condition.parts)
    if isinstance(condition, AnyOf):
        return " or ".join(f"({describe_condition(p)})" for p in condition.parts)
    if isinstance(condition, Everyone):
        return "is anyone"
    return str(condition.to_data())


def _approver(approver: Approver) -> str:
    if approver.role == "group":
        return f"anyone in group {approver.group}"
    if approver.role == "owner" and approver.source is not None:
        return f"anyone with permission Owner (of {approver.source})"
    return f"anyone with permission {approver.role.capitalize()}"


def describe_subscription(subscription: Subscription | None) -> str:
    """A subscription policy as one sentence in the seed's words."""
    if subscription is None or subscription.kind is SubscriptionKind.INDIVIDUALS:
        users = sorted(subscription.users) if subscription is not None else []
        listed = f": {', '.join(users)}" if users else ""
        return f"Allow individually selected users{listed}"
    if subscription.kind is SubscriptionKind.ANYONE:
        return "Allow anyone"
    parts: list[str] = []
    if subscription.condition is not None:
        parts.append(describe_condition(subscription.condition))
    if subscription.approvers:
        parts.append("is approved by " + " and ".join(_approver(a) for a in subscription.approvers))
    if len(parts) == 1 and (subscription.condition is None or not isinstance(subscription.condition, AllOf)):
        return f"Allow users to subscribe when user {parts[0]}"
    return "Allow user to subscribe when they satisfy all of the following: " + "; ".join(parts)
