"""Apply in bulk: a bounded number of statements whatever the size, and the same result as row by row.

``check_bulk_apply`` runs on SQLite here and on PostgreSQL in tests/postgres. Raw rows are read
through an engine of the test's own, not through the store.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from bench.catalog_gen import synthetic_governance
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.entities import entity_rows
from immuta_spark.errors import ImpersonationDenied, NotAuthorized
from immuta_spark.model import Governance

TABLES = ("entities", "meta", "secrets", "subscriptions", "audit", "fingerprints")


def raw(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a catalog table, sorted."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted((tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
    finally:
        engine.dispose()


def statements_of(cat: GovernanceCatalog, action: Any) -> tuple[Any, int]:
    """What ``action()`` returns, and how many statements it sent to the database."""
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(cat.store.engine, "before_cursor_execute", counted)
    try:
        return action(), count
    finally:
        event.remove(cat.store.engine, "before_cursor_execute", counted)


def edited(g: Governance) -> Governance:
    """100 users changed, one user gone from the middle (every later one moves), a source replaced."""
    users = [
        dataclasses.replace(u, groups=u.groups | {"edited"}) if 10 <= i < 110 else u for i, u in enumerate(g.users)
    ]
    del users[500]
    sources = [s for s in g.sources if s.name != "source7"]
    sources.append(dataclasses.replace(g.sources[7], name="source-new", table="db.new"))
    policies = [p for p in g.policies if "source7" not in (p.scope.names or ())]
    return dataclasses.replace(g, users=tuple(users), sources=tuple(sources), policies=tuple(policies))


def stored(governance: Governance) -> list[tuple[str, str, int, str, str]]:
    """The entity rows a model declared in a file is stored as (origin ``file``)."""
    return sorted((k, n, p, b, "file") for (k, n), (p, b) in entity_rows(governance).items())


def check_bulk_apply(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply, keep runtime state across a re-apply, and change nothing on a failed apply."""
    first = synthetic_governance(sources=60, policies=60, users=2000)
    cat = GovernanceCatalog.open(url, identity="admin", create=True)
    _, count = statements_of(cat, lambda: cat.apply_governance(first))
    assert count <= 30  # ~2,100 entities and 180 secrets: a few executemany, not one statement a row
    assert sorted(raw(url, "entities")) == stored(first)
    assert len(raw(url, "secrets")) == 60 * 3

    # Runtime state that every apply keeps.
    cat.add_subscriber("source1", "user1")
    with cat.store.write() as conn:
        cat.store.put_fingerprint(conn, "source2", {"k_anonymity": {}})
        cat.store.bump(conn)
    secrets, subscriptions, fingerprints = (raw(url, t) for t in ("secrets", "subscriptions", "fingerprints"))
    audit = raw(url, "audit")

    second = edited(first)
    result, count = statements_of(cat, lambda: cat.apply_governance(second))
    assert count <= 30  # about 1,500 rows move: still a few statements
    assert len([c for c in result.changed if c.startswith("user:")]) == 100
    assert "user:user499" in result.removed and "source:source7" in result.removed
    assert "source:source-new" in result.added
    assert sorted(raw(url, "entities")) == stored(second)
    assert cat.snapshot().governance == second
    now = raw(url, "secrets")
    assert set(secrets) < set(now)  # kept, values unchanged, the removed source's included
    assert {(s, o) for s, o, _, _ in set(now) - set(secrets)} == {("source", "source-new")}
    assert (raw(url, "subscriptions"), raw(url, "fingerprints")) == (subscriptions, fingerprints)
    assert len(raw(url, "audit")) == len(audit) + 1

    # A failure after the entity writes rolls all of them back.
    before = {t: raw(url, t) for t in TABLES}

    def broken(*_: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(cat.store, "ensure_secrets", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cat.apply_governance(first)
    assert {t: raw(url, t) for t in TABLES} == before


def test_apply_is_a_few_statements_keeps_runtime_state_and_a_failed_one_changes_nothing(
    catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_bulk_apply(catalog_url, monkeypatch)


def test_a_user_without_governance_may_not_apply_and_the_refusal_is_audited(catalog_url: str) -> None:
    first = synthetic_governance(sources=5, policies=5, users=50)
    GovernanceCatalog.open(catalog_url, identity="admin", create=True).apply_governance(first)
    entities = raw(catalog_url, "entities")
    with pytest.raises(NotAuthorized, match="GOVERNANCE"):
        GovernanceCatalog.open(catalog_url, identity="user3").apply_governance(synthetic_governance(sources=6))
    assert raw(catalog_url, "entities") == entities
    assert [(r[2], r[8], r[9]) for r in raw(catalog_url, "audit") if r[8] == "denied"] == [
        ("user3", "denied", "denied")
    ]
    # Acting as another user needs IMPERSONATE, which user3 does not hold either.
    with pytest.raises(ImpersonationDenied):
        GovernanceCatalog.open(catalog_url, identity="user3", act_as="admin").apply_governance(first)
