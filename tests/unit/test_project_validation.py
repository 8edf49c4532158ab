"""Validation frequency (issue 10, deliverable 5): members re-validated at the interval, every change audited."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.validation import VALID
from immuta_spark.errors import NotAuthorized, ProjectError
from tests.unit.support import open_catalog
from tests.unit.test_equalization import DOC
from tests.unit.test_projects import as_, reapply


@pytest.fixture
def gov(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def validations(gov: GovernanceCatalog) -> list[tuple[str, str, str]]:
    return [(r.user, r.outcome, r.detail["after"][:40]) for r in gov.audit(action="project.validation")]


def test_a_member_who_loses_a_group_loses_the_project_at_the_next_validation_audited(
    gov: GovernanceCatalog, tmp_path: Path
) -> None:
    olivia = as_(gov, "olivia")
    olivia.create_project("V", sources=["Ledger"], subscription={"when": {"groups": ["Accounting"]}})
    olivia.set_project_settings("V", validation_frequency=1)
    carol = as_(gov, "carol")
    carol.join_project("V")
    carol.switch_project("V")
    olivia.validate_projects(force=True)  # the first validation: everyone valid, nothing to record
    assert validations(gov) == []
    reapply(gov, tmp_path, DOC.replace("{name: carol, groups: [Accounting]", "{name: carol, groups: []"))
    with pytest.raises(NotAuthorized, match="no longer meets the subscription policy"):
        carol.subject(project="V")  # enforcement does not wait for the validation
    assert carol.current_project() == "V"
    time.sleep(1.1)
    GovernanceCatalog(gov.store, identity="gov").snapshot_for("gov")  # any process's next read runs what is due
    assert validations(gov) == [("carol", "denied", "user 'carol' no longer meets the subscri")]
    assert carol.current_project() is None  # switched to no project in the catalog: every session follows
    lost = gov.audit(action="project.validation")[0].detail["after"]
    reapply(gov, tmp_path, DOC)
    assert olivia.validate_projects(force=True) == [{"project": "V", "user": "carol", "before": lost, "after": VALID}]
    assert validations(gov)[-1][:2] == ("carol", "ok")


def test_a_validation_is_not_run_before_it_is_due(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    olivia.create_project("V", sources=["Ledger"])
    olivia.set_project_settings("V", validation_frequency=3600)
    olivia.add_project_member("V", "carol")
    olivia.validate_projects()
    olivia.equalize_project("V")
    olivia.set_project_entitlement("V", groups=["Accounting", "Finance"])  # carol lacks Finance
    assert olivia.validate_projects() == []  # not due for an hour
    (change,) = olivia.validate_projects(force=True)
    assert (change["user"], change["before"]) == ("carol", VALID)
    assert "out of compliance" in change["after"]


def test_a_project_without_a_frequency_is_validated_only_on_demand(gov: GovernanceCatalog) -> None:
    olivia = as_(gov, "olivia")
    olivia.create_project("V", sources=["Ledger"])
    olivia.add_project_member("V", "carol")
    assert olivia.validate_projects() == []
    out = io.StringIO()
    assert cli.main(["project", "validate", "V", "--force", "--format", "json"], catalog=olivia, out=out) == 0
    assert json.loads(out.getvalue()) == []  # carol is valid (no purposes to accept)
    with pytest.raises(ProjectError, match=r"must be at least 1, got 0 \(project 'V'.validation_frequency\)"):
        olivia.set_project_settings("V", validation_frequency=0)
