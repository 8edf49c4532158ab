"""What a project workspace looks like on HDFS: its names, mode and ACL (the desired state).

One slug per project names everything: the directory ``<root>/<slug>``, the Hive database
``ws_<slug>`` and the Hadoop group ``immuta_ws_<slug>``. The slug is the project name
lower-cased with every character outside ``[a-z0-9_]`` replaced by ``_``; when that changed
the name, a short hash of the name is appended so two projects never share a slug.

The directory belongs to the service identity, mode 0770, and its ACL names the project's
group and the service identity and no one else: members reach it only while the NameNode's group mapping puts them in
that group (while they hold a grant). Default entries give everything created beneath the
same access, so members read and write each other's files, and nothing is ever open to
``other``. Revocation needs no walk: without the group, nobody passes the directory itself.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from hdfs_workspace.acl import AclEntry, AclEntryType, AclScope, FsAction

__all__ = ["WORKSPACE_MODE", "WorkspaceLayout", "expected_acl", "layout_for", "slug"]

#: The workspace directory's permission bits (with the ACL, the group bits are the mask).
WORKSPACE_MODE = 0o770
_UNSAFE = re.compile(r"[^a-z0-9_]")


def slug(project: str) -> str:
    """The name a project's workspace, database and group are built from."""
    plain = _UNSAFE.sub("_", project.lower())
    if plain != project or not plain[:1].isalpha():
        plain = f"{plain}_{hashlib.sha256(project.encode()).hexdigest()[:6]}"
    return plain


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceLayout:
    """Where a project's workspace lives and what it is called."""

    project: str
    root: str
    path: str
    hadoop_group: str
    hive_database: str

    def uri(self, fs_uri: str) -> str:
        """The full HDFS URI of the directory."""
        return fs_uri.rstrip("/") + self.path


def layout_for(project: str, root: str) -> WorkspaceLayout:
    """The layout of ``project``'s workspace under ``root``."""
    name = slug(project)
    return WorkspaceLayout(
        project=project,
        root=root,
        path=posixpath.join(root, name),
        hadoop_group=f"immuta_ws_{name}",
        hive_database=f"ws_{name}",
    )


def expected_acl(group: str, service_user: str) -> tuple[AclEntry, ...]:
    """The workspace directory's whole ACL: owner rwx, the service identity and the project group rwx, nobody else.

    The service identity's named entry is also a default entry, so it keeps full access to
    whatever members create beneath (a recursive delete needs it on the whole subtree: purge).
    """
    rwx, none = FsAction.ALL, FsAction.NONE
    entries = []
    for scope in (AclScope.ACCESS, AclScope.DEFAULT):
        entries += [
            AclEntry(kind=AclEntryType.USER, permissions=rwx, scope=scope),
            AclEntry(kind=AclEntryType.USER, name=service_user, permissions=rwx, scope=scope),
            AclEntry(kind=AclEntryType.GROUP, permissions=none, scope=scope),
            AclEntry(kind=AclEntryType.GROUP, name=group, permissions=rwx, scope=scope),
            AclEntry(kind=AclEntryType.MASK, permissions=rwx, scope=scope),
            AclEntry(kind=AclEntryType.OTHER, permissions=none, scope=scope),
        ]
    return tuple(entries)
