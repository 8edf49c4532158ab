"""The ``projects`` section."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from immuta_spark.model import Entitlement, Project, Source
from immuta_spark.policyfile.common import (
    At,
    Context,
    expect_bool,
    expect_int,
    expect_mapping,
    expect_string,
    expect_strings,
    expect_text,
)
from immuta_spark.policyfile.people import parse_attributes
from immuta_spark.policyfile.subscriptions import parse_subscription

__all__ = ["check_project", "parse_project"]


def parse_project(value: Any, at: At, ctx: Context) -> Project:
    """One entry of ``projects``; its sources must be declared above."""
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
        "subscription",
        "entitlement",
    )
    m = expect_mapping(value, at, allowed=keys, required=("name", "owner"))
    s_at = at.key("sources")
    sources = expect_strings(m.get("sources", []), s_at, what="a data source name")
    for i, s in enumerate(sources):
        if s not in ctx.sources:
            s_at.index(i).fail(f"unknown data source {s!r}")
    freq = None
    if m.get("validation_frequency") is not None:
        freq = expect_int(m["validation_frequency"], at.key("validation_frequency"), minimum=1)
    return Project(
        name=expect_string(m["name"], at.key("name"), what="a project name"),
        owner=ctx.user(m["owner"], at.key("owner")),
        members=frozenset(ctx.users_list(m.get("members", []), at.key("members"))),
        purposes=ctx.purpose_list(m.get("purposes", []), at.key("purposes")),
        sources=sources,
        equalization=expect_bool(m.get("equalization", False), at.key("equalization")),
        masked_joins=expect_bool(m.get("masked_joins", False), at.key("masked_joins")),
        validation_frequency=freq,
        workspace=expect_bool(m.get("workspace", False), at.key("workspace")),
        description=expect_text(m.get("description", ""), at.key("description")),
        subscription=(
            parse_subscription(m["subscription"], at.key("subscription"), ctx)
            if m.get("subscription") is not None
            else None
        ),
        entitlement=parse_entitlement(m["entitlement"], at.key("entitlement")) if "entitlement" in m else None,
    )


def parse_entitlement(value: Any, at: At) -> Entitlement:
    """An equalized entitlement: ``{groups: [G, ...], attributes: {NAME: [VALUE, ...]}}``."""
    m = expect_mapping(value, at, allowed=("groups", "attributes"))
    groups = expect_strings(m.get("groups", []), at.key("groups"), what="a group name")
    attributes = parse_attributes(m.get("attributes", {}), at.key("attributes"))
    return Entitlement(groups=frozenset(groups), attributes=attributes)


def check_project(
    body: Any, *, users: Collection[str], purposes: Collection[str], sources: Mapping[str, Source], where: str
) -> Project:
    """Validate a project built at run time exactly as a policy file's entry (errors name ``where``)."""
    ctx = Context(None)
    ctx.users = set(users)
    ctx.purposes = set(purposes)
    ctx.sources = dict(sources)
    return parse_project(body, At(where), ctx)
