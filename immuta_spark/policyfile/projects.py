"""The ``projects`` section."""

from __future__ import annotations

from typing import Any

from immuta_spark.model import Project
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

__all__ = ["parse_project"]


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
    )
