"""Policy files beside runtime state: ``apply`` never deletes runtime state silently (issue 10, deliverable 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import RuntimeStateConflict
from tests.unit.support import catalog_state, open_catalog
from tests.unit.test_projects import DOC, as_, reapply, study


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def runtime_state(gov: GovernanceCatalog) -> tuple[object, ...]:
    snap = gov.snapshot()
    return (
        snap.projects.get("Study"),
        snap.added_members,
        snap.acknowledgements,
        as_(gov, "bob").current_project(),
    )


def with_runtime_state(gov: GovernanceCatalog) -> None:
    """A runtime project with a member who accepted and acts under it; a runtime member of the file's project."""
    study(gov)
    bob = as_(gov, "bob")
    bob.acknowledge_project("Study")
    bob.switch_project("Study")
    gov.add_project_member("Filed", "carol")
    as_(gov, "carol").acknowledge_project("Filed")


def test_reapplying_the_whole_state_file_keeps_every_piece_of_runtime_state(
    gov: GovernanceCatalog, tmp_path: Path
) -> None:
    with_runtime_state(gov)
    before = runtime_state(gov)
    reapply(gov, tmp_path, DOC.replace("- {name: Fraud}", "- {name: Fraud}\n  - {name: Marketing}"))
    assert runtime_state(gov) == before
    assert as_(gov, "bob").subject(project="Study").purposes == frozenset({"Research"})


def test_export_leaves_runtime_projects_out_and_reapplying_it_keeps_them(
    gov: GovernanceCatalog, tmp_path: Path
) -> None:
    with_runtime_state(gov)
    text = gov.export()
    assert "Study" not in text and "carol" not in text.split("projects:")[1]
    before = runtime_state(gov)
    assert reapply(gov, tmp_path, text).is_noop  # type: ignore[attr-defined]
    assert runtime_state(gov) == before


def test_a_file_project_named_like_a_runtime_one_is_refused(
    gov: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    study(gov)
    before = catalog_state(gov, catalog_url)
    clash = DOC + "  - {name: Study, owner: gov, sources: [Notes]}\n"
    with pytest.raises(RuntimeStateConflict, match="project 'Study' is in the file and is also a project created at"):
        reapply(gov, tmp_path, clash)
    assert catalog_state(gov, catalog_url) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("  - {name: Claims, table: db.claims, subscription: {anyone: {}}}\n", ""),
            "project 'Study' \\(created at run time\\) uses source 'Claims', which the file removes",
        ),
        (
            ("  - {name: Filed, owner: gov, members: [bob], purposes: [Research], sources: [Claims]}\n", ""),
            "project 'Filed', which the file removes, has runtime state .*carol",
        ),
        (
            ("  - {name: carol}\n", ""),
            "project 'Filed' has runtime memberships or acknowledgements of carol, whom the file removes",
        ),
    ],
)
def test_an_apply_that_would_orphan_runtime_state_is_refused_then_prunes_it_when_asked(
    gov: GovernanceCatalog, catalog_url: str, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with_runtime_state(gov)
    text = DOC.replace(*change)
    assert text != DOC
    if "Claims, table" in change[0]:  # the file's own project used Claims too
        text = text.replace("sources: [Claims]}", "sources: [Notes]}")
    before = catalog_state(gov, catalog_url)
    with pytest.raises(RuntimeStateConflict, match=message) as raised:
        reapply(gov, tmp_path, text)
    assert "--prune-runtime" in str(raised.value)
    assert catalog_state(gov, catalog_url) == {**before, "audit": catalog_state(gov, catalog_url)["audit"]}
    assert catalog_state(gov, catalog_url)["entities"] == before["entities"]
    reapply(gov, tmp_path, text, prune_runtime=True)
    (applied,) = [r for r in gov.audit(action="apply") if r.detail.get("pruned_runtime_state")]
    assert any(message.split(" ")[0] in p for p in applied.detail["pruned_runtime_state"])
    snap = gov.snapshot()
    if "Claims, table" in change[0]:
        assert snap.projects["Study"].sources == ()  # the runtime project stays, without the removed source
    elif "Filed" in change[0]:
        assert "Filed" not in snap.added_members and all(k[0] != "Filed" for k in snap.acknowledgements)
    else:
        assert "carol" not in snap.added_members.get("Filed", {})
    assert snap.projects["Study"].owner == "olivia"  # what the file did not orphan is untouched
    assert as_(gov, "bob").current_project() == "Study"


def test_removing_the_owner_of_a_runtime_project_is_refused_even_when_pruning(
    gov: GovernanceCatalog, tmp_path: Path
) -> None:
    study(gov)
    text = DOC.replace("  - {name: olivia, permissions: [CREATE_PROJECT]}\n", "")
    with pytest.raises(RuntimeStateConflict, match="owned by 'olivia', whom the file removes; give the project"):
        reapply(gov, tmp_path, text, prune_runtime=True)
    assert gov.snapshot().projects["Study"].owner == "olivia"


def test_a_dry_run_reports_a_conflict_too(gov: GovernanceCatalog, tmp_path: Path) -> None:
    study(gov)
    with pytest.raises(RuntimeStateConflict):
        reapply(gov, tmp_path, DOC + "  - {name: Study, owner: gov}\n", dry_run=True)
