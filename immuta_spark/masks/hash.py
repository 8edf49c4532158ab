"""``hash``: salted SHA-256, equal within a source (or a masked-joins project), not across."""

from __future__ import annotations

from immuta_spark.expr import Cast, Column, Concat, Sha256
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import HashMask

__all__ = ["build"]


def build(mask: HashMask, ctx: MaskContext) -> MaskResult:
    """``sha2(concat(salt, cast(col as string)), 256)``; NULL stays NULL."""
    return MaskResult(Sha256(Concat((ctx.hash_salt, Cast(Column(ctx.column), "string")))), "string")
