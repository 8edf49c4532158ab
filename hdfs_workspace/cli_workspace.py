"""``hdfs-workspace`` workspace commands: enable, disable, purge, check, show, switch, grants.

Each calls one :class:`~hdfs_workspace.manager.WorkspaceManager` (or reconcile) function and
renders text or JSON. The catalog is ``--catalog URL`` (default ``$IMMUTA_CATALOG_URL``, then the
user's catalog), opened as the calling user (the Hadoop identity rules); HDFS is reached as each
cluster's service identity. Progress goes to stderr, one line per step.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from hdfs_workspace.cli_wall import render_table, wall_check, wall_table
from hdfs_workspace.manager import SOURCE_FATES, WorkspaceManager
from hdfs_workspace.reconcile import Drift, check, repair
from immuta_spark.catalog.workspaces import WorkspaceRecord

__all__ = ["WORKSPACE_COMMANDS", "add_workspace_commands", "run_workspace"]

WORKSPACE_COMMANDS = ("enable", "disable", "purge", "check", "show", "switch", "grants")


def add_workspace_commands(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the workspace subcommands to ``sub`` (argparse subparsers)."""

    def command(name: str, text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=text)
        add_common(parser)
        parser.add_argument("--catalog", metavar="URL", default=argparse.SUPPRESS, help="governance catalog URL")
        return parser

    enable = command("enable", "enable a project's workspace (owner of an equalized project)")
    enable.add_argument("project")
    enable.add_argument("--hive", metavar="URI", help="Hive metastore for its database (thrift://HOST:PORT)")
    disable = command("disable", "close a workspace to its members (data and sources stay)")
    disable.add_argument("project")
    purge = command("purge", "delete workspace data after disable")
    purge.add_argument("project")
    what = purge.add_mutually_exclusive_group(required=True)
    what.add_argument("--non-source-data", action="store_true", help="only data that belongs to no data source")
    what.add_argument("--all", action="store_true", help="everything, sources' data included")
    purge.add_argument(
        "--sources",
        choices=SOURCE_FATES,
        help="with --all: what happens to the sources living there (disable: kept, answering no query; delete)",
    )
    chk = command("check", "report drift between the catalog and HDFS (exit 1 on drift)")
    chk.add_argument("project", nargs="?")
    chk.add_argument("--repair", action="store_true", help="converge every drift found (the storage wall's too)")
    show = command("show", "a workspace's URI, Hive connection, state and grants")
    show.add_argument("project")
    switch = command("switch", "act under a project and wait until its workspace is open to you")
    target = switch.add_mutually_exclusive_group(required=True)
    target.add_argument("project", nargs="?")
    target.add_argument("--none", action="store_true", help="act under no project")
    grants = command("grants", "who holds native access now")
    grants.add_argument("project", nargs="?")


def _dump(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=1, sort_keys=True)
    out.write("\n")


def _record_lines(record: WorkspaceRecord) -> list[str]:
    return [
        f"project:  {record.project}",
        f"state:    {record.state}",
        f"uri:      {record.uri}",
        f"hive:     {record.hive_connection or '-'}",
        f"group:    {record.hadoop_group}",
        f"cluster:  {record.cluster}",
    ]


def _drift_table(drifts: list[Drift]) -> list[str]:
    if not drifts:
        return ["no drift"]
    rows = [("PROJECT", "KIND", "PATH", "EXPECTED", "FOUND")] + [
        (d.name, d.kind, d.path, d.expected, d.found) for d in drifts
    ]
    return render_table(rows)


def run_workspace(args: argparse.Namespace, manager: WorkspaceManager, out: TextIO) -> int:
    """Run one workspace command; returns the exit code (1: drift found)."""
    as_json = bool(getattr(args, "json", False))
    if args.command == "enable":
        record = manager.enable(args.project, cluster=args.cluster, hive_uri=args.hive)
        _dump(record.to_json(), out) if as_json else out.write("\n".join(_record_lines(record)) + "\n")
    elif args.command == "disable":
        record = manager.disable(args.project)
        _dump(record.to_json(), out) if as_json else out.write(f"workspace of {args.project} disabled\n")
    elif args.command == "purge":
        deleted = manager.purge(args.project, everything=args.all, sources=args.sources)
        if as_json:
            _dump({"project": args.project, "deleted": deleted}, out)
        else:
            out.write("".join(f"deleted {p}\n" for p in deleted) or "nothing to delete\n")
    elif args.command == "check":
        drifts = repair(manager, args.project) if args.repair else check(manager, args.project)
        left = check(manager, args.project) if args.repair else drifts
        # The storage wall around the sources of the same workspaces (every source's without PROJECT).
        wall_left, wall_fixed = wall_check(
            manager, args.project, repair=args.repair, acting_as=getattr(args, "as_user", None)
        )
        if args.repair and wall_fixed:
            wall_left, _ = wall_check(manager, args.project, repair=False)
        if as_json:
            _dump(
                {
                    "drift": [d.to_json() for d in left],
                    "repaired": [d.to_json() for d in drifts] if args.repair else [],
                    "wall": [d.to_json() for d in wall_left],
                    "wall_repaired": [d.to_json() for d in wall_fixed],
                },
                out,
            )
        else:
            if args.repair:
                out.write(f"repaired {len(drifts)}\n")
                out.write(f"wall repaired {len(wall_fixed)}\n" if wall_fixed else "")
            out.write("\n".join(_drift_table(left)) + "\n")
            out.write("".join(line + "\n" for line in wall_table(wall_left)))
        return 1 if left or wall_left else 0
    elif args.command == "show":
        record = manager.catalog.workspace(args.project)
        if record is None:
            out.write(f"project {args.project} has no workspace\n") if not as_json else _dump(None, out)
            return 1
        grants = manager.catalog.workspace_grants(project=args.project)
        if as_json:
            _dump({**record.to_json(), "grants": [g.to_json() for g in grants]}, out)
        else:
            out.write("\n".join(_record_lines(record)) + "\n")
            out.write("".join(f"grant:    {g.user} ({g.holder})\n" for g in grants))
    elif args.command == "switch":
        project = None if args.none else args.project
        grant = manager.catalog.switch_project(project)
        manager.wait_in_force()
        data = {"project": project, "workspace": grant.to_json() if grant else None}
        if as_json:
            _dump(data, out)
        elif grant is not None:
            record = manager.catalog.workspace(grant.project)
            out.write(f"acting under {project}; workspace open: {record.uri if record else grant.project}\n")
        else:
            out.write(f"acting under {project or 'no project'}; no workspace access\n")
    elif args.command == "grants":
        grants = manager.catalog.workspace_grants(project=args.project)
        if as_json:
            _dump([g.to_json() for g in grants], out)
        else:
            out.write("".join(f"{g.project}\t{g.user}\t{g.holder}\t{g.expires_at:.0f}\n" for g in grants))
    return 0


def progress_to_stderr(line: str) -> None:
    """Progress lines go to stderr, so stdout stays the result (text or JSON)."""
    print(f"hdfs-workspace: {line}", file=sys.stderr, flush=True)
