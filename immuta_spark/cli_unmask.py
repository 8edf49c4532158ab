"""``immuta-spark unmask ...``: requests to see one value behind a reversible mask's token.

``request`` (the user who sees the token), ``list``, ``approve`` and ``deny`` (a user the
masking policy exempts), ``reveal`` (the requester, once approved). See
:mod:`immuta_spark.catalog.unmask`.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.cli_common import print_json, text_table

__all__ = ["add_unmask_commands", "run_unmask"]


def add_unmask_commands(sub: Any) -> None:
    """Add the ``unmask`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("unmask", help="requests to see one value behind a reversible mask's token")
    usub = p.add_subparsers(dest="action", required=True)
    r = usub.add_parser("request", help="ask for the value behind a token, with a reason")
    r.add_argument("--source", required=True)
    r.add_argument("--column", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--reason", required=True)
    lst = usub.add_parser("list", help="your requests, and those you may decide")
    lst.add_argument("--status", choices=("pending", "approved", "denied"))
    decide = []
    for name, helptext in (("approve", "approve a pending request"), ("deny", "deny a pending request")):
        q = usub.add_parser(name, help=helptext)
        q.add_argument("id", type=int, metavar="ID")
        q.add_argument("--reason", default="")
        decide.append(q)
    rv = usub.add_parser("reveal", help="the value behind a token, once your request was approved")
    rv.add_argument("--source", required=True)
    rv.add_argument("--column", required=True)
    rv.add_argument("--token", required=True)
    for q in (r, lst, rv, *decide):
        q.add_argument("--format", choices=("text", "json"), default="text")


def run_unmask(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run one ``unmask`` action."""
    as_json = args.format == "json"
    if args.action == "reveal":
        value = cat.unmask(args.source, args.column, args.token)
        return print_json(out, {"value": value}) if as_json else _line(out, value)
    if args.action == "list":
        records = cat.unmask_requests(status=args.status)
        if as_json:
            return print_json(out, [r.to_json() for r in records])
        rows = [[str(r.id), r.source, r.column, r.requester, r.status, r.decided_by or "", r.reason] for r in records]
        out.write(text_table(["id", "source", "column", "requester", "status", "decided by", "reason"], rows))
        return 0
    if args.action == "request":
        record = cat.request_unmask(args.source, args.column, args.token, reason=args.reason)
    elif args.action == "approve":
        record = cat.approve_unmask(args.id, reason=args.reason)
    else:
        record = cat.deny_unmask(args.id, reason=args.reason)
    if as_json:
        return print_json(out, record.to_json())
    return _line(out, f"unmask request {record.id} on {record.source}.{record.column}: {record.status}")


def _line(out: TextIO, text: str) -> int:
    out.write(text + "\n")
    return 0
