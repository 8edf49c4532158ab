"""Project equalization (POLICY.md section 6; seed "Project Equalization"): pure functions over a snapshot.

When a project is equalized, every member's data policies on the project's sources are
evaluated as if the member held exactly the equalized entitlement, never their own groups and
attributes, so that all members see identical data. The *recommended* entitlement is the
least-privileged member's access: among the groups and attributes that the policies of the
project's sources test, those every member holds. A member who does not hold the entitlement
is out of compliance and gets no data inside the project.

The project's subscription policy combines with the entitlement exactly as the seed's table
says (:func:`equalized_subscription`, :func:`subscription_after_disabling`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from immuta_spark.conditions import AllOf, AnyOf, Condition, HasAttribute, InGroups
from immuta_spark.model import (
    Entitlement,
    MatchAttribute,
    MatchGroups,
    Policy,
    Project,
    Subscription,
    SubscriptionKind,
    User,
)

__all__ = [
    "compliance",
    "effective_entitlement",
    "effective_subscription",
    "equalized_subscription",
    "recommended_entitlement",
    "subscription_after_disabling",
    "tested_by",
]

#: "Every group": a row policy that matches a column against the user's groups tests them all.
ALL_GROUPS = "*"


def tested_by(policies: Iterable[Policy], subscriptions: Iterable[Subscription] = ()) -> tuple[set[str], set[str]]:
    """The groups and attribute names that ``policies`` and subscription ``conditions`` test.

    A group name of :data:`ALL_GROUPS` means every group (a row policy matching the user's groups).
    """
    groups: set[str] = set()
    attributes: set[str] = set()
    conditions: list[Condition] = []
    for policy in policies:
        for rule in policy.rules:
            conditions.append(rule.who)
            action = rule.action
            if isinstance(action, MatchGroups):
                groups.add(ALL_GROUPS)
            elif isinstance(action, MatchAttribute):
                attributes.add(action.attribute)
            elif isinstance(action, Subscription) and action.condition is not None:
                conditions.append(action.condition)
    conditions += [s.condition for s in subscriptions if s.condition is not None]
    while conditions:
        c = conditions.pop()
        if isinstance(c, InGroups):
            groups |= c.groups
        elif isinstance(c, HasAttribute):
            attributes.add(c.name)
        elif isinstance(c, AllOf | AnyOf):
            conditions.extend(c.parts)
    return groups, attributes


def recommended_entitlement(members: Iterable[User | None], tested: tuple[set[str], set[str]]) -> Entitlement:
    """The least-privileged member's access: the tested groups and attribute values every member holds.

    A member unknown to the catalog holds nothing, so the recommendation is then empty.
    """
    groups_tested, attributes_tested = tested
    groups: set[str] | None = None
    values: dict[str, set[str]] = {}
    first = True
    for user in members:
        held_groups = set(user.groups) if user is not None else set()
        held_attrs: Mapping[str, frozenset[str]] = user.attributes if user is not None else {}
        if first:
            groups = held_groups
            values = {a: set(held_attrs.get(a, ())) for a in attributes_tested}
            first = False
        else:
            groups = (groups or set()) & held_groups
            for a in attributes_tested:
                values[a] &= held_attrs.get(a, frozenset())
    if groups is None:
        return Entitlement()
    if ALL_GROUPS not in groups_tested:
        groups &= groups_tested
    return Entitlement(groups=frozenset(groups), attributes={a: frozenset(v) for a, v in sorted(values.items()) if v})


def compliance(entitlement: Entitlement, members: Mapping[str, User | None]) -> list[tuple[str, list[str]]]:
    """The members out of compliance, each with what of the entitlement they lack (sorted by user)."""
    out = []
    for name, user in sorted(members.items()):
        missing = entitlement.missing(
            user.groups if user is not None else frozenset(), user.attributes if user is not None else {}
        )
        if missing:
            out.append((name, missing))
    return out


def effective_entitlement(project: Project, recommended: Entitlement) -> Entitlement:
    """The entitlement an equalized project evaluates its members as: the owners' edit, else the recommendation."""
    return project.entitlement if project.entitlement is not None else recommended


def equalized_subscription(original: Subscription | None, entitlement: Entitlement) -> Subscription | None:
    """The seed's table, columns 2 and 3: the subscription policy of an equalized project.

    Approval keeps its approvers and adds the entitlement ("satisfy all of"); every other kind
    becomes "when the user holds the entitlement"; with no entitlement, approval stays as it
    was and every other kind becomes "individual users you select" (None, as a project without
    a policy).
    """
    approval = original is not None and original.kind is SubscriptionKind.APPROVAL
    if entitlement.is_empty:
        if approval:
            assert original is not None
            return Subscription(kind=SubscriptionKind.APPROVAL, approvers=original.approvers)
        return None
    condition = entitlement.condition()
    if approval:
        assert original is not None
        return Subscription(kind=SubscriptionKind.APPROVAL, approvers=original.approvers, condition=condition)
    return Subscription(kind=SubscriptionKind.WHEN, condition=condition)


def subscription_after_disabling(original: Subscription | None) -> Subscription | None:
    """The seed's table, column 4: approval stays (without the entitlement); everything else becomes individuals."""
    if original is not None and original.kind is SubscriptionKind.APPROVAL:
        return Subscription(kind=SubscriptionKind.APPROVAL, approvers=original.approvers)
    return None


def effective_subscription(project: Project, entitlement: Entitlement | None) -> Subscription | None:
    """Who may join ``project`` now: its own policy, or (equalized) that policy combined with the entitlement."""
    if project.equalization and entitlement is not None:
        return equalized_subscription(project.subscription, entitlement)
    return project.subscription
