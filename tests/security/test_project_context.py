"""The project is the user's: every governed session of that user follows a switch made anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.spark import GovernedAccessDenied
from tests.conftest import SPARK_IDENTITY
from tests.security.conftest import collect

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: bob}
purposes:
  - {name: Research, acknowledgement: "Research only."}
sources:
  - name: Studied
    table: proj.studied
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: research-only, type: purpose, purposes: [Research]}
  - name: Outside
    table: proj.outside
    owners: [owner]
    subscription: {anyone: {}}
projects:
  - {name: Study, owner: owner, members: [bob], purposes: [Research], sources: [Studied]}
"""


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    table(sample_spark, "proj.studied", [(1, "a")], "id int, v string")
    table(sample_spark, "proj.outside", [(2, "b")], "id int, v string")
    return governed(_YAML)


def test_a_switch_in_one_session_reaches_the_users_other_sessions_at_their_next_statement(sessions: Any) -> None:
    first, second = sessions("bob"), sessions("bob")
    with pytest.raises(GovernedAccessDenied, match="purpose"):
        collect(second.sql("SELECT id FROM proj.studied"))
    first.acknowledge_project("Study")
    first.set_project("Study")
    assert second.project == "Study"
    assert collect(second.sql("SELECT id FROM proj.studied")) == [(1,)]
    assert collect(sessions("bob").table("proj.studied").select("id")) == [(1,)]  # a new session starts in it


def test_under_a_project_a_source_outside_it_is_refused_saying_so_not_as_missing(sessions: Any) -> None:
    bob = sessions("bob")
    assert collect(bob.sql("SELECT id FROM proj.outside")) == [(2,)]
    bob.acknowledge_project("Study")
    bob.set_project("Study")
    with pytest.raises(GovernedAccessDenied, match="'Outside' is not in project 'Study', which you act under"):
        collect(bob.sql("SELECT id FROM proj.outside"))
    with pytest.raises(GovernedAccessDenied, match="not in project 'Study'"):
        collect(bob.table("proj.outside"))


def test_leaving_the_project_from_the_catalog_reaches_a_running_session(sessions: Any) -> None:
    bob = sessions("bob")
    bob.acknowledge_project("Study")
    bob.set_project("Study")
    catalog: GovernanceCatalog = sessions.catalog
    GovernanceCatalog(catalog.store, identity=SPARK_IDENTITY).switch_project(None, user="bob")  # as the CLI does
    assert bob.project is None
    assert collect(bob.sql("SELECT id FROM proj.outside")) == [(2,)]
    with pytest.raises(GovernedAccessDenied, match="purpose"):
        collect(bob.sql("SELECT id FROM proj.studied"))


def test_a_query_under_the_project_is_audited_with_it_and_its_purposes(sessions: Any) -> None:
    bob = sessions("bob")
    bob.acknowledge_project("Study")
    bob.set_project("Study")
    collect(bob.sql("SELECT id FROM proj.studied /* audited-under-project */"))
    catalog: GovernanceCatalog = sessions.catalog
    records = catalog.store.audit_records(user="bob")
    (record,) = [r for r in records if "audited-under-project" in str(r.detail.get("sql", ""))]
    assert (record.project, record.purposes, record.sources) == ("Study", ("Research",), ("Studied",))


def test_a_member_acts_under_the_project_only_after_accepting_and_a_rejection_reaches_running_sessions(
    sessions: Any,
) -> None:
    bob, other = sessions("bob"), sessions("bob")
    with pytest.raises(Exception, match="has not acknowledged the purpose statement of project 'Study'"):
        bob.set_project("Study")
    assert bob.acknowledge_project("Study") == [("Research", "Research only.")]
    bob.set_project("Study")
    assert collect(bob.sql("SELECT id FROM proj.studied")) == [(1,)]
    other.acknowledge_project("Study", accept=False)  # in another session of bob's: his own decision
    assert bob.project is None  # a rejection takes him out of the project at his next statement
    with pytest.raises(GovernedAccessDenied, match="purpose"):
        collect(bob.sql("SELECT id FROM proj.studied"))
