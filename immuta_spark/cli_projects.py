"""``immuta-spark project ...``: projects as living entities, membership, acknowledgements, the project you act under.

``create | show | list | delete | add-source | remove-source | set-purposes | set-description |
set-subscription | members | add-member | remove-member | join | approve | deny | revoke |
set | validate | equalize | entitlement | compliance | acknowledge | switch | current``, each with text or
JSON output (``--format json``).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog, ProjectRecord
from immuta_spark.catalog.projects import KEEP
from immuta_spark.cli_common import print_json
from immuta_spark.errors import ProjectError
from immuta_spark.policyfile import dump_entitlement
from immuta_spark.policyfile.strict import load_yaml

__all__ = ["add_project_commands", "run_project"]


def add_project_commands(sub: Any) -> None:
    """Add the ``project`` command and its actions to the CLI's subparsers."""
    p = sub.add_parser("project", help="projects: create, show, members, acknowledge, switch, ...")
    psub = p.add_subparsers(dest="action", required=True)
    formatted = []

    def action(name: str, help_text: str, *, project: bool = True) -> argparse.ArgumentParser:
        q = psub.add_parser(name, help=help_text)
        if project:
            q.add_argument("name", metavar="NAME", help="the project")
        formatted.append(q)
        return q

    cr = action("create", "create a project you own (needs CREATE_PROJECT)")
    cr.add_argument("--purpose", action="append", default=[], help="a purpose (repeat for several)")
    cr.add_argument("--source", action="append", default=[], help="a data source (repeat for several)")
    cr.add_argument("--description", default="")
    cr.add_argument(
        "--subscription",
        metavar="YAML",
        help="who may join, as in a policy file: '{anyone: {}}', '{approval: {approvers: [owner]}}' (default: "
        "individuals you add)",
    )
    cr.add_argument(
        "--statement",
        action="append",
        default=[],
        metavar="PURPOSE=TEXT",
        help="the acknowledgement statement of a custom purpose (when governors allow custom purposes)",
    )
    action("show", "one project (sources and members if you are in it or govern)")
    action("list", "every project", project=False)
    dp = action("delete-purpose", "delete a custom purpose no project uses (governors)", project=False)
    dp.add_argument("purpose", metavar="PURPOSE")
    action("delete", "delete a project created at run time (owners, governors)")
    for verb, what in (("add-source", "add a data source"), ("remove-source", "remove a data source")):
        action(verb, f"{what} (owners, governors; runtime projects)").add_argument("source", metavar="SOURCE")
    sp = action("set-purposes", "change the purposes (only the creator, if governors allow it)")
    sp.add_argument("purposes", nargs="*", metavar="PURPOSE")
    sp.add_argument("--statement", action="append", default=[], metavar="PURPOSE=TEXT")
    action("set-description", "change the description (owners, governors)").add_argument("description")
    action("members", "the project's owners and members, with their acknowledgement status")
    am = action("add-member", "add a member (owners, governors); they acknowledge before acting under it")
    am.add_argument("user", metavar="USER")
    am.add_argument("--owner", action="store_true", help="add as an owner")
    action("remove-member", "remove a member added at run time (owners, governors)").add_argument("user")
    action("join", "ask to join, as the project's subscription policy says").add_argument("--reason", default="")
    action("approve", "give one approval to a request to join").add_argument("user", metavar="USER")
    dn = action("deny", "deny a request to join")
    dn.add_argument("user", metavar="USER")
    dn.add_argument("--reason", default="")
    action("revoke", "take a membership away (owners, governors)").add_argument("user", metavar="USER")
    st = action("set", "change masked joins or the validation frequency (owners, governors; runtime projects)")
    st.add_argument("--masked-joins", choices=("on", "off"))
    freq = st.add_mutually_exclusive_group()
    freq.add_argument("--validation-frequency", type=int, metavar="SECONDS", help="re-validate members this often")
    freq.add_argument("--no-validation", action="store_true", help="no periodic validation")
    va = action("validate", "re-validate the members of due projects (of NAME only, if given) now", project=False)
    va.add_argument("name", nargs="?", metavar="NAME")
    va.add_argument("--force", action="store_true", help="whether due or not")
    eq = action("equalize", "equalize the project (owners, governors): stores the recommended entitlement")
    eq.add_argument("--off", action="store_true", help="turn equalization off")
    en = action("entitlement", "show the entitlement and the recommendation; with --group/--attribute, set it")
    en.add_argument("--group", action="append", default=[], help="a group (repeat for several)")
    en.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE", help="(repeat for several)")
    action("compliance", "the members out of compliance with the equalized entitlement")
    ss = action("set-subscription", "change who may join (owners, governors; locked while equalized)")
    ss.add_argument("subscription", metavar="YAML", nargs="?", help="as in a policy file; omit for individuals")
    ack = action("acknowledge", "show the purpose statements; accept or reject them with --accept / --reject")
    decide = ack.add_mutually_exclusive_group()
    decide.add_argument("--accept", action="store_true", help="accept every statement: become a member")
    decide.add_argument("--reject", action="store_true", help="reject: you may not act under the project")
    ack.add_argument("--user", help="for another user (needs IMPERSONATE)")
    sw = action("switch", "act under a project from your next statement on, in every session", project=False)
    target = sw.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", metavar="NAME", help="the project to act under")
    target.add_argument("--none", action="store_true", help="act under no project")
    cur = action("current", "the project you act under", project=False)
    for q in (sw, cur):
        q.add_argument("--user", help="for another user (needs IMPERSONATE)")
    for q in formatted:
        q.add_argument("--format", choices=("text", "json"), default="text")


def run_project(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run one ``project`` action."""
    act = args.action
    if act in ("switch", "current"):
        return _context(args, cat, out)
    if act == "list":
        records = cat.projects()
        if args.format == "json":
            return print_json(out, [r.to_json() for r in records])
        for r in records:
            purposes = ", ".join(p for p, _ in r.purposes) or "no purpose"
            print(f"{r.name}\towner {r.owner}\t{purposes}\t{r.origin}", file=out)
        if not records:
            print("no projects", file=out)
        return 0
    if act == "acknowledge":
        return _acknowledge(args, cat, out)
    if act == "validate":
        changes = cat.validate_projects(project=args.name, force=args.force)
        if args.format == "json":
            return print_json(out, changes)
        for c in changes:
            print(f"{c['project']}\t{c['user']}\t{c['before']} -> {c['after']}", file=out)
        if not changes:
            print("no change in any validated project", file=out)
        return 0
    if act == "compliance":
        found = cat.project_compliance(args.name)
        if args.format == "json":
            return print_json(out, [{"user": u, "missing": m} for u, m in found])
        for user, missing in found:
            print(f"{user}\tout of compliance: lacks {', '.join(missing)}", file=out)
        if not found:
            print(f"every member of {args.name!r} complies", file=out)
        return 0
    if act == "entitlement" and not (args.group or args.attribute):
        record, recommended = cat.project(args.name), dump_entitlement(cat.recommended_entitlement(args.name))
        data = {"project": args.name, "entitlement": record.entitlement, "recommended": recommended}
        text = f"entitlement: {record.entitlement}\nrecommended: {recommended}"
        return _done(args, out, data, text)
    if act == "delete-purpose":
        cat.delete_purpose(args.purpose)
        return _done(args, out, {"purpose": args.purpose, "deleted": True}, f"deleted purpose {args.purpose!r}")
    if act == "delete":
        cat.delete_project(args.name)
        return _done(args, out, {"project": args.name, "deleted": True}, f"deleted project {args.name!r}")
    record = _change(args, cat)
    if act == "members":
        members = record.members or ()
        if args.format == "json":
            return print_json(out, [m.to_json() for m in members])
        for m in members:
            print(f"{m.user}\t{m.role}\t{m.origin}\tacknowledgement {m.acknowledgement}", file=out)
        return 0
    if args.format == "json":
        return print_json(out, record.to_json())
    print(record.text(), file=out)
    if act == "create" and record.purposes:
        print(f"next: read and accept its purposes: immuta-spark project acknowledge {args.name!r}", file=out)
    return 0


def _change(args: argparse.Namespace, cat: GovernanceCatalog) -> ProjectRecord:
    """Carry out a change (or a read) that answers with the project's record."""
    act, name = args.action, args.name
    if act == "create":
        return cat.create_project(
            name,
            purposes=args.purpose,
            sources=args.source,
            description=args.description,
            statements=_statements(args.statement),
            subscription=_subscription(args.subscription),
        )
    if act == "join":
        return cat.join_project(name, reason=args.reason)
    if act == "approve":
        return cat.approve_project_member(name, args.user)
    if act == "deny":
        return cat.deny_project_member(name, args.user, reason=args.reason)
    if act == "revoke":
        return cat.revoke_project_member(name, args.user)
    if act == "set":
        frequency: Any = KEEP
        if args.no_validation:
            frequency = None
        elif args.validation_frequency is not None:
            if args.validation_frequency < 1:
                raise ProjectError("--validation-frequency takes a whole number of seconds >= 1")
            frequency = args.validation_frequency
        joins = None if args.masked_joins is None else args.masked_joins == "on"
        return cat.set_project_settings(name, masked_joins=joins, validation_frequency=frequency)
    if act == "equalize":
        return cat.equalize_project(name, enabled=not args.off)
    if act == "entitlement":
        attributes: dict[str, list[str]] = {}
        for pair in args.attribute:
            key, sep, value = pair.partition("=")
            if not sep or not key or not value:
                raise ProjectError(f"--attribute takes NAME=VALUE, not {pair!r}")
            attributes.setdefault(key, []).append(value)
        return cat.set_project_entitlement(name, groups=args.group, attributes=attributes)
    if act == "set-subscription":
        return cat.set_project_subscription(name, _subscription(args.subscription))
    if act == "add-source":
        return cat.add_project_source(name, args.source)
    if act == "remove-source":
        return cat.remove_project_source(name, args.source)
    if act == "set-purposes":
        return cat.set_project_purposes(name, args.purposes, statements=_statements(args.statement))
    if act == "set-description":
        return cat.set_project_description(name, args.description)
    if act == "add-member":
        return cat.add_project_member(name, args.user, role="owner" if args.owner else "member")
    if act == "remove-member":
        return cat.remove_project_member(name, args.user)
    return cat.project(name)  # show, members


def _acknowledge(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    if not (args.accept or args.reject):
        statements = cat.project_statements(args.name)
        if args.format == "json":
            return print_json(out, [{"purpose": p, "statement": s} for p, s in statements])
        if not statements:
            print(f"project {args.name!r} has no purposes: there is nothing to acknowledge", file=out)
        for purpose, text in statements:
            print(f"[{purpose}] {text}", file=out)
        if statements:
            print(f"accept: immuta-spark project acknowledge {args.name!r} --accept  (or --reject)", file=out)
        return 0
    decided = cat.acknowledge_project(args.name, accept=args.accept, user=args.user)
    decision = "accepted" if args.accept else "rejected"
    statements = [{"purpose": p, "statement": s} for p, s in decided]
    data = {"project": args.name, "decision": decision, "statements": statements}
    who = args.user or cat.actor
    text = f"{who} {decision} the purpose statements of project {args.name!r} ({len(decided)})"
    return _done(args, out, data, text)


def _context(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    user = args.user or cat.actor
    if args.action == "switch":
        cat.switch_project(None if args.none else args.name, user=args.user)
    project = cat.current_project(user)
    if args.format == "json":
        return print_json(out, {"user": user, "project": project})
    if project is None:
        print(f"{user} acts under no project", file=out)
    else:
        print(f"{user} acts under project {project!r}", file=out)
    return 0


def _subscription(text: str | None) -> dict[str, Any] | None:
    """A subscription policy given on the command line, read as strict YAML (validated by the catalog)."""
    if text is None:
        return None
    value = load_yaml(text, file="--subscription")
    if not isinstance(value, dict):
        raise ProjectError(f"--subscription takes a mapping such as '{{anyone: {{}}}}', not {text!r}")
    return value


def _statements(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        purpose, sep, text = pair.partition("=")
        if not sep or not purpose:
            raise ProjectError(f"--statement takes PURPOSE=TEXT (a purpose, '=', its statement), not {pair!r}")
        out[purpose] = text
    return out


def _done(args: argparse.Namespace, out: TextIO, data: Any, text: str) -> int:
    if args.format == "json":
        return print_json(out, data)
    print(text, file=out)
    return 0
