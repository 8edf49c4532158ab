"""The one module that turns our expression tree into native Spark Columns.

Every node becomes a built-in Spark expression (no Python UDFs): values are bound with
``lit``, column names are quoted, and a governor's SQL predicate is parsed by Spark itself.
Secrets (salts, keys) are never literals: a literal is printed by every plan string (EXPLAIN,
``DataFrame.explain``, analysis errors). Each secret becomes a column of a one-row local
relation that the enforced scan is cross-joined with; plans print only its column names.
Format-preserving encryption, which Spark cannot do natively, is refused here until its Arrow
UDF lands: a plan that needs it fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import Window
from pyspark.sql import functions as F

from immuta_spark import expr as E
from immuta_spark.errors import PolicyBindError

__all__ = ["Lowering", "lower", "quote_identifier"]

SecretResolver = Callable[[E.SecretRef], bytes]


def quote_identifier(name: str) -> str:
    """A backquoted Spark identifier (backquotes inside are doubled).

    >>> quote_identifier("a`b")
    '`a``b`'
    """
    return "`" + name.replace("`", "``") + "`"


class Lowering:
    """Lowering context: how to resolve secrets, and the secret columns lowering has used.

    ``prefix`` names the secret columns (``<prefix>0``, ``<prefix>1``, ...); after lowering,
    :attr:`secret_columns` maps each name to the value the one-row relation must hold.
    """

    def __init__(self, secrets: SecretResolver, prefix: str = "__immuta_secret_") -> None:
        self.secrets = secrets
        self.prefix = prefix
        self.secret_columns: dict[str, str] = {}

    def secret_column(self, value: str) -> SparkColumn:
        """The column that carries ``value`` (one per distinct value)."""
        for name, known in self.secret_columns.items():
            if known == value:
                return F.col(quote_identifier(name))
        name = f"{self.prefix}{len(self.secret_columns)}"
        self.secret_columns[name] = value
        return F.col(quote_identifier(name))


def lower(node: E.Expr, ctx: Lowering) -> SparkColumn:
    """The Spark Column for an expression tree."""
    return _lower(node, ctx)


@singledispatch
def _lower(node: Any, ctx: Lowering) -> SparkColumn:
    raise PolicyBindError(f"no Spark lowering for {type(node).__name__}; the source is closed (fail closed)")


@_lower.register
def _(node: E.Column, ctx: Lowering) -> SparkColumn:
    return F.col(quote_identifier(node.name))


@_lower.register
def _(node: E.Literal, ctx: Lowering) -> SparkColumn:
    return F.lit(node.value).cast(node.type)


@_lower.register
def _(node: E.NullOf, ctx: Lowering) -> SparkColumn:
    return F.lit(None).cast(node.type)


@_lower.register
def _(node: E.SecretRef, ctx: Lowering) -> SparkColumn:
    return ctx.secret_column(ctx.secrets(node).hex())


@_lower.register
def _(node: E.Cast, ctx: Lowering) -> SparkColumn:
    return _lower(node.child, ctx).cast(node.type)


@_lower.register
def _(node: E.Concat, ctx: Lowering) -> SparkColumn:
    return F.concat(*(_lower(p, ctx) for p in node.parts))


@_lower.register
def _(node: E.Sha256, ctx: Lowering) -> SparkColumn:
    return F.sha2(_lower(node.child, ctx), 256)


@_lower.register
def _(node: E.RegexReplace, ctx: Lowering) -> SparkColumn:
    return F.regexp_replace(_lower(node.child, ctx), F.lit(node.pattern), F.lit(node.replacement))


@_lower.register
def _(node: E.FloorTo, ctx: Lowering) -> SparkColumn:
    child = _lower(node.child, ctx)
    m = F.lit(node.multiple)
    return (F.floor(child / m) * m).cast(node.type)


@_lower.register
def _(node: E.TruncTime, ctx: Lowering) -> SparkColumn:
    child = _lower(node.child, ctx)
    if node.type.lower() == "date":
        if node.unit == "day":
            return child
        return F.trunc(child, node.unit)
    return F.date_trunc(node.unit, child).cast(node.type)


@_lower.register
def _(node: E.Token, ctx: Lowering) -> SparkColumn:
    # AES in ECB mode is deterministic: equal values give equal tokens, and the key reverses them.
    key = F.unhex(ctx.secret_column(ctx.secrets(node.key)[:32].hex()))
    return F.base64(F.aes_encrypt(_lower(node.child, ctx).cast("binary"), key, F.lit("ECB"), F.lit("PKCS")))


@_lower.register
def _(node: E.If, ctx: Lowering) -> SparkColumn:
    return F.when(_lower(node.condition, ctx), _lower(node.then, ctx)).otherwise(_lower(node.otherwise, ctx))


@_lower.register
def _(node: E.NowMinus, ctx: Lowering) -> SparkColumn:
    return F.current_timestamp() - F.make_dt_interval(secs=F.lit(node.seconds))


@_lower.register
def _(node: E.AlwaysTrue, ctx: Lowering) -> SparkColumn:
    return F.lit(True)


@_lower.register
def _(node: E.AlwaysFalse, ctx: Lowering) -> SparkColumn:
    return F.lit(False)


@_lower.register
def _(node: E.And, ctx: Lowering) -> SparkColumn:
    return _lower(node.left, ctx) & _lower(node.right, ctx)


@_lower.register
def _(node: E.Or, ctx: Lowering) -> SparkColumn:
    return _lower(node.left, ctx) | _lower(node.right, ctx)


@_lower.register
def _(node: E.Not, ctx: Lowering) -> SparkColumn:
    return ~_lower(node.child, ctx)


@_lower.register
def _(node: E.IsNull, ctx: Lowering) -> SparkColumn:
    return _lower(node.term, ctx).isNull()


@_lower.register
def _(node: E.EqualTo, ctx: Lowering) -> SparkColumn:
    return _lower(node.term, ctx) == _lower(node.literal, ctx)


@_lower.register
def _(node: E.In, ctx: Lowering) -> SparkColumn:
    if all(v.type == "string" and isinstance(v.value, str) for v in node.literals):
        # Plain strings bind as one literal list: one py4j call instead of several per value.
        return _lower(node.term, ctx).isin([v.value for v in node.literals])
    return _lower(node.term, ctx).isin([_lower(v, ctx) for v in node.literals])


@_lower.register
def _(node: E.GreaterOrEqual, ctx: Lowering) -> SparkColumn:
    return _lower(node.left, ctx) >= _lower(node.right, ctx)


@_lower.register
def _(node: E.SqlPredicate, ctx: Lowering) -> SparkColumn:
    # A governor's predicate, checked at apply; Spark's parser reads it, nothing is spliced.
    return F.expr(node.sql)


@_lower.register
def _(node: E.NullAs, ctx: Lowering) -> SparkColumn:
    return F.coalesce(_lower(node.child, ctx), F.lit(node.value))


@_lower.register
def _(node: E.HashBucketBelow, ctx: Lowering) -> SparkColumn:
    # xxhash64 is stable across runs and users, so the sample is the same for everyone.
    return F.pmod(F.xxhash64(_lower(node.term, ctx)), F.lit(10000)) < F.lit(round(node.percent * 100))


@_lower.register
def _(node: E.GroupSmallerThan, ctx: Lowering) -> SparkColumn:
    window = Window.partitionBy(*(F.col(quote_identifier(c)) for c in node.columns))
    return F.count(F.lit(1)).over(window) < F.lit(node.k)
