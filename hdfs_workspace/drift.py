"""One drift record for ``hdfs-workspace check``: a workspace's, or a source's storage wall.

A finding is scoped to a project (its workspace: :mod:`hdfs_workspace.reconcile`; ``*`` for the
NameNode's acknowledgement, which no one workspace owns) or to a data source (the wall around
its files: :mod:`hdfs_workspace.wall`). Pure: no HDFS, no catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Drift", "Scope"]

#: What a finding is about: a project's workspace, or a data source's files.
Scope = Literal["project", "source"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """One difference between the desired and the actual state, of the project or source ``name``."""

    scope: Scope
    name: str
    kind: str
    path: str
    expected: str
    found: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping; the name under its scope's key (``project`` or ``source``), as ``check`` printed it."""
        return {
            self.scope: self.name,
            "kind": self.kind,
            "path": self.path,
            "expected": self.expected,
            "found": self.found,
        }
