"""Policy as code: the one place that reads (and writes) the YAML format of section 8.

Reading validates everything and raises :class:`PolicyFileError` naming the offending
element's path in the file, e.g. ``policies[3].mask.regex.pattern: invalid regular
expression``. Writing (:func:`dump_document`) produces the canonical form that ``export``
prints; reading it back gives an equal model, so applying an export changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml

from immuta_spark.conditions import (
    AllOf,
    AnyOf,
    Condition,
    Everyone,
    HasAttribute,
    InGroups,
    IsUser,
    UnderPurpose,
)
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import (
    Action,
    Approver,
    ColumnDef,
    ColumnTarget,
    ConstantMask,
    DifferentialPrivacy,
    FormatPreservingMask,
    Governance,
    GovernanceSettings,
    HashMask,
    KAnonymizeMask,
    Mask,
    MatchAttribute,
    MatchGroups,
    Minimize,
    NullMask,
    OwnerRef,
    Permission,
    Policy,
    PolicyType,
    Project,
    Purpose,
    PurposeLimit,
    RegexMask,
    ReversibleMask,
    RoundMask,
    Rule,
    Settings,
    Source,
    SourceScope,
    Subscription,
    SubscriptionKind,
    TimeWindow,
    User,
    WhereFilter,
)

__all__ = [
    "RegexChecker",
    "SqlChecker",
    "dump_document",
    "dump_yaml",
    "load_file",
    "load_text",
    "parse_document",
]

#: Checks one policy SQL predicate; returns an error message, or None when it is acceptable.
SqlChecker = Callable[[str, "tuple[str, ...] | None"], "str | None"]
#: ``(pattern) -> (problem or None, number of groups)``: how the engine that runs regex masks
#: (Spark: Java's java.util.regex) reads a pattern. Without one, Python's ``re`` stands in.
RegexChecker = Callable[[str], "tuple[str | None, int]"]

_NAME = re.compile(r"^[^\x00-\x1f\x7f]+$")
_DOTTED = re.compile(r"^[^.\x00-\x1f\x7f]+(\.[^.\x00-\x1f\x7f]+)*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WINDOW = re.compile(r"^([1-9][0-9]*)([mhd])$")
_WINDOW_SECONDS = {"m": 60, "h": 3600, "d": 86400}
ROUND_UNITS = ("hour", "day", "month", "year")


class _At:
    """A location in the document; builds child paths and raises path-carrying errors."""

    __slots__ = ("file", "path")

    def __init__(self, path: str = "", file: str | None = None) -> None:
        self.path = path
        self.file = file

    def key(self, name: str) -> _At:
        return _At(f"{self.path}.{name}" if self.path else name, self.file)

    def index(self, i: int) -> _At:
        return _At(f"{self.path}[{i}]", self.file)

    def fail(self, message: str) -> NoReturn:
        raise PolicyFileError(self.path or "<document>", message, file=self.file)


# --- scalar helpers ---------------------------------------------------------------------


def _mapping(value: Any, at: _At, *, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        at.fail(f"expected a mapping, got {_describe(value)}")
    allowed_set = set(allowed)
    for key in value:
        if not isinstance(key, str):
            at.fail(f"keys must be strings, got {_describe(key)}")
        if key not in allowed_set:
            at.key(key).fail(f"unknown key; expected one of: {', '.join(sorted(allowed_set))}")
    for key in required:
        if key not in value:
            at.fail(f"missing required key '{key}'")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"[:80]


def _string(value: Any, at: _At, *, pattern: re.Pattern[str] = _NAME, what: str = "a name") -> str:
    if not isinstance(value, str) or not value.strip():
        at.fail(f"expected {what} (a non-empty string), got {_describe(value)}")
    if not pattern.match(value):
        at.fail(f"invalid {what.split(' ', 1)[1]} {value!r}")
    return value


def _text(value: Any, at: _At) -> str:
    if not isinstance(value, str):
        at.fail(f"expected text, got {_describe(value)}")
    return value


def _list(value: Any, at: _At) -> list[Any]:
    if not isinstance(value, list):
        at.fail(f"expected a list, got {_describe(value)}")
    return value


def _strings(value: Any, at: _At, *, pattern: re.Pattern[str] = _NAME, what: str = "a name") -> tuple[str, ...]:
    items = tuple(_string(v, at.index(i), pattern=pattern, what=what) for i, v in enumerate(_list(value, at)))
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item in seen:
            at.index(i).fail(f"duplicate entry {item!r}")
        seen.add(item)
    return items


def _bool(value: Any, at: _At) -> bool:
    if not isinstance(value, bool):
        at.fail(f"expected true or false, got {_describe(value)}")
    return value


def _int(value: Any, at: _At, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        at.fail(f"expected a whole number, got {_describe(value)}")
    if minimum is not None and value < minimum:
        at.fail(f"must be at least {minimum}, got {value}")
    return value


def _number(value: Any, at: _At) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        at.fail(f"expected a number, got {_describe(value)}")
    return value


# --- the document -----------------------------------------------------------------------


class _Context:
    """Names declared so far, for cross-reference checks."""

    def __init__(self, sql_checker: SqlChecker | None, regex_checker: RegexChecker | None = None) -> None:
        self.users: set[str] = set()
        self.purposes: set[str] = set()
        self.sources: dict[str, Source] = {}
        self.sql_checker = sql_checker
        self.regex_checker = regex_checker or _python_regex

    def regex(self, pattern: str, at: _At) -> int:
        """Check a regex mask's pattern; its number of groups."""
        problem, groups = self.regex_checker(pattern)
        if problem:
            at.fail(f"invalid regular expression: {problem}")
        return groups

    def user(self, value: Any, at: _At) -> str:
        name = _string(value, at, what="a user name")
        if name not in self.users:
            at.fail(f"unknown user {name!r}; declare it under 'users'")
        return name

    def users_list(self, value: Any, at: _At) -> tuple[str, ...]:
        names = _strings(value, at, what="a user name")
        for i, name in enumerate(names):
            self.user(name, at.index(i))
        return names

    def purpose_list(self, value: Any, at: _At) -> tuple[str, ...]:
        names = _strings(value, at, pattern=_DOTTED, what="a purpose")
        for i, name in enumerate(names):
            if name not in self.purposes:
                at.index(i).fail(f"unknown purpose {name!r}; declare it under 'purposes'")
        return names

    def sql(self, value: Any, at: _At, columns: tuple[str, ...] | None) -> str:
        text = _string(value, at, what="a SQL predicate")
        if self.sql_checker is not None:
            problem = self.sql_checker(text, columns)
            if problem:
                at.fail(problem)
        return text


_TOP = ("version", "settings", "users", "purposes", "sources", "policies", "projects")


def _python_regex(pattern: str) -> tuple[str | None, int]:
    try:
        return None, re.compile(pattern).groups
    except re.error as exc:
        return str(exc), 0


def load_file(
    path: str | Path, *, sql_checker: SqlChecker | None = None, regex_checker: RegexChecker | None = None
) -> Governance:
    """Read and validate a policy-as-code file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError("<document>", f"cannot read the file: {exc.strerror}", file=file) from exc
    return load_text(text, file=file, sql_checker=sql_checker, regex_checker=regex_checker)


def load_text(
    text: str,
    *,
    file: str | None = None,
    sql_checker: SqlChecker | None = None,
    regex_checker: RegexChecker | None = None,
) -> Governance:
    """Read and validate policy-as-code YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<document>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyFileError(where, f"not valid YAML: {problem}", file=file) from exc
    return parse_document(data, file=file, sql_checker=sql_checker, regex_checker=regex_checker)


def parse_document(
    data: Any,
    *,
    file: str | None = None,
    sql_checker: SqlChecker | None = None,
    regex_checker: RegexChecker | None = None,
) -> Governance:
    """Validate a loaded YAML document and build the model.

    ``sql_checker`` checks policy SQL and ``regex_checker`` regex mask patterns the way the
    engine that runs them will (Spark's parser, Java's regex); without them, SQL is checked at
    query time and patterns with Python's ``re``.
    """
    root = _At("", file)
    doc = _mapping(data, root, allowed=_TOP, required=("version",))
    if doc["version"] != 1 or isinstance(doc["version"], bool):
        root.key("version").fail(f"unsupported version {doc['version']!r}; this release reads version 1")
    ctx = _Context(sql_checker, regex_checker)
    settings = _settings(doc.get("settings", {}), root.key("settings"))
    users = _unique(doc, "users", root, _user)
    ctx.users = {u.name for u in users}
    purposes = _unique(doc, "purposes", root, _purpose)
    ctx.purposes = {p.name for p in purposes}
    sources = _unique(doc, "sources", root, lambda v, at: _source(v, at, ctx))
    ctx.sources = {s.name: s for s in sources}
    _check_unique_tables(sources, root.key("sources"))
    policies = _unique(doc, "policies", root, lambda v, at: _policy(v, at, ctx, None))
    _check_local_names(sources, policies, root.key("sources"))
    projects = _unique(doc, "projects", root, lambda v, at: _project(v, at, ctx))
    return Governance(
        settings=settings,
        users=users,
        purposes=purposes,
        sources=sources,
        policies=policies,
        projects=projects,
    )


def _unique(doc: Mapping[str, Any], key: str, root: _At, parse: Callable[[Any, _At], Any]) -> tuple[Any, ...]:
    at = root.key(key)
    value = doc.get(key)
    if value is None:
        return ()
    items = []
    seen: dict[str, int] = {}
    for i, item in enumerate(_list(value, at)):
        built = parse(item, at.index(i))
        if built.name in seen:
            at.index(i).key("name").fail(f"duplicate name {built.name!r} (also at {key}[{seen[built.name]}])")
        seen[built.name] = i
        items.append(built)
    return tuple(items)


def _check_local_names(sources: tuple[Source, ...], policies: tuple[Policy, ...], at: _At) -> None:
    """A local policy may not take a global policy's name: audit and explain name policies alone."""
    globals_ = {p.name: i for i, p in enumerate(policies)}
    for i, source in enumerate(sources):
        for j, policy in enumerate(source.policies):
            if policy.name in globals_:
                at.index(i).key("policies").index(j).key("name").fail(
                    f"{policy.name!r} is also the name of global policies[{globals_[policy.name]}]; audit records "
                    "and explain name policies by name alone, so rename one of them"
                )


def _check_unique_tables(sources: tuple[Source, ...], at: _At) -> None:
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.table_key in seen:
            at.index(i).key("table").fail(
                f"table {source.table!r} is already governed by sources[{seen[source.table_key]}]"
            )
        seen[source.table_key] = i


def _settings(value: Any, at: _At) -> Settings:
    m = _mapping(
        value,
        at,
        allowed=("k_anonymization_cardinality_cutoff", "workspace_root", "governance"),
    )
    defaults = Settings()
    cutoff = defaults.k_anonymization_cardinality_cutoff
    if "k_anonymization_cardinality_cutoff" in m:
        cutoff = _int(m["k_anonymization_cardinality_cutoff"], at.key("k_anonymization_cardinality_cutoff"), minimum=1)
    root = defaults.workspace_root
    if "workspace_root" in m:
        root = _string(m["workspace_root"], at.key("workspace_root"), what="an absolute HDFS path")
        if not root.startswith("/"):
            at.key("workspace_root").fail("must be an absolute path starting with '/'")
    gov = GovernanceSettings()
    if "governance" in m:
        g_at = at.key("governance")
        fields = GovernanceSettings.__dataclass_fields__
        g = _mapping(m["governance"], g_at, allowed=fields)
        gov = GovernanceSettings(**{k: _bool(v, g_at.key(k)) for k, v in g.items()})
    return Settings(k_anonymization_cardinality_cutoff=cutoff, workspace_root=root, governance=gov)


def _user(value: Any, at: _At) -> User:
    m = _mapping(value, at, allowed=("name", "groups", "attributes", "permissions"), required=("name",))
    name = _string(m["name"], at.key("name"), what="a user name")
    groups = frozenset(_strings(m.get("groups", []), at.key("groups"), what="a group name"))
    attributes: dict[str, frozenset[str]] = {}
    a_at = at.key("attributes")
    attrs = m.get("attributes", {})
    if not isinstance(attrs, dict):
        a_at.fail(f"expected a mapping of attribute name to a list of values, got {_describe(attrs)}")
    for key, vals in attrs.items():
        k = _string(key, a_at, what="an attribute name")
        attributes[k] = frozenset(_strings(vals, a_at.key(k), what="an attribute value"))
    perms = []
    p_at = at.key("permissions")
    for i, p in enumerate(_strings(m.get("permissions", []), p_at, what="a permission")):
        try:
            perms.append(Permission(p))
        except ValueError:
            p_at.index(i).fail(f"unknown permission {p!r}; expected one of: {', '.join(x.value for x in Permission)}")
    return User(name=name, groups=groups, attributes=attributes, permissions=frozenset(perms))


def _purpose(value: Any, at: _At) -> Purpose:
    m = _mapping(value, at, allowed=("name", "acknowledgement"), required=("name",))
    name = _string(m["name"], at.key("name"), pattern=_DOTTED, what="a dotted purpose name")
    ack = _text(m.get("acknowledgement", ""), at.key("acknowledgement"))
    return Purpose(name=name, acknowledgement=ack)


def _owners(value: Any, at: _At, ctx: _Context) -> tuple[OwnerRef, ...]:
    owners = []
    for i, item in enumerate(_list(value, at)):
        if isinstance(item, dict):
            g = _mapping(item, at.index(i), allowed=("group",), required=("group",))
            owners.append(OwnerRef(group=_string(g["group"], at.index(i).key("group"), what="a group name")))
        else:
            owners.append(OwnerRef(user=ctx.user(item, at.index(i))))
    if len(set(owners)) != len(owners):
        at.fail("duplicate owner")
    return tuple(owners)


_SOURCE_KEYS = (
    "name",
    "table",
    "location",
    "owners",
    "experts",
    "subscribers",
    "ingest_users",
    "tags",
    "columns",
    "event_time",
    "high_cardinality_column",
    "latency_tolerance",
    "subscription",
    "policies",
    "dictionary",
)


def _source(value: Any, at: _At, ctx: _Context) -> Source:
    m = _mapping(value, at, allowed=_SOURCE_KEYS, required=("name", "table"))
    name = _string(m["name"], at.key("name"), what="a data source name")
    table = _string(m["table"], at.key("table"), what="a table name")
    parts = table.split(".")
    if len(parts) != 2 or not all(_IDENT.match(p) for p in parts):
        at.key("table").fail(f"expected 'database.table' (letters, digits, underscores), got {table!r}")
    location = None
    if m.get("location") is not None:
        location = _string(m["location"], at.key("location"), what="a storage location")
    dictionary = _dictionary(m.get("dictionary", []), at.key("dictionary"))
    known_cols = tuple(c.name for c in dictionary) or None

    def column(key: str) -> str | None:
        if m.get(key) is None:
            return None
        col = _string(m[key], at.key(key), pattern=_IDENT, what="a column name")
        _known_column(col, known_cols, at.key(key))
        return col

    column_tags: dict[str, tuple[str, ...]] = {}
    c_at = at.key("columns")
    cols = m.get("columns", {})
    if not isinstance(cols, dict):
        c_at.fail(f"expected a mapping of column name to a list of tags, got {_describe(cols)}")
    for col, tags in cols.items():
        c = _string(col, c_at, pattern=_IDENT, what="a column name")
        _known_column(c, known_cols, c_at.key(c))
        column_tags[c] = _strings(tags, c_at.key(c), pattern=_DOTTED, what="a dotted tag")
    latency = None
    if m.get("latency_tolerance") is not None:
        latency = _int(m["latency_tolerance"], at.key("latency_tolerance"), minimum=0)
    subscription = None
    if m.get("subscription") is not None:
        subscription = _subscription(m["subscription"], at.key("subscription"), ctx)
    source = Source(
        name=name,
        table=table,
        location=location,
        owners=_owners(m.get("owners", []), at.key("owners"), ctx),
        experts=ctx.users_list(m.get("experts", []), at.key("experts")),
        subscribers=frozenset(ctx.users_list(m.get("subscribers", []), at.key("subscribers"))),
        ingest_users=ctx.users_list(m.get("ingest_users", []), at.key("ingest_users")),
        tags=_strings(m.get("tags", []), at.key("tags"), pattern=_DOTTED, what="a dotted tag"),
        column_tags=column_tags,
        event_time=column("event_time"),
        high_cardinality_column=column("high_cardinality_column"),
        latency_tolerance=latency,
        subscription=subscription,
        dictionary=dictionary,
    )
    p_at = at.key("policies")
    local: list[Policy] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(m.get("policies", []), p_at)):
        policy = _policy(item, p_at.index(i), ctx, source)
        if policy.name in seen:
            p_at.index(i).key("name").fail(f"duplicate policy name {policy.name!r} in this source")
        seen.add(policy.name)
        local.append(policy)
    return Source(**{**_fields(source), "policies": tuple(local)})


def _fields(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}


def _known_column(col: str, known: tuple[str, ...] | None, at: _At) -> None:
    if known is not None and col not in known:
        at.fail(f"unknown column {col!r}; the data dictionary has: {', '.join(known)}")


def _dictionary(value: Any, at: _At) -> tuple[ColumnDef, ...]:
    out = []
    seen: set[str] = set()
    for i, item in enumerate(_list(value, at)):
        e = _mapping(item, at.index(i), allowed=("name", "type", "description"), required=("name",))
        name = _string(e["name"], at.index(i).key("name"), pattern=_IDENT, what="a column name")
        if name in seen:
            at.index(i).key("name").fail(f"duplicate column {name!r}")
        seen.add(name)
        ctype = None
        if e.get("type") is not None:
            ctype = _string(e["type"], at.index(i).key("type"), what="a Spark SQL type")
        desc = _text(e.get("description", ""), at.index(i).key("description"))
        out.append(ColumnDef(name=name, type=ctype, description=desc))
    return tuple(out)


# --- conditions -------------------------------------------------------------------------

_CONDITION_KEYS = ("groups", "attributes", "purposes", "users", "all", "any")


def _condition(value: Any, at: _At, ctx: _Context) -> Condition:
    if value == "everyone":
        return Everyone()
    m = _mapping(value, at, allowed=_CONDITION_KEYS)
    if not m:
        at.fail("an empty condition; write 'everyone' or use keys: " + ", ".join(_CONDITION_KEYS))
    parts: list[Condition] = []
    for key, val in m.items():
        k_at = at.key(key)
        if key == "groups":
            parts.append(InGroups(frozenset(_nonempty(_strings(val, k_at, what="a group name"), k_at))))
        elif key == "users":
            parts.append(IsUser(frozenset(_nonempty(_strings(val, k_at, what="a user name"), k_at))))
        elif key == "purposes":
            parts.append(UnderPurpose(frozenset(_nonempty(ctx.purpose_list(val, k_at), k_at))))
        elif key == "attributes":
            if not isinstance(val, dict):
                k_at.fail(f"expected a mapping of attribute name to values, got {_describe(val)}")
            attrs = val
            if not attrs:
                k_at.fail("list at least one attribute")
            for name, vals in attrs.items():
                a = _string(name, k_at, what="an attribute name")
                values = _nonempty(_strings(vals, k_at.key(a), what="an attribute value"), k_at.key(a))
                parts.append(HasAttribute(a, frozenset(values)))
        else:
            subs = _list(val, k_at)
            if not subs:
                k_at.fail("list at least one condition")
            built = tuple(_condition(s, k_at.index(i), ctx) for i, s in enumerate(subs))
            parts.append(AllOf(built) if key == "all" else AnyOf(built))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _nonempty(values: tuple[str, ...], at: _At) -> tuple[str, ...]:
    if not values:
        at.fail("list at least one value")
    return values


# --- subscription -----------------------------------------------------------------------


def _subscription(value: Any, at: _At, ctx: _Context) -> Subscription:
    kinds = [k.value for k in SubscriptionKind]
    m = _mapping(value, at, allowed=kinds)
    if len(m) != 1:
        at.fail(f"give exactly one subscription kind: {', '.join(kinds)}")
    ((key, val),) = m.items()
    return _subscription_kind(key, val, at.key(key), ctx)


def _subscription_kind(key: str, val: Any, at: _At, ctx: _Context) -> Subscription:
    kind = SubscriptionKind(key)
    if kind is SubscriptionKind.ANYONE:
        if val not in ({}, None):
            at.fail("'anyone' takes no settings: write 'anyone: {}'")
        return Subscription(kind=kind)
    if kind is SubscriptionKind.WHEN:
        return Subscription(kind=kind, condition=_condition(val, at, ctx))
    if kind is SubscriptionKind.INDIVIDUALS:
        return Subscription(kind=kind, users=frozenset(ctx.users_list(val, at)))
    a = _mapping(val, at, allowed=("approvers",), required=("approvers",))
    approvers = []
    a_at = at.key("approvers")
    for i, item in enumerate(_list(a["approvers"], a_at)):
        if item in ("owner", "governance"):
            approvers.append(Approver(role=item))
        elif isinstance(item, dict):
            g = _mapping(item, a_at.index(i), allowed=("group",), required=("group",))
            group = _string(g["group"], a_at.index(i).key("group"), what="a group name")
            approvers.append(Approver(role="group", group=group))
        else:
            a_at.index(i).fail(f"expected 'owner', 'governance' or {{group: G}}, got {_describe(item)}")
    if not approvers:
        a_at.fail("list at least one approver")
    if len({x.key for x in approvers}) != len(approvers):
        a_at.fail("duplicate approver")
    return Subscription(kind=kind, approvers=tuple(approvers))


# --- policies ---------------------------------------------------------------------------

_ACTION_KEYS: dict[PolicyType, tuple[str, ...]] = {
    PolicyType.MASKING: ("mask",),
    PolicyType.ROW: ("match", "where", "time_window", "minimize"),
    PolicyType.PURPOSE: ("purposes",),
    PolicyType.DIFFERENTIAL_PRIVACY: ("epsilon", "bounds"),
    PolicyType.SUBSCRIPTION: tuple(k.value for k in SubscriptionKind),
}
_POLICY_COMMON = ("name", "type", "for", "except", "rules", "priority", "description")


def _policy(value: Any, at: _At, ctx: _Context, source: Source | None) -> Policy:
    if not isinstance(value, dict):
        at.fail(f"expected a mapping, got {_describe(value)}")
    t_at = at.key("type")
    if "type" not in value:
        at.fail("missing required key 'type'")
    try:
        ptype = PolicyType(value["type"])
    except (ValueError, TypeError):
        t_at.fail(f"unknown policy type {value['type']!r}; expected one of: {', '.join(t.value for t in PolicyType)}")
    allowed = list(_POLICY_COMMON) + list(_ACTION_KEYS[ptype])
    if ptype is PolicyType.MASKING:
        allowed += ["columns", "where"]
    if source is None:
        allowed += ["sources", "owners"]
    elif ptype is PolicyType.SUBSCRIPTION:
        at.key("type").fail("a source's own subscription policy goes under its 'subscription' key")
    m = _mapping(value, at, allowed=allowed, required=("name",))
    name = _string(m["name"], at.key("name"), what="a policy name")
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
        action = _action(m, at, ctx, ptype, source, columns_known, required=True)
        if form == "except":
            rules = [Rule(who=_condition(m["except"], at.key("except"), ctx), action=None)]
            rules.append(Rule(who=Everyone(), action=action))
            form_name = "except"
        else:
            if "for" in m and m["for"] != "everyone":
                at.key("for").fail("'for' takes only 'everyone'; use 'except' or 'rules' to single out users")
            rules = [Rule(who=Everyone(), action=action)]
            form_name = "everyone"
    if form_name == "rules":
        # Action keys belong inside the rules when rules are used.
        stray = [k for k in _ACTION_KEYS[ptype] if k in m]
        if stray:
            at.key(stray[0]).fail("with 'rules', put this inside each rule and the 'otherwise'")

    scope = SourceScope()
    if "sources" in m:
        scope = _source_scope(m["sources"], at.key("sources"), ctx)
    owners: tuple[OwnerRef, ...] = ()
    if "owners" in m:
        owners = _owners(m["owners"], at.key("owners"), ctx)
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
    priority = _int(m["priority"], at.key("priority")) if "priority" in m else 0
    description = _text(m["description"], at.key("description")) if "description" in m else ""
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
    at: _At,
    ctx: _Context,
    ptype: PolicyType,
    source: Source | None,
    columns: tuple[str, ...] | None,
) -> list[Rule]:
    items = _list(value, at)
    if len(items) < 2:
        at.fail("'rules' needs at least one {who: ...} rule and a final {otherwise: ...}")
    rules = []
    keys = _ACTION_KEYS[ptype]
    for i, item in enumerate(items):
        r_at = at.index(i)
        last = i == len(items) - 1
        if not isinstance(item, dict):
            r_at.fail(f"expected a mapping, got {_describe(item)}")
        if "otherwise" in item:
            if not last:
                r_at.fail("'otherwise' must be the last rule")
            o = _mapping(item, r_at, allowed=("otherwise",))
            o_at = r_at.key("otherwise")
            body = _mapping(o["otherwise"] if o["otherwise"] is not None else {}, o_at, allowed=keys)
            rules.append(Rule(who=Everyone(), action=_action(body, o_at, ctx, ptype, source, columns)))
        else:
            if last:
                r_at.fail("the last rule must be a blanket {otherwise: ...}")
            w = _mapping(item, r_at, allowed=("who", *keys), required=("who",))
            who = _condition(w["who"], r_at.key("who"), ctx)
            rules.append(Rule(who=who, action=_action(w, r_at, ctx, ptype, source, columns)))
    return rules


def _action(
    m: Mapping[str, Any],
    at: _At,
    ctx: _Context,
    ptype: PolicyType,
    source: Source | None,
    columns: tuple[str, ...] | None,
    *,
    required: bool = False,
) -> Action | None:
    """The action a policy (or one rule) takes; None in a rule means 'exempt'."""
    keys = [k for k in _ACTION_KEYS[ptype] if k in m]
    if ptype is PolicyType.DIFFERENTIAL_PRIVACY:
        keys = [k for k in keys if k != "bounds"]
    if not keys:
        if required:
            at.fail(f"a {ptype.value} policy needs one of: {', '.join(_ACTION_KEYS[ptype])}")
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
        return PurposeLimit(_nonempty(ctx.purpose_list(val, k_at), k_at))
    if ptype is PolicyType.DIFFERENTIAL_PRIVACY:
        eps = _number(val, k_at)
        if eps <= 0:
            k_at.fail(f"epsilon must be positive, got {eps}")
        bounds: dict[str, tuple[float, float]] = {}
        b_at = at.key("bounds")
        raw = m.get("bounds", {})
        if not isinstance(raw, dict):
            b_at.fail(f"expected a mapping of column to [low, high], got {_describe(raw)}")
        for col, pair in raw.items():
            c = _string(col, b_at, pattern=_IDENT, what="a column name")
            p = _list(pair, b_at.key(c))
            if len(p) != 2:
                b_at.key(c).fail("expected [low, high]")
            lo, hi = _number(p[0], b_at.key(c).index(0)), _number(p[1], b_at.key(c).index(1))
            if lo >= hi:
                b_at.key(c).fail(f"low ({lo}) must be below high ({hi})")
            bounds[c] = (float(lo), float(hi))
        return DifferentialPrivacy(float(eps), bounds)
    return _subscription_kind(key, val, k_at, ctx)


def _mask(value: Any, at: _At, ctx: _Context) -> Mask | None:
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
    m = _mapping(value, at, allowed=("constant", "regex", "round", "k_anonymize"))
    if len(m) != 1:
        at.fail("give exactly one mask kind")
    ((key, val),) = m.items()
    k_at = at.key(key)
    if key == "constant":
        if isinstance(val, date):  # an unquoted YAML date or timestamp: keep it as ISO text
            val = val.isoformat(sep=" ") if isinstance(val, datetime) else val.isoformat()
        if not isinstance(val, str | int | float | bool) or (isinstance(val, float) and not math.isfinite(val)):
            k_at.fail(f"expected a single value (text or number), got {_describe(val)}")
        return ConstantMask(val)
    if key == "regex":
        r = _mapping(val, k_at, allowed=("pattern", "replacement"), required=("pattern", "replacement"))
        pattern = _text(r["pattern"], k_at.key("pattern"))
        if not pattern:
            k_at.key("pattern").fail("invalid regular expression: empty pattern")
        groups = ctx.regex(pattern, k_at.key("pattern"))
        replacement = r["replacement"]
        if isinstance(replacement, int | float) and not isinstance(replacement, bool):
            replacement = str(replacement)
        replacement = _text(replacement, k_at.key("replacement"))
        problem = _replacement_problem(replacement, groups)
        if problem:
            k_at.key("replacement").fail(f"invalid replacement: {problem}")
        return RegexMask(pattern, replacement)
    if key == "round":
        if isinstance(val, str):
            if val not in ROUND_UNITS:
                k_at.fail(f"expected a positive number or one of {', '.join(ROUND_UNITS)}, got {val!r}")
            return RoundMask(unit=val)
        n = _number(val, k_at)
        if n <= 0:
            k_at.fail(f"must be positive, got {n}")
        return RoundMask(multiple=n)
    if val == "fingerprint":
        return KAnonymizeMask(None)
    return KAnonymizeMask(_int(val, k_at, minimum=2))


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
    at: _At,
    ctx: _Context,
    source: Source | None,
    columns: tuple[str, ...] | None,
) -> Any:
    if key == "match":
        mm = _mapping(val, at, allowed=("attribute", "groups", "column"), required=("column",))
        col = _string(mm["column"], at.key("column"), pattern=_IDENT, what="a column name")
        _known_column(col, columns, at.key("column"))
        if ("attribute" in mm) == ("groups" in mm):
            at.fail("give exactly one of 'attribute: NAME' and 'groups: true'")
        if "groups" in mm:
            if mm["groups"] is not True:
                at.key("groups").fail("write 'groups: true' to match the user's group names")
            return MatchGroups(col)
        return MatchAttribute(_string(mm["attribute"], at.key("attribute"), what="an attribute name"), col)
    if key == "where":
        return WhereFilter(ctx.sql(val, at, columns))
    if key == "time_window":
        text = _string(val, at, what="a window such as 30d, 12h or 90m")
        match = _WINDOW.match(text)
        if not match:
            at.fail(f"expected a window such as 30d, 12h or 90m (units m, h, d), got {text!r}")
        if source is not None and source.event_time is None:
            at.fail("a time window needs the source's 'event_time' column")
        return TimeWindow(int(match.group(1)) * _WINDOW_SECONDS[match.group(2)], text)
    pct = _number(val, at)
    if not 0 < pct <= 100:
        at.fail(f"a percentage above 0 and at most 100, got {pct}")
    if source is not None and source.high_cardinality_column is None:
        at.fail("minimization needs the source's 'high_cardinality_column'")
    return Minimize(float(pct))


def _source_scope(value: Any, at: _At, ctx: _Context) -> SourceScope:
    m = _mapping(value, at, allowed=("tagged", "names"))
    if len(m) != 1:
        at.fail("give exactly one of 'tagged: TAG' and 'names: [...]'")
    if "tagged" in m:
        return SourceScope(tagged=_string(m["tagged"], at.key("tagged"), pattern=_DOTTED, what="a dotted tag"))
    names = _nonempty(_strings(m["names"], at.key("names"), what="a data source name"), at.key("names"))
    for i, n in enumerate(names):
        if n not in ctx.sources:
            at.key("names").index(i).fail(f"unknown data source {n!r}")
    return SourceScope(names=frozenset(names))


def _column_target(value: Any, at: _At, known: tuple[str, ...] | None) -> ColumnTarget:
    m = _mapping(value, at, allowed=("tagged", "names"))
    if len(m) != 1:
        at.fail("give exactly one of 'tagged: TAG' and 'names: [...]'")
    if "tagged" in m:
        return ColumnTarget(tagged=_string(m["tagged"], at.key("tagged"), pattern=_DOTTED, what="a dotted tag"))
    names = _nonempty(_strings(m["names"], at.key("names"), pattern=_IDENT, what="a column name"), at.key("names"))
    for i, n in enumerate(names):
        _known_column(n, known, at.key("names").index(i))
    return ColumnTarget(names=names)


def _project(value: Any, at: _At, ctx: _Context) -> Project:
    keys = (
        "name",
        "owner",
        "members",
        "purposes",
        "sources",
        "equalization",
        "masked_joins",
        "validation_frequency",
        "workspace",
        "description",
    )
    m = _mapping(value, at, allowed=keys, required=("name", "owner"))
    s_at = at.key("sources")
    sources = _strings(m.get("sources", []), s_at, what="a data source name")
    for i, s in enumerate(sources):
        if s not in ctx.sources:
            s_at.index(i).fail(f"unknown data source {s!r}")
    freq = None
    if m.get("validation_frequency") is not None:
        freq = _int(m["validation_frequency"], at.key("validation_frequency"), minimum=1)
    return Project(
        name=_string(m["name"], at.key("name"), what="a project name"),
        owner=ctx.user(m["owner"], at.key("owner")),
        members=frozenset(ctx.users_list(m.get("members", []), at.key("members"))),
        purposes=ctx.purpose_list(m.get("purposes", []), at.key("purposes")),
        sources=sources,
        equalization=_bool(m.get("equalization", False), at.key("equalization")),
        masked_joins=_bool(m.get("masked_joins", False), at.key("masked_joins")),
        validation_frequency=freq,
        workspace=_bool(m.get("workspace", False), at.key("workspace")),
        description=_text(m.get("description", ""), at.key("description")),
    )


# --- writing ----------------------------------------------------------------------------


def dump_document(g: Governance) -> dict[str, Any]:
    """The canonical policy-as-code form of a model (no secrets, no runtime state)."""
    out: dict[str, Any] = {"version": 1, "settings": dump_settings(g.settings)}
    out["users"] = [dump_user(u) for u in g.users]
    out["purposes"] = [dump_purpose(p) for p in g.purposes]
    out["sources"] = [dump_source(s) for s in g.sources]
    out["policies"] = [dump_policy(p) for p in g.policies]
    out["projects"] = [dump_project(p) for p in g.projects]
    return out


def dump_yaml(data: Any) -> str:
    """YAML text in the project's one canonical style."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def dump_settings(s: Settings) -> dict[str, Any]:
    """Settings as policy-as-code."""
    gov = s.governance
    return {
        "k_anonymization_cardinality_cutoff": s.k_anonymization_cardinality_cutoff,
        "workspace_root": s.workspace_root,
        "governance": {f: getattr(gov, f) for f in gov.__dataclass_fields__},
    }


def dump_user(u: User) -> dict[str, Any]:
    """A user as policy-as-code."""
    d: dict[str, Any] = {"name": u.name}
    if u.groups:
        d["groups"] = sorted(u.groups)
    if u.attributes:
        d["attributes"] = {k: sorted(v) for k, v in sorted(u.attributes.items())}
    if u.permissions:
        d["permissions"] = sorted(p.value for p in u.permissions)
    return d


def dump_purpose(p: Purpose) -> dict[str, Any]:
    """A purpose as policy-as-code."""
    return {"name": p.name, "acknowledgement": p.acknowledgement}


def _dump_owners(owners: tuple[OwnerRef, ...]) -> list[Any]:
    return [o.user if o.user is not None else {"group": o.group} for o in owners]


def dump_source(s: Source) -> dict[str, Any]:
    """A data source (with its local policies) as policy-as-code."""
    d: dict[str, Any] = {"name": s.name, "table": s.table}
    if s.location:
        d["location"] = s.location
    if s.owners:
        d["owners"] = _dump_owners(s.owners)
    for key in ("experts", "ingest_users", "tags"):
        if getattr(s, key):
            d[key] = list(getattr(s, key))
    if s.subscribers:
        d["subscribers"] = sorted(s.subscribers)
    if s.column_tags:
        d["columns"] = {c: list(t) for c, t in s.column_tags.items()}
    for key in ("event_time", "high_cardinality_column", "latency_tolerance"):
        if getattr(s, key) is not None:
            d[key] = getattr(s, key)
    if s.subscription is not None:
        d["subscription"] = dump_subscription(s.subscription)
    if s.dictionary:
        d["dictionary"] = [
            {
                "name": c.name,
                **({"type": c.type} if c.type else {}),
                **({"description": c.description} if c.description else {}),
            }
            for c in s.dictionary
        ]
    if s.policies:
        d["policies"] = [dump_policy(p) for p in s.policies]
    return d


def dump_subscription(sub: Subscription) -> dict[str, Any]:
    """A subscription policy body as policy-as-code."""
    if sub.kind is SubscriptionKind.ANYONE:
        return {"anyone": {}}
    if sub.kind is SubscriptionKind.WHEN:
        assert sub.condition is not None
        return {"when": sub.condition.to_data()}
    if sub.kind is SubscriptionKind.INDIVIDUALS:
        return {"individuals": sorted(sub.users)}
    return {"approval": {"approvers": [a.role if a.role != "group" else {"group": a.group} for a in sub.approvers]}}


def dump_action(action: Action | None) -> dict[str, Any]:
    """The action keys of a policy or rule."""
    if action is None:
        return {}
    if isinstance(action, Subscription):
        return dump_subscription(action)
    if isinstance(action, PurposeLimit):
        return {"purposes": list(action.purposes)}
    if isinstance(action, DifferentialPrivacy):
        d: dict[str, Any] = {"epsilon": action.epsilon}
        if action.bounds:
            d["bounds"] = {c: list(b) for c, b in action.bounds.items()}
        return d
    if isinstance(action, MatchAttribute):
        return {"match": {"attribute": action.attribute, "column": action.column}}
    if isinstance(action, MatchGroups):
        return {"match": {"groups": True, "column": action.column}}
    if isinstance(action, WhereFilter):
        return {"where": action.sql}
    if isinstance(action, TimeWindow):
        return {"time_window": action.text}
    if isinstance(action, Minimize):
        return {"minimize": action.percent}
    return {"mask": dump_mask(action)}


def dump_mask(mask: Mask) -> Any:
    """A mask as policy-as-code."""
    if isinstance(mask, ConstantMask):
        return {"constant": mask.value}
    if isinstance(mask, RegexMask):
        return {"regex": {"pattern": mask.pattern, "replacement": mask.replacement}}
    if isinstance(mask, RoundMask):
        return {"round": mask.unit if mask.unit is not None else mask.multiple}
    if isinstance(mask, KAnonymizeMask):
        return {"k_anonymize": mask.k if mask.k is not None else "fingerprint"}
    return mask.kind


def dump_policy(p: Policy) -> dict[str, Any]:
    """A policy as policy-as-code."""
    d: dict[str, Any] = {"name": p.name, "type": p.type.value}
    if p.priority:
        d["priority"] = p.priority
    if p.scope.tagged is not None:
        d["sources"] = {"tagged": p.scope.tagged}
    elif p.scope.names is not None:
        d["sources"] = {"names": sorted(p.scope.names)}
    if p.owners:
        d["owners"] = _dump_owners(p.owners)
    if p.columns is not None:
        d["columns"] = {"tagged": p.columns.tagged} if p.columns.tagged else {"names": list(p.columns.names or ())}
    if p.where is not None:
        d["where"] = p.where
    if p.form == "rules":
        rules: list[dict[str, Any]] = [{"who": r.who.to_data(), **dump_action(r.action)} for r in p.rules[:-1]]
        rules.append({"otherwise": dump_action(p.rules[-1].action)})
        d["rules"] = rules
    else:
        action = p.rules[-1].action
        if p.form == "except":
            d["except"] = p.rules[0].who.to_data()
        # ``mask: none`` (exempt everyone the policy covers) must survive the round trip.
        d.update(dump_action(action) if action is not None else {"mask": "none"})
    if p.description:
        d["description"] = p.description
    return d


def dump_project(p: Project) -> dict[str, Any]:
    """A project as policy-as-code."""
    d: dict[str, Any] = {"name": p.name, "owner": p.owner}
    if p.members:
        d["members"] = sorted(p.members)
    d["purposes"] = list(p.purposes)
    d["sources"] = list(p.sources)
    d["equalization"] = p.equalization
    d["masked_joins"] = p.masked_joins
    if p.validation_frequency is not None:
        d["validation_frequency"] = p.validation_frequency
    if p.workspace:
        d["workspace"] = True
    if p.description:
        d["description"] = p.description
    return d
