"""Syncing real OpenLDAP directories into the catalog: add, change, delete, nesting, two providers, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import IdentityProviderError, SyncRefused
from immuta_spark.idp.directory import LdapDirectory
from immuta_spark.idp.slapd_testing import SIZE_LIMIT, make_certificates, start_slapd
from tests.ldap.conftest import Tree, ad_provider, corp_provider, make_catalog

PEOPLE = """
dn: cn=alice,{people}
objectClass: inetOrgPerson
cn: alice
sn: A
uid: alice
departmentNumber: LAW

dn: cn=bob,{people}
objectClass: inetOrgPerson
cn: bob
sn: B
uid: bob
departmentNumber: Sales
manager: cn=alice,{people}

dn: cn=carol,{people}
objectClass: inetOrgPerson
cn: carol
sn: C
uid: carol

dn: cn=Legal,{groups}
objectClass: groupOfNames
cn: Legal
member: cn=alice,{people}
member: cn=carol,{people}

dn: cn=Everyone,{groups}
objectClass: groupOfNames
cn: Everyone
member: cn=Legal,{groups}
member: cn=bob,{people}
"""


def user(cat: GovernanceCatalog, name: str):
    cat.snapshot()  # the revision moved: re-read
    return cat.snapshot().users.get(name)


def ssn_masked(cat: GovernanceCatalog, name: str) -> bool:
    plan = cat.explain("Claims", user=name, schema=[("ssn", "string"), ("amount", "double")])
    return next(c for c in plan.columns if c.name == "ssn").mask is not None


def test_a_first_sync_brings_users_groups_and_attributes_nested_groups_resolved(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    result = cat.sync_identity_provider("corp")
    assert result.mode == "full"
    assert result.diff.users_added == ("alice", "bob", "carol")
    assert set(result.diff.groups_added) == {
        ("alice", "Legal"),
        ("alice", "Everyone"),
        ("bob", "Everyone"),
        ("carol", "Legal"),
        ("carol", "Everyone"),
    }
    # alice is declared in the file too: groups are the union, the file's attribute wins.
    alice = user(cat, "alice")
    assert alice.groups == {"Analysts", "Legal", "Everyone"}
    assert alice.attributes == {"department": {"yaml-dept"}}
    bob = user(cat, "bob")
    assert bob.groups == {"Everyone"}
    assert bob.attributes == {"department": {"sales"}, "manager": {"alice"}}  # lower-cased; first RDN
    assert not bob.permissions
    assert [r.action for r in cat.audit(action="idp.sync")] == ["idp.sync"]
    assert cat.audit(action="idp.sync")[0].detail["counts"]["users_added"] == 3


def test_changes_in_the_directory_reach_the_catalog_at_the_next_sync_and_only_that_providers_facts(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    cat.sync_identity_provider("corp")
    assert not ssn_masked(cat, "carol")
    corp.modify(corp.group_dn("Legal"), {"member": [("delete", [corp.user_dn("carol")])]})
    corp.modify(corp.user_dn("bob"), {"departmentNumber": [("replace", ["Support"])]})
    corp.delete(corp.user_dn("alice"))  # refint takes her out of Legal
    result = cat.sync_identity_provider("corp")
    assert result.mode == "incremental"
    assert result.diff.users_removed == ("alice",)
    assert ("carol", "Legal") in result.diff.groups_removed
    assert result.diff.attributes_removed == (("alice", "department", "law"), ("bob", "department", "sales"))
    assert result.diff.attributes_added == (("bob", "department", "support"),)
    assert user(cat, "carol").groups == set()  # Everyone held her only through Legal
    assert ssn_masked(cat, "carol")  # policies follow at once
    # The file's alice is untouched by the provider losing her; her provider facts are gone.
    alice = user(cat, "alice")
    assert alice.groups == {"Analysts"} and alice.attributes == {"department": {"yaml-dept"}}
    # Nothing changed: a sync is a no-op and does not move the revision.
    again = cat.sync_identity_provider("corp")
    assert again.diff.is_empty and again.revision == result.revision


def test_nested_groups_with_a_cycle_resolve_without_hanging(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(
        """
        dn: cn=dan,{people}
        objectClass: inetOrgPerson
        cn: dan
        sn: D
        uid: dan

        dn: cn=A,{groups}
        objectClass: groupOfNames
        cn: A
        member: cn=dan,{people}

        dn: cn=B,{groups}
        objectClass: groupOfNames
        cn: B
        member: cn=A,{groups}

        dn: cn=C,{groups}
        objectClass: groupOfNames
        cn: C
        member: cn=B,{groups}
        """
    )
    corp.modify(corp.group_dn("A"), {"member": [("add", [corp.group_dn("C")])]})  # A -> B -> C -> A
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    cat.sync_identity_provider("corp")
    assert user(cat, "dan").groups == {"A", "B", "C"}


def test_nested_off_gives_direct_groups_only(corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corp.ldif(PEOPLE)
    provider = corp_provider(corp).replace(f'base: "{corp.groups}"', f'base: "{corp.groups}"\n      nested: false')
    cat = make_catalog(tmp_path, provider, monkeypatch)
    cat.sync_identity_provider("corp")
    assert user(cat, "carol").groups == {"Legal"}


AD_PEOPLE = """
dn: cn=Bob Builder,{people}
objectClass: user
cn: Bob Builder
sn: Builder
sAMAccountName: BOB
department: Engineering

dn: cn=Erin,{people}
objectClass: user
cn: Erin
sn: E
sAMAccountName: erin
department: Legal

dn: cn=Legal,{groups}
objectClass: group
cn: Legal
member: cn=Erin,{people}

dn: cn=Staff,{groups}
objectClass: group
cn: Staff
member: cn=Legal,{groups}
member: cn=Bob Builder,{people}
"""


def test_an_active_directory_layout_reads_memberof_and_samaccountname_with_nesting(
    ad: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ad.ldif(AD_PEOPLE)
    cat = make_catalog(tmp_path, ad_provider(ad), monkeypatch)
    cat.sync_identity_provider("ad")
    assert user(cat, "erin").groups == {"Legal", "Staff"}  # Staff through Legal's memberOf
    assert user(cat, "bob").groups == {"Staff"}
    assert user(cat, "bob").attributes == {"department": {"Engineering"}}
    ad.modify(ad.group_dn("Legal"), {"member": [("delete", [ad.user_dn("Erin")])]})
    result = cat.sync_identity_provider("ad")
    assert set(result.diff.groups_removed) == {("erin", "Legal"), ("erin", "Staff")}
    assert ssn_masked(cat, "erin")


def test_two_providers_merge_by_precedence_and_a_sync_touches_only_its_own(
    corp: Tree, ad: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    ad.ldif(AD_PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp) + ad_provider(ad), monkeypatch)
    results = cat.sync_identity_providers()  # by precedence: corp (10), then ad (20)
    assert [r.provider for r in results] == ["corp", "ad"]
    # Both know bob: groups are the union; department is asserted by both and corp (10) wins.
    bob = user(cat, "bob")
    assert bob.groups == {"Everyone", "Staff"}
    assert bob.attributes == {"department": {"sales"}, "manager": {"alice"}}
    # corp stops asserting bob's department: ad's value shows through.
    corp.modify(corp.user_dn("bob"), {"departmentNumber": [("delete", [])]})
    cat.sync_identity_provider("corp")
    assert user(cat, "bob").attributes["department"] == {"Engineering"}
    # ad drops bob entirely: corp's facts about him stay.
    ad.delete(ad.user_dn("Bob Builder"))
    result = cat.sync_identity_provider("ad")
    assert result.diff.users_removed == ("bob",)
    assert user(cat, "bob").groups == {"Everyone"}
    assert set(cat.identity_provider_facts("corp")) == {"alice", "bob", "carol"}


def test_export_keeps_the_files_users_apart_from_synced_facts(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    cat.sync_identity_provider("corp")
    exported = cat.export()
    assert "bob" not in exported and "Everyone" not in exported
    assert "password_env: CORP_LDAP_PASSWORD" in exported and "sync-secret" not in exported
    # Re-applying the export changes nothing, and the synced facts stay.
    path = tmp_path / "export.yaml"
    path.write_text(exported)
    assert cat.apply(path, sql_checker=None, regex_checker=None).is_noop
    assert user(cat, "bob").groups == {"Everyone"}


def test_dry_run_prints_the_diff_and_changes_nothing(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immuta_spark.cli import main

    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    before = cat.store.revision()
    out = _Out()
    assert main(["idp", "sync", "corp", "--dry-run", "--json"], catalog=cat, out=out) == 0
    (result,) = json.loads(out.text)
    assert result["dry_run"] is True
    assert result["diff"]["users_added"] == ["alice", "bob", "carol"]
    assert {"user": "bob", "attribute": "department", "value": "sales"} in result["diff"]["attributes_added"]
    assert cat.store.revision() == before
    assert cat.identity_provider_facts("corp") == {}
    text = _Out()
    assert main(["idp", "sync", "corp", "--dry-run"], catalog=cat, out=text) == 0
    assert "+ user bob" in text.text and "+ group carol Legal" in text.text and "would change" in text.text


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_a_sync_removing_too_many_users_stops_and_asks_for_force(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    cat.sync_identity_provider("corp")
    broken = corp_provider(corp).replace(f'base: "{corp.people}"', f'base: "{corp.people}"\n      filter: (uid=nobody)')
    (tmp_path / "governance.yaml").write_text(
        (tmp_path / "governance.yaml").read_text().replace(corp_provider(corp), broken)
    )
    cat.apply(tmp_path / "governance.yaml", sql_checker=None, regex_checker=None)
    with pytest.raises(SyncRefused, match=r"remove 3 of its 3 users .*--force"):
        cat.sync_identity_provider("corp")
    assert set(cat.identity_provider_facts("corp")) == {"alice", "bob", "carol"}
    assert cat.audit(action="idp.sync", outcome="denied")
    result = cat.sync_identity_provider("corp", force=True)
    assert result.diff.users_removed == ("alice", "bob", "carol")
    assert cat.identity_provider_facts("corp") == {}


def _ous(suffix: str) -> str:
    return "".join(
        f"dn: ou={ou},{suffix}\nobjectClass: organizationalUnit\nou: {ou}\n\n" for ou in ("people", "groups")
    )


def test_a_directory_going_away_mid_search_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    people = "".join(
        f"dn: uid=u{i},ou=people,dc=flaky,dc=example\nobjectClass: inetOrgPerson\ncn: u{i}\nsn: u\nuid: u{i}\n\n"
        for i in range(10)
    )
    server = start_slapd(
        suffix="dc=flaky,dc=example",
        ldif=f"{_ous('dc=flaky,dc=example')}{people}",
        root=tmp_path / "flaky",
    )
    try:
        tree = Tree(server, "dc=flaky,dc=example")
        cat = make_catalog(tmp_path, corp_provider(tree), monkeypatch)
        cat.sync_identity_provider("corp")
        server.add_ldif(
            "dn: uid=new,ou=people,dc=flaky,dc=example\nobjectClass: inetOrgPerson\ncn: n\nsn: n\nuid: new\n"
        )
        revision = cat.store.revision()

        def kill_after_first_page(read: int) -> None:
            server.kill()

        with pytest.raises(IdentityProviderError, match="went away") as caught:
            cat.sync_identity_provider("corp", full=True, directory=LdapDirectory(progress=kill_after_first_page))
        assert caught.value.transient
        assert cat.store.revision() == revision
        assert len(cat.identity_provider_facts("corp")) == 10
        server.start()
        assert cat.sync_identity_provider("corp").diff.users_added == ("new",)
    finally:
        server.stop()


def test_paged_searches_read_past_the_directorys_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = SIZE_LIMIT + 20
    people = "".join(
        f"dn: uid=u{i},ou=people,dc=big,dc=example\nobjectClass: inetOrgPerson\ncn: u{i}\nsn: u\nuid: u{i}\n\n"
        for i in range(count)
    )
    server = start_slapd(
        suffix="dc=big,dc=example",
        ldif=f"{_ous('dc=big,dc=example')}{people}",
        root=tmp_path / "big",
    )
    try:
        provider = corp_provider(Tree(server, "dc=big,dc=example")).replace("page_size: 3", "page_size: 200")
        cat = make_catalog(tmp_path, provider, monkeypatch)
        assert len(cat.sync_identity_provider("corp").diff.users_added) == count
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["ldaps", "start_tls"])
def test_tls_connections_verify_the_directorys_certificate(
    how: str, corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    if how == "ldaps":
        provider = corp_provider(corp, url=corp.server.ldaps_url)
    else:
        provider = corp_provider(corp).replace("      ca_file:", "      start_tls: true\n      ca_file:")
    cat = make_catalog(tmp_path, provider, monkeypatch)
    assert len(cat.sync_identity_provider("corp").diff.users_added) == 3
    # A CA that did not sign the directory's certificate: refused, nothing changed.
    (tmp_path / "other").mkdir()
    other_ca = make_certificates(tmp_path / "other")[0]
    path = tmp_path / "governance.yaml"
    path.write_text(path.read_text().replace(f"ca_file: {corp.server.ca_file}", f"ca_file: {other_ca}"))
    cat.apply(path, sql_checker=None, regex_checker=None)
    corp.delete(corp.user_dn("bob"))
    with pytest.raises(IdentityProviderError):
        cat.sync_identity_provider("corp")
    assert set(cat.identity_provider_facts("corp")) == {"alice", "bob", "carol"}


def test_a_wrong_password_is_refused_without_repeating_it(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    monkeypatch.setenv("CORP_LDAP_PASSWORD", "not-the-password")
    with pytest.raises(IdentityProviderError, match="refused the bind") as caught:
        cat.sync_identity_provider("corp")
    assert "not-the-password" not in str(caught.value) and not caught.value.transient
    monkeypatch.delenv("CORP_LDAP_PASSWORD")
    with pytest.raises(IdentityProviderError, match=r"CORP_LDAP_PASSWORD .* is not set"):
        cat.sync_identity_provider("corp")
