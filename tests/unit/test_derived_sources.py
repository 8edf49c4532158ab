"""Derived data sources in the engine: the seed's Data Source A / B / C example, word for word, and inheritance."""

from __future__ import annotations

from dataclasses import replace

from immuta_spark.conditions import AllOf, InGroups
from immuta_spark.engine import Snapshot, SubscriptionState, compile_plan, make_subject
from immuta_spark.engine.derived import derived_subscription
from immuta_spark.engine.wording import describe_subscription
from immuta_spark.model import Approver, Derivation, Entitlement, PolicyType, Subscription, SubscriptionKind
from tests.unit.support import load

SEED = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: ann, groups: [Medical Claims]}
  - {name: bob, groups: [Legal, Medical Claims]}
  - {name: owen, groups: [Medical Claims]}
  - {name: lee, groups: [Legal]}
purposes: [{name: Research}]
sources:
  - name: Data Source A
    table: db.a
    owners: [gov]
    dictionary: [{name: id, type: bigint}, {name: address, type: string}]
    columns: {address: [PII.Address]}
    subscription: {when: {groups: [Medical Claims]}}
    policies:
      - {name: a-address, type: masking, columns: {names: [address]}, mask: "null", except: {groups: [Legal]}}
  - name: Data Source B
    table: db.b
    owners: [owen]
    tags: [Claims]
    dictionary: [{name: id, type: bigint}, {name: ssn, type: string}]
    columns: {ssn: [PII.SSN]}
    subscription: {approval: {approvers: [owner, governance]}}
    policies:
      - {name: b-research, type: purpose, purposes: [Research]}
  - name: Data Source C
    table: work.c
    owners: [bob]
    dictionary: [{name: address, type: string}, {name: ssn_key, type: string}]
"""

C = "Data Source C"


def seed_snapshot(**kwargs: object) -> Snapshot:
    governance = load(SEED)
    derivation = Derivation(
        parents=("Data Source A", "Data Source B"),
        created_by="bob",
        project="Claims Study",
        entitlement=Entitlement(groups=frozenset({"Legal"})),
        lineage={"address": (("Data Source A", "address"),), "ssn_key": (("Data Source B", "ssn"),)},
    )
    sources = tuple(replace(s, derived=derivation) if s.name == C else s for s in governance.sources)
    return Snapshot(replace(governance, sources=sources), **kwargs)  # type: ignore[arg-type]


def test_data_source_c_inherits_the_seeds_subscription_policy_word_for_word() -> None:
    snap = seed_snapshot()
    inherited = derived_subscription(snap, snap.sources[C])
    assert inherited == Subscription(
        kind=SubscriptionKind.APPROVAL,
        approvers=(Approver(role="owner", source="Data Source B"), Approver(role="governance")),
        condition=AllOf((InGroups(frozenset({"Legal"})), InGroups(frozenset({"Medical Claims"})))),
    )
    assert describe_subscription(inherited) == (
        "Allow user to subscribe when they satisfy all of the following: "
        "is a member of group Legal and is a member of group Medical Claims; "
        "is approved by anyone with permission Owner (of Data Source B) and anyone with permission Governance"
    )


def test_the_parents_policies_read_as_the_seed_words_them() -> None:
    snap = seed_snapshot()
    assert describe_subscription(snap.sources["Data Source A"].subscription) == (
        "Allow users to subscribe when user is a member of group Medical Claims"
    )
    assert describe_subscription(snap.sources["Data Source B"].subscription) == (
        "Allow users to subscribe when user is approved by anyone with permission Owner and anyone with "
        "permission Governance"
    )


def test_data_source_c_inherits_bs_purpose_restriction_and_not_as_address_mask() -> None:
    snap = seed_snapshot()
    policies = snap.source_policies(snap.sources[C])
    assert [p.name for p in policies.of(PolicyType.PURPOSE)] == ["b-research"]
    assert policies.of(PolicyType.MASKING) == ()


def test_columns_keep_the_tags_of_the_parent_columns_they_are_computed_from() -> None:
    source = seed_snapshot().sources[C]
    assert source.column_tags == {"address": ("PII.Address",), "ssn_key": ("PII.SSN",)}
    assert source.tags == ("Claims",)


def test_a_reader_needs_the_entitlement_every_parents_condition_and_every_approval() -> None:
    approved = {
        (C, "bob"): SubscriptionState(status="subscribed", approvals=frozenset({"owner:Data Source B", "governance"}))
    }
    snap = seed_snapshot(subscriptions=approved)
    bob = make_subject(snap, "bob", project=None)
    bob = replace(bob, purposes=frozenset({"Research"}))
    plan = compile_plan(snap, bob, C)
    assert plan.visible and plan.subscribed
    # ann lacks Legal (the entitlement the data was written at): C does not exist for her.
    assert not compile_plan(snap, make_subject(snap, "ann"), C).visible
    # lee is Legal but not in Medical Claims (A's condition): not visible either.
    assert not compile_plan(snap, make_subject(snap, "lee"), C).visible


def test_an_owner_of_the_derived_source_does_not_bypass_what_it_inherits() -> None:
    snap = seed_snapshot()
    plan = compile_plan(snap, make_subject(snap, "bob"), C)
    assert plan.visible and not plan.subscribed
    assert plan.denied_reason is not None
    assert "owner:Data Source B" in plan.denied_reason and "governance" in plan.denied_reason


def test_a_parents_policy_change_reaches_the_derived_source_at_once() -> None:
    governance = seed_snapshot().governance
    sources = tuple(
        replace(s, subscription=Subscription(kind=SubscriptionKind.ANYONE)) if s.name == "Data Source B" else s
        for s in governance.sources
    )
    snap = Snapshot(replace(governance, sources=sources))
    assert derived_subscription(snap, snap.sources[C]) == Subscription(
        kind=SubscriptionKind.WHEN,
        condition=AllOf((InGroups(frozenset({"Legal"})), InGroups(frozenset({"Medical Claims"})))),
    )


def test_a_derived_source_whose_parent_is_gone_is_visible_to_nobody() -> None:
    governance = seed_snapshot().governance
    snap = Snapshot(replace(governance, sources=tuple(s for s in governance.sources if s.name != "Data Source B")))
    for user in ("gov", "bob", "ann"):
        assert not compile_plan(snap, make_subject(snap, user), C).visible


def test_a_global_subscription_policy_naming_the_derived_source_applies_to_it() -> None:
    policy = (
        "policies:\n"
        "  - {name: c-audit, type: subscription, sources: {names: [Data Source C]}, when: {groups: [Audit]}}\n"
    )
    governance = seed_snapshot().governance
    approved = {
        (C, "bob"): SubscriptionState(status="subscribed", approvals=frozenset({"owner:Data Source B", "governance"}))
    }
    snap = Snapshot(replace(governance, policies=load(SEED + policy).policies), subscriptions=approved)
    assert not compile_plan(snap, make_subject(snap, "bob"), C).visible  # bob is not in Audit
    without = Snapshot(governance, subscriptions=approved)
    assert compile_plan(without, make_subject(without, "bob"), C).visible
