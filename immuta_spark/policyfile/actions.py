"""What a policy or one of its rules does: a mask, a row filter, a purpose limit, DP or a subscription."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from immuta_spark.model import (
    DEFAULT_DELTA,
    Action,
    ConstantMask,
    DifferentialPrivacy,
    FormatPreservingMask,
    HashMask,
    KAnonymizeMask,
    Mask,
    MatchAttribute,
    MatchGroups,
    Minimize,
    NullMask,
    PolicyType,
    PrivacyBudget,
    PurposeLimit,
    RegexMask,
    ReversibleMask,
    RoundMask,
    Source,
    SubscriptionKind,
    TimeWindow,
    WhereFilter,
)
from immuta_spark.policyfile.common import (
    IDENT,
    MAX_REGEX_CHARS,
    At,
    Context,
    describe,
    expect_int,
    expect_list,
    expect_mapping,
    expect_nonempty,
    expect_number,
    expect_string,
    expect_text,
    known_column,
)
from immuta_spark.policyfile.subscriptions import parse_subscription_kind

__all__ = ["ACTION_KEYS", "ROUND_UNITS", "parse_action"]

_WINDOW = re.compile(r"^([1-9][0-9]*)([mhd])$")
_WINDOW_SECONDS = {"m": 60, "h": 3600, "d": 86400}
ROUND_UNITS = ("hour", "day", "month", "year")
#: The options of a differential-privacy action: they go with its ``epsilon``, never alone.
_DP_OPTIONS = ("bounds", "delta", "public_keys", "budget")
#: Delta must stay below this: above it the epsilon guarantee fails too often to mean anything.
_MAX_DELTA = 0.001
# YAML 1.1 reads 1e-6 as text (its floats need a dot: 1.0e-6); DP numbers are written that way.
_EXPONENT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
# --- policies ---------------------------------------------------------------------------

ACTION_KEYS: dict[PolicyType, tuple[str, ...]] = {
    PolicyType.MASKING: ("mask",),
    PolicyType.ROW: ("match", "where", "time_window", "minimize"),
    PolicyType.PURPOSE: ("purposes",),
    PolicyType.DIFFERENTIAL_PRIVACY: ("epsilon", *_DP_OPTIONS),
    PolicyType.SUBSCRIPTION: tuple(k.value for k in SubscriptionKind),
}


def parse_action(
    m: Mapping[str, Any],
    at: At,
    ctx: Context,
    ptype: PolicyType,
    source: Source | None,
    columns: tuple[str, ...] | None,
    *,
    required: bool = False,
) -> Action | None:
    """The action a policy (or one rule) takes; None in a rule means 'exempt'."""
    options = _DP_OPTIONS if ptype is PolicyType.DIFFERENTIAL_PRIVACY else ()
    candidates = [k for k in ACTION_KEYS[ptype] if k not in options]
    keys = [k for k in candidates if k in m]
    if not keys:
        if required:
            at.fail(f"a {ptype.value} policy needs one of: {', '.join(candidates)}")
        stray = [k for k in options if k in m]
        if stray:
            # Without epsilon the rule exempts its users: an option written alone never means that.
            at.key(stray[0]).fail(
                f"'{stray[0]}' goes with 'epsilon'; add epsilon: E beside it, or leave both out to exempt these users"
            )
        return None
    if len(keys) > 1:
        at.fail(f"give only one of: {', '.join(keys)}")
    key = keys[0]
    k_at = at.key(key)
    val = m[key]
    if ptype is PolicyType.MASKING:
        return _mask(val, k_at, ctx)
    if ptype is PolicyType.ROW:
        return _row(key, val, k_at, ctx, source, columns)
    if ptype is PolicyType.PURPOSE:
        return PurposeLimit(expect_nonempty(ctx.purpose_list(val, k_at), k_at))
    if ptype is PolicyType.DIFFERENTIAL_PRIVACY:
        return _differential_privacy(m, at, columns)
    return parse_subscription_kind(key, val, k_at, ctx)


def _differential_privacy(m: Mapping[str, Any], at: At, columns: tuple[str, ...] | None) -> DifferentialPrivacy:
    """The ``epsilon`` of a differential-privacy policy (or rule) and its options."""
    eps = _dp_number(m["epsilon"], at.key("epsilon"))
    if eps <= 0:
        at.key("epsilon").fail(f"epsilon must be positive, got {eps}")
    bounds: dict[str, tuple[float, float]] = {}
    b_at = at.key("bounds")
    raw = m.get("bounds", {})
    if not isinstance(raw, dict):
        b_at.fail(f"expected a mapping of column to [low, high], got {describe(raw)}")
    for col, pair in raw.items():
        c = _dp_column(col, b_at, columns)
        p = expect_list(pair, b_at.key(c))
        if len(p) != 2:
            b_at.key(c).fail("expected [low, high]")
        lo, hi = expect_number(p[0], b_at.key(c).index(0)), expect_number(p[1], b_at.key(c).index(1))
        if lo >= hi:
            b_at.key(c).fail(f"low ({lo}) must be below high ({hi})")
        bounds[c] = (float(lo), float(hi))
    delta = DEFAULT_DELTA
    if "delta" in m:
        delta = float(_dp_number(m["delta"], at.key("delta")))
        if not 0 < delta < _MAX_DELTA:
            at.key("delta").fail(
                f"delta must be above 0 and below {_MAX_DELTA} (it is the chance, per answer, that the epsilon "
                f"guarantee fails), got {delta}; write a small value such as 1.0e-6, or leave delta out (1.0e-6)"
            )
    budget = _budget(m["budget"], at.key("budget"), float(eps)) if "budget" in m else None
    keys = _public_keys(m.get("public_keys", {}), at.key("public_keys"), columns)
    return DifferentialPrivacy(float(eps), bounds, delta=delta, public_keys=keys, budget=budget)


def _dp_number(value: Any, at: At) -> float | int:
    """A number, also when written as YAML 1.1 reads as text (``1e-6``)."""
    if isinstance(value, str) and _EXPONENT.match(value):
        value = float(value)
    return expect_number(value, at)


def _dp_column(value: Any, at: At, columns: tuple[str, ...] | None) -> str:
    """A column named by a DP option: an identifier, in the data dictionary when there is one."""
    name = expect_string(value, at, pattern=IDENT, what="a column name")
    known_column(name, columns, at.key(name))
    return name


def _budget(value: Any, at: At, epsilon: float) -> PrivacyBudget:
    """``budget: {epsilon: E, period: 1d}``: at least one query's epsilon per rolling period."""
    b = expect_mapping(value, at, allowed=("epsilon", "period"), required=("epsilon", "period"))
    total = float(_dp_number(b["epsilon"], at.key("epsilon")))
    if total <= 0:
        at.key("epsilon").fail(f"a budget's epsilon must be positive, got {total}")
    if total < epsilon:
        at.key("epsilon").fail(
            f"the budget ({total}) is below the policy's epsilon per query ({epsilon}), so no query could ever be "
            f"answered; raise the budget to at least {epsilon}, or lower the policy's epsilon"
        )
    text = expect_string(b["period"], at.key("period"), what="a period such as 30d, 12h or 90m")
    return PrivacyBudget(total, _window(text, at.key("period"), "a period"), text)


def _public_keys(value: Any, at: At, columns: tuple[str, ...] | None) -> dict[str, tuple[str | int, ...]]:
    """``public_keys: {column: [values...]}``: the values GROUP BY on each column releases."""
    if not isinstance(value, dict):
        at.fail(f"expected a mapping of column to [values...], got {describe(value)}")
    out: dict[str, tuple[str | int, ...]] = {}
    for col, listed in value.items():
        c = _dp_column(col, at, columns)
        c_at = at.key(c)
        items = expect_list(listed, c_at)
        if not items:
            c_at.fail(f"list at least one value: GROUP BY on {c} releases exactly the values listed here")
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, str | int):
                c_at.index(i).fail(
                    f"expected text or a whole number, got {describe(item)}; quote it to keep it as text "
                    "(YAML reads yes, 1.5 and 2024-01-31 unquoted as other types)"
                )
            # Spark compares a group's key after casting, so 1 and '1' would release one group twice.
            first = seen.setdefault(str(item), i)
            if first != i:
                c_at.index(i).fail(f"duplicate value {item!r} (already at [{first}]); list each value once")
        out[c] = tuple(items)
    return out


def _window(text: str, at: At, what: str) -> int:
    """The seconds of a window written ``30d``, ``12h`` or ``90m``."""
    match = _WINDOW.match(text)
    if not match:
        at.fail(f"expected {what} such as 30d, 12h or 90m (units m, h, d), got {text!r}")
    return int(match.group(1)) * _WINDOW_SECONDS[match.group(2)]


def _mask(value: Any, at: At, ctx: Context) -> Mask | None:
    if value is None or value == "null":
        return NullMask()
    if value == "none":
        return None
    simple = {"hash": HashMask, "reversible": ReversibleMask, "format_preserving": FormatPreservingMask}
    if isinstance(value, str):
        if value in simple:
            return simple[value]()
        at.fail(
            f"unknown mask {value!r}; expected hash, null, reversible, format_preserving, "
            "or a mapping: constant, regex, round, k_anonymize"
        )
    m = expect_mapping(value, at, allowed=("constant", "regex", "round", "k_anonymize"))
    if len(m) != 1:
        at.fail("give exactly one mask kind")
    ((key, val),) = m.items()
    k_at = at.key(key)
    if key == "constant":
        if isinstance(val, date):  # an unquoted YAML date or timestamp: keep it as ISO text
            val = val.isoformat(sep=" ") if isinstance(val, datetime) else val.isoformat()
        if not isinstance(val, str | int | float | bool) or (isinstance(val, float) and not math.isfinite(val)):
            k_at.fail(f"expected a single value (text or number), got {describe(val)}")
        return ConstantMask(val)
    if key == "regex":
        r = expect_mapping(val, k_at, allowed=("pattern", "replacement"), required=("pattern", "replacement"))
        pattern = expect_text(r["pattern"], k_at.key("pattern"))
        if not pattern:
            k_at.key("pattern").fail("invalid regular expression: empty pattern")
        groups = ctx.regex(pattern, k_at.key("pattern"))
        replacement = r["replacement"]
        if isinstance(replacement, int | float) and not isinstance(replacement, bool):
            replacement = str(replacement)
        replacement = expect_text(replacement, k_at.key("replacement"))
        if len(replacement) > MAX_REGEX_CHARS:
            k_at.key("replacement").fail(f"the replacement may have at most {MAX_REGEX_CHARS:,} characters")
        problem = _replacement_problem(replacement, groups)
        if problem:
            k_at.key("replacement").fail(f"invalid replacement: {problem}")
        return RegexMask(pattern, replacement)
    if key == "round":
        if isinstance(val, str):
            if val not in ROUND_UNITS:
                k_at.fail(f"expected a positive number or one of {', '.join(ROUND_UNITS)}, got {val!r}")
            return RoundMask(unit=val)
        n = expect_number(val, k_at)
        if n <= 0:
            k_at.fail(f"must be positive, got {n}")
        return RoundMask(multiple=n)
    if val == "fingerprint":
        return KAnonymizeMask(None)
    return KAnonymizeMask(expect_int(val, k_at, minimum=2))


def _replacement_problem(text: str, groups: int) -> str | None:
    """Why Java's ``Matcher.appendReplacement`` (what Spark's ``regexp_replace`` uses) would
    reject ``text``, or None: ``$n`` must name an existing group, ``\\`` must escape something.

    >>> _replacement_problem("XXX", 0), _replacement_problem("US$", 0), _replacement_problem("$1", 1)
    (None, "'$' must be followed by a group number (write '\\\\$' for a literal '$')", None)
    """
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                return "a trailing '\\' escapes nothing (write '\\\\' for a literal backslash)"
            i += 2
            continue
        if ch == "$":
            if i + 1 >= len(text) or not (text[i + 1].isdigit() or text[i + 1] == "{"):
                return "'$' must be followed by a group number (write '\\$' for a literal '$')"
            if text[i + 1] == "{":
                return "named group references ('${name}') are not supported; use '$1', '$2', ..."
            if int(text[i + 1]) > groups:
                return f"'${text[i + 1]}' refers to a group the pattern does not have ({groups} group(s))"
        i += 1
    return None


def _row(
    key: str,
    val: Any,
    at: At,
    ctx: Context,
    source: Source | None,
    columns: tuple[str, ...] | None,
) -> Any:
    if key == "match":
        mm = expect_mapping(val, at, allowed=("attribute", "groups", "column", "xattr", "folder"))
        origins = [k for k in ("column", "xattr", "folder") if k in mm]
        if len(origins) != 1:
            at.fail("give exactly one of 'column: NAME', 'xattr: NAME' (a file's user.NAME) and 'folder: KEY'")
        origin = origins[0]
        col = expect_string(mm[origin], at.key(origin), pattern=IDENT, what=f"a {origin} name")
        if origin == "column":
            known_column(col, columns, at.key("column"))
        elif source is not None and source.object is None:
            at.key(origin).fail(f"matching a file's {origin} needs an object-backed source (an 'object' block)")
        if ("attribute" in mm) == ("groups" in mm):
            at.fail("give exactly one of 'attribute: NAME' and 'groups: true'")
        if "groups" in mm:
            if mm["groups"] is not True:
                at.key("groups").fail("write 'groups: true' to match the user's group names")
            if origin != "column":
                at.key(origin).fail("group names match a column; match a file's xattr or folder with 'attribute: NAME'")
            return MatchGroups(col)
        name = expect_string(mm["attribute"], at.key("attribute"), what="an attribute name")
        return MatchAttribute(name, col, origin)
    if key == "where":
        return WhereFilter(ctx.sql(val, at, columns))
    if key == "time_window":
        text = expect_string(val, at, what="a window such as 30d, 12h or 90m")
        seconds = _window(text, at, "a window")
        if source is not None and source.event_time is None and (source.object is None or not source.object.event_time):
            at.fail("a time window needs the source's 'event_time' column (or, object-backed, 'object.event_time')")
        return TimeWindow(seconds, text)
    pct = expect_number(val, at)
    if not 0 < pct <= 100:
        at.fail(f"a percentage above 0 and at most 100, got {pct}")
    if source is not None and source.high_cardinality_column is None:
        at.fail("minimization needs the source's 'high_cardinality_column'")
    return Minimize(float(pct))
