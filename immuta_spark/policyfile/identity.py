"""The ``identity_providers`` section: LDAP and Active Directory directories a sync reads users from.

Passwords are never written in a file: a provider names an environment variable
(``password_env``) or a file (``password_file``) that holds it, read only when a sync binds.
"""

from __future__ import annotations

import re
from typing import Any

from immuta_spark.identity_providers import (
    AttributeMap,
    DirectoryConnection,
    GroupSearch,
    IdentityProvider,
    Membership,
    ProviderType,
    Transform,
    UserSearch,
    ValueMap,
)
from immuta_spark.policyfile.common import (
    IDENT,
    NAME,
    At,
    describe,
    expect_bool,
    expect_int,
    expect_list,
    expect_mapping,
    expect_number,
    expect_string,
)

__all__ = ["dump_identity_provider", "parse_identity_provider"]

#: An LDAP attribute description: a name (``memberOf``, ``msDS-x``) or a dotted OID.
_ATTRIBUTE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$")
_URL = re.compile(r"^(ldaps?)://([^/:?#\s]+)(:(\d{1,5}))?/?$", re.IGNORECASE)
_SCOPES = ("subtree", "one")
#: Defaults per directory layout: user filter, user name attribute, group filter.
_DEFAULTS = {
    ProviderType.LDAP: ("(objectClass=inetOrgPerson)", "uid", "(objectClass=groupOfNames)", Membership.MEMBER),
    ProviderType.ACTIVE_DIRECTORY: (
        "(objectClass=user)",
        "sAMAccountName",
        "(objectClass=group)",
        Membership.MEMBER_OF,
    ),
}


def parse_identity_provider(value: Any, at: At) -> IdentityProvider:
    """One entry of ``identity_providers``."""
    m = expect_mapping(
        value,
        at,
        allowed=(
            "name",
            "type",
            "connection",
            "users",
            "groups",
            "precedence",
            "create_users",
            "max_removed_share",
            "incremental",
        ),
        required=("name", "connection", "users"),
    )
    name = expect_string(m["name"], at.key("name"), pattern=IDENT, what="a provider name (letters, digits, _)")
    kind = ProviderType.LDAP
    if "type" in m:
        kind = _choice(m["type"], at.key("type"), ProviderType)
    user_filter, user_name, group_filter, membership = _DEFAULTS[kind]
    share = 0.2
    if "max_removed_share" in m:
        share = float(expect_number(m["max_removed_share"], at.key("max_removed_share")))
        if not 0 <= share <= 1:
            at.key("max_removed_share").fail(f"must be between 0 and 1 (a share of the users), got {share}")
    groups = None
    if m.get("groups") is not None:
        groups = _groups(m["groups"], at.key("groups"), group_filter, membership)
    return IdentityProvider(
        name=name,
        type=kind,
        connection=_connection(m["connection"], at.key("connection")),
        users=_users(m["users"], at.key("users"), user_filter, user_name),
        groups=groups,
        precedence=expect_int(m.get("precedence", 100), at.key("precedence"), minimum=0),
        create_users=expect_bool(m.get("create_users", True), at.key("create_users")),
        max_removed_share=share,
        incremental=expect_bool(m.get("incremental", True), at.key("incremental")),
    )


def _choice(value: Any, at: At, enum: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        at.fail(f"unknown value {describe(value)}; expected one of: {', '.join(e.value for e in enum)}")


def _connection(value: Any, at: At) -> DirectoryConnection:
    m = expect_mapping(
        value,
        at,
        allowed=(
            "url",
            "bind_dn",
            "password",
            "password_env",
            "password_file",
            "start_tls",
            "ca_file",
            "verify",
            "timeout_seconds",
            "page_size",
        ),
        required=("url",),
    )
    if "password" in m:
        # Not even a placeholder: a file that holds one would be exported and printed with it.
        at.key("password").fail(
            "passwords are never written in a policy file; name where to read it: password_env (an "
            "environment variable) or password_file (a file readable only by the sync's user)"
        )
    url = expect_string(m["url"], at.key("url"), what="an LDAP URL")
    found = _URL.match(url)
    if found is None or (found.group(4) and not 0 < int(found.group(4)) < 65536):
        at.key("url").fail(f"invalid LDAP URL {url!r}; expected ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
    start_tls = expect_bool(m.get("start_tls", False), at.key("start_tls"))
    if start_tls and found.group(1).lower() == "ldaps":
        at.key("start_tls").fail("an ldaps:// URL is encrypted already; StartTLS is for ldap:// URLs")
    bind_dn = _dn(m["bind_dn"], at.key("bind_dn")) if m.get("bind_dn") is not None else None
    env = (
        expect_string(m["password_env"], at.key("password_env"), what="an environment variable")
        if m.get("password_env") is not None
        else None
    )
    file = (
        expect_string(m["password_file"], at.key("password_file"), what="a file path")
        if m.get("password_file") is not None
        else None
    )
    if env is not None and file is not None:
        at.key("password_file").fail("give the password in one place: password_env or password_file, not both")
    if bind_dn is None and (env or file):
        at.fail("a password needs bind_dn (the identity it is for); add bind_dn or drop the password")
    if bind_dn is not None and not (env or file):
        at.fail(f"bind_dn {bind_dn!r} needs a password: add password_env or password_file")
    ca_file = expect_string(m["ca_file"], at.key("ca_file"), what="a file path") if m.get("ca_file") else None
    verify = expect_bool(m.get("verify", True), at.key("verify"))
    timeout = expect_int(m.get("timeout_seconds", 10), at.key("timeout_seconds"), minimum=1)
    page = expect_int(m.get("page_size", 500), at.key("page_size"), minimum=1)
    if page > 10_000:
        at.key("page_size").fail(f"at most 10000 entries a page, got {page}")
    return DirectoryConnection(
        url=url,
        bind_dn=bind_dn,
        password_env=env,
        password_file=file,
        start_tls=start_tls,
        ca_file=ca_file,
        verify=verify,
        timeout_seconds=timeout,
        page_size=page,
    )


def _dn(value: Any, at: At) -> str:
    """A distinguished name: RDNs of ``attribute=value`` separated by commas."""
    dn = expect_string(value, at, what="a distinguished name")
    parts = re.split(r"(?<!\\),", dn)
    for part in parts:
        attr, eq, rest = part.partition("=")
        if not eq or not rest.strip() or not _ATTRIBUTE.match(attr.strip()):
            at.fail(f"invalid distinguished name {dn!r}: {part.strip()!r} is not attribute=value")
    return dn


def _filter(value: Any, at: At) -> str:
    """An LDAP filter in parentheses, balanced (the directory checks the rest at the first sync)."""
    text = expect_string(value, at, what="an LDAP filter")
    depth = 0
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0 or (depth == 0 and i != len(text) - 1):
                break
    if not (text.startswith("(") and text.endswith(")")) or depth != 0:
        at.fail(f"invalid LDAP filter {text!r}: expected one parenthesised filter, e.g. (objectClass=person)")
    return text


def _attribute(value: Any, at: At) -> str:
    return expect_string(value, at, pattern=_ATTRIBUTE, what="an LDAP attribute name")


def _transforms(value: Any, at: At) -> tuple[Transform, ...]:
    return tuple(_choice(v, at.index(i), Transform) for i, v in enumerate(expect_list(value, at)))


def _value_map(value: Any, at: At, default: str) -> ValueMap:
    if value is None:
        return ValueMap(attribute=default)
    if isinstance(value, str):
        return ValueMap(attribute=_attribute(value, at))
    m = expect_mapping(value, at, allowed=("attribute", "transform"), required=("attribute",))
    return ValueMap(
        attribute=_attribute(m["attribute"], at.key("attribute")),
        transforms=_transforms(m.get("transform", []), at.key("transform")),
    )


def _search(m: dict[str, Any], at: At, default_filter: str) -> tuple[str, str, str]:
    base = _dn(m["base"], at.key("base"))
    flt = _filter(m.get("filter", default_filter), at.key("filter"))
    scope = m.get("scope", "subtree")
    if scope not in _SCOPES:
        at.key("scope").fail(f"unknown scope {describe(scope)}; expected one of: {', '.join(_SCOPES)}")
    return base, flt, scope


def _users(value: Any, at: At, default_filter: str, default_name: str) -> UserSearch:
    m = expect_mapping(value, at, allowed=("base", "filter", "scope", "name", "attributes"), required=("base",))
    base, flt, scope = _search(m, at, default_filter)
    attributes: list[AttributeMap] = []
    seen: dict[str, int] = {}
    a_at = at.key("attributes")
    for i, item in enumerate(expect_list(m.get("attributes", []), a_at)):
        i_at = a_at.index(i)
        if isinstance(item, str):
            item = {"name": item}
        e = expect_mapping(item, i_at, allowed=("name", "from", "transform"), required=("name",))
        name = expect_string(e["name"], i_at.key("name"), pattern=NAME, what="an attribute name")
        if name in seen:
            i_at.key("name").fail(f"duplicate attribute {name!r} (also at attributes[{seen[name]}])")
        seen[name] = i
        source = _attribute(e.get("from", name), i_at.key("from"))
        attributes.append(
            AttributeMap(
                name=name, source=source, transforms=_transforms(e.get("transform", []), i_at.key("transform"))
            )
        )
    return UserSearch(
        base=base,
        filter=flt,
        scope=scope,
        name=_value_map(m.get("name"), at.key("name"), default_name),
        attributes=tuple(attributes),
    )


def _groups(value: Any, at: At, default_filter: str, default_membership: Membership) -> GroupSearch:
    m = expect_mapping(
        value, at, allowed=("base", "filter", "scope", "name", "membership", "nested"), required=("base",)
    )
    base, flt, scope = _search(m, at, default_filter)
    membership = default_membership
    if "membership" in m:
        membership = _choice(m["membership"], at.key("membership"), Membership)
    return GroupSearch(
        base=base,
        filter=flt,
        scope=scope,
        name=_value_map(m.get("name"), at.key("name"), "cn"),
        membership=membership,
        nested=expect_bool(m.get("nested", True), at.key("nested")),
    )


def _dump_value_map(v: ValueMap) -> Any:
    return {"attribute": v.attribute, "transform": [t.value for t in v.transforms]} if v.transforms else v.attribute


def dump_identity_provider(p: IdentityProvider) -> dict[str, Any]:
    """A provider as policy-as-code (every default written out, so an export reads the same anywhere)."""
    c = p.connection
    conn: dict[str, Any] = {"url": c.url}
    if c.bind_dn is not None:
        conn["bind_dn"] = c.bind_dn
    if c.password_env is not None:
        conn["password_env"] = c.password_env
    if c.password_file is not None:
        conn["password_file"] = c.password_file
    conn |= {
        "start_tls": c.start_tls,
        "verify": c.verify,
        "timeout_seconds": c.timeout_seconds,
        "page_size": c.page_size,
    }
    if c.ca_file is not None:
        conn["ca_file"] = c.ca_file
    users: dict[str, Any] = {
        "base": p.users.base,
        "filter": p.users.filter,
        "scope": p.users.scope,
        "name": _dump_value_map(p.users.name),
        "attributes": [
            {
                "name": a.name,
                "from": a.source,
                **({"transform": [t.value for t in a.transforms]} if a.transforms else {}),
            }
            for a in p.users.attributes
        ],
    }
    out: dict[str, Any] = {"name": p.name, "type": p.type.value, "connection": conn, "users": users}
    if p.groups is not None:
        g = p.groups
        out["groups"] = {
            "base": g.base,
            "filter": g.filter,
            "scope": g.scope,
            "name": _dump_value_map(g.name),
            "membership": g.membership.value,
            "nested": g.nested,
        }
    out |= {
        "precedence": p.precedence,
        "create_users": p.create_users,
        "max_removed_share": p.max_removed_share,
        "incremental": p.incremental,
    }
    return out
