"""``immuta-spark``: a thin command line over the catalog; each command calls one service function.

The CLI acts as the authenticated identity (section 2). ``--as USER`` acts as someone else and
needs IMPERSONATE. Exit status: 0 done, 1 refused or failed (the message says what to do), 2
bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from immuta_spark.catalog import ApplyResult, GovernanceCatalog, default_catalog_url
from immuta_spark.catalog.service import describe_paths, load_policy_file
from immuta_spark.cli_common import print_json, text_table
from immuta_spark.cli_dp import add_dp_commands, run_dp
from immuta_spark.cli_engine import ENGINE_COMMANDS, add_engine_commands, run_engine_command
from immuta_spark.cli_idp import add_idp_commands, run_idp
from immuta_spark.cli_projects import add_project_commands, run_project
from immuta_spark.cli_sources import add_source_commands, run_source
from immuta_spark.cli_unmask import add_unmask_commands, run_unmask
from immuta_spark.engine import Plan
from immuta_spark.errors import CatalogError, ImmutaSparkError, PolicyFileError

__all__ = ["main", "render_plan_text"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="immuta-spark", description="Govern Spark tables with policy as code.")
    p.add_argument("--catalog", metavar="URL", help="catalog URL (env IMMUTA_CATALOG_URL; default: a SQLite file)")
    p.add_argument("--as", dest="act_as", metavar="USER", help="act as USER (needs IMPERSONATE)")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("init", help="create a new, empty catalog (no other command but apply creates one)")
    i.add_argument("url", nargs="?", metavar="URL", help="where (default: --catalog, IMMUTA_CATALOG_URL, the default)")

    a = sub.add_parser("apply", help="make the catalog match policy-as-code files, merged (the first apply creates it)")
    a.add_argument("file", nargs="+", metavar="PATH", help="a policy file or a directory of them; several are merged")
    a.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    a.add_argument(
        "--prune-runtime",
        action="store_true",
        help="delete runtime state the files orphan (members, acknowledgements of removed projects or users), audited",
    )
    a.add_argument("--format", choices=("text", "json"), default="text")

    e = sub.add_parser("export", help="print the catalog as policy-as-code YAML (no secrets)")
    e.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")

    x = sub.add_parser("explain", help="what a user sees of a data source, and why")
    x.add_argument("--source", required=True, help="data source name or table (db.table)")
    x.add_argument("--user", help="whose view (default: you; others need GOVERNANCE)")
    x.add_argument("--project", help="act under this project")
    x.add_argument("--format", choices=("text", "json"), default="text")

    s = sub.add_parser("subscription", help="request, approve, deny, revoke, add, list subscriptions")
    ssub = s.add_subparsers(dest="action", required=True)
    r = ssub.add_parser("request", help="ask for access to a source")
    r.add_argument("--source", required=True)
    r.add_argument("--reason", default="")
    for name, helptext in (
        ("approve", "approve a pending request"),
        ("deny", "deny a pending request"),
        ("revoke", "take a subscription away"),
        ("add", "subscribe a user by hand"),
    ):
        q = ssub.add_parser(name, help=helptext)
        q.add_argument("--source", required=True)
        q.add_argument("--user", required=True)
        if name == "deny":
            q.add_argument("--reason", default="")
    lst = ssub.add_parser("list", help="subscription records you may see")
    lst.add_argument("--source")
    lst.add_argument("--user")
    for q in (r, lst, *[ssub.choices[n] for n in ("approve", "deny", "revoke", "add")]):
        q.add_argument("--format", choices=("text", "json"), default="text")

    add_project_commands(sub)
    add_source_commands(sub)
    add_unmask_commands(sub)
    add_dp_commands(sub)
    add_idp_commands(sub)

    add_engine_commands(sub)

    au = sub.add_parser("audit", help="list audit records")
    au.add_argument("--user")
    au.add_argument("--action", help="exact action, or a pattern with * (e.g. 'subscription.*')")
    au.add_argument("--outcome")
    au.add_argument("--source")
    au.add_argument("--project")
    au.add_argument("--since", help="ISO time, inclusive")
    au.add_argument("--until", help="ISO time, exclusive")
    au.add_argument("--limit", type=_count, metavar="N", help="only the newest N (0: none)")
    au.add_argument("--format", choices=("text", "json"), default="text")
    return p


def main(argv: Sequence[str] | None = None, catalog: GovernanceCatalog | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; ``catalog`` may be injected (tests), ``out`` defaults to standard output."""
    stdout = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if catalog is not None and args.act_as:
            catalog = GovernanceCatalog(catalog.store, identity=catalog.identity, act_as=args.act_as)
        if args.command == "init":
            return _init(args, catalog, stdout)
        if args.command == "apply" and catalog is None and not args.dry_run:
            # Only apply creates (the bootstrap), and only once the file is valid.
            governance = load_policy_file(args.file)
            cat = GovernanceCatalog.open(args.catalog or default_catalog_url(), act_as=args.act_as, create=True)
            applied = cat.apply_governance(governance, file=describe_paths(args.file), prune_runtime=args.prune_runtime)
            return _print_applied(args, applied, stdout)
        cat = catalog or GovernanceCatalog.open(args.catalog or default_catalog_url(), act_as=args.act_as)
        return _run(args, cat, stdout)
    except PolicyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was changed; fix the file and apply again", file=sys.stderr)
        return 1
    except ImmutaSparkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _count(text: str) -> int:
    """A whole number >= 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _init(args: argparse.Namespace, catalog: GovernanceCatalog | None, out: TextIO) -> int:
    if args.url and args.catalog and args.url != args.catalog:
        raise CatalogError("init was given two different URLs (URL and --catalog); give one")
    url = args.url or args.catalog or default_catalog_url()
    cat = catalog or GovernanceCatalog.open(url, create=True)
    shown = cat.store.display_url
    if not cat.store.created:
        raise CatalogError(
            f"{shown} already holds a catalog (id {cat.store.catalog_id}); nothing was changed. Apply a "
            "policy file to it (`immuta-spark --catalog URL apply FILE`), or init another URL"
        )
    print(f"created an empty catalog at {shown} (id {cat.store.catalog_id})", file=out)
    print(f"next: immuta-spark --catalog {shown} apply FILE", file=out)
    return 0


def _run(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    if args.command == "apply":
        applied = cat.apply(args.file, dry_run=args.dry_run, prune_runtime=args.prune_runtime)
        return _print_applied(args, applied, out)
    if args.command == "export":
        text = cat.export()
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            out.write(text)
        return 0
    if args.command == "explain":
        plan = cat.explain(args.source, user=args.user, project=args.project)
        if args.format == "json":
            print_json(out, plan.to_json())
        else:
            out.write(render_plan_text(plan))
        return 0
    if args.command == "subscription":
        return _subscription(args, cat, out)
    if args.command == "project":
        return run_project(args, cat, out)
    if args.command == "source":
        return run_source(args, cat, out)
    if args.command == "unmask":
        return run_unmask(args, cat, out)
    if args.command == "dp":
        return run_dp(args, cat, out)
    if args.command in ENGINE_COMMANDS:
        return run_engine_command(args, cat, out)
    if args.command == "idp":
        return run_idp(args, cat, out)
    records = cat.audit(
        user=args.user,
        action=args.action,
        outcome=args.outcome,
        source=args.source,
        project=args.project,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    if args.format == "json":
        print_json(out, [r.to_json() for r in records])
    else:
        rows = [
            [
                r.time[:19],
                r.user + (f" (by {r.impersonator})" if r.impersonator else ""),
                r.action,
                r.outcome,
                ",".join(r.sources),
                ",".join(r.policies),
            ]
            for r in records
        ]
        out.write(text_table(["time", "user", "action", "outcome", "sources", "policies"], rows))
    return 0


def _print_applied(args: argparse.Namespace, result: ApplyResult, out: TextIO) -> int:
    if args.format == "json":
        print_json(
            out,
            {
                "added": list(result.added),
                "changed": list(result.changed),
                "removed": list(result.removed),
                "dry_run": result.dry_run,
            },
        )
    else:
        print(result.summary(), file=out)
        for label, items in (("+", result.added), ("~", result.changed), ("-", result.removed)):
            for item in items:
                print(f"  {label} {item}", file=out)
    return 0


def _subscription(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    if args.action == "list":
        records = cat.subscriptions(source=args.source, user=args.user)
    elif args.action == "request":
        records = [cat.request_subscription(args.source, reason=args.reason)]
    elif args.action == "approve":
        records = [cat.approve_subscription(args.source, args.user)]
    elif args.action == "deny":
        records = [cat.deny_subscription(args.source, args.user, reason=args.reason)]
    elif args.action == "revoke":
        records = [cat.revoke_subscription(args.source, args.user)]
    else:
        records = [cat.add_subscriber(args.source, args.user)]
    if args.format == "json":
        print_json(out, [r.to_json() for r in records])
    else:
        rows = [[r.source, r.user, r.status, ",".join(r.approvals), r.updated_at[:19]] for r in records]
        out.write(text_table(["source", "user", "status", "approvals", "updated"], rows))
    return 0


def render_plan_text(plan: Plan) -> str:
    """The explain output as a readable table."""
    lines = [
        f"source:     {plan.source} ({plan.table})",
        f"user:       {plan.user}" + (f" acting under project {plan.project}" if plan.project else ""),
        f"visible:    {'yes' if plan.visible else 'no'}",
        f"subscribed: {'yes' if plan.subscribed else 'no'}",
    ]
    if plan.equalized_as is not None:
        groups = ", ".join(plan.equalized_as[0]) or "none"
        attributes = "; ".join(f"{k}={','.join(v)}" for k, v in plan.equalized_as[1]) or "none"
        lines.append(
            f"equalized:  evaluated as project {plan.project}'s entitlement, not the user's own: "
            f"groups {groups}; attributes {attributes}"
        )
    if plan.denied_reason:
        lines.append(f"denied:     {plan.denied_reason}")
    if plan.purposes_required:
        lines.append(f"purposes:   one of {', '.join(plan.purposes_required)} required")
    body = "\n".join(lines) + "\n"
    if not plan.visible:
        return body
    rows = []
    for c in plan.columns:
        why = "; ".join(f"{o.policy}: {o.reason}" for o in c.overridden)
        mask = (c.mask or "-") + (" (conditional)" if c.conditional else "")
        rows.append([c.name, c.type or "unknown", mask, c.policy or "-", why or "-"])
    body += "\n" + text_table(["column", "type", "mask", "policy", "overridden"], rows)
    filters = ", ".join(f"{r.policy} ({r.kind})" for r in plan.row_policies) or "none"
    body += f"\nrow filters: {filters}\n"
    if plan.differential_privacy:
        dp = plan.differential_privacy
        budget = "" if dp.budget is None else f"; budget {dp.budget.epsilon} per user in any {dp.budget.text}"
        body += f"differential privacy: {dp.policy} (epsilon {dp.epsilon}{budget}); "
        body += "only aggregate queries are answered\n"
    return body


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
