"""The ``sources`` section: a data source, its data dictionary, tags and local policies."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from immuta_spark.model import OBJECT_FORMATS, ColumnDef, ObjectStore, Policy, Source
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
    "object",
)

#: A directory: an absolute path, or a URI with a scheme and an absolute path (hdfs://namenode:8020/data).
_DIRECTORY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/\s]*)?/\S*$")
_OBJECT_KEYS = ("format", "location", "options", "event_time")


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
    store = None
    if m.get("object") is not None:
        store, location = _object(m["object"], at.key("object"), location, at)
        if m.get("event_time") is not None and store.event_time is not None:
            at.key("event_time").fail("give the event time once: 'event_time' (a column) or 'object.event_time'")
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
        object=store,
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


def _object(value: Any, at: At, location: str | None, source_at: At) -> tuple[ObjectStore, str]:
    """An ``object`` block: the files' format, their directory, reader options, where event times come from."""
    m = expect_mapping(value, at, allowed=_OBJECT_KEYS, required=("format",))
    fmt = expect_string(m["format"], at.key("format"), what="a file format")
    if fmt not in OBJECT_FORMATS:
        at.key("format").fail(f"expected one of {', '.join(OBJECT_FORMATS)}, got {fmt!r}")
    where = at.key("location")
    if m.get("location") is None:
        if location is None:
            at.fail("an object-backed source needs 'location': the directory of its files (hdfs://namenode/data/x)")
        where = source_at.key("location")
    else:
        found = expect_string(m["location"], where, what="a directory")
        if location is not None and location.rstrip("/") != found.rstrip("/"):
            where.fail(f"{found} differs from the source's location {location}; give the directory once")
        location = found
    assert location is not None
    if not _DIRECTORY.match(location) or "/../" in location + "/" or location.rstrip("/") in ("", "/"):
        where.fail(f"expected a directory such as hdfs://namenode:8020/data/claims or /data/claims, got {location!r}")
    options: dict[str, str] = {}
    o_at = at.key("options")
    raw = m.get("options", {})
    if not isinstance(raw, dict):
        o_at.fail(f"expected a mapping of reader option to value, got {describe(raw)}")
    for key, val in raw.items():
        k = expect_string(key, o_at, pattern=IDENT, what="a reader option")
        if k.lower() in ("path", "paths"):
            o_at.key(k).fail("the files' directory is the source's location, not a reader option")
        if isinstance(val, bool):
            options[k] = "true" if val else "false"
        elif isinstance(val, (str, int, float)):
            options[k] = str(val)
        else:
            o_at.key(k).fail(f"expected a string, number or boolean, got {describe(val)}")
    event_time = None
    if m.get("event_time") is not None:
        event_time = expect_string(m["event_time"], at.key("event_time"), what="an event time")
        name = event_time.removeprefix("xattr:")
        if event_time != "modified" and (name == event_time or not IDENT.match(name)):
            at.key("event_time").fail(f"expected 'modified' or 'xattr:NAME' (the file's user.NAME), got {event_time!r}")
    return ObjectStore(format=fmt, options=options, event_time=event_time), location


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
