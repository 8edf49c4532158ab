"""``round``: numbers floored to a multiple; dates and timestamps truncated to a unit."""

from __future__ import annotations

from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import Column, FloorTo, TruncTime
from immuta_spark.masks import MaskContext, MaskResult, type_family
from immuta_spark.model import RoundMask

__all__ = ["build"]


def build(mask: RoundMask, ctx: MaskContext) -> MaskResult:
    """Keep the column's type; refuse a unit on a number or a multiple on a date.

    On a column whose type is not known yet the mask is built as its parameter says (a multiple
    floors a number, a unit truncates a date or timestamp); the compile with the table's schema
    checks it.
    """
    family = type_family(ctx.type)
    if mask.multiple is not None and family in {"numeric", "unknown"}:
        return MaskResult(FloorTo(Column(ctx.column), mask.multiple, ctx.type), ctx.type)
    if mask.unit is not None and family in {"date", "timestamp", "unknown"}:
        if family == "date" and mask.unit == "hour":
            return MaskResult(Column(ctx.column), ctx.type)  # a date has no hours to hide
        return MaskResult(TruncTime(Column(ctx.column), mask.unit, ctx.type), ctx.type)
    wanted = "a number" if mask.multiple is not None else "a date or timestamp"
    setting = mask.multiple if mask.multiple is not None else mask.unit
    policy = f"policy '{ctx.policy}'" if ctx.policy else "the policy"
    raise PolicyBindError(
        f"round mask on {ctx.source}.{ctx.column}: the column is {ctx.type}, the mask needs {wanted} "
        f"({policy}, round: {setting}); the source is closed until {policy}'s columns or mask, or the "
        "column's type, are fixed"
    )
