"""``who`` conditions: ``everyone`` or a mapping of groups, users, attributes, purposes, all, any."""

from __future__ import annotations

from typing import Any

from immuta_spark.conditions import AllOf, AnyOf, Condition, Everyone, HasAttribute, InGroups, IsUser, UnderPurpose
from immuta_spark.policyfile.common import (
    MAX_CONDITION_DEPTH,
    At,
    Context,
    describe,
    expect_list,
    expect_mapping,
    expect_nonempty,
    expect_string,
    expect_strings,
)

__all__ = ["parse_condition"]

_CONDITION_KEYS = ("groups", "attributes", "purposes", "users", "all", "any")


def parse_condition(value: Any, at: At, ctx: Context, depth: int = 1) -> Condition:
    """A ``who`` condition; several keys in one mapping must all hold; ``all``/``any`` nest at most 16 deep."""
    if depth > MAX_CONDITION_DEPTH:
        at.fail(f"conditions nest 'all'/'any' more than {MAX_CONDITION_DEPTH} deep; flatten them")
    if value == "everyone":
        return Everyone()
    m = expect_mapping(value, at, allowed=_CONDITION_KEYS)
    if not m:
        at.fail("an empty condition; write 'everyone' or use keys: " + ", ".join(_CONDITION_KEYS))
    parts: list[Condition] = []
    for key, val in m.items():
        k_at = at.key(key)
        if key == "groups":
            parts.append(InGroups(frozenset(expect_nonempty(expect_strings(val, k_at, what="a group name"), k_at))))
        elif key == "users":
            parts.append(IsUser(frozenset(expect_nonempty(expect_strings(val, k_at, what="a user name"), k_at))))
        elif key == "purposes":
            parts.append(UnderPurpose(frozenset(expect_nonempty(ctx.purpose_list(val, k_at), k_at))))
        elif key == "attributes":
            if not isinstance(val, dict):
                k_at.fail(f"expected a mapping of attribute name to values, got {describe(val)}")
            attrs = val
            if not attrs:
                k_at.fail("list at least one attribute")
            for name, vals in attrs.items():
                a = expect_string(name, k_at, what="an attribute name")
                values = expect_nonempty(expect_strings(vals, k_at.key(a), what="an attribute value"), k_at.key(a))
                parts.append(HasAttribute(a, frozenset(values)))
        else:
            subs = expect_list(val, k_at)
            if not subs:
                k_at.fail("list at least one condition")
            built = tuple(parse_condition(s, k_at.index(i), ctx, depth + 1) for i, s in enumerate(subs))
            parts.append(AllOf(built) if key == "all" else AnyOf(built))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))
