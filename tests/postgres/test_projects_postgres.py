"""Projects, acknowledgements and the coexistence rule on PostgreSQL (the same store code, another database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.errors import NotAuthorized, RuntimeStateConflict
from tests.unit.support import open_catalog
from tests.unit.test_projects import DOC, as_, reapply, study


def test_a_runtime_project_lives_beside_the_file_through_applies_on_postgres(catalog_url: str, tmp_path: Path) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC)
    study(gov)
    bob = as_(gov, "bob")
    with pytest.raises(NotAuthorized, match="has not acknowledged"):
        bob.switch_project("Study")
    bob.acknowledge_project("Study")
    bob.switch_project("Study")
    gov.add_project_member("Filed", "carol")
    as_(gov, "carol").acknowledge_project("Filed", accept=False)

    reapply(gov, tmp_path)  # the whole-state file again: every piece of runtime state is kept
    snap = gov.snapshot()
    assert snap.projects["Study"].owner == "olivia"
    assert snap.added_members == {"Study": {"bob": "member"}, "Filed": {"carol": "member"}}
    assert {k: a.decision for k, a in snap.acknowledgements.items()} == {
        ("Study", "bob", "Research"): "accepted",
        ("Filed", "carol", "Research"): "rejected",
    }
    assert bob.current_project() == "Study"

    without_carol = DOC.replace("  - {name: carol}\n", "")
    with pytest.raises(RuntimeStateConflict, match="runtime memberships or acknowledgements of carol"):
        reapply(gov, tmp_path, without_carol)
    assert "carol" in gov.snapshot().users
    reapply(gov, tmp_path, without_carol, prune_runtime=True)
    snap = gov.snapshot()
    assert "carol" not in snap.users and "Filed" not in snap.added_members
    assert ("Filed", "carol", "Research") not in snap.acknowledgements

    as_(gov, "olivia").delete_project("Study")
    assert "Study" not in gov.snapshot().projects and bob.current_project() is None


def test_requests_approvals_equalization_and_validation_on_postgres(catalog_url: str, tmp_path: Path) -> None:
    from tests.unit.test_equalization import DOC as EQUAL

    gov = open_catalog(catalog_url, tmp_path, EQUAL)
    olivia = as_(gov, "olivia")
    olivia.create_project("P", sources=["Ledger"], subscription={"approval": {"approvers": ["owner"]}})
    as_(gov, "carol").join_project("P", reason="close")
    assert gov.project("P").requests == (("carol", "requested", ()),)
    olivia.approve_project_member("P", "carol")
    olivia.equalize_project("P")
    assert gov.project("P").subscription == {
        "approval": {
            "approvers": ["owner"],
            "when": {"all": [{"groups": ["Accounting"]}, {"attributes": {"Region": ["East"]}}]},
        }
    }
    olivia.set_project_entitlement("P", groups=["Accounting", "Finance"])
    assert olivia.project_compliance("P") == [("carol", ["group Finance"])]
    (change,) = olivia.validate_projects(force=True)
    assert (change["user"], change["before"]) == ("carol", "new")
    assert [r.outcome for r in gov.audit(action="project.validation")] == ["denied"]
