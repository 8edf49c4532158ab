"""``null``: a NULL of the column's own type."""

from __future__ import annotations

from immuta_spark.expr import NullOf
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import NullMask

__all__ = ["build"]


def build(mask: NullMask, ctx: MaskContext) -> MaskResult:
    """A typed NULL, so the column keeps its type and predicates on it still type-check (unknown: untyped)."""
    return MaskResult(NullOf(ctx.type), ctx.type)
