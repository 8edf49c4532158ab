"""Who is asking (section 2): the Hadoop identity, impersonation, and who may govern."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from immuta_spark import identity
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImpersonationDenied, NotAuthorized, SourceNotFound
from tests.unit.support import open_catalog, write

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: proxy, permissions: [IMPERSONATE]}
  - {name: bob, groups: [Analysts]}
  - {name: carol}
sources:
  - {name: Open, table: db.open, owners: [gov], subscription: {anyone: {}}}
  - {name: Hidden, table: db.hidden, owners: [gov], subscription: {individuals: [carol]}}
"""


@pytest.fixture
def url(catalog_url: str, tmp_path: Path) -> str:
    open_catalog(catalog_url, tmp_path, DOC)
    return catalog_url


def as_(url: str, user: str, act_as: str | None = None) -> GovernanceCatalog:
    return GovernanceCatalog.open(url, identity=user, act_as=act_as)


# --- the identity outside Spark ----------------------------------------------------------


def test_hadoop_user_name_names_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMMUTA_SPARK_AUTH", raising=False)
    monkeypatch.setenv("HADOOP_USER_NAME", "bob")
    assert identity.current_user() == "bob"


def test_without_hadoop_user_name_the_os_user_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMMUTA_SPARK_AUTH", raising=False)
    monkeypatch.delenv("HADOOP_USER_NAME", raising=False)
    monkeypatch.setattr(identity.getpass, "getuser", lambda: "osuser")
    assert identity.current_user() == "osuser"


def _fake_klist(directory: Path, output: str, monkeypatch: pytest.MonkeyPatch) -> None:
    klist = directory / "klist"
    klist.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    klist.chmod(klist.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("IMMUTA_SPARK_AUTH", "kerberos")


def test_with_kerberos_the_tickets_short_name_wins_over_hadoop_user_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_klist(
        tmp_path, "Ticket cache: FILE:/tmp/x\nDefault principal: carol/host.example.com@EXAMPLE.COM", monkeypatch
    )
    monkeypatch.setenv("HADOOP_USER_NAME", "bob")
    assert identity.current_user() == "carol"


def test_with_kerberos_and_no_ticket_the_user_is_told_to_kinit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_klist(tmp_path, "klist: No credentials cache found", monkeypatch)
    with pytest.raises(NotAuthorized, match="run kinit"):
        identity.current_user()


@pytest.mark.parametrize(
    ("principal", "short"),
    [("alice@EXAMPLE.COM", "alice"), ("hdfs/nn.example.com@EXAMPLE.COM", "hdfs"), ("bob", "bob")],
)
def test_short_names_of_principals(principal: str, short: str) -> None:
    assert identity.short_name(principal) == short


def test_the_catalog_acts_as_the_hadoop_identity_by_default(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMMUTA_SPARK_AUTH", raising=False)
    monkeypatch.setenv("HADOOP_USER_NAME", "bob")
    cat = GovernanceCatalog.open(url)
    assert (cat.identity, cat.actor) == ("bob", "bob")
    assert cat.explain("Open").user == "bob"


# --- impersonation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.explain("Open"),
        lambda c: c.audit(),
        lambda c: c.subscriptions(),
        lambda c: c.request_subscription("Open"),
        lambda c: c.add_subscriber("Open", "carol"),
        lambda c: c.subject(),
    ],
    ids=["explain", "audit", "subscriptions", "request", "add", "subject"],
)
def test_acting_as_another_user_without_impersonate_is_refused(url: str, operation) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImpersonationDenied, match="'bob' may not act as 'gov': that needs the IMPERSONATE"):
        operation(as_(url, "bob", act_as="gov"))


def test_acting_as_another_user_without_impersonate_cannot_apply(url: str, tmp_path: Path) -> None:
    with pytest.raises(ImpersonationDenied):
        as_(url, "bob", act_as="gov").apply(write(tmp_path, DOC), sql_checker=None)


def test_impersonate_lets_a_user_act_as_another_and_the_audit_names_both(url: str) -> None:
    proxy = as_(url, "proxy", act_as="carol")
    plan = proxy.explain("Hidden")
    assert (plan.user, plan.visible, plan.subscribed) == ("carol", True, True)
    (record,) = as_(url, "gov").audit(action="explain")
    assert (record.user, record.impersonator) == ("carol", "proxy")


def test_impersonating_a_governor_gives_the_governors_rights(url: str) -> None:
    plan = as_(url, "proxy", act_as="gov").explain("Hidden", user="bob")
    assert not plan.visible


def test_an_unknown_authenticated_user_cannot_impersonate(url: str) -> None:
    with pytest.raises(ImpersonationDenied):
        as_(url, "stranger", act_as="bob").explain("Open")


# --- explaining another user's view --------------------------------------------------------


def test_explaining_another_users_view_needs_governance_and_is_audited(url: str) -> None:
    with pytest.raises(NotAuthorized, match="'bob' may not explain what 'carol' sees: that needs the GOVERNANCE"):
        as_(url, "bob").explain("Open", user="carol")
    (record,) = as_(url, "gov").audit(outcome="denied")
    assert (record.user, record.detail["needs"]) == ("bob", "GOVERNANCE")


def test_a_governor_explains_anyones_view_including_invisible_sources(url: str) -> None:
    plan = as_(url, "gov").explain("Hidden", user="bob")
    assert (plan.user, plan.visible, plan.denied_reason) == ("bob", False, "not visible")


def test_explaining_an_invisible_source_to_yourself_looks_like_a_missing_table(url: str) -> None:
    bob = as_(url, "bob")
    with pytest.raises(SourceNotFound) as hidden:
        bob.explain("Hidden")
    with pytest.raises(SourceNotFound) as missing:
        bob.explain("Nowhere")
    assert str(hidden.value).replace("Hidden", "X") == str(missing.value).replace("Nowhere", "X")


def test_a_user_unknown_to_the_catalog_has_nothing(url: str) -> None:
    cat = as_(url, "stranger")
    subject = cat.subject()
    assert (subject.groups, dict(subject.attributes), subject.permissions) == (frozenset(), {}, frozenset())
    assert cat.explain("Open").subscribed
    with pytest.raises(SourceNotFound):
        cat.explain("Hidden")


# --- who may apply ---------------------------------------------------------------------------


def test_the_first_apply_bootstraps_an_empty_catalog_then_governance_is_needed(
    catalog_url: str, tmp_path: Path
) -> None:
    file = write(tmp_path, DOC)
    first = GovernanceCatalog.open(catalog_url, identity="bob", create=True).apply(file, sql_checker=None)
    assert not first.is_noop
    with pytest.raises(NotAuthorized, match="'bob' may not apply policy as code: that needs the GOVERNANCE"):
        as_(catalog_url, "bob").apply(file, sql_checker=None)
    assert as_(catalog_url, "gov").apply(file, sql_checker=None).is_noop
    records = as_(catalog_url, "gov").audit(action="apply")
    assert [(r.user, r.detail["bootstrap"]) for r in records] == [("bob", True)]


def test_a_catalog_with_no_users_or_sources_is_not_empty_once_it_holds_policies(
    catalog_url: str, tmp_path: Path
) -> None:
    only_policies = """
    version: 1
    purposes: [{name: Research}]
    policies:
      - {name: research, type: purpose, purposes: [Research]}
    """
    GovernanceCatalog.open(catalog_url, identity="bob", create=True).apply(
        write(tmp_path, only_policies), sql_checker=None
    )
    with pytest.raises(NotAuthorized):
        as_(catalog_url, "mallory").apply(write(tmp_path, DOC), sql_checker=None)


def test_a_settings_only_apply_leaves_the_catalog_empty(catalog_url: str, tmp_path: Path) -> None:
    GovernanceCatalog.open(catalog_url, identity="bob", create=True).apply(
        write(tmp_path, "version: 1\n"), sql_checker=None
    )
    assert not as_(catalog_url, "gov").apply(write(tmp_path, DOC), sql_checker=None).is_noop


def test_a_refused_apply_changes_nothing(url: str, tmp_path: Path) -> None:
    gov = as_(url, "gov")
    before = gov.export()
    with pytest.raises(NotAuthorized):
        as_(url, "bob").apply(write(tmp_path, "version: 1\n"), sql_checker=None)
    assert gov.export() == before
