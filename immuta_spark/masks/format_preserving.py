"""``format_preserving``: FF3-1 encryption keeping length and character classes."""

from __future__ import annotations

from immuta_spark.expr import Cast, Column, FormatPreserve
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import FormatPreservingMask

__all__ = ["build"]


def build(mask: FormatPreservingMask, ctx: MaskContext) -> MaskResult:
    """FF3-1 of the value as a string (executed by the Spark layer with an Arrow UDF)."""
    return MaskResult(FormatPreserve(Cast(Column(ctx.column), "string"), ctx.fpe_key), "string")
