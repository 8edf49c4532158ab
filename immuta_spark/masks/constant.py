"""``constant``: one value for every row, in the column's type where the value casts to it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from immuta_spark.expr import Literal
from immuta_spark.masks import MaskContext, MaskResult, type_family
from immuta_spark.model import ConstantMask

__all__ = ["build", "coerce"]


def coerce(value: object, spark_type: str) -> object | None:
    """``value`` converted to ``spark_type``'s Python form, or None when it does not cast.

    >>> coerce("12", "int"), coerce("x", "int"), coerce(3, "string")
    (12, None, '3')
    """
    family = type_family(spark_type)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        if family == "string":
            return text
        if family == "numeric":
            base = spark_type.lower().split("(", 1)[0]
            if base in {"float", "real", "double"}:
                return float(text)
            if base in {"decimal", "numeric", "dec"}:
                return Decimal(text)
            return int(text)
        if family == "boolean" and text in {"true", "false"}:
            return text == "true"
        if family == "date":
            return date.fromisoformat(text)
        if family == "timestamp":
            return datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return None
    return None


def build(mask: ConstantMask, ctx: MaskContext) -> MaskResult:
    """The constant as a bound literal; a value that does not cast makes the column a string."""
    value = coerce(mask.value, ctx.type)
    if value is None:
        return MaskResult(Literal(str(mask.value), "string"), "string")
    return MaskResult(Literal(value, ctx.type), ctx.type)  # type: ignore[arg-type]
