"""HDFS ACL entries: the typed model, the spec parser and the printer.

The spec syntax is the one ``hdfs dfs -setfacl`` and WebHDFS's ``aclspec`` use::

    user:alice:rwx,group::r-x,default:group:proj_x:r-x

An entry is ``[default:]TYPE:NAME:PERMS``; NAME is empty for the owner (``user::``), the owning
group (``group::``), ``mask::`` and ``other::``. Specs for *removing* entries carry no
permissions (``user:alice,default:group:proj_x``). Everything is validated here, before a request
is sent, so a typo never reaches the NameNode as a half-applied change.

>>> format_acl_spec(parse_acl_spec("default:group:proj_x:r-x, user:alice:rwx"))
'default:group:proj_x:r-x,user:alice:rwx'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from hdfs_workspace.errors import AclSpecError

__all__ = [
    "ACL_NAME_PATTERN",
    "MAX_ENTRIES_PER_SCOPE",
    "MAX_NAMED_ENTRIES_PER_SCOPE",
    "AclEntry",
    "AclEntryType",
    "AclScope",
    "AclStatus",
    "FsAction",
    "format_acl_spec",
    "parse_acl_entry",
    "parse_acl_spec",
    "validate_acl_name",
]

#: Names the NameNode accepts in ACL entries (``dfs.webhdfs.acl.provider.permission.pattern``).
ACL_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
#: Entries per scope (access and default separately), counting user::, group::, mask::, other::.
MAX_ENTRIES_PER_SCOPE = 32
#: What is left for named users and groups once the four unnamed entries are counted.
MAX_NAMED_ENTRIES_PER_SCOPE = MAX_ENTRIES_PER_SCOPE - 4

_PERMS_PATTERN = re.compile(r"[r-][w-][x-]")


class FsAction(enum.IntFlag):
    """Permission bits of one entry, as in Hadoop's ``FsAction`` (``r-x`` is READ|EXECUTE)."""

    NONE = 0
    EXECUTE = 1
    WRITE = 2
    READ = 4
    ALL = 7

    @classmethod
    def parse(cls, text: str) -> FsAction:
        """Parse the three-character symbolic form (``rwx``, ``r-x``, ``---``)."""
        if not _PERMS_PATTERN.fullmatch(text):
            raise AclSpecError(
                f"invalid permissions {text!r}: write exactly three characters from "
                "'r' or '-', 'w' or '-', 'x' or '-' (for example 'r-x')"
            )
        action = cls.NONE
        if text[0] == "r":
            action |= cls.READ
        if text[1] == "w":
            action |= cls.WRITE
        if text[2] == "x":
            action |= cls.EXECUTE
        return action

    @property
    def symbolic(self) -> str:
        """The three-character form, ``r-x`` for READ|EXECUTE."""
        return (
            ("r" if self & FsAction.READ else "-")
            + ("w" if self & FsAction.WRITE else "-")
            + ("x" if self & FsAction.EXECUTE else "-")
        )

    def implies(self, other: FsAction) -> bool:
        """Whether these bits include every bit of ``other``."""
        return (self & other) == other


class AclScope(enum.Enum):
    """Access entries are checked; default entries (directories only) are copied to children."""

    ACCESS = "access"
    DEFAULT = "default"


class AclEntryType(enum.Enum):
    """The four kinds of entry."""

    USER = "user"
    GROUP = "group"
    MASK = "mask"
    OTHER = "other"


_KIND_ORDER = {AclEntryType.USER: 0, AclEntryType.GROUP: 1, AclEntryType.MASK: 2, AclEntryType.OTHER: 3}


def validate_acl_name(name: str) -> str:
    """Return ``name`` if the NameNode accepts it in an ACL entry, else raise AclSpecError."""
    if not ACL_NAME_PATTERN.fullmatch(name):
        raise AclSpecError(
            f"invalid user or group name {name!r}: names must match "
            f"{ACL_NAME_PATTERN.pattern} (start with a letter or '_', then letters, digits, "
            "'.', '_' or '-')"
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class AclEntry:
    """One ACL entry. ``name`` None means the unnamed entry (owner, owning group, mask, other).

    ``permissions`` is None only in entries meant for removal, which name no permissions.
    """

    kind: AclEntryType
    name: str | None = None
    permissions: FsAction | None = None
    scope: AclScope = AclScope.ACCESS

    def __post_init__(self) -> None:
        if self.name is not None:
            if self.kind in (AclEntryType.MASK, AclEntryType.OTHER):
                raise AclSpecError(
                    f"the {self.kind.value} entry takes no name (got {self.name!r}): write '{self.kind.value}::PERMS'"
                )
            validate_acl_name(self.name)
        if self.permissions is not None and not isinstance(self.permissions, FsAction):
            raise AclSpecError(f"permissions must be an FsAction, got {self.permissions!r}: use FsAction.parse('r-x')")

    @classmethod
    def user(cls, name: str | None, permissions: str | FsAction | None = None, *, default: bool = False) -> AclEntry:
        """A user entry; ``name`` None is the owner's entry."""
        return cls._make(AclEntryType.USER, name, permissions, default)

    @classmethod
    def group(cls, name: str | None, permissions: str | FsAction | None = None, *, default: bool = False) -> AclEntry:
        """A group entry; ``name`` None is the owning group's entry."""
        return cls._make(AclEntryType.GROUP, name, permissions, default)

    @classmethod
    def _make(
        cls,
        kind: AclEntryType,
        name: str | None,
        permissions: str | FsAction | None,
        default: bool,
    ) -> AclEntry:
        perms = FsAction.parse(permissions) if isinstance(permissions, str) else permissions
        scope = AclScope.DEFAULT if default else AclScope.ACCESS
        return cls(kind=kind, name=name, permissions=perms, scope=scope)

    @property
    def is_default(self) -> bool:
        """Whether this entry is in the default scope."""
        return self.scope is AclScope.DEFAULT

    @property
    def is_named(self) -> bool:
        """Named user and group entries are the ones limited to 28 per scope."""
        return self.name is not None

    @property
    def key(self) -> tuple[AclScope, AclEntryType, str | None]:
        """What identifies an entry within an ACL (HDFS allows one entry per key)."""
        return (self.scope, self.kind, self.name)

    def without_permissions(self) -> AclEntry:
        """The same entry in the form that removal specs use."""
        return AclEntry(kind=self.kind, name=self.name, scope=self.scope)

    def with_permissions(self, permissions: FsAction) -> AclEntry:
        """The same entry granting ``permissions``."""
        return AclEntry(kind=self.kind, name=self.name, permissions=permissions, scope=self.scope)

    def spec(self) -> str:
        """This entry in spec syntax."""
        prefix = "default:" if self.is_default else ""
        text = f"{prefix}{self.kind.value}:{self.name or ''}"
        if self.permissions is not None:
            text += f":{self.permissions.symbolic}"
        return text

    def sort_key(self) -> tuple[int, int, int, str]:
        """getfacl's order: access before default; user, group, mask, other; owner first."""
        return (
            0 if self.scope is AclScope.ACCESS else 1,
            _KIND_ORDER[self.kind],
            0 if self.name is None else 1,
            self.name or "",
        )

    def __str__(self) -> str:
        return self.spec()


def parse_acl_entry(text: str, *, permissions: bool = True) -> AclEntry:
    """Parse one entry. With ``permissions=False`` it parses removal form (``user:alice``)."""
    raw = text.strip()
    if not raw:
        raise AclSpecError("empty ACL entry: remove the stray ',' or write an entry")
    fields = raw.split(":")
    scope = AclScope.ACCESS
    if fields[0].lower() == "default":
        scope = AclScope.DEFAULT
        fields = fields[1:]
    if not permissions and len(fields) == 3 and fields[2] == "":
        # WebHDFS's own removal form ends with an empty permissions field: 'user:bob:'.
        fields = fields[:2]
    expected = "TYPE:NAME:PERMS" if permissions else "TYPE[:NAME]"
    if (permissions and len(fields) != 3) or (not permissions and len(fields) not in (1, 2)):
        raise AclSpecError(
            f"invalid ACL entry {raw!r}: expected [default:]{expected}, "
            "for example 'user:alice:r-x'" + ("" if permissions else " without permissions")
        )
    try:
        kind = AclEntryType(fields[0].lower())
    except ValueError:
        raise AclSpecError(
            f"invalid ACL entry {raw!r}: type {fields[0]!r} is not one of user, group, mask, other"
        ) from None
    name = fields[1] if len(fields) > 1 and fields[1] else None
    perms = FsAction.parse(fields[2]) if permissions else None
    return AclEntry(kind=kind, name=name, permissions=perms, scope=scope)


def parse_acl_spec(spec: str, *, permissions: bool = True) -> tuple[AclEntry, ...]:
    """Parse a comma-separated ACL spec; duplicate entries (same scope, type, name) are errors."""
    if not spec.strip():
        raise AclSpecError("empty ACL spec: write at least one entry, e.g. 'user:alice:r-x'")
    entries = tuple(parse_acl_entry(part, permissions=permissions) for part in spec.split(","))
    seen: set[tuple[AclScope, AclEntryType, str | None]] = set()
    for entry in entries:
        if entry.key in seen:
            raise AclSpecError(
                f"ACL spec names {entry.without_permissions().spec()!r} twice: keep one entry per scope, type and name"
            )
        seen.add(entry.key)
    return entries


def format_acl_spec(entries: Iterable[AclEntry]) -> str:
    """Print entries in spec syntax, in the given order (``parse_acl_spec`` reverses this)."""
    return ",".join(entry.spec() for entry in entries)


@dataclass(frozen=True, slots=True, kw_only=True)
class AclStatus:
    """An inode's ACL as WebHDFS GETACLSTATUS reports it.

    ``entries`` is what the NameNode returns: for the access scope it omits the owner, mask and
    other entries (they live in ``mode``); default-scope entries are complete.
    :meth:`full_entries` rebuilds the list that ``hdfs dfs -getfacl`` prints.
    """

    path: str
    owner: str
    group: str
    mode: int
    sticky: bool
    entries: tuple[AclEntry, ...]

    @property
    def is_extended(self) -> bool:
        """Whether the access scope has entries beyond the mode bits (then group bits = mask)."""
        return any(e.scope is AclScope.ACCESS for e in self.entries)

    def named(self, scope: AclScope = AclScope.ACCESS) -> tuple[AclEntry, ...]:
        """Named user and group entries of one scope."""
        return tuple(e for e in self.entries if e.scope is scope and e.is_named)

    def default_entries(self) -> tuple[AclEntry, ...]:
        """The default ACL (empty when the inode has none)."""
        return tuple(e for e in self.entries if e.is_default)

    def find(self, kind: AclEntryType, name: str | None, scope: AclScope = AclScope.ACCESS) -> AclEntry | None:
        """The entry for (scope, kind, name) among the full entries, or None."""
        for entry in self.full_entries():
            if entry.key == (scope, kind, name):
                return entry
        return None

    def full_entries(self) -> tuple[AclEntry, ...]:
        """All entries, with owner, mask and other filled in from the mode bits."""
        owner_bits = FsAction((self.mode >> 6) & 7)
        group_bits = FsAction((self.mode >> 3) & 7)
        other_bits = FsAction(self.mode & 7)
        full = [AclEntry(kind=AclEntryType.USER, permissions=owner_bits)]
        full.extend(e for e in self.entries if e.scope is AclScope.ACCESS)
        if self.is_extended:
            full.append(AclEntry(kind=AclEntryType.MASK, permissions=group_bits))
        else:
            full.append(AclEntry(kind=AclEntryType.GROUP, permissions=group_bits))
        full.append(AclEntry(kind=AclEntryType.OTHER, permissions=other_bits))
        full.extend(self.default_entries())
        return tuple(sorted(full, key=AclEntry.sort_key))
