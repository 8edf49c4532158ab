"""Projects as living entities and acknowledgements (issue 10, deliverables 1 and 2)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImpersonationDenied, NotAuthorized, PolicyFileError, ProjectError
from immuta_spark.model import DEFAULT_ACKNOWLEDGEMENT
from tests.unit.support import catalog_state, load, open_catalog, plan, snapshot

DOC = """
version: 1
settings:
  governance: {purpose_can_change: true}
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olivia, permissions: [CREATE_PROJECT]}
  - {name: bob}
  - {name: carol}
  - {name: mallory}
  - {name: svc, permissions: [IMPERSONATE]}
purposes:
  - {name: Research, acknowledgement: "I will use this data for research only."}
  - {name: Fraud}
sources:
  - {name: Claims, table: db.claims, subscription: {anyone: {}}}
  - {name: Notes, table: db.notes, subscription: {anyone: {}}}
  - {name: Secret, table: db.secret, owners: [gov], subscription: {individuals: [gov]}}
projects:
  - {name: Filed, owner: gov, members: [bob], purposes: [Research], sources: [Claims]}
"""


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def as_(catalog: GovernanceCatalog, who: str) -> GovernanceCatalog:
    return GovernanceCatalog(catalog.store, identity=who)


def reapply(catalog: GovernanceCatalog, tmp_path: Path, text: str = DOC, **kwargs: object) -> object:
    path = tmp_path / "again.yaml"
    path.write_text(text)
    return catalog.apply(path, sql_checker=None, **kwargs)  # type: ignore[arg-type]


def study(gov: GovernanceCatalog) -> GovernanceCatalog:
    """olivia's project Study (Research, Claims) with bob as a member; returns olivia's handle."""
    olivia = as_(gov, "olivia")
    olivia.create_project("Study", purposes=["Research"], sources=["Claims"], description="claims research")
    olivia.add_project_member("Study", "bob")
    return olivia


# --- creating and owning ------------------------------------------------------------------


def test_a_user_with_create_project_creates_a_project_and_owns_it(gov: GovernanceCatalog) -> None:
    record = study(gov).project("Study")
    assert (record.name, record.origin, record.owner, record.sources) == ("Study", "runtime", "olivia", ("Claims",))
    assert record.purposes == (("Research", "I will use this data for research only."),)
    assert [(m.user, m.role, m.origin, m.acknowledgement) for m in record.members or ()] == [
        ("bob", "member", "runtime", "pending"),
        ("olivia", "owner", "runtime", "pending"),
    ]
    (created,) = gov.audit(action="project.create")
    assert (created.user, created.project, created.detail["sources"]) == ("olivia", "Study", ["Claims"])


def test_creating_a_project_needs_create_project_and_changes_nothing(gov: GovernanceCatalog, catalog_url: str) -> None:
    before = catalog_state(gov, catalog_url)
    with pytest.raises(NotAuthorized, match="needs the CREATE_PROJECT permission"):
        as_(gov, "bob").create_project("Mine")
    after = catalog_state(gov, catalog_url)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert [r.outcome for r in gov.audit(action="denied")] == ["denied"]


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("Filed", {}, "a project named 'Filed' already exists"),
        ("Mine", {"sources": ["Secret"]}, "there is no data source 'Secret' that you can see"),
        ("Mine", {"sources": ["Nope"]}, "there is no data source 'Nope' that you can see"),
        ("Mine", {"purposes": ["Marketing"]}, "unknown purpose 'Marketing'.*pick one of Fraud, Research"),
        ("Mine", {"purposes": ["Research", "Research"]}, "a purpose is named twice"),
        ("", {}, "expected a project name"),
    ],
)
def test_a_bad_project_is_refused_naming_what_is_wrong_and_changes_nothing(
    gov: GovernanceCatalog, catalog_url: str, name: str, kwargs: dict[str, list[str]], message: str
) -> None:
    before = catalog_state(gov, catalog_url)
    with pytest.raises(ProjectError, match=message):
        as_(gov, "olivia").create_project(name, **kwargs)  # type: ignore[arg-type]
    after = catalog_state(gov, catalog_url)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}


@pytest.mark.parametrize(
    ("settings", "purposes", "message"),
    [
        ("{purpose_required: true}", [], "a project needs a purpose"),
        ("{multiple_purposes: false}", ["Research", "Fraud"], "only one purpose.*not 2: Research, Fraud"),
    ],
)
def test_the_governance_settings_bite_when_a_project_is_created(
    catalog_url: str, tmp_path: Path, settings: str, purposes: list[str], message: str
) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC.replace("{purpose_can_change: true}", settings))
    with pytest.raises(ProjectError, match=message):
        as_(gov, "olivia").create_project("Mine", purposes=purposes)
    assert "Mine" not in gov.snapshot().projects


def test_custom_purposes_are_created_with_their_statement_when_governors_allow_them(
    catalog_url: str, tmp_path: Path
) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC.replace("{purpose_can_change: true}", "{custom_purposes: true}"))
    olivia = as_(gov, "olivia")
    olivia.create_project("Mine", purposes=["Churn.Model"], statements={"Churn.Model": "Only for the churn model."})
    assert olivia.project_statements("Mine") == [("Churn.Model", "Only for the churn model.")]
    assert ("purpose", "Churn.Model") in gov.snapshot().runtime
    assert "Churn.Model" not in gov.export()  # runtime state: not the file's


def test_only_the_creator_changes_a_purpose_and_only_when_governors_allow_it(
    gov: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    olivia = study(gov)
    with pytest.raises(ProjectError, match="only the user who created project 'Study' \\('olivia'\\)"):
        gov.set_project_purposes("Study", ["Fraud"])  # not even a governor
    assert olivia.set_project_purposes("Study", ["Fraud"]).purposes[0][0] == "Fraud"
    reapply(gov, tmp_path, DOC.replace("{purpose_can_change: true}", "{purpose_can_change: false}"))
    with pytest.raises(ProjectError, match="purpose_can_change is off"):
        olivia.set_project_purposes("Study", ["Research"])
    assert [p for p, _ in olivia.project_statements("Study")] == ["Fraud"]


# --- acknowledgements ---------------------------------------------------------------------


def test_a_member_acts_under_a_project_only_after_accepting_its_statements(gov: GovernanceCatalog) -> None:
    study(gov)
    bob = as_(gov, "bob")
    with pytest.raises(NotAuthorized, match="has not acknowledged the purpose statement of project 'Study'"):
        bob.switch_project("Study")
    assert bob.acknowledge_project("Study") == [("Research", "I will use this data for research only.")]
    bob.switch_project("Study")
    assert bob.current_project() == "Study"
    (record,) = gov.audit(action="project.acknowledge", outcome="ok")
    assert (record.user, record.project, record.purposes) == ("bob", "Study", ("Research",))
    assert record.detail == {
        "decision": "accepted",
        "statements": [{"purpose": "Research", "statement": "I will use this data for research only."}],
    }


def test_owners_acknowledge_too(gov: GovernanceCatalog) -> None:
    olivia = study(gov)
    with pytest.raises(NotAuthorized, match="'olivia' has not acknowledged"):
        olivia.switch_project("Study")
    olivia.acknowledge_project("Study")
    olivia.switch_project("Study")


def test_rejecting_a_statement_denies_membership_until_accepted(gov: GovernanceCatalog) -> None:
    study(gov)
    bob = as_(gov, "bob")
    bob.acknowledge_project("Study")
    bob.switch_project("Study")
    bob.acknowledge_project("Study", accept=False)
    assert bob.current_project() is None  # a rejection takes the user out of the project at once
    with pytest.raises(NotAuthorized, match="rejected the acknowledgement statement of purpose 'Research'"):
        bob.switch_project("Study")
    assert gov.project("Study").members[0].acknowledgement == "rejected"  # type: ignore[index]
    (rejected,) = gov.audit(action="project.reject")
    assert rejected.detail["decision"] == "rejected"
    bob.acknowledge_project("Study")
    bob.switch_project("Study")


def test_a_changed_statement_must_be_accepted_again(gov: GovernanceCatalog, tmp_path: Path) -> None:
    bob = as_(gov, "bob")
    bob.acknowledge_project("Filed")
    bob.switch_project("Filed")
    reapply(gov, tmp_path, DOC.replace("for research only.", "for approved research only."))
    with pytest.raises(NotAuthorized, match="statement of Research changed since you accepted it"):
        bob.subject(project="Filed")
    bob.acknowledge_project("Filed")
    assert bob.subject(project="Filed").purposes == frozenset({"Research"})


def test_a_project_without_purposes_needs_no_acknowledgement(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    olivia.create_project("Open", sources=["Notes"])
    olivia.switch_project("Open")
    assert olivia.current_project() == "Open"


def test_only_members_acknowledge_and_a_service_may_for_the_user_it_authenticated(gov: GovernanceCatalog) -> None:
    study(gov)
    with pytest.raises(ProjectError, match="'carol' is not a member of project 'Study'; ask its owner 'olivia'"):
        as_(gov, "carol").acknowledge_project("Study")
    with pytest.raises(ImpersonationDenied):
        as_(gov, "carol").acknowledge_project("Study", user="bob")
    as_(gov, "svc").acknowledge_project("Study", user="bob")
    (record,) = gov.audit(action="project.acknowledge", outcome="ok")
    assert (record.user, record.impersonator) == ("bob", "svc")


# --- members, sources, deletion -----------------------------------------------------------


def test_only_owners_and_governors_manage_members(gov: GovernanceCatalog) -> None:
    olivia = study(gov)
    with pytest.raises(NotAuthorized, match="only an owner of project 'Study' or a governor"):
        as_(gov, "bob").add_project_member("Study", "mallory")
    olivia.add_project_member("Study", "carol", role="owner")
    as_(gov, "carol").add_project_member("Study", "mallory")  # an added owner manages too
    gov.remove_project_member("Study", "mallory")  # governors manage every project
    members = {m.user: m.role for m in olivia.project("Study").members or ()}
    assert members == {"bob": "member", "carol": "owner", "olivia": "owner"}


def test_a_file_declared_project_takes_runtime_members_but_its_own_change_in_the_file(gov: GovernanceCatalog) -> None:
    gov.add_project_member("Filed", "carol")
    assert {m.user: m.origin for m in gov.project("Filed").members or ()} == {
        "bob": "file",
        "carol": "runtime",
        "gov": "file",
    }
    with pytest.raises(ProjectError, match="'bob' is a member of 'Filed' in its policy file"):
        gov.remove_project_member("Filed", "bob")
    with pytest.raises(ProjectError, match="declared in a policy file, which owns it: to add sources to it"):
        gov.add_project_source("Filed", "Notes")
    with pytest.raises(ProjectError, match="declared in a policy file"):
        gov.delete_project("Filed")


def test_sources_are_added_and_removed_by_owners(gov: GovernanceCatalog) -> None:
    olivia = study(gov)
    assert olivia.add_project_source("Study", "Notes").sources == ("Claims", "Notes")
    with pytest.raises(ProjectError, match="already in project"):
        olivia.add_project_source("Study", "Notes")
    assert olivia.remove_project_source("Study", "Claims").sources == ("Notes",)
    assert [r.detail["source"] for r in gov.audit(project="Study") if r.action.endswith("_source")] == [
        "Notes",
        "Claims",
    ]


def test_non_members_see_a_project_but_not_its_sources_or_members(gov: GovernanceCatalog) -> None:
    study(gov)
    seen = as_(gov, "mallory").project("Study")
    assert (seen.sources, seen.members, seen.purposes[0][0]) == (None, None, "Research")
    assert [p.name for p in as_(gov, "mallory").projects()] == ["Filed", "Study"]


def test_deleting_a_project_removes_its_members_acknowledgements_and_current_users(gov: GovernanceCatalog) -> None:
    olivia = study(gov)
    bob = as_(gov, "bob")
    bob.acknowledge_project("Study")
    bob.switch_project("Study")
    with pytest.raises(NotAuthorized):
        bob.delete_project("Study")
    olivia.delete_project("Study")
    assert "Study" not in gov.snapshot().projects
    assert bob.current_project() is None
    (record,) = gov.audit(action="project.delete", outcome="ok")
    assert record.detail == {
        "project": "Study",
        "members_removed": 1,
        "acknowledgements_removed": 1,
        "users_switched_to_none": ["bob"],
    }


def test_the_default_statement_names_the_purpose(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    olivia.create_project("Fraudish", purposes=["Fraud"])
    assert olivia.project_statements("Fraudish") == [("Fraud", DEFAULT_ACKNOWLEDGEMENT.format(purpose="Fraud"))]


# --- the CLI ------------------------------------------------------------------------------


def run(catalog: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), catalog=catalog, out=out), out.getvalue()


def test_the_cli_creates_shows_lists_and_acknowledges(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    code, text = run(olivia, "project", "create", "CLI", "--purpose", "Research", "--source", "Claims")
    assert code == 0 and "project 'CLI' (created at run time)" in text and "acknowledge 'CLI'" in text
    assert run(olivia, "project", "add-member", "CLI", "bob")[0] == 0
    code, text = run(olivia, "project", "show", "CLI", "--format", "json")
    data = json.loads(text)
    members = [m["user"] for m in data["members"]]
    assert (data["owner"], data["sources"], members) == ("olivia", ["Claims"], ["bob", "olivia"])
    code, text = run(as_(gov, "bob"), "project", "acknowledge", "CLI")
    assert text.startswith("[Research] I will use this data for research only.\n")
    assert as_(gov, "bob").current_project() is None  # reading the statements decides nothing
    code, text = run(as_(gov, "bob"), "project", "acknowledge", "CLI", "--accept", "--format", "json")
    assert json.loads(text)["decision"] == "accepted"
    assert run(as_(gov, "bob"), "project", "switch", "CLI") == (0, "bob acts under project 'CLI'\n")
    code, text = run(olivia, "project", "members", "CLI")
    assert text.splitlines() == [
        "bob\tmember\truntime\tacknowledgement accepted",
        "olivia\towner\truntime\tacknowledgement pending",
    ]
    code, text = run(olivia, "project", "list", "--format", "json")
    assert [(p["name"], p["origin"]) for p in json.loads(text)] == [("CLI", "runtime"), ("Filed", "file")]
    assert run(olivia, "project", "delete", "CLI") == (0, "deleted project 'CLI'\n")


def test_the_cli_reports_a_refusal_and_exits_1(gov: GovernanceCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(as_(gov, "bob"), "project", "create", "Nope")[0] == 1
    assert "needs the CREATE_PROJECT permission" in capsys.readouterr().err
    assert run(as_(gov, "olivia"), "project", "create", "X", "--statement", "oops")[0] == 1
    assert "--statement takes PURPOSE=TEXT" in capsys.readouterr().err


# --- the governance settings in policy files and at query time ----------------------------


@pytest.mark.parametrize(
    ("settings", "project", "message"),
    [
        ("{purpose_required: true}", "{name: P, owner: gov, sources: [Claims]}", "purpose_required asks every project"),
        (
            "{multiple_purposes: false}",
            "{name: P, owner: gov, purposes: [Research, Fraud]}",
            "multiple_purposes is off: a project has one purpose, not 2",
        ),
    ],
)
def test_a_declared_project_meets_the_governance_settings_too(settings: str, project: str, message: str) -> None:
    text = DOC.replace("{purpose_can_change: true}", settings).replace(
        "  - {name: Filed, owner: gov, members: [bob], purposes: [Research], sources: [Claims]}", f"  - {project}"
    )
    with pytest.raises(PolicyFileError, match=f"projects\\[0\\].purposes: .*{message}"):
        load(text)


def test_with_every_source_requiring_a_purpose_a_bare_source_is_refused_at_apply_and_at_query(
    catalog_url: str, tmp_path: Path
) -> None:
    strict = DOC.replace("{purpose_can_change: true}", "{all_sources_require_purpose: true}")
    with pytest.raises(PolicyFileError, match="these have none: Claims, Notes, Secret; add a purpose policy"):
        open_catalog(catalog_url, tmp_path, strict)
    policies = (
        "policies:\n"
        "  - {name: research, type: purpose, sources: {names: [Claims]}, purposes: [Research]}\n"
        "  - {name: any, type: purpose, sources: {names: [Notes, Secret]}, purposes: [Fraud], except: {users: [bob]}}\n"
    )
    covered = strict.replace("projects:", policies + "projects:")
    gov = open_catalog(catalog_url, tmp_path, covered)
    assert gov.snapshot().governance.settings.governance.all_sources_require_purpose
    snap = snapshot(strict)  # a catalog stored before the setting was turned on is refused at query time
    assert "has no purpose restriction" in (plan(snap, "bob", "Notes").denied_reason or "")
    snap = snapshot(covered)
    assert plan(snap, "bob", "Notes").allowed  # exempt from the restriction, which still exists


def test_only_governors_delete_a_custom_purpose_and_not_one_in_use(catalog_url: str, tmp_path: Path) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC.replace("{purpose_can_change: true}", "{custom_purposes: true}"))
    olivia = as_(gov, "olivia")
    olivia.create_project("Mine", purposes=["Churn"])
    with pytest.raises(NotAuthorized, match="needs the GOVERNANCE permission"):
        olivia.delete_purpose("Churn")
    with pytest.raises(ProjectError, match="used by project\\(s\\) Mine"):
        gov.delete_purpose("Churn")
    with pytest.raises(ProjectError, match="declared in a policy file"):
        gov.delete_purpose("Research")
    olivia.delete_project("Mine")
    out = io.StringIO()
    assert cli.main(["project", "delete-purpose", "Churn"], catalog=gov, out=out) == 0
    assert "Churn" not in gov.snapshot().purposes
    assert [r.detail for r in gov.audit(action="purpose.delete", outcome="ok")] == [{"purpose": "Churn"}]
