"""``regex``: keep part of a value, replace the rest (``\\d+$`` -> ``XXX``)."""

from __future__ import annotations

from immuta_spark.expr import Cast, Column, RegexReplace, Term
from immuta_spark.masks import MaskContext, MaskResult, type_family
from immuta_spark.model import RegexMask

__all__ = ["build"]


def build(mask: RegexMask, ctx: MaskContext) -> MaskResult:
    """``regexp_replace`` on the value as a string; pattern and replacement stay bound."""
    col: Term = Column(ctx.column)
    if type_family(ctx.type) != "string":
        col = Cast(col, "string")
    return MaskResult(RegexReplace(col, mask.pattern, mask.replacement), "string")
