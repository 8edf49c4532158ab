"""``hdfs-workspace``: a thin command line over the access layer and the workspace manager.

Subcommands ``ls``, ``stat``, ``getfacl`` and ``setfacl``; each calls one access-layer method
and renders text (``hdfs dfs`` style) or JSON (``--json``). ``main(argv, client)`` takes an
injected :class:`~hdfs_workspace.access.HdfsAccess`, which is how the tests drive it. The
workspace commands (:mod:`hdfs_workspace.cli_workspace`) take an injected manager the same way,
and so does the storage wall's ``protect`` (:mod:`hdfs_workspace.cli_wall`).

Exit codes: 0 success, 1 an HDFS or configuration error (message on stderr says what to do
next), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.acl import AclEntryType, AclStatus, FsAction, parse_acl_spec
from hdfs_workspace.cli_sources import SOURCE_COMMAND, add_source_commands, run_source
from hdfs_workspace.cli_wall import WALL_COMMANDS, add_wall_commands, run_wall
from hdfs_workspace.cli_workspace import WORKSPACE_COMMANDS, add_workspace_commands, progress_to_stderr, run_workspace
from hdfs_workspace.config import ClustersFile, load_clusters
from hdfs_workspace.errors import HdfsWorkspaceError
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.status import FileStatus
from hdfs_workspace.webhdfs import connect
from immuta_spark.errors import ImmutaSparkError

__all__ = ["DEFAULT_CONFIG", "main"]

#: Used when neither --config nor $HDFS_WORKSPACE_CONFIG is given.
DEFAULT_CONFIG = "conf/clusters.yaml"
PROG = "hdfs-workspace"


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # The same options on the main parser and on every subcommand, so they may be written
    # before or after the subcommand; SUPPRESS keeps a subcommand from resetting them.
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=f"clusters YAML (default: $HDFS_WORKSPACE_CONFIG or {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--cluster", metavar="NAME", default=default, help="cluster name from the config (default: the file's default)"
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        default=default,
        help="act as USER (the service user impersonates through doas)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print JSON instead of text",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Inspect and change HDFS ACLs.")
    _add_common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("ls", help="list a directory")
    _add_common(ls, suppress=True)
    ls.add_argument("-R", "--recursive", action="store_true", help="walk the whole tree")
    ls.add_argument("path")

    stat = sub.add_parser("stat", help="show one path's status")
    _add_common(stat, suppress=True)
    stat.add_argument("path")

    getfacl = sub.add_parser("getfacl", help="show a path's ACL")
    _add_common(getfacl, suppress=True)
    getfacl.add_argument("path")

    setfacl = sub.add_parser("setfacl", help="change a path's ACL")
    _add_common(setfacl, suppress=True)
    action = setfacl.add_mutually_exclusive_group(required=True)
    action.add_argument("-m", "--modify", metavar="SPEC", help="add or update entries")
    action.add_argument("-x", "--remove", metavar="SPEC", help="remove entries (no perms)")
    action.add_argument("--set", metavar="SPEC", help="replace the whole ACL")
    action.add_argument("-b", "--remove-all", action="store_true", help="remove every extended entry")
    action.add_argument("-k", "--remove-default", action="store_true", help="remove the default ACL")
    setfacl.add_argument("path")
    add_workspace_commands(sub, lambda p: _add_common(p, suppress=True))
    add_source_commands(sub, lambda p: _add_common(p, suppress=True))
    add_wall_commands(sub, lambda p: _add_common(p, suppress=True))
    return parser


def _clusters(args: argparse.Namespace) -> ClustersFile:
    return load_clusters(args.config or os.environ.get("HDFS_WORKSPACE_CONFIG") or DEFAULT_CONFIG)


def _connect(args: argparse.Namespace) -> HdfsAccess:
    return connect(_clusters(args).get(args.cluster), as_user=args.as_user)


def _manager(args: argparse.Namespace) -> WorkspaceManager:
    from immuta_spark.catalog import GovernanceCatalog

    catalog = GovernanceCatalog.open(getattr(args, "catalog", None))
    return WorkspaceManager(catalog, _clusters(args), progress=progress_to_stderr)


def _status_json(status: FileStatus) -> dict[str, Any]:
    return {
        "path": status.path,
        "type": status.kind.value,
        "owner": status.owner,
        "group": status.group,
        "mode": f"{status.mode:04o}",
        "permissions": status.mode_string,
        "size": status.size,
        "replication": status.replication,
        "modified": status.modified.isoformat(),
        "acl": status.has_acl,
    }


def _ls_line(status: FileStatus) -> str:
    when = status.modified.strftime("%Y-%m-%d %H:%M")
    replication = "-" if status.is_dir else str(status.replication)
    return (
        f"{status.mode_string:<11} {replication:>3} {status.owner:<12} {status.group:<12} "
        f"{status.size:>10} {when} {status.path}"
    )


def _getfacl_lines(acl: AclStatus) -> list[str]:
    lines = [f"# file: {acl.path}", f"# owner: {acl.owner}", f"# group: {acl.group}"]
    if acl.sticky:
        lines.append("# flags: --t")
    mask = acl.find(AclEntryType.MASK, None)
    for entry in acl.full_entries():
        text = entry.spec()
        masked = (
            mask is not None
            and not entry.is_default
            and entry.permissions is not None
            and mask.permissions is not None
            and (entry.is_named or entry.kind is AclEntryType.GROUP)
        )
        if masked:
            assert entry.permissions is not None and mask is not None
            assert mask.permissions is not None
            effective = FsAction(entry.permissions & mask.permissions)
            if effective != entry.permissions:
                text += f"\t#effective:{effective.symbolic}"
        lines.append(text)
    return lines


def _acl_json(acl: AclStatus) -> dict[str, Any]:
    return {
        "path": acl.path,
        "owner": acl.owner,
        "group": acl.group,
        "mode": f"{acl.mode:04o}",
        "sticky": acl.sticky,
        "entries": [entry.spec() for entry in acl.full_entries()],
    }


def _run(args: argparse.Namespace, client: HdfsAccess, out: TextIO) -> None:
    if args.command == "ls":
        if args.recursive:
            statuses = list(client.walk(args.path))[1:]
        else:
            statuses = client.list_dir(args.path)
        if args.json:
            json.dump([_status_json(s) for s in statuses], out, indent=1)
            out.write("\n")
        else:
            for status in statuses:
                out.write(_ls_line(status) + "\n")
    elif args.command == "stat":
        status = client.status(args.path)
        data = _status_json(status)
        if args.json:
            json.dump(data, out, indent=1)
            out.write("\n")
        else:
            for key, value in data.items():
                out.write(f"{key}: {value}\n")
    elif args.command == "getfacl":
        acl = client.get_acl(args.path)
        if args.json:
            json.dump(_acl_json(acl), out, indent=1)
            out.write("\n")
        else:
            out.write("\n".join(_getfacl_lines(acl)) + "\n")
    elif args.command == "setfacl":
        if args.modify is not None:
            client.modify_acl_entries(args.path, parse_acl_spec(args.modify))
        elif args.remove is not None:
            client.remove_acl_entries(args.path, parse_acl_spec(args.remove, permissions=False))
        elif args.set is not None:
            client.set_acl(args.path, parse_acl_spec(args.set))
        elif args.remove_all:
            client.remove_acl(args.path)
        else:
            client.remove_default_acl(args.path)


def main(
    argv: Sequence[str] | None = None, client: HdfsAccess | None = None, manager: WorkspaceManager | None = None
) -> int:
    """Run the command line; ``client`` and ``manager`` replace the ones built from the options."""
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command in (*WORKSPACE_COMMANDS, *WALL_COMMANDS, SOURCE_COMMAND):
        if args.command == SOURCE_COMMAND:
            run = run_source
        else:
            run = run_wall if args.command in WALL_COMMANDS else run_workspace
        try:
            return run(args, manager if manager is not None else _manager(args), sys.stdout)
        except (HdfsWorkspaceError, ImmutaSparkError) as err:
            print(f"{PROG}: error: {err}", file=sys.stderr)
            return 1
    try:
        access = client if client is not None else _connect(args)
        if client is not None and args.as_user:
            access = client.as_user(args.as_user)
        _run(args, access, sys.stdout)
    except HdfsWorkspaceError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
