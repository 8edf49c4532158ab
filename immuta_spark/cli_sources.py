"""``immuta-spark source ...``: derived data sources (``derived [NAME]``, ``delete-derived NAME``).

A derived source is registered from its data in a governed session
(``session.create_derived_source``), where its lineage is read from Spark's plan; the CLI shows
what it derives from and what it inherits, and unregisters it.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.derived import DerivedRecord
from immuta_spark.cli_common import print_json

__all__ = ["add_source_commands", "run_source"]

_DISABLED = "\t(disabled)"


def add_source_commands(sub: Any) -> None:
    """Add the ``source`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("source", help="derived data sources: show what they derive from and inherit, delete")
    ssub = p.add_subparsers(dest="action", required=True)
    d = ssub.add_parser("derived", help="every derived source, or one with what it inherits")
    d.add_argument("name", metavar="NAME", nargs="?", help="one derived source")
    x = ssub.add_parser("delete-derived", help="unregister a derived source (its owners, governors); the table stays")
    x.add_argument("name", metavar="NAME")
    for q in (d, x):
        q.add_argument("--format", choices=["text", "json"], default="text")


def run_source(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run one ``source`` action."""
    if args.action == "delete-derived":
        cat.delete_derived_source(args.name)
        if args.format == "json":
            return print_json(out, {"deleted": args.name})
        print(f"derived source '{args.name}' deleted (its table is left as it is)", file=out)
        return 0
    records = [cat.derived_source(args.name)] if args.name else cat.derived_sources()
    if args.format == "json":
        return print_json(out, [r.to_json() for r in records] if not args.name else records[0].to_json())
    if not records:
        print("no derived sources", file=out)
    for r in records:
        out.write(
            render_derived(r)
            if args.name
            else f"{r.name}\t{r.table}\tfrom {', '.join(r.parents)}{_DISABLED if r.disabled else ''}\n"
        )
    return 0


def render_derived(r: DerivedRecord) -> str:
    """A derived source as ``source derived NAME`` prints it."""
    entitlement = r.entitlement
    held = [*entitlement["groups"], *(f"{k}={v}" for k, vs in entitlement["attributes"].items() for v in vs)]
    lines = [
        f"derived source: {r.name} ({r.table})",
        f"parents: {', '.join(r.parents)}",
        f"made in project: {r.project or '-'} by {r.created_by}",
        f"written at entitlement: {', '.join(held) or 'none'}",
        f"subscription policy (inherited, not editable): {r.subscription}",
        f"purpose restrictions (inherited): {', '.join(r.purpose_policies) or 'none'}",
        f"tags: {', '.join(r.tags) or 'none'}",
    ]
    if r.disabled is not None:
        lines.insert(1, f"DISABLED: {r.disabled}; it answers no query")
    for column, origins in r.lineage.items():
        tags = ", ".join(r.column_tags.get(column, ())) or "no tags"
        lines.append(f"  {column} <- {', '.join('.'.join(o) for o in origins) or 'no parent column'} ({tags})")
    return "\n".join(lines) + "\n"
