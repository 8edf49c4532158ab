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

    >>> coerce("12", "int"), coerce("x", "int"), coerce(3, "string"), coerce(300, "tinyint")
    (12, None, '3', None)
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
                return _fits_decimal(Decimal(text), spark_type)
            number = int(text)
            low, high = _INT_RANGES.get(base, _INT_RANGES["bigint"])
            return number if low <= number <= high else None
        if family == "boolean" and text in {"true", "false"}:
            return text == "true"
        if family == "date":
            return date.fromisoformat(text)
        if family == "timestamp":
            return datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return None
    return None


_INT_RANGES = {
    **dict.fromkeys(("tinyint", "byte"), (-(2**7), 2**7 - 1)),
    **dict.fromkeys(("smallint", "short"), (-(2**15), 2**15 - 1)),
    **dict.fromkeys(("int", "integer"), (-(2**31), 2**31 - 1)),
    **dict.fromkeys(("bigint", "long"), (-(2**63), 2**63 - 1)),
}


def _fits_decimal(value: Decimal, spark_type: str) -> Decimal | None:
    """``value`` if its whole part fits ``decimal(p, s)`` (Spark's default is (10, 0)), else None."""
    if not value.is_finite():
        return None
    inside = spark_type.partition("(")[2].rstrip(") ")
    parts = [p.strip() for p in inside.split(",")] if inside else []
    precision = int(parts[0]) if parts else 10
    scale = int(parts[1]) if len(parts) > 1 else 0
    whole = len(str(abs(int(value)))) if abs(value) >= 1 else 0
    return value if whole <= precision - scale else None


def build(mask: ConstantMask, ctx: MaskContext) -> MaskResult:
    """The constant as a bound literal; a value that does not cast makes the column a string.

    On a column whose type is not known yet, whether the value casts is not known either: the
    literal keeps the column's (unknown) type until the plan is compiled with the schema.
    """
    if ctx.type is None:
        return MaskResult(Literal(mask.value, None), None)
    value = coerce(mask.value, ctx.type)
    if value is None:
        return MaskResult(Literal(str(mask.value), "string"), "string")
    return MaskResult(Literal(value, ctx.type), ctx.type)  # type: ignore[arg-type]
