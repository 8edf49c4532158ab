"""The storage wall's desired state, and what differs from it (pure: no HDFS, no catalog).

A governed source's files are readable natively only by the service identity (the owner of
every file and directory beneath the source's location, and named in every ACL so that files
others create stay readable to it), by the source's owners whose own governed view would be the
raw data anyway, and, for a source living in a project workspace, by the project's Hadoop group
(members acting under the project, as the seed says). Ingest users may create files (write and
traverse directories, never list or read them). Nobody else has any entry, and ``other`` has
nothing.

:func:`desired_acl` is the whole ACL :meth:`HdfsAccess.set_acl` gets for one inode (a
directory also gets default entries, so that new files inherit the wall); :func:`inode_drift`
compares one inode with it. Drift is what *widens* access: a wrong owner, permission bits or an
entry granting more than the wall, an entry the wall does not have, a directory's default ACL
that differs (new files would not inherit the wall); and what the wall needs: a named entry it
has that is missing, an inode the service identity may not read (governed reads of it fail).
Otherwise narrower access than desired is not drift (a file written with mode 600 is fine), and
neither is the execute bit on a file (HDFS ignores it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hdfs_workspace.acl import AclEntry, AclEntryType, AclScope, AclStatus, FsAction
from hdfs_workspace.config import ClustersFile
from hdfs_workspace.drift import Drift
from hdfs_workspace.errors import ConfigError, WorkspaceError
from hdfs_workspace.layout import expected_acl
from hdfs_workspace.status import FileStatus

__all__ = [
    "HDFS_SCHEMES",
    "WALL_KINDS",
    "WallError",
    "WallTarget",
    "desired_acl",
    "inode_drift",
    "place",
    "workspace_holding",
]

#: Location schemes the wall applies to (none: the default cluster); other storage (file:, s3a:) is not walled.
HDFS_SCHEMES = ("hdfs", "")

#: The kinds of wall drift ``check`` reports.
WALL_KINDS = (
    "wall-owner",
    "wall-mode",
    "wall-acl",
    "wall-default-acl",
    "wall-service",
    "wall-unreadable",
    "wall-location",
    "wall-unchecked",
)


class WallError(WorkspaceError):
    """A storage-wall operation was refused before it changed anything (the message says what to do)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WallTarget:
    """One governed source's location and who may read it natively.

    ``readers`` are users given read (the source's owners whose plan is unrestricted);
    ``writers`` users given write and traverse on directories (ingest users).
    ``workspace_group`` is the project's Hadoop group when the source lives in a workspace.
    """

    source: str
    cluster: str
    path: str
    service_user: str
    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    workspace_group: str | None = None
    project: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "source": self.source,
            "cluster": self.cluster,
            "path": self.path,
            "owner": self.service_user,
            "readers": list(self.readers),
            "writers": list(self.writers),
            "workspace_group": self.workspace_group,
            "project": self.project,
        }


def _named(target: WallTarget) -> list[tuple[AclEntryType, str, FsAction]]:
    """The named entries of a directory's ACL (files take the same, as HDFS copies default entries)."""
    if target.workspace_group is not None:
        # The workspace's own entries (layout.expected_acl): what members' files inherit already.
        return [
            (e.kind, e.name, e.permissions or FsAction.NONE)
            for e in expected_acl(target.workspace_group, target.service_user)
            if e.is_named and not e.is_default
        ]
    # The service's own entry, though it owns what the wall covers: files an ingest user creates
    # are the ingest user's until repaired, and the service must read them (governed reads) at once.
    perms: dict[str, FsAction] = {target.service_user: FsAction.ALL}
    for user in target.readers:
        perms[user] = perms.get(user, FsAction.NONE) | FsAction.READ | FsAction.EXECUTE
    for user in target.writers:
        perms[user] = perms.get(user, FsAction.NONE) | FsAction.WRITE | FsAction.EXECUTE
    return [(AclEntryType.USER, name, perms[name]) for name in sorted(perms)]


def desired_acl(target: WallTarget, *, directory: bool) -> tuple[AclEntry, ...]:
    """The whole ACL of one inode beneath ``target``'s location (with default entries for a directory)."""
    named = _named(target)
    owner = FsAction.ALL if directory else FsAction.READ | FsAction.WRITE
    scopes = (AclScope.ACCESS, AclScope.DEFAULT) if directory else (AclScope.ACCESS,)
    entries: list[AclEntry] = []
    for scope in scopes:
        entries.append(
            AclEntry(
                kind=AclEntryType.USER, permissions=owner if scope is AclScope.ACCESS else FsAction.ALL, scope=scope
            )
        )
        entries += [AclEntry(kind=kind, name=name, permissions=perms, scope=scope) for kind, name, perms in named]
        entries.append(AclEntry(kind=AclEntryType.GROUP, permissions=FsAction.NONE, scope=scope))
        if named:
            mask = FsAction.NONE
            for _, _, perms in named:
                mask |= perms
            entries.append(AclEntry(kind=AclEntryType.MASK, permissions=mask, scope=scope))
        entries.append(AclEntry(kind=AclEntryType.OTHER, permissions=FsAction.NONE, scope=scope))
    return tuple(entries)


def inode_drift(target: WallTarget, status: FileStatus, acl: AclStatus) -> list[Drift]:
    """What about one inode widens access beyond the wall (empty: it holds)."""
    found: list[Drift] = []

    def drift(kind: str, expected: str, what: str) -> None:
        found.append(
            Drift(scope="source", name=target.source, kind=kind, path=status.path, expected=expected, found=what)
        )

    if status.owner != target.service_user:
        drift("wall-owner", target.service_user, status.owner)
    want = {e.key: e for e in desired_acl(target, directory=status.is_dir)}
    have = acl.full_entries()
    mask = next((e.permissions for e in have if e.kind is AclEntryType.MASK and not e.is_default), None)
    ignored = FsAction.NONE if status.is_dir else FsAction.EXECUTE
    mode = f"{status.mode & 0o7777:o}"
    for entry in have:
        if (
            entry.is_default
            or entry.kind in (AclEntryType.MASK,)
            or (entry.kind is AclEntryType.USER and not entry.name)
        ):
            continue
        granted = entry.permissions or FsAction.NONE
        if mask is not None and entry.kind is not AclEntryType.OTHER:
            granted &= mask  # named entries and the owning group count only as far as the mask lets them
        granted &= ~ignored
        wanted = want.get(entry.key)
        if wanted is None:
            drift("wall-acl", "no such entry", f"extra {entry.spec()}")
            continue
        wider = FsAction(granted & ~(wanted.permissions or FsAction.NONE))
        if wider:
            kind = "wall-acl" if entry.is_named else "wall-mode"
            expected = wanted.spec() if entry.is_named else f"{wanted.spec()} (mode {mode})"
            drift(kind, expected, entry.with_permissions(FsAction(granted)).spec())
    present = {e.key for e in have}
    for key, wanted in want.items():
        if wanted.is_named and not wanted.is_default and key not in present:
            # Not wider, but not the wall either: a reader or ingest user the policy now allows, or the service's own.
            drift("wall-acl", wanted.spec(), f"missing {wanted.without_permissions().spec()}")
    needed = FsAction.READ | (FsAction.EXECUTE if status.is_dir else FsAction.NONE)
    if not _service_access(target.service_user, status.owner, have, mask).implies(needed):
        # Not a breach (closed), but governed reads of it fail: the repair gives it back to the service.
        drift("wall-service", f"{target.service_user} may read it", f"{target.service_user} may not (mode {mode})")
    if status.is_dir:
        wanted_default = sorted(e.spec() for e in want.values() if e.is_default)
        actual_default = sorted(e.spec() for e in have if e.is_default)
        if wanted_default != actual_default:
            missing = sorted(set(wanted_default) - set(actual_default))
            extra = sorted(set(actual_default) - set(wanted_default))
            drift(
                "wall-default-acl",
                "missing: " + (",".join(missing) or "-"),
                "extra: " + (",".join(extra) or "-"),
            )
    return found


def _service_access(service: str, owner: str, entries: tuple[AclEntry, ...], mask: FsAction | None) -> FsAction:
    """What the NameNode lets the service identity do with an inode (owner bits, else its named entry)."""
    access = [e for e in entries if not e.is_default]
    if owner == service:
        return next(e.permissions or FsAction.NONE for e in access if e.kind is AclEntryType.USER and not e.name)
    named = next((e.permissions for e in access if e.kind is AclEntryType.USER and e.name == service), None)
    if named is None:
        return FsAction.NONE  # group and other grant nothing on a walled inode
    return FsAction(named & mask) if mask is not None else named


def place(source: str, location: str, clusters: ClustersFile, *, strict: bool) -> tuple[str, str] | None:
    """(cluster name, absolute path) of a source's ``location``.

    A path without a scheme is on the clusters file's default (or only) cluster; an ``hdfs://``
    URI on the cluster whose ``fs_uri`` has its authority. Other storage gives None, or with
    ``strict`` a :class:`WallError`; an ``hdfs://`` URI on no configured cluster is always refused.
    """
    parts = urlsplit(location)
    path = posixpath.normpath(parts.path or "/")
    if parts.scheme.lower() not in HDFS_SCHEMES:
        if not strict:
            return None
        raise WallError(
            f"data source {source!r} is stored at {location}, not on HDFS: the storage wall covers HDFS "
            f"locations on the configured clusters ({', '.join(clusters.names)}) only"
        )
    if not parts.scheme:
        try:
            return clusters.get(None).name, path
        except ConfigError as exc:
            raise WallError(
                f"data source {source!r} has the location {location} without a cluster, and {exc.reason}: "
                "write the location as a full hdfs:// URI"
            ) from None
    for cluster in clusters.clusters:
        fs = urlsplit(cluster.fs_uri)
        if fs.scheme.lower() == parts.scheme.lower() and fs.netloc.lower() == parts.netloc.lower():
            return cluster.name, path
    raise WallError(
        f"data source {source!r} is stored at {location}, on no configured cluster (configured: "
        + ", ".join(f"{c.name} {c.fs_uri}" for c in clusters.clusters)
        + "): add that cluster to the clusters file, or correct the source's location"
    )


def workspace_holding(source: str, path: str, workspaces: Iterable[tuple[str, str]]) -> str | None:
    """The project (of ``workspaces``: (project, directory) pairs) whose workspace holds ``path``, or None.

    A location that holds a workspace beneath it is refused: walling it would set a source's
    ACL on the workspace and take the directory from the project's members.
    """
    for project, directory in workspaces:
        top = directory.rstrip("/")
        if path == top or path.startswith(top + "/"):
            return project
        if top.startswith(path.rstrip("/") + "/"):
            raise WallError(
                f"data source {source!r} is stored at {path}, which holds the workspace of project {project!r} "
                f"({directory}): the wall would take that directory from the project's members. Give the source a "
                "location of its own (beneath the workspace for a source living there, or outside it)"
            )
    return None
