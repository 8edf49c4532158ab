"""``immuta-spark idp ...``: identity providers from the shell.

``list`` shows the configured providers and their last syncs, ``show NAME`` what one asserts about
each user, and ``sync NAME|--all`` brings their users, groups and attributes into the catalog
(``--dry-run`` prints the diff, ``--force`` passes the removal guard, ``--every 15m`` keeps syncing).
See :mod:`immuta_spark.catalog.idp`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.idp import SyncResult
from immuta_spark.cli_common import print_json, text_table
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.idp.schedule import parse_interval, run_every

__all__ = ["add_idp_commands", "run_idp"]


def _interval(text: str) -> float:
    try:
        return parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_idp_commands(sub: Any) -> None:
    """Add the ``idp`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("idp", help="identity providers: sync users, groups and attributes from LDAP / AD")
    isub = p.add_subparsers(dest="action", required=True)
    s = isub.add_parser("sync", help="bring a provider's users, groups and attributes into the catalog")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", help="the provider (as named in identity_providers)")
    which.add_argument("--all", action="store_true", help="every configured provider, by precedence")
    s.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    s.add_argument("--force", action="store_true", help="apply a sync that removes more users than allowed")
    s.add_argument("--full", action="store_true", help="read the whole directory, not only what changed")
    s.add_argument("--every", type=_interval, metavar="INTERVAL", help="keep syncing, e.g. 15m (Ctrl-C stops)")
    lst = isub.add_parser("list", help="the configured providers and their last syncs")
    show = isub.add_parser("show", help="what one provider asserts about each user")
    show.add_argument("name")
    for q in (s, lst, show):
        q.add_argument("--format", choices=("text", "json"), default="text")
        q.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")


def run_idp(
    args: argparse.Namespace,
    cat: GovernanceCatalog,
    out: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
    runs: int | None = None,
) -> int:
    """Run one ``idp`` action (``sleep`` and ``runs`` bound ``--every`` in tests)."""
    if args.action == "list":
        lines = cat.identity_provider_status()
        if args.format == "json":
            return print_json(out, [line.to_json() for line in lines])
        rows = [[p.name, p.type, p.url, str(p.precedence), str(p.users), (p.synced_at or "never")[:19]] for p in lines]
        out.write(text_table(["provider", "type", "url", "precedence", "users", "last sync"], rows))
        return 0
    if args.action == "show":
        facts = cat.identity_provider_facts(args.name)
        if args.format == "json":
            return print_json(out, {u: f.to_json() for u, f in facts.items()})
        rows = [
            [
                u,
                ", ".join(sorted(f.groups)),
                "; ".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(f.attributes.items())),
            ]
            for u, f in facts.items()
        ]
        out.write(text_table(["user", "groups", "attributes"], rows))
        return 0
    names = None if args.all else [args.name]

    def sync() -> list[SyncResult]:
        return cat.sync_identity_providers(names, dry_run=args.dry_run, force=args.force, full=args.full)

    if args.every is None:
        _print_results(args, sync(), out)
        return 0

    def failed(exc: ImmutaSparkError, wait: float) -> None:
        print(f"error: {exc} (next try in {wait:g} s)", file=sys.stderr)

    try:
        run_every(
            sync,
            interval=args.every,
            on_result=lambda results: _print_results(args, results, out),
            on_error=failed,
            sleep=sleep,
            runs=runs,
        )
    except KeyboardInterrupt:
        return 0
    return 0


def _print_results(args: argparse.Namespace, results: list[SyncResult], out: TextIO) -> None:
    if args.format == "json":
        print_json(out, [r.to_json() for r in results])
        return
    for r in results:
        counts = r.diff.counts()
        verb = "would change" if r.dry_run else "changed"
        summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v) or "nothing"
        print(
            f"{r.provider}: {r.mode} sync, {r.entries_read} entries read, {r.users} users; {verb}: {summary}",
            file=out,
        )
        for line in r.diff.lines():
            print(f"  {line}", file=out)
    out.flush()
