"""``immuta-spark dp ...``: differential privacy's ledger from the shell.

``budget`` shows what a user spent, and has left, of each DP source's privacy budget (the user
themselves, a governor, or for one source its owners). See :mod:`immuta_spark.catalog.dp`.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.cli_common import print_json, text_table

__all__ = ["add_dp_commands", "run_dp"]


def add_dp_commands(sub: Any) -> None:
    """Add the ``dp`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("dp", help="differential privacy: what users spent of their privacy budgets")
    dsub = p.add_subparsers(dest="action", required=True)
    b = dsub.add_parser("budget", help="a user's privacy spending and what is left, per DP source")
    b.add_argument("--user", help="whose spending (default: you; others need GOVERNANCE or, with --source, owning it)")
    b.add_argument("--source", help="only this data source")
    b.add_argument("--format", choices=("text", "json"), default="text")
    b.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")


def run_dp(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run one ``dp`` action."""
    lines = cat.dp_budget(args.user or cat.actor, args.source)
    if args.format == "json":
        return print_json(out, [line.to_json() for line in lines])
    rows = [
        [
            line.source,
            line.policy,
            f"{line.epsilon:g}",
            "-" if line.budget is None else f"{line.budget:g} per {line.period}",
            f"{line.spent:g}" + (f" ({line.reserved} in flight)" if line.reserved else ""),
            "-" if line.remaining is None else f"{line.remaining:g}",
            str(line.queries),
            (line.last_spent_at or "-")[:19],
        ]
        for line in lines
    ]
    headers = ["source", "policy", "epsilon/query", "budget", "spent", "remaining", "queries", "last spent"]
    out.write(text_table(headers, rows))
    return 0
