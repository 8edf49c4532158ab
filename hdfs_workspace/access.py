"""The narrow interface through which the workspace touches HDFS, and its call counter.

Everything the workspace does to HDFS goes through :class:`HdfsAccess`, so the whole of it can be
counted (benchmarks compare approaches by calls made), faked in unit tests and swapped for
another transport. The one implementation is :class:`hdfs_workspace.webhdfs.WebHdfsAccess`.

Modes are always explicit: WebHDFS would otherwise create directories 755 and files 644, which
for a governed workspace means readable by everyone.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from hdfs_workspace.acl import AclEntry, AclStatus, FsAction
from hdfs_workspace.status import FileStatus

__all__ = ["CallCounter", "HdfsAccess"]


class CallCounter:
    """Thread-safe count of remote operations, per WebHDFS operation name.

    One counter can be shared by several access objects (for instance one per acting user) so a
    benchmark sees the total. ``snapshot()`` and ``since()`` make before/after comparisons easy.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, operation: str, n: int = 1) -> None:
        """Record ``n`` calls of ``operation`` (``LISTSTATUS``, ``MODIFYACLENTRIES``, ...)."""
        with self._lock:
            self._counts[operation] += n

    @property
    def total(self) -> int:
        """All calls recorded so far."""
        with self._lock:
            return sum(self._counts.values())

    def snapshot(self) -> dict[str, int]:
        """A copy of the per-operation counts."""
        with self._lock:
            return dict(self._counts)

    def since(self, before: Mapping[str, int]) -> dict[str, int]:
        """Per-operation calls made after ``before`` (a ``snapshot()``), zeros dropped."""
        now = self.snapshot()
        diff = {op: n - before.get(op, 0) for op, n in now.items()}
        return {op: n for op, n in sorted(diff.items()) if n}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()

    def __repr__(self) -> str:
        return f"CallCounter(total={self.total}, {self.snapshot()!r})"


@runtime_checkable
class HdfsAccess(Protocol):
    """What the workspace may do to HDFS. Paths are absolute HDFS paths (``/proj/x``).

    Every method raises a subclass of :class:`hdfs_workspace.errors.HdfsWorkspaceError`,
    never a transport exception.
    """

    @property
    def user(self) -> str | None:
        """The effective user HDFS sees (the proxied user if any), None if the ticket decides."""
        ...

    @property
    def counter(self) -> CallCounter:
        """Counts every remote call this object makes."""
        ...

    def as_user(self, user: str) -> HdfsAccess:
        """An access object acting as ``user`` (same cluster, same counter)."""
        ...

    def makedirs(self, path: str, *, mode: int) -> None:
        """Create ``path`` and missing parents with ``mode`` (parents also get u+wx)."""
        ...

    def write_bytes(self, path: str, data: bytes, *, mode: int, overwrite: bool = False) -> None:
        """Create a file holding ``data`` with ``mode``."""
        ...

    def read_bytes(self, path: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The content of a file: the whole of it, or ``length`` bytes from ``offset`` (one ranged read)."""
        ...

    def status(self, path: str) -> FileStatus:
        """The status of one path."""
        ...

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists (as far as the acting user may see)."""
        ...

    def list_dir(self, path: str) -> list[FileStatus]:
        """Children of a directory, sorted by name; NotADirectory for a file."""
        ...

    def walk(self, path: str) -> Iterator[FileStatus]:
        """``path`` and everything beneath it, parents before children, one LISTSTATUS a dir."""
        ...

    def set_owner(self, path: str, *, owner: str | None = None, group: str | None = None) -> None:
        """Change owner and/or group (owner needs a superuser; group needs membership)."""
        ...

    def set_mode(self, path: str, mode: int) -> None:
        """Set the permission bits (on an inode with an ACL the group bits set the mask)."""
        ...

    def get_acl(self, path: str) -> AclStatus:
        """The ACL of ``path``."""
        ...

    def set_acl(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Replace the whole ACL; must include user::, group:: and other:: entries."""
        ...

    def modify_acl_entries(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Add or update entries, keeping the others."""
        ...

    def remove_acl_entries(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Remove the named entries (permissions in ``entries`` are ignored)."""
        ...

    def remove_default_acl(self, path: str) -> None:
        """Remove every default entry."""
        ...

    def remove_acl(self, path: str) -> None:
        """Remove every extended entry, access and default."""
        ...

    def set_xattr(self, path: str, name: str, value: str) -> None:
        """Set extended attribute ``name`` (``user.<attribute>``) of ``path`` to text ``value``."""
        ...

    def get_xattrs(self, path: str) -> dict[str, str]:
        """The extended attributes of ``path`` the user may read, by name, as text."""
        ...

    def check_access(self, path: str, action: FsAction, *, user: str | None = None) -> bool:
        """Whether ``user`` (default: this object's user) may do ``action`` on ``path``.

        Answered by the NameNode's own permission checker (CHECKACCESS), so it includes
        traversal of every parent. False only for a permission denial; other errors raise.
        """
        ...

    def delete(self, path: str, *, recursive: bool = False) -> bool:
        """Delete ``path``; False if it did not exist."""
        ...
