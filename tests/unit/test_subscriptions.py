"""Subscription policies (section 4): the four kinds, visibility, and the request workflow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, SourceNotFound, SubscriptionError
from tests.unit.support import open_catalog

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olga}
  - {name: ann, groups: [Auditors]}
  - {name: bob, groups: [Analysts]}
  - {name: carol, groups: [Medical]}
  - {name: dave}
sources:
  - {name: Open, table: db.open, owners: [olga], subscription: {anyone: {}}}
  - {name: Approved, table: db.approved, owners: [olga], subscribers: [dave],
     subscription: {approval: {approvers: [owner, {group: Auditors}]}}}
  - {name: ByGroup, table: db.bygroup, owners: [olga], subscription: {when: {groups: [Medical]}}}
  - {name: Listed, table: db.listed, owners: [olga], subscription: {individuals: [carol]}}
  - {name: Default, table: db.default, owners: [olga]}
  - {name: TwoRoles, table: db.tworoles, owners: [gov], subscription: {approval: {approvers: [owner, governance]}}}
  - {name: GlobalGuarded, table: db.guarded, owners: [olga], subscription: {anyone: {}}}
  - {name: GlobalApproval, table: db.gapproval, owners: [olga], subscription: {anyone: {}}}
  - {name: GlobalIndividuals, table: db.gindividuals, owners: [olga], subscription: {anyone: {}}}
policies:
  - {name: guard, type: subscription, sources: {names: [GlobalGuarded]}, when: {groups: [Medical]}}
  - {name: gov-approves, type: subscription, sources: {names: [GlobalApproval]},
     approval: {approvers: [governance]}}
  - {name: only-carol, type: subscription, sources: {names: [GlobalIndividuals]}, individuals: [carol]}
"""

As = Callable[[str], GovernanceCatalog]


@pytest.fixture
def as_(catalog_url: str, tmp_path: Path) -> As:
    """Open the catalog (bootstrapped from DOC by gov) as a given user."""
    store = open_catalog(catalog_url, tmp_path, DOC).store
    return lambda user: GovernanceCatalog(store, identity=user)


def view(cat: GovernanceCatalog, source: str, user: str) -> tuple[bool, bool]:
    plan = cat.plan(cat.subject(user) if user == cat.actor else _subject(cat, user), source)
    return plan.visible, plan.subscribed


def _subject(cat: GovernanceCatalog, user: str):  # type: ignore[no-untyped-def]
    from immuta_spark.engine import make_subject

    return make_subject(cat.snapshot(), user)


@pytest.mark.parametrize(
    ("source", "user", "visible", "subscribed"),
    [
        ("Open", "bob", True, True),
        ("Open", "stranger", True, True),
        ("Approved", "bob", True, False),
        ("Approved", "olga", True, True),  # owners satisfy their source's own policy
        ("Approved", "dave", True, True),  # `subscribers:` pre-subscribes
        ("ByGroup", "carol", True, True),
        ("ByGroup", "bob", False, False),
        ("ByGroup", "olga", True, True),
        ("Listed", "carol", True, True),
        ("Listed", "bob", False, False),
        ("Listed", "olga", True, True),
        ("Default", "bob", False, False),  # no policy: individuals [] plus the owners
        ("Default", "gov", False, False),  # governors are not owners
        ("Default", "olga", True, True),
        ("GlobalGuarded", "carol", True, True),
        ("GlobalGuarded", "bob", False, False),  # local anyone, global when: both needed
        ("GlobalGuarded", "olga", False, False),  # owners do not satisfy a global policy
        ("GlobalApproval", "bob", True, False),
        ("GlobalIndividuals", "carol", True, True),
        ("GlobalIndividuals", "bob", False, False),
    ],
)
def test_visibility_and_subscription_per_kind(as_: As, source: str, user: str, visible: bool, subscribed: bool) -> None:
    assert view(as_("gov"), source, user) == (visible, subscribed)


def test_an_unsubscribed_user_is_told_how_to_request_access(as_: As) -> None:
    reason = as_("bob").explain("Approved").denied_reason
    assert reason is not None
    assert "immuta-spark subscription request --source 'Approved'" in reason
    assert "approvals needed from: owner, group:Auditors" in reason


def test_request_then_one_approval_per_role_subscribes(as_: As) -> None:
    bob, olga, ann = as_("bob"), as_("olga"), as_("ann")
    assert bob.request_subscription("Approved", reason="quarterly report").status == "requested"
    first = olga.approve_subscription("Approved", "bob")
    assert (first.status, first.approvals) == ("requested", ("owner",))
    assert not bob.explain("Approved").subscribed
    second = ann.approve_subscription("Approved", "bob")
    assert (second.status, second.approvals) == ("subscribed", ("group:Auditors", "owner"))
    assert bob.explain("Approved").subscribed


def test_one_approval_act_fills_one_role_even_for_a_user_holding_two(as_: As) -> None:
    as_("bob").request_subscription("TwoRoles")
    gov = as_("gov")
    assert gov.approve_subscription("TwoRoles", "bob").approvals == ("owner",)
    assert not view(gov, "TwoRoles", "bob")[1]
    done = gov.approve_subscription("TwoRoles", "bob")
    assert (done.status, done.approvals) == ("subscribed", ("governance", "owner"))


def test_a_user_cannot_approve_their_own_request(as_: As) -> None:
    ann = as_("ann")  # an Auditor: could fill the group role for anyone else
    ann.request_subscription("Approved")
    with pytest.raises(SubscriptionError, match="cannot decide your own request"):
        ann.approve_subscription("Approved", "ann")


def test_the_same_role_cannot_approve_twice(as_: As) -> None:
    as_("bob").request_subscription("Approved")
    olga = as_("olga")
    olga.approve_subscription("Approved", "bob")
    with pytest.raises(NotAuthorized, match="roles still needed: group:Auditors"):
        olga.approve_subscription("Approved", "bob")


def test_someone_holding_no_approver_role_cannot_approve_and_is_audited(as_: As) -> None:
    as_("bob").request_subscription("Approved")
    dave = as_("dave")
    with pytest.raises(NotAuthorized, match="'dave' may not approve this request"):
        dave.approve_subscription("Approved", "bob")
    denied = as_("gov").audit(action="subscription.approve", outcome="denied")
    assert [(r.user, r.detail) for r in denied] == [("dave", {"subscriber": "bob"})]


def test_a_denied_request_is_not_subscribed(as_: As) -> None:
    as_("bob").request_subscription("Approved")
    record = as_("ann").deny_subscription("Approved", "bob", reason="no need")
    assert (record.status, record.reason, record.approvals) == ("denied", "no need", ())
    assert view(as_("gov"), "Approved", "bob") == (True, False)
    with pytest.raises(SubscriptionError, match="no pending request"):
        as_("olga").approve_subscription("Approved", "bob")


def test_a_denied_user_may_ask_again(as_: As) -> None:
    as_("bob").request_subscription("Approved")
    as_("ann").deny_subscription("Approved", "bob")
    assert as_("bob").request_subscription("Approved").status == "requested"


def test_revoking_takes_access_away_until_an_owner_adds_the_user_again(as_: As) -> None:
    olga = as_("olga")
    assert olga.revoke_subscription("Open", "bob").status == "revoked"
    bob = as_("bob")
    plan = bob.explain("Open")
    assert (plan.visible, plan.subscribed) == (True, False)
    assert plan.denied_reason is not None and "revoked" in plan.denied_reason
    with pytest.raises(SubscriptionError, match="not open to requests"):
        bob.request_subscription("Open")
    assert olga.add_subscriber("Open", "bob").status == "subscribed"
    assert bob.explain("Open").subscribed


@pytest.mark.parametrize("source", ["Listed", "Default"])
def test_owners_add_individuals(as_: As, source: str) -> None:
    olga = as_("olga")
    assert view(olga, source, "bob") == (False, False)
    record = olga.add_subscriber(source, "bob")
    assert (record.status, record.added) == ("subscribed", True)
    assert view(olga, source, "bob") == (True, True)


def test_governors_may_add_and_revoke_on_any_source(as_: As) -> None:
    gov = as_("gov")
    gov.add_subscriber("Listed", "bob")
    assert view(gov, "Listed", "bob") == (True, True)
    gov.revoke_subscription("Listed", "bob")
    assert view(gov, "Listed", "bob") == (False, False)


@pytest.mark.parametrize("operation", ["add", "revoke"])
def test_someone_else_may_not_add_or_revoke(as_: As, operation: str) -> None:
    bob = as_("bob")
    call = bob.add_subscriber if operation == "add" else bob.revoke_subscription
    with pytest.raises(NotAuthorized, match="only an owner of 'Open' or a governor"):
        call("Open", "dave")


def test_adding_does_not_satisfy_a_when_condition(as_: As) -> None:
    olga = as_("olga")
    olga.add_subscriber("ByGroup", "bob")
    assert view(olga, "ByGroup", "bob") == (False, False)


def test_an_owner_cannot_add_around_a_global_approval_policy(as_: As) -> None:
    as_("olga").add_subscriber("GlobalApproval", "bob")
    assert view(as_("gov"), "GlobalApproval", "bob") == (True, False)
    as_("bob").request_subscription("GlobalApproval")
    assert as_("gov").approve_subscription("GlobalApproval", "bob").status == "subscribed"
    assert view(as_("gov"), "GlobalApproval", "bob") == (True, True)


def test_an_owner_cannot_add_around_a_global_individuals_policy(as_: As) -> None:
    as_("olga").add_subscriber("GlobalIndividuals", "bob")
    assert view(as_("gov"), "GlobalIndividuals", "bob") == (False, False)


@pytest.mark.parametrize(
    ("user", "source", "error", "message"),
    [
        ("bob", "Listed", SourceNotFound, "TABLE_OR_VIEW_NOT_FOUND"),
        ("bob", "NoSuchSource", SourceNotFound, "TABLE_OR_VIEW_NOT_FOUND"),
        ("bob", "Open", SubscriptionError, "already subscribed"),
        ("carol", "ByGroup", SubscriptionError, "already subscribed"),
    ],
)
def test_requests_that_make_no_sense_are_refused(
    as_: As, user: str, source: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        as_(user).request_subscription(source)


def test_approving_without_a_request_is_refused(as_: As) -> None:
    with pytest.raises(SubscriptionError, match="'bob' has no pending request on 'Approved'"):
        as_("olga").approve_subscription("Approved", "bob")


def test_concurrent_approvals_are_not_lost(as_: As, monkeypatch: pytest.MonkeyPatch) -> None:
    as_("bob").request_subscription("Approved")
    olga, ann = as_("olga"), as_("ann")
    stale = olga.snapshot()  # olga decides on what she saw before ann approved
    ann.approve_subscription("Approved", "bob")
    monkeypatch.setattr(olga, "snapshot", lambda: stale)
    record = olga.approve_subscription("Approved", "bob")
    assert (record.status, record.approvals) == ("subscribed", ("group:Auditors", "owner"))


def test_each_user_lists_their_own_and_their_sources_records_and_governors_all(as_: As) -> None:
    as_("bob").request_subscription("Approved")
    as_("gov").request_subscription("Approved")
    as_("olga").revoke_subscription("Open", "carol")
    assert {(r.source, r.user) for r in as_("bob").subscriptions()} == {("Approved", "bob")}
    assert {(r.source, r.user) for r in as_("olga").subscriptions()} == {
        ("Approved", "bob"),
        ("Approved", "gov"),
        ("Open", "carol"),
    }
    assert len(as_("gov").subscriptions()) == 3
    assert [r.user for r in as_("gov").subscriptions(source="Open")] == ["carol"]


def test_every_subscription_change_is_audited(as_: As) -> None:
    as_("bob").request_subscription("Approved", reason="why not")
    as_("olga").approve_subscription("Approved", "bob")
    as_("ann").deny_subscription("Approved", "bob", reason="no")
    as_("olga").add_subscriber("Listed", "dave")
    as_("olga").revoke_subscription("Listed", "dave")
    records = as_("gov").audit(action="subscription.*")
    assert [(r.action, r.user, r.sources, r.outcome) for r in records] == [
        ("subscription.request", "bob", ("Approved",), "ok"),
        ("subscription.approve", "olga", ("Approved",), "ok"),
        ("subscription.deny", "ann", ("Approved",), "ok"),
        ("subscription.add", "olga", ("Listed",), "ok"),
        ("subscription.revoke", "olga", ("Listed",), "ok"),
    ]
    assert records[0].detail == {"reason": "why not"}
    assert records[1].detail == {"subscriber": "bob", "role": "owner", "complete": False}
