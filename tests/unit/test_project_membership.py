"""Who becomes a project member: its subscription policy, request / approve / deny / revoke (issue 10, item 1)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, PolicyFileError, ProjectError
from tests.unit.support import open_catalog
from tests.unit.test_projects import as_, reapply

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olivia, permissions: [CREATE_PROJECT]}
  - {name: bob, groups: [Accounting]}
  - {name: carol}
  - {name: audra, groups: [Auditors]}
purposes:
  - {name: Research}
sources:
  - {name: Claims, table: db.claims, subscription: {anyone: {}}}
projects:
  - {name: Filed, owner: gov, members: [carol], sources: [Claims]}
"""


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def make(gov: GovernanceCatalog, subscription: dict[str, object] | None) -> GovernanceCatalog:
    olivia = as_(gov, "olivia")
    olivia.create_project("P", sources=["Claims"], subscription=subscription)
    return olivia


def member(gov: GovernanceCatalog, user: str) -> bool:
    snap = gov.snapshot()
    return user in snap.project_members(snap.projects["P"])


def test_by_default_only_owners_add_members(gov: GovernanceCatalog) -> None:
    olivia = make(gov, None)
    with pytest.raises(ProjectError, match="takes individuals its owners add; ask its owner 'olivia' to add you"):
        as_(gov, "bob").join_project("P")
    olivia.add_project_member("P", "bob")
    assert member(gov, "bob")


def test_anyone_may_join_and_then_acts_under_the_project(gov: GovernanceCatalog) -> None:
    make(gov, {"anyone": {}})
    bob = as_(gov, "bob")
    with pytest.raises(NotAuthorized, match="ask to join \\(`immuta-spark project join 'P'`\\)"):
        bob.switch_project("P")
    bob.join_project("P")
    bob.switch_project("P")  # no purposes: nothing to acknowledge
    assert [(r.user, r.detail["status"]) for r in gov.audit(action="project.join")] == [("bob", "member")]
    with pytest.raises(ProjectError, match="already a member"):
        bob.join_project("P")


def test_a_condition_admits_while_it_holds_and_a_member_who_loses_it_loses_the_project(
    gov: GovernanceCatalog, tmp_path: Path
) -> None:
    make(gov, {"when": {"groups": ["Accounting"]}})
    with pytest.raises(ProjectError, match="needs \\{'groups': \\['Accounting'\\]\\}, which you do not meet"):
        as_(gov, "carol").join_project("P")
    bob = as_(gov, "bob")
    bob.join_project("P")
    bob.switch_project("P")
    reapply(gov, tmp_path, DOC.replace("{name: bob, groups: [Accounting]}", "{name: bob}"))
    with pytest.raises(NotAuthorized, match="no longer meets the subscription policy of project 'P'"):
        bob.subject(project="P")


def test_a_request_needs_every_approver_role_once_and_each_approver_fills_one(gov: GovernanceCatalog) -> None:
    olivia = make(gov, {"approval": {"approvers": ["owner", {"group": "Auditors"}]}})
    bob = as_(gov, "bob")
    bob.join_project("P", reason="quarterly close")
    with pytest.raises(NotAuthorized, match="request is pending"):
        bob.switch_project("P")
    with pytest.raises(ProjectError, match="cannot decide your own request"):
        bob.approve_project_member("P", "bob")
    with pytest.raises(
        NotAuthorized, match="'carol' may not approve this request; roles still needed: owner, group:Auditors"
    ):
        as_(gov, "carol").approve_project_member("P", "bob")
    olivia.approve_project_member("P", "bob")
    assert not member(gov, "bob")
    with pytest.raises(NotAuthorized, match="roles still needed: group:Auditors"):
        olivia.approve_project_member("P", "bob")  # one role per approver
    as_(gov, "audra").approve_project_member("P", "bob")
    assert member(gov, "bob") and gov.project("P").requests == ()
    assert [r.detail["complete"] for r in gov.audit(action="project.approve", outcome="ok")] == [False, True]


def test_a_denied_request_says_so_and_can_be_made_again_only_when_asked(gov: GovernanceCatalog) -> None:
    olivia = make(gov, {"approval": {"approvers": ["owner"]}})
    as_(gov, "bob").join_project("P")
    record = olivia.deny_project_member("P", "bob", reason="not this quarter")
    assert record.requests == (("bob", "denied", ()),)
    with pytest.raises(NotAuthorized, match="asked to join project 'P' and was denied"):
        as_(gov, "bob").switch_project("P")
    with pytest.raises(ProjectError, match="no pending request"):
        olivia.approve_project_member("P", "bob")


def test_an_approval_with_a_condition_needs_both(gov: GovernanceCatalog) -> None:
    make(gov, {"approval": {"approvers": ["owner"], "when": {"groups": ["Accounting"]}}})
    with pytest.raises(ProjectError, match="which you do not meet"):
        as_(gov, "carol").join_project("P")
    as_(gov, "bob").join_project("P")
    assert gov.project("P").requests == (("bob", "requested", ()),)


def test_a_revoked_member_leaves_at_once_even_one_the_file_lists(gov: GovernanceCatalog) -> None:
    carol = as_(gov, "carol")
    carol.switch_project("Filed")
    gov.revoke_project_member("Filed", "carol")
    assert carol.current_project() is None
    with pytest.raises(NotAuthorized, match="membership of user 'carol' in project 'Filed' was revoked"):
        carol.switch_project("Filed")
    with pytest.raises(ProjectError, match="was revoked"):
        carol.join_project("Filed")
    gov.add_project_member("Filed", "carol")  # an owner's way back
    carol.switch_project("Filed")


def test_owners_set_a_runtime_projects_subscription_and_bad_ones_are_refused(gov: GovernanceCatalog) -> None:
    olivia = make(gov, None)
    assert olivia.set_project_subscription("P", {"anyone": {}}).subscription == {"anyone": {}}
    with pytest.raises(ProjectError, match="give exactly one subscription kind"):
        olivia.set_project_subscription("P", {"anyone": {}, "when": {"groups": ["A"]}})
    with pytest.raises(NotAuthorized):
        as_(gov, "bob").set_project_subscription("P", None)
    with pytest.raises(ProjectError, match="declared in a policy file"):
        gov.set_project_subscription("Filed", {"anyone": {}})
    assert gov.project("P").subscription == {"anyone": {}}


def test_a_policy_file_declares_a_projects_subscription(tmp_path: Path, catalog_url: str) -> None:
    text = DOC.replace("members: [carol], sources: [Claims]}", "sources: [Claims], subscription: {anyone: {}}}")
    gov = open_catalog(catalog_url, tmp_path, text)
    as_(gov, "bob").join_project("Filed")
    assert "  subscription:\n    anyone: {}\n" in gov.export()
    with pytest.raises(PolicyFileError, match=r"projects\[0\].subscription.individuals\[0\]: unknown user 'zed'"):
        reapply(
            gov, tmp_path, DOC.replace("members: [carol], sources: [Claims]}", "subscription: {individuals: [zed]}}")
        )


def run(catalog: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), catalog=catalog, out=out), out.getvalue()


def test_the_cli_joins_approves_and_revokes(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    code, _ = run(olivia, "project", "create", "C", "--subscription", "{approval: {approvers: [owner]}}")
    assert code == 0
    assert run(as_(gov, "bob"), "project", "join", "C", "--reason", "please")[0] == 0
    code, text = run(olivia, "project", "show", "C")
    assert "request: bob requested" in text and 'subscription: {"approval": {"approvers": ["owner"]}}' in text
    code, text = run(olivia, "project", "approve", "C", "bob", "--format", "json")
    assert [m["user"] for m in json.loads(text)["members"]] == ["bob", "olivia"]
    code, text = run(olivia, "project", "revoke", "C", "bob", "--format", "json")
    assert json.loads(text)["requests"] == [{"user": "bob", "status": "revoked", "approvals": []}]
