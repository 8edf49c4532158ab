"""``hdfs-workspace protect``, and the storage wall's part of ``hdfs-workspace check``.

``protect SOURCE`` or ``protect --all`` walls governed sources' files
(:class:`hdfs_workspace.wall.StorageWall`); ``--as USER`` names the HDFS superuser the service
identity impersonates to change owners. ``check`` lists wall drift after the workspaces' drift
(a source it cannot inspect is a ``wall-unchecked`` finding, the others are still checked),
and ``check --repair`` walls what drifted. Exit codes: 0 done (or no drift), 1 an error or drift
left, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from hdfs_workspace.drift import Drift
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.wall import StorageWall

__all__ = ["WALL_COMMANDS", "add_wall_commands", "render_table", "run_wall", "wall_check", "wall_table"]

WALL_COMMANDS = ("protect",)


def add_wall_commands(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``protect`` to ``sub`` (argparse subparsers)."""
    protect = sub.add_parser(
        "protect", help="make governed sources' files readable natively only by the service identity"
    )
    add_common(protect)
    protect.add_argument("--catalog", metavar="URL", default=argparse.SUPPRESS, help="governance catalog URL")
    which = protect.add_mutually_exclusive_group(required=True)
    which.add_argument("source", nargs="?", help="the data source whose files to wall")
    which.add_argument("--all", action="store_true", help="every source with files on a configured cluster")


def run_wall(args: argparse.Namespace, manager: WorkspaceManager, out: TextIO) -> int:
    """Run ``protect``; returns the exit code."""
    wall = StorageWall(manager, acting_as=getattr(args, "as_user", None))
    targets = wall.targets(None if args.all else args.source)
    wall.require_allowed(targets)
    fixed = wall.protect(targets)
    if getattr(args, "json", False):
        json.dump({"protected": [t.to_json() for t in targets], "fixed": [d.to_json() for d in fixed]}, out, indent=1)
        out.write("\n")
    else:
        for target in targets:
            mine = [d for d in fixed if d.name == target.source]
            paths = len({d.path for d in mine})
            readers = ", ".join([target.service_user, *target.readers]) + (
                f", group {target.workspace_group}" if target.workspace_group else ""
            )
            out.write(f"{target.source}: {target.path} readable by {readers}; {paths} path(s) changed\n")
        if not targets:
            out.write("no data source has files on a configured cluster\n")
    return 0


def wall_check(
    manager: WorkspaceManager, project: str | None, *, repair: bool, acting_as: str | None = None
) -> tuple[list[Drift], list[Drift]]:
    """(drift left, drift repaired) of the wall around ``project``'s workspace sources, or every source's."""
    wall = StorageWall(manager, acting_as=acting_as)
    targets, problems = wall.survey(project=project)
    # A source on no configured cluster belongs to no project; one left unchecked is reported either way.
    location = [d for d in problems if project is None or d.kind == "wall-unchecked"]
    repaired: list[Drift] = []
    if repair and targets:
        wall.require_allowed(targets)
        repaired = wall.protect(targets)
    return location + wall.check(targets), repaired


def wall_table(drifts: list[Drift]) -> list[str]:
    """The wall drift as a text table (nothing when there is none)."""
    if not drifts:
        return []
    return render_table(
        [("SOURCE", "KIND", "PATH", "EXPECTED", "FOUND")]
        + [(d.name, d.kind, d.path, d.expected, d.found) for d in drifts]
    )


def render_table(rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    """Rows as aligned text lines (the last column unpadded)."""
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
