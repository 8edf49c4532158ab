"""``hdfs-workspace source create|inspect|refresh``: derived sources from a workspace directory (:mod:`~.sources`).

``source inspect PROJECT DIR`` prints the files' kinds, the source types they offer, the
inferred columns and partitions and the ``CREATE EXTERNAL TABLE`` a hive source would amount to,
changing nothing. ``source create PROJECT DIR --name N --type hive|hdfs --parents P1,P2
--certify`` makes it; ``source refresh PROJECT NAME`` registers a hive source's partitions added
since. All act as the calling user (the catalog) and reach HDFS and the
metastore as the cluster's service identity.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.sources import SOURCE_TYPES, DirectoryReport, WorkspaceSources

__all__ = ["SOURCE_COMMAND", "add_source_commands", "run_source"]

SOURCE_COMMAND = "source"


def add_source_commands(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``source create``, ``inspect`` and ``refresh`` to ``sub`` (argparse subparsers)."""
    source = sub.add_parser(SOURCE_COMMAND, help="derived sources from a workspace directory")
    actions = source.add_subparsers(dest="source_command", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=text)
        add_common(parser)
        parser.add_argument("--catalog", metavar="URL", default=argparse.SUPPRESS, help="governance catalog URL")
        parser.add_argument("project")
        parser.add_argument("directory", help="a directory beneath the project's workspace (path, URI or relative)")
        parser.add_argument("--table", metavar="NAME", help="the Hive table (default: from the name)")
        return parser

    inspect = action("inspect", "show what a directory's files would make, changing nothing")
    inspect.add_argument("--name", metavar="NAME", help="the source's name (for the table name shown)")
    create = action("create", "register a directory as a derived source (acting under the project)")
    create.add_argument("--name", metavar="NAME", required=True, help="the new source's name")
    create.add_argument("--type", dest="source_type", choices=SOURCE_TYPES, required=True, help="hive or hdfs")
    create.add_argument(
        "--parents",
        metavar="P1,P2",
        action="append",
        required=True,
        help="the project's sources the files derive from (comma-separated, or repeated)",
    )
    create.add_argument("--certify", action="store_true", help="certify that the files derive from the parents named")
    create.add_argument(
        "--option",
        metavar="KEY=VALUE",
        type=_reader_option,
        action="append",
        default=[],
        help="a Spark reader option for an hdfs source's files (e.g. header=true for csv); repeatable",
    )
    refresh = actions.add_parser("refresh", help="register a hive source's partitions added since it was made")
    add_common(refresh)
    refresh.add_argument("--catalog", metavar="URL", default=argparse.SUPPRESS, help="governance catalog URL")
    refresh.add_argument("project")
    refresh.add_argument("name", help="the source made from the workspace directory")


def _reader_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. --option header=true)")
    return key.strip(), value


def _report_lines(report: DirectoryReport) -> list[str]:
    inference = report.inference
    kinds = ", ".join(f"{n} {k}" for k, n in inference.kinds.items())
    lines = [
        f"directory:   {report.uri}",
        f"files:       {len(inference.files)} ({kinds})",
        f"types:       {', '.join(inference.offered_types)}",
    ]
    if inference.columns:
        lines.append("columns:     " + ", ".join(f"{c.name} {c.type}" for c in inference.columns))
    if inference.partition_keys:
        keys = ", ".join(f"{c.name} {c.type}" for c in inference.partition_keys)
        lines.append(f"partitions:  {len(inference.partitions)} by {keys}")
    lines.append(f"reads:       {inference.reads} ranged (footers only)")
    if report.ddl:
        lines += ["", report.ddl]
    return lines


def run_source(args: argparse.Namespace, manager: WorkspaceManager, out: TextIO) -> int:
    """Run ``source inspect``, ``create`` or ``refresh`` for the catalog's user; the exit code."""
    sources = WorkspaceSources(manager)
    as_json = bool(getattr(args, "json", False))
    if args.source_command == "inspect":
        report = sources.inspect(args.project, args.directory, name=args.name, table=args.table)
        if as_json:
            json.dump(report.to_json(), out, indent=1, sort_keys=True)
            out.write("\n")
        else:
            out.write("\n".join(_report_lines(report)) + "\n")
        return 0
    if args.source_command == "refresh":
        added = sources.refresh(args.project, args.name)
        if as_json:
            json.dump({"source": args.name, "added": [list(v) for v in added]}, out, indent=1, sort_keys=True)
            out.write("\n")
        else:
            shown = ", ".join("/".join("NULL" if x is None else x for x in v) for v in added) or "none"
            out.write(f"{args.name}: {len(added)} new partitions registered ({shown})\n")
        return 0
    parents = [p.strip() for group in args.parents for p in group.split(",") if p.strip()]
    record = sources.create(
        args.project,
        args.directory,
        name=args.name,
        type=args.source_type,
        parents=parents,
        table=args.table,
        certify=args.certify,
        options=dict(args.option),
    )
    if as_json:
        json.dump(record.to_json(), out, indent=1, sort_keys=True)
        out.write("\n")
    else:
        out.write(f"created {record.name} (table {record.table}), deriving from {', '.join(record.parents)}\n")
        out.write(f"subscription: {record.subscription}\n")
    return 0
