"""``k_anonymize``: NULL every quasi-identifier of rows whose combination is rarer than k."""

from __future__ import annotations

from immuta_spark.expr import Column, GroupSmallerThan, If, NullOf
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import KAnonymizeMask

__all__ = ["build"]


def build(mask: KAnonymizeMask, ctx: MaskContext) -> MaskResult:
    """``CASE WHEN count(*) OVER (PARTITION BY group) < k THEN NULL ELSE col END``."""
    group = ctx.k_group or (ctx.column,)
    return MaskResult(If(GroupSmallerThan(group, ctx.k), NullOf(ctx.type), Column(ctx.column)), ctx.type)
