"""The ``policies`` section (and each source's local policies): normal form, scope and columns."""

from __future__ import annotations

from typing import Any

from immuta_spark.conditions import Everyone
from immuta_spark.model import ColumnTarget, OwnerRef, Policy, PolicyType, Rule, Source, SourceScope
from immuta_spark.policyfile.actions import ACTION_KEYS, parse_action
from immuta_spark.policyfile.common import (
    DOTTED,
    IDENT,
    At,
    Context,
    describe,
    expect_int,
    expect_list,
    expect_mapping,
    expect_nonempty,
    expect_string,
    expect_strings,
    expect_text,
    known_column,
)
from immuta_spark.policyfile.conditions import parse_condition
from immuta_spark.policyfile.people import parse_owners

__all__ = ["parse_policy"]

_POLICY_COMMON = ("name", "type", "for", "except", "rules", "priority", "description")


def parse_policy(value: Any, at: At, ctx: Context, source: Source | None) -> Policy:
    """A global policy (``source`` None) or one of ``source``'s local policies."""
    if not isinstance(value, dict):
        at.fail(f"expected a mapping, got {describe(value)}")
    t_at = at.key("type")
    if "type" not in value:
        at.fail("missing required key 'type'")
    try:
        ptype = PolicyType(value["type"])
    except (ValueError, TypeError):
        t_at.fail(f"unknown policy type {value['type']!r}; expected one of: {', '.join(t.value for t in PolicyType)}")
    allowed = list(_POLICY_COMMON) + list(ACTION_KEYS[ptype])
    if ptype is PolicyType.MASKING:
        allowed += ["columns", "where"]
    if source is None:
        allowed += ["sources", "owners"]
    elif ptype is PolicyType.SUBSCRIPTION:
        at.key("type").fail("a source's own subscription policy goes under its 'subscription' key")
    m = expect_mapping(value, at, allowed=allowed, required=("name",))
    name = expect_string(m["name"], at.key("name"), what="a policy name")
    columns_known = tuple(c.name for c in source.dictionary) or None if source else None

    # The normal form: the first rule whose condition holds decides.
    forms = [k for k in ("for", "except", "rules") if k in m]
    if len(forms) > 1:
        at.fail(f"give only one of 'for', 'except' and 'rules' (found {', '.join(forms)})")
    form = forms[0] if forms else "for"
    rules: list[Rule]
    if form == "rules":
        rules = _rules(m["rules"], at.key("rules"), ctx, ptype, source, columns_known)
        form_name = "rules"
    else:
        action = parse_action(m, at, ctx, ptype, source, columns_known, required=True)
        if form == "except":
            rules = [Rule(who=parse_condition(m["except"], at.key("except"), ctx), action=None)]
            rules.append(Rule(who=Everyone(), action=action))
            form_name = "except"
        else:
            if "for" in m and m["for"] != "everyone":
                at.key("for").fail("'for' takes only 'everyone'; use 'except' or 'rules' to single out users")
            rules = [Rule(who=Everyone(), action=action)]
            form_name = "everyone"
    if form_name == "rules":
        # Action keys belong inside the rules when rules are used.
        stray = [k for k in ACTION_KEYS[ptype] if k in m]
        if stray:
            at.key(stray[0]).fail("with 'rules', put this inside each rule and the 'otherwise'")

    scope = SourceScope()
    if "sources" in m:
        scope = _source_scope(m["sources"], at.key("sources"), ctx)
    owners: tuple[OwnerRef, ...] = ()
    if "owners" in m:
        owners = parse_owners(m["owners"], at.key("owners"), ctx)
        if not owners:
            at.key("owners").fail("a restricted global policy names at least one owner")
    columns = None
    if ptype is PolicyType.MASKING:
        if "columns" not in m:
            at.fail("a masking policy needs 'columns' ({tagged: T} or {names: [...]})")
        columns = _column_target(m["columns"], at.key("columns"), columns_known)
    where = None
    if ptype is PolicyType.MASKING and "where" in m:
        where = ctx.sql(m["where"], at.key("where"), columns_known)
    priority = expect_int(m["priority"], at.key("priority")) if "priority" in m else 0
    description = expect_text(m["description"], at.key("description")) if "description" in m else ""
    return Policy(
        name=name,
        type=ptype,
        rules=tuple(rules),
        form=form_name,
        scope=scope,
        owners=owners,
        columns=columns,
        where=where,
        priority=priority,
        source=source.name if source else None,
        description=description,
    )


def _rules(
    value: Any,
    at: At,
    ctx: Context,
    ptype: PolicyType,
    source: Source | None,
    columns: tuple[str, ...] | None,
) -> list[Rule]:
    items = expect_list(value, at)
    if len(items) < 2:
        at.fail("'rules' needs at least one {who: ...} rule and a final {otherwise: ...}")
    rules = []
    keys = ACTION_KEYS[ptype]
    for i, item in enumerate(items):
        r_at = at.index(i)
        last = i == len(items) - 1
        if not isinstance(item, dict):
            r_at.fail(f"expected a mapping, got {describe(item)}")
        if "otherwise" in item:
            if not last:
                r_at.fail("'otherwise' must be the last rule")
            o = expect_mapping(item, r_at, allowed=("otherwise",))
            o_at = r_at.key("otherwise")
            body = expect_mapping(o["otherwise"] if o["otherwise"] is not None else {}, o_at, allowed=keys)
            rules.append(Rule(who=Everyone(), action=parse_action(body, o_at, ctx, ptype, source, columns)))
        else:
            if last:
                r_at.fail("the last rule must be a blanket {otherwise: ...}")
            w = expect_mapping(item, r_at, allowed=("who", *keys), required=("who",))
            who = parse_condition(w["who"], r_at.key("who"), ctx)
            rules.append(Rule(who=who, action=parse_action(w, r_at, ctx, ptype, source, columns)))
    return rules


def _source_scope(value: Any, at: At, ctx: Context) -> SourceScope:
    m = expect_mapping(value, at, allowed=("tagged", "names"))
    if len(m) != 1:
        at.fail("give exactly one of 'tagged: TAG' and 'names: [...]'")
    if "tagged" in m:
        return SourceScope(tagged=expect_string(m["tagged"], at.key("tagged"), pattern=DOTTED, what="a dotted tag"))
    names = expect_nonempty(expect_strings(m["names"], at.key("names"), what="a data source name"), at.key("names"))
    for i, n in enumerate(names):
        if n not in ctx.sources:
            at.key("names").index(i).fail(f"unknown data source {n!r}")
    return SourceScope(names=frozenset(names))


def _column_target(value: Any, at: At, known: tuple[str, ...] | None) -> ColumnTarget:
    m = expect_mapping(value, at, allowed=("tagged", "names"))
    if len(m) != 1:
        at.fail("give exactly one of 'tagged: TAG' and 'names: [...]'")
    if "tagged" in m:
        return ColumnTarget(tagged=expect_string(m["tagged"], at.key("tagged"), pattern=DOTTED, what="a dotted tag"))
    names = expect_nonempty(
        expect_strings(m["names"], at.key("names"), pattern=IDENT, what="a column name"), at.key("names")
    )
    for i, n in enumerate(names):
        known_column(n, known, at.key("names").index(i))
    return ColumnTarget(names=names)
