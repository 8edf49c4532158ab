"""Derived data sources: what they inherit from their parents (seed "Derived Data Sources").

A derived source's data was computed from its parents' enforced data, so its readers must be
allowed at least what its writer was. It inherits, whenever the catalog is read (so a change to
a parent's policy reaches it at once):

* **subscription**: every parent's subscription condition and approvals (an approval by a
  parent's owners becomes "owner of that parent"), plus the entitlement the data was written at
  (an equalized project's, or the writer's own). The seed's example: A ("member of group Medical
  Claims") and B ("approved by Owner and Governance") derived under an entitlement of group
  Legal give C "member of Legal and member of Medical Claims, approved by Owner (of B) and
  Governance". Parents' global subscription policies and ``individuals`` lists apply as well.
  None of these is the derived source's own: its owners do not bypass them and cannot edit them.
* **purpose restrictions**: the parents' purpose-limit policies (and, when the parents' other
  policies test purposes, the purposes the data was written under).
* **tags**: the parents' table tags, and each column the tags of the parent columns its values
  are computed from (column lineage, not equal names).

A parent that no longer exists makes the derived source visible to nobody (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, Protocol

from immuta_spark.conditions import AllOf, Condition, Everyone, IsUser, Principal, UnderPurpose
from immuta_spark.engine.equalization import recommended_entitlement, tested_by
from immuta_spark.model import (
    Approver,
    Entitlement,
    Policy,
    PolicyType,
    PurposeLimit,
    Rule,
    Source,
    Subscription,
    SubscriptionKind,
)

__all__ = [
    "derived_requirements",
    "derived_subscription",
    "inherited_purpose_policies",
    "resolve_derived",
    "tests_purposes",
    "writer_access",
]


class Snapshot(Protocol):
    """What this module reads of :class:`immuta_spark.engine.subjects.Snapshot` (which imports this module)."""

    sources: dict[str, Source]
    subscriptions: dict[tuple[str, str], Any]
    users: dict[str, Any]

    def source_policies(self, source: Source) -> Any:
        """The policies that apply to ``source``, by type."""
        ...


#: :func:`immuta_spark.engine.subscriptions.subscription_requirements` (which calls this module).
Requirements = Callable[[Any, Any, Source], list[tuple[Subscription, bool]]]


def resolve_derived(sources: Mapping[str, Source]) -> dict[str, Source]:
    """Every source, derived ones with the tags they inherit (parents resolved first, memoised)."""
    out: dict[str, Source] = {}

    def resolved(name: str, seen: frozenset[str]) -> Source | None:
        if name in out:
            return out[name]
        source = sources.get(name)
        if source is None or name in seen:
            return None
        if source.derived is None:
            out[name] = source
            return source
        parents = {p: resolved(p, seen | {name}) for p in source.derived.parents}
        tags = list(source.tags)
        for parent in parents.values():
            if parent is not None:
                tags += parent.tags
        columns: dict[str, list[str]] = {c: list(t) for c, t in source.column_tags.items()}
        for column, origins in source.derived.lineage.items():
            for parent_name, parent_column in origins:
                parent = parents.get(parent_name)
                if parent is not None:
                    columns.setdefault(column, []).extend(_column_tags(parent, parent_column))
        column_tags = {c: tuple(dict.fromkeys(t)) for c, t in columns.items() if t}
        done = replace(source, tags=tuple(dict.fromkeys(tags)), column_tags=column_tags)
        out[name] = done
        return done

    for name in sources:
        resolved(name, frozenset())
    return out


def _column_tags(source: Source, column: str) -> tuple[str, ...]:
    for name, tags in source.column_tags.items():
        if name.lower() == column.lower():
            return tags
    return ()


def _parents(snapshot: Snapshot, source: Source) -> Iterator[tuple[str, Source | None]]:
    assert source.derived is not None
    for name in source.derived.parents:
        yield name, snapshot.sources.get(name)


def _rekeyed(spec: Subscription, parent: Source) -> Subscription:
    """A parent's policy as the derived source requires it: "owner" approvals become the parent's owners'."""
    if not spec.approvers:
        return spec
    approvers = tuple(
        Approver(role="owner", source=parent.name) if a.role == "owner" and a.source is None else a
        for a in spec.approvers
    )
    return replace(spec, approvers=approvers)


def _flatten(condition: Condition) -> list[Condition]:
    return [p for part in condition.parts for p in _flatten(part)] if isinstance(condition, AllOf) else [condition]


def derived_subscription(snapshot: Snapshot, source: Source) -> Subscription:
    """The subscription policy a derived source inherits, as one policy (what ``show`` and ``explain`` print).

    The entitlement's conditions first, then each parent's in the parents' order; approvers in
    the parents' order, each once. ``individuals`` parents and parents' global subscription
    policies are not in it (they are required besides: :func:`derived_requirements`).
    """
    conditions: list[Condition] = []
    approvers: list[Approver] = []
    for spec in _local_specs(snapshot, source):
        if spec.kind is SubscriptionKind.INDIVIDUALS:
            continue
        if spec.condition is not None:
            conditions += _flatten(spec.condition)
        approvers += spec.approvers
    conditions = list(dict.fromkeys(c for c in conditions if not isinstance(c, Everyone)))
    condition = None if not conditions else conditions[0] if len(conditions) == 1 else AllOf(tuple(conditions))
    unique = tuple({a.key: a for a in approvers}.values())
    if unique:
        return Subscription(kind=SubscriptionKind.APPROVAL, approvers=unique, condition=condition)
    if condition is not None:
        return Subscription(kind=SubscriptionKind.WHEN, condition=condition)
    return Subscription(kind=SubscriptionKind.ANYONE)


def _local_specs(snapshot: Snapshot, source: Source, seen: frozenset[str] = frozenset()) -> list[Subscription]:
    """The entitlement's condition, then every parent's own subscription policy (recursively), rekeyed."""
    assert source.derived is not None
    specs: list[Subscription] = []
    entitlement = source.derived.entitlement
    if source.derived.readers is not None:
        specs.append(Subscription(kind=SubscriptionKind.INDIVIDUALS, users=source.derived.readers))
    if not entitlement.is_empty:
        specs.append(Subscription(kind=SubscriptionKind.WHEN, condition=entitlement.condition()))
    for name, parent in _parents(snapshot, source):
        if parent is None or name in seen:
            specs.append(Subscription(kind=SubscriptionKind.INDIVIDUALS))  # nobody: fail closed
        elif parent.derived is not None:
            specs += _local_specs(snapshot, parent, seen | {source.name})
        else:
            own = parent.subscription or Subscription(kind=SubscriptionKind.INDIVIDUALS)
            if own.kind is SubscriptionKind.INDIVIDUALS:
                own = replace(own, users=own.users | _listed(snapshot, parent))
            specs.append(_rekeyed(own, parent))
    return specs


def _listed(snapshot: Snapshot, source: Source) -> frozenset[str]:
    """Who may read ``source`` under its own ``individuals`` policy: subscribers, owners, those added."""
    users = set(source.subscribers)
    for (name, user), state in snapshot.subscriptions.items():
        if name == source.name:
            if state.status == "revoked":
                users.discard(user)
            elif state.added:
                users.add(user)
    for owner in source.owners:
        if owner.user is not None:
            users.add(owner.user)
        elif owner.group is not None:
            users |= {u.name for u in snapshot.users.values() if owner.group in u.groups}
    return frozenset(users)


def derived_requirements(
    snapshot: Snapshot, subject: Principal, source: Source, requirements: Requirements
) -> list[tuple[Subscription, bool]]:
    """Every subscription policy a subject must satisfy on a derived source; none is its own (``False``).

    ``requirements`` gives a parent's (the caller's own function: parents may be derived too).
    """
    specs: list[tuple[Subscription, bool]] = [(derived_subscription(snapshot, source), False)]
    specs += [(s, False) for s in _local_specs(snapshot, source) if s.kind is SubscriptionKind.INDIVIDUALS]
    for _name, parent in _parents(snapshot, source):
        if parent is None:
            continue
        for spec, local in requirements(snapshot, subject, parent):
            if not local:  # the parent's global subscription policies (its own one is in the combined one)
                specs.append((_rekeyed(spec, parent), False))
    return specs


def inherited_purpose_policies(snapshot: Snapshot, source: Source) -> list[Policy]:
    """The purpose restrictions a derived source inherits: its parents' (recursively) and the writer's purposes."""
    assert source.derived is not None
    found: dict[str, Policy] = {}
    if source.derived.purposes:
        name = f"{source.name}: written under {', '.join(source.derived.purposes)}"
        found[name] = Policy(
            name=name,
            type=PolicyType.PURPOSE,
            rules=(Rule(who=Everyone(), action=PurposeLimit(purposes=source.derived.purposes)),),
            source=source.name,
            description="the data was written while acting under these purposes, which its parents' policies test",
        )
    for _name, parent in _parents(snapshot, source):
        if parent is None:
            continue
        for policy in snapshot.source_policies(parent).of(PolicyType.PURPOSE):
            found.setdefault(policy.name, policy)
    return list(found.values())


def tests_purposes(policies: list[Policy]) -> bool:
    """Whether any of ``policies`` other than a purpose limit decides by the purposes one acts under."""
    conditions: list[Condition] = [r.who for p in policies if p.type is not PolicyType.PURPOSE for r in p.rules]
    while conditions:
        c = conditions.pop()
        if isinstance(c, UnderPurpose):
            return True
        conditions.extend(getattr(c, "parts", ()))
    return False


def writer_access(
    snapshot: Snapshot, subject: Principal, parents: Iterable[str]
) -> tuple[Entitlement, tuple[str, ...], frozenset[str] | None]:
    """What a write of governed data depends on: the writer's access as the parents' policies saw it.

    (the entitlement: the writer's groups and attribute values that the parents' policies and
    subscription conditions test; the purposes acted under when those policies test purposes;
    the writer alone as reader when a policy singled the writer out by name). A reader of the
    copy must hold all of it, so that no one sees more of a parent through the copy.
    """
    policies: list[Policy] = []
    specs: list[Subscription] = []
    for name in parents:
        parent = snapshot.sources.get(name)
        if parent is not None:
            policies += snapshot.source_policies(parent).all
            if parent.subscription is not None:
                specs.append(parent.subscription)
    tested = tested_by(policies, specs)
    entitlement = recommended_entitlement([subject], tested)  # one "member": the writer
    purposes = tuple(sorted(subject.purposes)) if tests_purposes(policies) else ()
    readers = frozenset({subject.user}) if _names(policies, subject) else None
    return entitlement, purposes, readers


def _names(policies: list[Policy], subject: Principal) -> bool:
    """Whether a condition of ``policies`` holds for ``subject`` by its name (``users: [...]``)."""
    conditions: list[Condition] = [r.who for p in policies for r in p.rules]
    while conditions:
        c = conditions.pop()
        if isinstance(c, IsUser) and c.holds(subject):
            return True
        conditions.extend(getattr(c, "parts", ()))
    return False
