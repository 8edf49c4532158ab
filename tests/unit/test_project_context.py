"""The project a user acts under is the user's setting in the catalog (issue 10, deliverable 3)."""

from __future__ import annotations

import io
import json

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImpersonationDenied, NotAuthorized
from tests.unit.conftest import CONF
from tests.unit.support import acknowledge


def as_(catalog: GovernanceCatalog, who: str) -> GovernanceCatalog:
    return GovernanceCatalog(catalog.store, identity=who)


@pytest.fixture(autouse=True)
def _members_acknowledged(catalog: GovernanceCatalog) -> None:
    """The project's members accepted its purposes (acknowledgements: tests/unit/test_projects.py)."""
    for member in ("bob", "carol"):
        acknowledge(catalog, member, "Fraud Prevention")


def test_by_default_no_project_is_selected(catalog: GovernanceCatalog) -> None:
    assert as_(catalog, "bob").current_project() is None


def test_a_switch_is_kept_in_the_catalog_for_every_handle_of_that_user(catalog: GovernanceCatalog) -> None:
    as_(catalog, "bob").switch_project("Fraud Prevention")
    reopened = GovernanceCatalog.open(catalog.store.url, identity="bob")
    assert reopened.current_project() == "Fraud Prevention"
    assert as_(catalog, "carol").current_project() is None  # another user's setting is their own
    reopened.switch_project(None)
    assert as_(catalog, "bob").current_project() is None


def test_a_switch_is_audited_with_the_project_its_purposes_and_the_previous_one(catalog: GovernanceCatalog) -> None:
    bob = as_(catalog, "bob")
    bob.switch_project("Fraud Prevention")
    bob.switch_project(None)
    records = catalog.audit(action="project.switch")
    assert [(r.user, r.outcome, r.project, r.purposes) for r in records] == [
        ("bob", "ok", "Fraud Prevention", ("Research",)),
        ("bob", "ok", None, ()),
    ]
    assert [r.detail["previous"] for r in records] == [None, "Fraud Prevention"]


def test_a_non_member_cannot_switch_and_the_refusal_is_audited(catalog: GovernanceCatalog) -> None:
    dave = as_(catalog, "dave")
    with pytest.raises(NotAuthorized, match="not a member of project 'Fraud Prevention'"):
        dave.switch_project("Fraud Prevention")
    assert dave.current_project() is None
    (record,) = catalog.audit(action="project.switch")
    assert (record.user, record.outcome, record.project) == ("dave", "denied", "Fraud Prevention")


def test_an_unknown_project_is_refused_and_changes_nothing(catalog: GovernanceCatalog) -> None:
    bob = as_(catalog, "bob")
    bob.switch_project("Fraud Prevention")
    with pytest.raises(NotAuthorized, match="there is no project 'Nope'"):
        bob.switch_project("Nope")
    assert bob.current_project() == "Fraud Prevention"


def test_switching_for_another_user_needs_impersonate(catalog: GovernanceCatalog) -> None:
    with pytest.raises(ImpersonationDenied, match="IMPERSONATE"):
        as_(catalog, "carol").switch_project("Fraud Prevention", user="bob")
    as_(catalog, "svc_notebook").switch_project("Fraud Prevention", user="bob")
    assert as_(catalog, "bob").current_project() == "Fraud Prevention"
    (record,) = [r for r in catalog.audit(action="project.switch") if r.outcome == "ok"]
    assert (record.user, record.impersonator) == ("bob", "svc_notebook")


def test_losing_membership_makes_every_later_decision_fail_closed_with_the_way_out(
    catalog: GovernanceCatalog, tmp_path: object
) -> None:
    bob = as_(catalog, "bob")
    bob.switch_project("Fraud Prevention")
    text = CONF.read_text().replace("members: [bob, carol]", "members: [carol]")
    assert "members: [carol]" in text
    path = tmp_path / "fewer.yaml"  # type: ignore[operator]
    path.write_text(text)
    catalog.apply(path, sql_checker=None)
    with pytest.raises(NotAuthorized, match=r"project switch --none"):
        bob.subject(project=bob.current_project())
    bob.switch_project(None)  # leaving is always allowed
    assert bob.current_project() is None


def cli_run(catalog: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), catalog=catalog, out=out), out.getvalue()


def test_the_cli_switches_and_shows_the_current_project(catalog: GovernanceCatalog) -> None:
    bob = as_(catalog, "bob")
    assert cli_run(bob, "project", "current") == (0, "bob acts under no project\n")
    assert cli_run(bob, "project", "switch", "Fraud Prevention") == (0, "bob acts under project 'Fraud Prevention'\n")
    code, text = cli_run(bob, "project", "current", "--format", "json")
    assert (code, json.loads(text)) == (0, {"user": "bob", "project": "Fraud Prevention"})
    assert cli_run(bob, "project", "switch", "--none") == (0, "bob acts under no project\n")
    assert bob.current_project() is None


def test_one_read_gives_the_snapshot_and_the_users_project(catalog: GovernanceCatalog) -> None:
    bob = as_(catalog, "bob")
    assert bob.snapshot_for("bob")[1] is None
    bob.switch_project("Fraud Prevention")
    snapshot, project = catalog.snapshot_for("bob")
    assert (project, snapshot.revision) == ("Fraud Prevention", catalog.snapshot().revision)
    assert catalog.snapshot_for(None)[1] is None
