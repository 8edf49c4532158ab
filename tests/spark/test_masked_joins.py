"""Masked joins (issue 10, deliverable 6): hashed columns join across a project's sources only under it."""

from __future__ import annotations

from typing import Any

import pytest

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: bob}
sources:
  - name: People
    table: mj.people
    owners: [owner]
    subscription: {anyone: {}}
    columns: {email: [PII]}
  - name: Visits
    table: mj.visits
    owners: [owner]
    subscription: {anyone: {}}
    columns: {email: [PII]}
policies:
  - {name: hash-pii, type: masking, columns: {tagged: PII}, mask: hash}
projects:
  - {name: Joined, owner: owner, members: [bob], sources: [People, Visits], masked_joins: true}
  - {name: Other, owner: owner, members: [bob], sources: [People, Visits], masked_joins: true}
  - {name: Plain, owner: owner, members: [bob], sources: [People, Visits]}
"""

JOIN = "SELECT count(*) FROM mj.people p JOIN mj.visits v ON p.email = v.email"


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    people = [(1, "ann@x.org"), (2, "ben@x.org"), (3, "cat@x.org")]
    visits = [(10, "ann@x.org"), (11, "ann@x.org"), (12, "cat@x.org"), (13, "dan@x.org")]
    table(sample_spark, "mj.people", people, "id int, email string")
    table(sample_spark, "mj.visits", visits, "visit int, email string")
    return governed(_YAML)


def count(session: Any) -> int:
    return int(session.sql(JOIN).collect()[0][0])


def emails(session: Any, name: str) -> set[str]:
    return {r[0] for r in session.table(name).select("email").collect()}


def test_under_a_masked_joins_project_hashed_columns_join_across_its_sources(sessions: Any) -> None:
    bob = sessions("bob", "Joined")
    assert "ann@x.org" not in emails(bob, "mj.people")  # still masked
    assert count(bob) == 3  # ann twice, cat once: exactly the raw join's matches


def test_outside_the_project_the_same_join_matches_nothing(sessions: Any) -> None:
    assert count(sessions("bob")) == 0  # each source's own salt
    assert count(sessions("bob", "Plain")) == 0  # a project without masked joins: the sources' salts


def test_values_hashed_in_one_project_do_not_match_another_projects_or_none(sessions: Any) -> None:
    joined = emails(sessions("bob", "Joined"), "mj.visits")
    other = emails(sessions("bob", "Other"), "mj.people")
    outside = emails(sessions("bob"), "mj.people")
    assert joined.isdisjoint(other) and joined.isdisjoint(outside)
    assert len(joined) == 3 and len(other) == 3  # hashing kept the distinct values apart
