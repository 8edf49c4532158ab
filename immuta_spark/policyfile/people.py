"""The ``settings``, ``users`` and ``purposes`` sections, and owner lists (users or groups)."""

from __future__ import annotations

from typing import Any

from immuta_spark.model import GovernanceSettings, OwnerRef, Permission, Purpose, Settings, User
from immuta_spark.policyfile.common import (
    DOTTED,
    At,
    Context,
    describe,
    expect_bool,
    expect_int,
    expect_list,
    expect_mapping,
    expect_string,
    expect_strings,
    expect_text,
)

__all__ = ["parse_owners", "parse_purpose", "parse_settings", "parse_user"]


def parse_settings(value: Any, at: At) -> Settings:
    """The ``settings`` section (every key optional)."""
    m = expect_mapping(
        value,
        at,
        allowed=("k_anonymization_cardinality_cutoff", "workspace_root", "workspace_lease_max_seconds", "governance"),
    )
    defaults = Settings()
    cutoff = defaults.k_anonymization_cardinality_cutoff
    if "k_anonymization_cardinality_cutoff" in m:
        cutoff = expect_int(
            m["k_anonymization_cardinality_cutoff"], at.key("k_anonymization_cardinality_cutoff"), minimum=1
        )
    root = defaults.workspace_root
    if "workspace_root" in m:
        root = expect_string(m["workspace_root"], at.key("workspace_root"), what="an absolute HDFS path")
        if not root.startswith("/"):
            at.key("workspace_root").fail("must be an absolute path starting with '/'")
    lease_max = defaults.workspace_lease_max_seconds
    if "workspace_lease_max_seconds" in m:
        lease_max = expect_int(m["workspace_lease_max_seconds"], at.key("workspace_lease_max_seconds"), minimum=1)
    gov = GovernanceSettings()
    if "governance" in m:
        g_at = at.key("governance")
        fields = GovernanceSettings.__dataclass_fields__
        g = expect_mapping(m["governance"], g_at, allowed=fields)
        gov = GovernanceSettings(**{k: expect_bool(v, g_at.key(k)) for k, v in g.items()})
    return Settings(
        k_anonymization_cardinality_cutoff=cutoff,
        workspace_root=root,
        workspace_lease_max_seconds=lease_max,
        governance=gov,
    )


def parse_user(value: Any, at: At) -> User:
    """One entry of ``users``."""
    m = expect_mapping(value, at, allowed=("name", "groups", "attributes", "permissions"), required=("name",))
    name = expect_string(m["name"], at.key("name"), what="a user name")
    groups = frozenset(expect_strings(m.get("groups", []), at.key("groups"), what="a group name"))
    attributes = parse_attributes(m.get("attributes", {}), at.key("attributes"))
    perms = []
    p_at = at.key("permissions")
    for i, p in enumerate(expect_strings(m.get("permissions", []), p_at, what="a permission")):
        try:
            perms.append(Permission(p))
        except ValueError:
            p_at.index(i).fail(f"unknown permission {p!r}; expected one of: {', '.join(x.value for x in Permission)}")
    return User(name=name, groups=groups, attributes=attributes, permissions=frozenset(perms))


def parse_attributes(value: Any, at: At) -> dict[str, frozenset[str]]:
    """A mapping of attribute name to a list of values (a user's, an entitlement's)."""
    if not isinstance(value, dict):
        at.fail(f"expected a mapping of attribute name to a list of values, got {describe(value)}")
    attributes: dict[str, frozenset[str]] = {}
    for key, vals in value.items():
        k = expect_string(key, at, what="an attribute name")
        attributes[k] = frozenset(expect_strings(vals, at.key(k), what="an attribute value"))
    return attributes


def parse_purpose(value: Any, at: At) -> Purpose:
    """One entry of ``purposes``."""
    m = expect_mapping(value, at, allowed=("name", "acknowledgement"), required=("name",))
    name = expect_string(m["name"], at.key("name"), pattern=DOTTED, what="a dotted purpose name")
    ack = expect_text(m.get("acknowledgement", ""), at.key("acknowledgement"))
    return Purpose(name=name, acknowledgement=ack)


def parse_owners(value: Any, at: At, ctx: Context) -> tuple[OwnerRef, ...]:
    """An owner list: declared user names or ``{group: G}``."""
    owners = []
    for i, item in enumerate(expect_list(value, at)):
        if isinstance(item, dict):
            g = expect_mapping(item, at.index(i), allowed=("group",), required=("group",))
            owners.append(OwnerRef(group=expect_string(g["group"], at.index(i).key("group"), what="a group name")))
        else:
            owners.append(OwnerRef(user=ctx.user(item, at.index(i))))
    if len(set(owners)) != len(owners):
        at.fail("duplicate owner")
    return tuple(owners)
