"""``round``: numbers floored to a multiple; dates and timestamps truncated to a unit."""

from __future__ import annotations

from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import Column, FloorTo, TruncTime
from immuta_spark.masks import MaskContext, MaskResult, type_family
from immuta_spark.model import RoundMask

__all__ = ["build"]


def build(mask: RoundMask, ctx: MaskContext) -> MaskResult:
    """Keep the column's type; refuse a unit on a number or a multiple on a date."""
    family = type_family(ctx.type)
    if family == "numeric" and mask.multiple is not None:
        return MaskResult(FloorTo(Column(ctx.column), mask.multiple, ctx.type), ctx.type)
    if family in {"date", "timestamp"} and mask.unit is not None:
        if family == "date" and mask.unit == "hour":
            return MaskResult(Column(ctx.column), ctx.type)  # a date has no hours to hide
        return MaskResult(TruncTime(Column(ctx.column), mask.unit, ctx.type), ctx.type)
    wanted = "a number" if mask.multiple is not None else "a date or timestamp"
    raise PolicyBindError(
        f"round mask on {ctx.source}.{ctx.column}: the column is {ctx.type}, the mask needs {wanted}; "
        "fix the policy's columns or the mask"
    )
