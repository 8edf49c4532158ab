"""Identity providers without a directory: the YAML section, mapping entries to facts, diffs, merging, schedules."""

from __future__ import annotations

import textwrap

import pytest

from immuta_spark import policyfile
from immuta_spark.errors import IdentityProviderError, PolicyFileError, SyncRefused
from immuta_spark.identity_providers import IdentityProvider, first_rdn
from immuta_spark.idp import (
    DirectoryEntry,
    UserFacts,
    compute_facts,
    diff_facts,
    merge_users,
    parse_interval,
    run_every,
)
from immuta_spark.model import Permission, User

PROVIDER = """
version: 1
identity_providers:
  - name: corp
    connection:
      url: ldaps://ldap.corp.example
      bind_dn: cn=sync,dc=corp
      password_env: CORP_PW
    users:
      base: ou=people,dc=corp
      attributes:
        - {name: dept, from: departmentNumber, transform: [trim, lower]}
        - {name: manager, from: manager, transform: [first_rdn]}
    groups:
      base: ou=groups,dc=corp
"""


def provider(text: str = PROVIDER) -> IdentityProvider:
    return policyfile.load_text(textwrap.dedent(text)).identity_providers[0]


def entry(dn: str, kind: str = "user", **attrs: list[str]) -> DirectoryEntry:
    return DirectoryEntry(dn=dn, kind=kind, attributes={k.lower(): tuple(v) for k, v in attrs.items()})


def group(cn: str, *members: str) -> DirectoryEntry:
    return entry(f"cn={cn},ou=groups,dc=corp", "group", cn=[cn], member=list(members))


U = "uid={},ou=people,dc=corp"


def test_entries_map_to_names_groups_and_transformed_attributes() -> None:
    facts = compute_facts(
        provider(),
        [
            entry(U.format("ann"), uid=["ann"], departmentNumber=["  LAW "], manager=["cn=Bo\\, Jr,ou=people,dc=corp"]),
            entry(U.format("noname")),  # no uid: not a user
            group("Legal", "UID=ann, ou=People,dc=corp"),  # DNs compare without case or spaces
        ],
    )
    assert facts == {"ann": UserFacts(groups=frozenset({"Legal"}), attributes={"dept": {"law"}, "manager": {"Bo, Jr"}})}


def test_nested_groups_resolve_transitively_and_a_cycle_ends() -> None:
    entries = [
        entry(U.format("ann"), uid=["ann"]),
        group("A", U.format("ann")),
        group("B", "cn=A,ou=groups,dc=corp"),
        group("C", "cn=B,ou=groups,dc=corp"),
        group("A2", "cn=C,ou=groups,dc=corp"),
    ]
    entries[1] = group("A", U.format("ann"), "cn=A2,ou=groups,dc=corp")  # A -> B -> C -> A2 -> A
    assert compute_facts(provider(), entries)["ann"].groups == {"A", "B", "C", "A2"}
    flat = provider(PROVIDER.replace("base: ou=groups,dc=corp", "base: ou=groups,dc=corp\n      nested: false"))
    assert compute_facts(flat, entries)["ann"].groups == {"A"}


def test_member_of_layouts_read_memberships_from_the_members() -> None:
    ad = provider(PROVIDER.replace("    groups:", "    type: active_directory\n    groups:"))
    facts = compute_facts(
        ad,
        [
            entry(U.format("ann"), sAMAccountName=["ann"], memberOf=["cn=Legal,ou=groups,dc=corp", "cn=Gone,dc=x"]),
            entry("cn=Legal,ou=groups,dc=corp", "group", cn=["Legal"], memberOf=["cn=Staff,ou=groups,dc=corp"]),
            entry("cn=Staff,ou=groups,dc=corp", "group", cn=["Staff"]),
        ],
    )
    assert facts["ann"].groups == {"Legal", "Staff"}  # a memberOf naming no synced group is ignored


def test_values_with_control_characters_are_not_facts() -> None:
    facts = compute_facts(
        provider(),
        [entry(U.format("x"), uid=["bad\x00name"]), entry(U.format("y"), uid=["y"], departmentNumber=["a\nb"])],
    )
    assert facts == {"y": UserFacts()}


def test_a_diff_lists_every_fact_added_and_removed() -> None:
    old = {"ann": UserFacts(groups=frozenset({"Legal"}), attributes={"dept": frozenset({"law"})}), "bo": UserFacts()}
    new = {"ann": UserFacts(groups=frozenset({"Staff"}), attributes={"dept": frozenset({"ops"})}), "cy": UserFacts()}
    diff = diff_facts(old, new)
    assert diff.users_added == ("cy",) and diff.users_removed == ("bo",)
    assert diff.groups_added == (("ann", "Staff"),) and diff.groups_removed == (("ann", "Legal"),)
    assert diff.attributes_added == (("ann", "dept", "ops"),) and diff.attributes_removed == (("ann", "dept", "law"),)
    assert "- group ann Legal" in diff.lines() and diff.counts()["users_added"] == 1
    assert diff_facts(new, new).is_empty


def test_merge_unions_groups_and_takes_attributes_from_the_file_then_by_precedence() -> None:
    low = provider(PROVIDER.replace("name: corp", "name: corp\n    precedence: 5"))
    high = provider(PROVIDER.replace("name: corp", "name: hr\n    precedence: 50\n    create_users: false"))
    declared = (
        User(
            name="ann",
            groups=frozenset({"Analysts"}),
            attributes={"dept": frozenset({"file"})},
            permissions=frozenset({Permission.GOVERNANCE}),
        ),
    )
    facts = {
        "corp": {
            "ann": UserFacts(
                groups=frozenset({"Legal"}), attributes={"dept": frozenset({"law"}), "site": frozenset({"a"})}
            ),
            "bo": UserFacts(attributes={"site": frozenset({"b"})}),
        },
        "hr": {
            "ann": UserFacts(attributes={"site": frozenset({"hr"}), "grade": frozenset({"7"})}),
            "bo": UserFacts(groups=frozenset({"HR"})),
            "cy": UserFacts(groups=frozenset({"HR"})),
        },
    }
    users = {u.name: u for u in merge_users(declared, facts, [high, low])}
    assert users["ann"].groups == {"Analysts", "Legal"}
    assert users["ann"].attributes == {"dept": {"file"}, "site": {"a"}, "grade": {"7"}}
    assert users["ann"].permissions == {Permission.GOVERNANCE}
    assert users["bo"].groups == {"HR"} and users["bo"].attributes == {"site": {"b"}} and not users["bo"].permissions
    assert "cy" not in users  # hr does not create users; corp never asserted cy
    assert merge_users(declared, {"gone": facts["corp"]}, [low]) == declared  # an unconfigured provider counts not


def test_first_rdn_keeps_non_dns() -> None:
    assert first_rdn("cn=Legal,ou=g") == "Legal" and first_rdn("plain") == "plain"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ("password_env: CORP_PW", "connection.password", "never written"),
        ("url: ldaps://ldap.corp.example", "connection.url", "invalid LDAP URL"),
        ("base: ou=people,dc=corp", "users.base", "not attribute=value"),
        ("transform: [trim, lower]", "users.attributes[0].transform[1]", "expected one of"),
        ("from: departmentNumber", "users.attributes[0].from", "invalid LDAP attribute name"),
        ("base: ou=groups,dc=corp", "groups.filter", "invalid LDAP filter"),
        ("password_env: CORP_PW", "connection", "needs a password"),
    ],
)
def test_bad_provider_sections_name_the_path(change: str, path: str, message: str) -> None:
    replacement = {
        "connection.password": "password: hunter2",
        "connection.url": "url: http://ldap.corp.example",
        "users.base": "base: people",
        "users.attributes[0].transform[1]": "transform: [trim, shout]",
        "users.attributes[0].from": "from: 'dept number'",
        "groups.filter": "base: ou=groups,dc=corp\n      filter: (&(cn=x)",
        "connection": "password_file: null",
    }[path]
    with pytest.raises(PolicyFileError, match=message) as caught:
        provider(PROVIDER.replace(change, replacement))
    assert caught.value.path == f"identity_providers[0].{path}"
    assert "hunter2" not in str(caught.value)


def test_a_provider_section_exports_and_reads_back_unchanged() -> None:
    g = policyfile.load_text(textwrap.dedent(PROVIDER))
    text = policyfile.dump_yaml(policyfile.dump_document(g))
    assert policyfile.load_text(text) == g


def test_intervals() -> None:
    assert [parse_interval(t) for t in ("30s", "15m", "1h", "2", "1.5m")] == [30, 900, 3600, 2, 90]
    for bad in ("", "0m", "15 minutes", "-1s"):
        with pytest.raises(ValueError, match="expected an interval"):
            parse_interval(bad)


def test_a_schedule_backs_off_on_transient_failures_and_keeps_running() -> None:
    outcomes: list[object] = [
        IdentityProviderError("down", transient=True),
        IdentityProviderError("down", transient=True),
        IdentityProviderError("down", transient=True),
        "ok",
        SyncRefused("too many"),
        IdentityProviderError("down", transient=True),
        "ok",
    ]
    sleeps: list[float] = []
    results: list[object] = []
    errors: list[tuple[str, float]] = []

    def task() -> object:
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    run_every(
        task,
        interval=900,
        on_result=results.append,
        on_error=lambda e, w: errors.append((str(e), w)),
        sleep=sleeps.append,
        runs=7,
    )
    assert results == ["ok", "ok"]
    assert sleeps == [1, 2, 4, 900, 900, 1]  # backoff, reset after a success; a refusal waits an interval
    assert [w for _, w in errors] == [1, 2, 4, 900, 1]
