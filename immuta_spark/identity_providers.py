"""Identity providers (LDAP, Active Directory) as the policy file declares them: where, and how entries map.

A provider says how to reach a directory (never its password: only where to read it), which entries
are users and groups, and how an entry becomes a catalog user's name, groups and attributes. What a
sync learned from it is runtime state (:mod:`immuta_spark.idp`); these classes are only the
configuration, built by :mod:`immuta_spark.policyfile.identity`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "AttributeMap",
    "DirectoryConnection",
    "GroupSearch",
    "IdentityProvider",
    "Membership",
    "ProviderType",
    "Transform",
    "UserSearch",
    "ValueMap",
    "apply_transforms",
    "first_rdn",
]


class ProviderType(str, enum.Enum):
    """Which directory layout the defaults follow."""

    LDAP = "ldap"
    ACTIVE_DIRECTORY = "active_directory"


class Transform(str, enum.Enum):
    """A change made to every value read from the directory, in the order listed."""

    LOWER = "lower"
    UPPER = "upper"
    TRIM = "trim"
    #: ``cn=Legal,ou=groups,dc=corp`` -> ``Legal`` (for DN-valued attributes such as ``manager``).
    FIRST_RDN = "first_rdn"


class Membership(str, enum.Enum):
    """Where group membership is read: the groups' ``member`` values, or the users' ``memberOf``."""

    MEMBER = "member"
    MEMBER_OF = "memberOf"


def first_rdn(dn: str) -> str:
    """The value of a DN's first RDN (``cn=Legal\\, EU,ou=g`` -> ``Legal, EU``); a non-DN is kept as it is."""
    out: list[str] = []
    escaped = False
    for ch in dn:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",+":
            break
        else:
            out.append(ch)
    head = "".join(out)
    return head.split("=", 1)[1].strip() if "=" in head else dn


def apply_transforms(value: str, transforms: tuple[Transform, ...]) -> str:
    """``value`` after each transform in turn."""
    for t in transforms:
        if t is Transform.LOWER:
            value = value.lower()
        elif t is Transform.UPPER:
            value = value.upper()
        elif t is Transform.TRIM:
            value = value.strip()
        else:
            value = first_rdn(value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueMap:
    """One directory attribute, transformed: a user's or group's name."""

    attribute: str
    transforms: tuple[Transform, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeMap:
    """A catalog attribute (``name``) filled from a directory attribute (``source``), every value transformed."""

    name: str
    source: str
    transforms: tuple[Transform, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryConnection:
    """How to reach and bind to the directory. The password is read at sync time, never stored."""

    url: str
    bind_dn: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    start_tls: bool = False
    ca_file: str | None = None
    verify: bool = True
    timeout_seconds: int = 10
    page_size: int = 500

    @property
    def uses_tls(self) -> bool:
        """Whether the connection is encrypted (LDAPS or StartTLS)."""
        return self.start_tls or self.url.lower().startswith("ldaps://")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSearch:
    """Which entries are users, and what of them the catalog takes."""

    base: str
    filter: str
    name: ValueMap
    scope: str = "subtree"  # "subtree" | "one"
    attributes: tuple[AttributeMap, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSearch:
    """Which entries are groups (the filter keeps the rest out), their names, and how membership is read."""

    base: str
    filter: str
    name: ValueMap
    scope: str = "subtree"
    membership: Membership = Membership.MEMBER
    #: Members of a group nested in G are members of G too (resolved transitively; cycles are harmless).
    nested: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityProvider:
    """A directory whose users, groups and attributes a sync brings into the catalog."""

    name: str
    type: ProviderType
    connection: DirectoryConnection
    users: UserSearch
    groups: GroupSearch | None = None
    #: Lower wins: an attribute asserted by several providers takes the values of the lowest (ties: by name).
    precedence: int = 100
    #: Whether a directory user the policy file does not declare becomes a catalog user.
    create_users: bool = True
    #: A sync removing more than this share of the provider's users stops unless forced.
    max_removed_share: float = 0.2
    #: Whether a sync may read only what changed since the last (``modifyTimestamp``).
    incremental: bool = True
