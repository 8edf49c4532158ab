"""The ``sources`` section: a data source, its data dictionary, tags and local policies."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from immuta_spark.model import ColumnDef, Policy, Source
from immuta_spark.policyfile.common import (
    DOTTED,
    IDENT,
    At,
    Context,
    describe,
    expect_int,
    expect_list,
    expect_mapping,
    expect_string,
    expect_strings,
    expect_text,
    known_column,
)
from immuta_spark.policyfile.derived import STORED, parse_derivation
from immuta_spark.policyfile.people import parse_owners
from immuta_spark.policyfile.policies import parse_policy
from immuta_spark.policyfile.subscriptions import parse_subscription

__all__ = ["check_derived_source", "parse_source"]

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
    "derived",
)


def parse_source(value: Any, at: At, ctx: Context) -> Source:
    """One entry of ``sources``, with its local policies."""
    m = expect_mapping(value, at, allowed=_SOURCE_KEYS, required=("name", "table"))
    name = expect_string(m["name"], at.key("name"), what="a data source name")
    table = expect_string(m["table"], at.key("table"), what="a table name")
    parts = table.split(".")
    if len(parts) != 2 or not all(IDENT.match(p) for p in parts):
        at.key("table").fail(f"expected 'database.table' (letters, digits, underscores), got {table!r}")
    location = None
    if m.get("location") is not None:
        location = expect_string(m["location"], at.key("location"), what="a storage location")
    dictionary = _dictionary(m.get("dictionary", []), at.key("dictionary"))
    known_cols = tuple(c.name for c in dictionary) or None

    def column(key: str) -> str | None:
        if m.get(key) is None:
            return None
        col = expect_string(m[key], at.key(key), pattern=IDENT, what="a column name")
        known_column(col, known_cols, at.key(key))
        return col

    column_tags: dict[str, tuple[str, ...]] = {}
    c_at = at.key("columns")
    cols = m.get("columns", {})
    if not isinstance(cols, dict):
        c_at.fail(f"expected a mapping of column name to a list of tags, got {describe(cols)}")
    for col, tags in cols.items():
        c = expect_string(col, c_at, pattern=IDENT, what="a column name")
        known_column(c, known_cols, c_at.key(c))
        column_tags[c] = expect_strings(tags, c_at.key(c), pattern=DOTTED, what="a dotted tag")
    latency = None
    if m.get("latency_tolerance") is not None:
        latency = expect_int(m["latency_tolerance"], at.key("latency_tolerance"), minimum=0)
    subscription = None
    if m.get("subscription") is not None:
        subscription = parse_subscription(m["subscription"], at.key("subscription"), ctx)
    source = Source(
        name=name,
        table=table,
        location=location,
        owners=parse_owners(m.get("owners", []), at.key("owners"), ctx),
        experts=ctx.users_list(m.get("experts", []), at.key("experts")),
        subscribers=frozenset(ctx.users_list(m.get("subscribers", []), at.key("subscribers"))),
        ingest_users=ctx.users_list(m.get("ingest_users", []), at.key("ingest_users")),
        tags=expect_strings(m.get("tags", []), at.key("tags"), pattern=DOTTED, what="a dotted tag"),
        column_tags=column_tags,
        event_time=column("event_time"),
        high_cardinality_column=column("high_cardinality_column"),
        latency_tolerance=latency,
        subscription=subscription,
        dictionary=dictionary,
        derived=None if m.get("derived") is None else parse_derivation(m["derived"], at.key("derived")),
    )
    p_at = at.key("policies")
    local: list[Policy] = []
    seen: set[str] = set()
    for i, item in enumerate(expect_list(m.get("policies", []), p_at)):
        policy = parse_policy(item, p_at.index(i), ctx, source)
        if policy.name in seen:
            p_at.index(i).key("name").fail(f"duplicate policy name {policy.name!r} in this source")
        seen.add(policy.name)
        local.append(policy)
    return Source(**{**_fields(source), "policies": tuple(local)})


def _fields(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}


def _dictionary(value: Any, at: At) -> tuple[ColumnDef, ...]:
    out = []
    seen: set[str] = set()
    for i, item in enumerate(expect_list(value, at)):
        e = expect_mapping(item, at.index(i), allowed=("name", "type", "description"), required=("name",))
        name = expect_string(e["name"], at.index(i).key("name"), pattern=IDENT, what="a column name")
        if name in seen:
            at.index(i).key("name").fail(f"duplicate column {name!r}")
        seen.add(name)
        ctype = None
        if e.get("type") is not None:
            ctype = expect_string(e["type"], at.index(i).key("type"), what="a Spark SQL type")
        desc = expect_text(e.get("description", ""), at.index(i).key("description"))
        out.append(ColumnDef(name=name, type=ctype, description=desc))
    return tuple(out)


def check_derived_source(body: Any, *, users: Collection[str], where: str) -> Source:
    """Validate a derived source built at run time exactly as the catalog will read it back (errors name ``where``)."""
    ctx = Context(None)
    ctx.users = set(users)
    return parse_source(body, At(where, STORED), ctx)
