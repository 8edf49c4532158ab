"""``immuta-spark project ...``: the project a user acts under (``switch``, ``current``)."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog

__all__ = ["add_project_commands", "run_project"]


def add_project_commands(sub: Any) -> None:
    """Add the ``project`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("project", help="the project you act under (switch, current)")
    psub = p.add_subparsers(dest="action", required=True)
    sw = psub.add_parser("switch", help="act under a project from your next statement on, in every session")
    target = sw.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", metavar="NAME", help="the project to act under")
    target.add_argument("--none", action="store_true", help="act under no project")
    cur = psub.add_parser("current", help="the project you act under")
    for q in (sw, cur):
        q.add_argument("--user", help="for another user (needs IMPERSONATE)")
        q.add_argument("--format", choices=("text", "json"), default="text")


def run_project(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run one ``project`` action."""
    user = args.user or cat.actor
    if args.action == "switch":
        cat.switch_project(None if args.none else args.name, user=args.user)
    project = cat.current_project(user)
    if args.format == "json":
        json.dump({"user": user, "project": project}, out, indent=2)
        out.write("\n")
    elif project is None:
        print(f"{user} acts under no project", file=out)
    else:
        print(f"{user} acts under project {project!r}", file=out)
    return 0
