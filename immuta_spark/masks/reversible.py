"""``reversible``: a deterministic token per value that an approved unmask request reverses."""

from __future__ import annotations

from immuta_spark.expr import Cast, Column, Token
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import ReversibleMask

__all__ = ["build"]


def build(mask: ReversibleMask, ctx: MaskContext) -> MaskResult:
    """A keyed token of the value as a string (executed by the Spark layer)."""
    return MaskResult(Token(Cast(Column(ctx.column), "string"), ctx.token_key), "string")
