"""From directory entries to facts about users, the diff of two syncs, and the merge with the policy file.

Pure functions, no directory and no catalog: :func:`compute_facts` maps a provider's entries to
each user's groups and attributes, :func:`diff_facts` says what a sync adds and removes, and
:func:`merge_users` combines the policy file's users with every provider's facts.

Precedence (docs/identity.md): groups are the union of what the file and every provider assert;
an attribute takes the file's values when the file gives it, else the values of the provider with
the lowest ``precedence`` that asserts it (ties broken by provider name). Permissions come from the
file only: a directory never grants catalog permissions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.identity_providers import IdentityProvider, Membership, apply_transforms
from immuta_spark.model import Governance, User
from immuta_spark.policyfile.common import NAME

__all__ = [
    "DirectoryEntry",
    "SyncDiff",
    "UserFacts",
    "compute_facts",
    "diff_facts",
    "merge_users",
    "normalize_dn",
    "provider_users",
]


def normalize_dn(dn: str) -> str:
    """A DN compared as directories compare them for our purposes: case and spaces around separators ignored."""
    parts = []
    for rdn in dn.split(","):
        attr, _, value = rdn.partition("=")
        parts.append(f"{attr.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryEntry:
    """One user or group entry as read: attribute names lower-cased, values as text."""

    dn: str
    kind: str  # "user" | "group"
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``modifyTimestamp`` as the directory wrote it (``20261203134704Z``); "" when not given.
    modified: str = ""

    @property
    def key(self) -> str:
        """The normalized DN."""
        return normalize_dn(self.dn)

    def first(self, attribute: str) -> str | None:
        """The first value of ``attribute``, or None."""
        values = self.attributes.get(attribute.lower(), ())
        return values[0] if values else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (the sync's cache of the directory)."""
        return {"dn": self.dn, "kind": self.kind, "attributes": {k: list(v) for k, v in self.attributes.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], modified: str = "") -> DirectoryEntry:
        """Back from :meth:`to_json`."""
        attrs = {str(k): tuple(str(x) for x in v) for k, v in data["attributes"].items()}
        return cls(dn=str(data["dn"]), kind=str(data["kind"]), attributes=attrs, modified=modified)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFacts:
    """What one provider asserts about one user."""

    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping, sorted (stored bodies compare by text)."""
        return {
            "groups": sorted(self.groups),
            "attributes": {k: sorted(v) for k, v in sorted(self.attributes.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserFacts:
        """Back from :meth:`to_json`."""
        return cls(
            groups=frozenset(data.get("groups", ())),
            attributes={k: frozenset(v) for k, v in data.get("attributes", {}).items()},
        )


def compute_facts(provider: IdentityProvider, entries: Iterable[DirectoryEntry]) -> dict[str, UserFacts]:
    """Each user's facts from a provider's user and group entries (users without a name are left out)."""
    users: list[DirectoryEntry] = []
    groups: dict[str, DirectoryEntry] = {}
    for e in entries:
        if e.kind == "group":
            groups[e.key] = e
        else:
            users.append(e)
    spec = provider.groups
    names: dict[str, str] = {}
    parents: dict[str, set[str]] = {}
    if spec is not None:
        for key, g in groups.items():
            raw = g.first(spec.name.attribute)
            name = apply_transforms(raw, spec.name.transforms) if raw is not None else ""
            if NAME.match(name):  # a name with control characters (or none) is not a catalog group
                names[key] = name
        if spec.membership is Membership.MEMBER:
            for key, g in groups.items():
                for member in g.attributes.get("member", ()):
                    parents.setdefault(normalize_dn(member), set()).add(key)
        else:
            for e in [*users, *groups.values()]:
                ups = {normalize_dn(v) for v in e.attributes.get("memberof", ())}
                parents.setdefault(e.key, set()).update(ups & names.keys())
    closure: dict[str, frozenset[str]] = {}

    def above(key: str) -> frozenset[str]:
        """Every group ``key`` belongs to, through nesting when on; a cycle ends where it began."""
        direct = parents.get(key, set())
        if spec is None or not spec.nested:
            return frozenset(direct)
        found: set[str] = set()
        todo = list(direct)
        while todo:
            g = todo.pop()
            if g in found:
                continue
            found.add(g)
            if g in closure:
                found |= closure[g]
            else:
                todo.extend(parents.get(g, ()))
        return frozenset(found)

    out: dict[str, UserFacts] = {}
    for u in users:
        raw = u.first(provider.users.name.attribute)
        name = apply_transforms(raw, provider.users.name.transforms) if raw is not None else ""
        if not NAME.match(name):
            continue
        keys: set[str] = set(parents.get(u.key, ()))
        if spec is not None and spec.nested:
            for g in parents.get(u.key, ()):
                if g not in closure:
                    closure[g] = above(g) | {g}
                keys |= closure[g]
        attributes: dict[str, frozenset[str]] = {}
        for a in provider.users.attributes:
            found = u.attributes.get(a.source.lower(), ())
            values = frozenset(v for v in (apply_transforms(x, a.transforms) for x in found) if NAME.match(v))
            if values:
                attributes[a.name] = values
        facts = UserFacts(groups=frozenset(names[k] for k in keys if k in names), attributes=attributes)
        if name in out:  # two entries, one catalog name: the user holds what both assert
            before = out[name]
            merged = {
                k: before.attributes.get(k, frozenset()) | facts.attributes.get(k, frozenset())
                for k in {*before.attributes, *facts.attributes}
            }
            facts = UserFacts(groups=before.groups | facts.groups, attributes=merged)
        out[name] = facts
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncDiff:
    """What a sync adds and removes: users, (user, group) memberships, (user, attribute, value) facts."""

    users_added: tuple[str, ...] = ()
    users_removed: tuple[str, ...] = ()
    groups_added: tuple[tuple[str, str], ...] = ()
    groups_removed: tuple[tuple[str, str], ...] = ()
    attributes_added: tuple[tuple[str, str, str], ...] = ()
    attributes_removed: tuple[tuple[str, str, str], ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the sync changes nothing."""
        return not any(getattr(self, f) for f in self.__slots__)  # type: ignore[attr-defined]

    def counts(self) -> dict[str, int]:
        """How many of each."""
        return {f: len(getattr(self, f)) for f in self.__slots__}  # type: ignore[attr-defined]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "users_added": list(self.users_added),
            "users_removed": list(self.users_removed),
            "groups_added": [{"user": u, "group": g} for u, g in self.groups_added],
            "groups_removed": [{"user": u, "group": g} for u, g in self.groups_removed],
            "attributes_added": [{"user": u, "attribute": a, "value": v} for u, a, v in self.attributes_added],
            "attributes_removed": [{"user": u, "attribute": a, "value": v} for u, a, v in self.attributes_removed],
        }

    def lines(self) -> list[str]:
        """The diff as text, one fact a line (``+ user alice``, ``- group alice Legal``)."""
        out = [f"+ user {u}" for u in self.users_added] + [f"- user {u}" for u in self.users_removed]
        out += [f"+ group {u} {g}" for u, g in self.groups_added] + [f"- group {u} {g}" for u, g in self.groups_removed]
        out += [f"+ attribute {u} {a}={v}" for u, a, v in self.attributes_added]
        out += [f"- attribute {u} {a}={v}" for u, a, v in self.attributes_removed]
        return out


def _flat(facts: UserFacts) -> tuple[set[str], set[tuple[str, str]]]:
    return set(facts.groups), {(k, v) for k, vs in facts.attributes.items() for v in vs}


def diff_facts(old: Mapping[str, UserFacts], new: Mapping[str, UserFacts]) -> SyncDiff:
    """Every fact of ``new`` not in ``old`` (added) and of ``old`` not in ``new`` (removed), sorted."""
    ga: list[tuple[str, str]] = []
    gr: list[tuple[str, str]] = []
    aa: list[tuple[str, str, str]] = []
    ar: list[tuple[str, str, str]] = []
    empty = UserFacts()
    for user in sorted(old.keys() | new.keys()):
        before, after = old.get(user, empty), new.get(user, empty)
        if before == after:
            continue
        (g0, a0), (g1, a1) = _flat(before), _flat(after)
        ga += [(user, g) for g in sorted(g1 - g0)]
        gr += [(user, g) for g in sorted(g0 - g1)]
        aa += [(user, k, v) for k, v in sorted(a1 - a0)]
        ar += [(user, k, v) for k, v in sorted(a0 - a1)]
    return SyncDiff(
        users_added=tuple(sorted(new.keys() - old.keys())),
        users_removed=tuple(sorted(old.keys() - new.keys())),
        groups_added=tuple(ga),
        groups_removed=tuple(gr),
        attributes_added=tuple(aa),
        attributes_removed=tuple(ar),
    )


def provider_users(governance: Governance, bodies: Mapping[str, Mapping[str, str]]) -> tuple[User, ...]:
    """:func:`merge_users` over stored fact bodies (provider -> user -> JSON), for the configured providers."""
    configured = {p.name for p in governance.identity_providers}
    facts = {
        p: {u: UserFacts.from_json(json.loads(b)) for u, b in users.items()}
        for p, users in bodies.items()
        if p in configured
    }
    return merge_users(governance.users, facts, governance.identity_providers)


def merge_users(
    declared: Sequence[User],
    facts: Mapping[str, Mapping[str, UserFacts]],
    providers: Sequence[IdentityProvider],
) -> tuple[User, ...]:
    """The catalog's users: the file's, with every provider's facts merged in (see the module's precedence).

    Only providers in ``providers`` count (facts of a provider no longer configured are ignored). A
    user no file declares is a catalog user when a provider with ``create_users`` asserts it; it
    has no permissions. Order: the file's users as declared, then the others by name.
    """
    order = sorted((p for p in providers if p.name in facts), key=lambda p: (p.precedence, p.name))
    if not order:
        return tuple(declared)
    by_name = {u.name: u for u in declared}
    created = sorted({u for p in order if p.create_users for u in facts[p.name]} - by_name.keys())
    out: list[User] = []
    for name in [*(u.name for u in declared), *created]:
        base = by_name.get(name)
        groups = set(base.groups) if base else set()
        attributes: dict[str, frozenset[str]] = dict(base.attributes) if base else {}
        for p in order:
            mine = facts[p.name].get(name)
            if mine is None:
                continue
            groups |= mine.groups
            for k, v in mine.attributes.items():
                attributes.setdefault(k, v)  # the file's, then the lowest precedence's: the first kept
        if base is not None and groups == base.groups and attributes == dict(base.attributes):
            out.append(base)
        else:
            out.append(
                User(
                    name=name,
                    groups=frozenset(groups),
                    attributes=attributes,
                    permissions=base.permissions if base else frozenset(),
                )
            )
    return tuple(out)
