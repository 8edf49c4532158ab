"""Masks: one module per mask kind, each turning a mask into an expression-tree term.

:func:`build_mask` dispatches on the mask's kind; each kind's module exposes ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from immuta_spark.expr import SecretRef, Term
from immuta_spark.model import Mask

__all__ = ["MaskContext", "MaskResult", "build_mask", "type_family"]

_MODULES = {
    "hash": "hash",
    "null": "null",
    "constant": "constant",
    "regex": "regex",
    "round": "round",
    "reversible": "reversible",
    "format_preserving": "format_preserving",
    "k_anonymize": "k_anonymize",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskContext:
    """Everything a mask needs to know about the column it masks.

    ``type`` is the column's Spark SQL type, or None when it is not known yet (a plan compiled
    without a schema, to explain): a mask that depends on the type is then accepted and built in
    the column's own, unknown type, and checked when the plan is compiled with the real schema.
    """

    source: str
    column: str
    type: str | None
    policy: str = ""
    hash_salt: SecretRef
    token_key: SecretRef
    fpe_key: SecretRef
    k_group: tuple[str, ...] = ()
    k: int = 2


@dataclass(frozen=True, slots=True)
class MaskResult:
    """The masked value and its Spark SQL type (None: the column's own type, not known yet)."""

    term: Term
    type: str | None


def type_family(spark_type: str | None) -> str:
    """Classify a Spark SQL type name: numeric, string, date, timestamp, boolean, other or unknown.

    >>> type_family("decimal(10,2)"), type_family("timestamp_ntz"), type_family("varchar(3)"), type_family(None)
    ('numeric', 'timestamp', 'string', 'unknown')
    """
    if spark_type is None:
        return "unknown"
    t = spark_type.strip().lower()
    base = t.split("(", 1)[0]
    if base in {
        "tinyint",
        "byte",
        "smallint",
        "short",
        "int",
        "integer",
        "bigint",
        "long",
        "float",
        "real",
        "double",
        "decimal",
        "numeric",
        "dec",
    }:
        return "numeric"
    if base in {"string", "varchar", "char"}:
        return "string"
    if base == "date":
        return "date"
    if base.startswith("timestamp"):
        return "timestamp"
    if base in {"boolean", "bool"}:
        return "boolean"
    return "other"


def build_mask(mask: Mask, ctx: MaskContext) -> MaskResult:
    """The term that masks ``ctx.column`` with ``mask``."""
    module = import_module(f"immuta_spark.masks.{_MODULES[mask.kind]}")
    return module.build(mask, ctx)
