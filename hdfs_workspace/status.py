"""Typed file status and mode helpers."""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["FileStatus", "FileType", "format_mode", "parse_mode"]

_MAX_MODE = 0o1777


class FileType(enum.Enum):
    """What an inode is."""

    FILE = "FILE"
    DIRECTORY = "DIRECTORY"
    SYMLINK = "SYMLINK"


def parse_mode(mode: int | str) -> int:
    """Accept ``0o750``, ``"750"`` or ``"1777"``; return the int. Anything else is ValueError."""
    if isinstance(mode, str):
        if not mode or any(c not in "01234567" for c in mode) or len(mode) > 4:
            raise ValueError(f"invalid mode {mode!r}: write 3 or 4 octal digits, like '750'")
        value = int(mode, 8)
    elif isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    else:
        raise ValueError(f"invalid mode {mode!r}: pass an int such as 0o750")
    if not 0 <= value <= _MAX_MODE:
        raise ValueError(f"invalid mode {oct(value)}: HDFS modes range from 0o000 to 0o1777")
    return value


def format_mode(mode: int, *, kind: FileType = FileType.FILE, has_acl: bool = False) -> str:
    """``ls -l`` style: ``drwxr-x---+`` for a directory with mode 750 and an ACL."""
    chars = []
    for shift in (6, 3, 0):
        bits = (mode >> shift) & 7
        chars.append(("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + ("x" if bits & 1 else "-"))
    text = "".join(chars)
    if mode & 0o1000:
        text = text[:8] + ("t" if text[8] == "x" else "T")
    prefix = {FileType.DIRECTORY: "d", FileType.SYMLINK: "l"}.get(kind, "-")
    return prefix + text + ("+" if has_acl else "")


def _millis(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileStatus:
    """One inode's status (WebHDFS FileStatus, typed). ``path`` is absolute."""

    path: str
    kind: FileType
    owner: str
    group: str
    mode: int
    size: int
    replication: int
    block_size: int
    modified: datetime
    accessed: datetime
    has_acl: bool
    children: int
    file_id: int

    @property
    def name(self) -> str:
        """Last path component (``/`` for the root)."""
        return posixpath.basename(self.path) or "/"

    @property
    def is_dir(self) -> bool:
        """Whether this is a directory."""
        return self.kind is FileType.DIRECTORY

    @property
    def mode_string(self) -> str:
        """``drwxr-x---+`` style."""
        return format_mode(self.mode, kind=self.kind, has_acl=self.has_acl)

    @classmethod
    def from_webhdfs(cls, data: Mapping[str, Any], *, path: str) -> FileStatus:
        """Build from a WebHDFS FileStatus JSON object; ``path`` is where it was found."""
        mode = int(str(data["permission"]), 8)
        return cls(
            path=path,
            kind=FileType(data["type"]),
            owner=str(data["owner"]),
            group=str(data["group"]),
            mode=mode,
            size=int(data.get("length", 0)),
            replication=int(data.get("replication", 0)),
            block_size=int(data.get("blockSize", 0)),
            modified=_millis(data.get("modificationTime", 0)),
            accessed=_millis(data.get("accessTime", 0)),
            has_acl=bool(data.get("aclBit", False)),
            children=int(data.get("childrenNum", 0)),
            file_id=int(data.get("fileId", 0)),
        )
