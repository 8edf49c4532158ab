"""The one module that turns our expression tree into native Spark Columns.

Every node becomes a built-in Spark expression (no Python UDFs): values are bound with
``lit``, column names are quoted, and a governor's SQL predicate is parsed by Spark itself.
Secrets (salts, keys) are never literals: a literal is printed by every plan string (EXPLAIN,
``DataFrame.explain``, analysis errors). Each secret becomes a scalar subquery over a one-row
local relation; plans print only its column name, and at run time Spark computes the subquery
once and puts its value into the generated code as a constant (as fast as a literal; a cross
join with the relation cost a quarter more on 5M rows).
The reversible and format-preserving masks are the exceptions that Spark's functions cannot do
well: they call the project's JVM classes through Spark's ``StaticInvoke``
(:mod:`immuta_spark.spark.mask_jvm`), and where those cannot be loaded the token falls back to
native functions and FF3-1 to the product's one pandas UDF.

Columns are built with the JVM's ``org.apache.spark.sql.functions`` and ``Column`` methods
directly, one py4j round trip a node. Going through ``pyspark.sql.functions`` gives the same
expressions but records the Python call site around every call (several round trips each),
which made lowering the larger part of building an enforced DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import singledispatch
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql.classic.column import Column as ClassicColumn

from immuta_spark import expr as E
from immuta_spark.errors import PolicyBindError
from immuta_spark.masks.format_preserving import fpe_keys
from immuta_spark.masks.reversible import AAD, BUCKET, IV_BYTES, token_keys
from immuta_spark.spark.fpe import fpe_udf
from immuta_spark.spark.mask_jvm import MaskClasses, mask_classes

__all__ = ["JvmFunctions", "Lowering", "lower", "lower_columns", "quote_identifier"]

SecretResolver = Callable[[E.SecretRef], bytes]


def quote_identifier(name: str) -> str:
    """A backquoted Spark identifier (backquotes inside are doubled).

    >>> quote_identifier("a`b")
    '`a``b`'
    """
    return "`" + name.replace("`", "``") + "`"


class JvmFunctions:
    """Handles on the JVM's column functions, looked up once per JVM (each lookup is a round trip)."""

    def __init__(self, jvm: Any, *, jvm_masks: bool = True) -> None:
        self.f = jvm.org.apache.spark.sql.functions
        #: The JVM forms of the reversible and format-preserving masks, or None (portable forms).
        self.masks: MaskClasses | None = mask_classes(jvm) if jvm_masks else None
        self.to_seq = jvm.org.apache.spark.api.python.PythonUtils.toSeq
        self.metadata = jvm.org.apache.spark.sql.types.Metadata


class Lowering:
    """Lowering context: the JVM's functions, how to resolve secrets, and the secrets used.

    ``scalar(name, value)`` makes the scalar subquery that carries a secret, its one column
    named ``name`` (``<prefix>0``, ``<prefix>1``, ...); after lowering, :attr:`secret_columns`
    maps each name to its value. :attr:`group_counts` names, for each k-anonymization group (its
    columns), the column its row's group count was joined on as (:mod:`immuta_spark.spark.kanon`).
    """

    def __init__(
        self,
        functions: JvmFunctions,
        secrets: SecretResolver,
        scalar: Callable[[str, str], Any],
        prefix: str = "__immuta_secret_",
    ) -> None:
        self.secrets = secrets
        self.prefix = prefix
        self.secret_columns: dict[str, str] = {}
        self.group_counts: dict[tuple[str, ...], str] = {}
        self.f = functions.f
        self._functions = functions
        self._scalar = scalar
        self._scalars: dict[str, Any] = {}

    def metadata_from_json(self, text: str) -> Any:
        """A JVM ``Metadata`` from its JSON."""
        return self._functions.metadata.fromJson(text)

    def seq(self, items: Sequence[Any]) -> Any:
        """A Scala Seq of ``items`` (for the functions that take Column*)."""
        return self._functions.to_seq(list(items))

    @property
    def masks(self) -> MaskClasses | None:
        """The JVM mask classes, when loaded (see :mod:`immuta_spark.spark.mask_jvm`)."""
        return self._functions.masks

    def secret_column(self, value: str) -> Any:
        """The scalar subquery that carries ``value`` (one per distinct value)."""
        if value not in self._scalars:
            name = f"{self.prefix}{len(self.secret_columns)}"
            self.secret_columns[name] = value
            self._scalars[value] = self._scalar(name, value)
        return self._scalars[value]


def lower(node: E.Expr, ctx: Lowering) -> SparkColumn:
    """The Spark Column for an expression tree."""
    return ClassicColumn(_lower(node, ctx))


def lower_columns(
    columns: Sequence[tuple[str, E.Expr]], ctx: Lowering, metadata: Sequence[dict[str, str] | None] = ()
) -> list[SparkColumn]:
    """The Spark Columns for ``(name, tree)`` pairs, each aliased to its name.

    ``metadata[i]``, when given, becomes the field metadata of column ``i`` (what a governed
    DataFrame's schema says of a masked column).
    """
    import json

    out = []
    for i, (name, term) in enumerate(columns):
        column = _lower(term, ctx)
        meta = metadata[i] if i < len(metadata) else None
        if meta:
            jmeta = ctx.metadata_from_json(json.dumps(meta, sort_keys=True))
            out.append(ClassicColumn(getattr(column, "as")(name, jmeta)))
        else:
            out.append(ClassicColumn(column.alias(name)))
    return out


@singledispatch
def _lower(node: Any, ctx: Lowering) -> Any:
    raise PolicyBindError(f"no Spark lowering for {type(node).__name__}; the source is closed (fail closed)")


@_lower.register
def _(node: E.Column, ctx: Lowering) -> Any:
    return ctx.f.col(quote_identifier(node.name))


@_lower.register
def _(node: E.Literal, ctx: Lowering) -> Any:
    return ctx.f.lit(node.value).cast(node.type)


@_lower.register
def _(node: E.NullOf, ctx: Lowering) -> Any:
    return ctx.f.lit(None).cast(node.type)


@_lower.register
def _(node: E.SecretRef, ctx: Lowering) -> Any:
    return ctx.secret_column(ctx.secrets(node).hex())


@_lower.register
def _(node: E.Cast, ctx: Lowering) -> Any:
    return _lower(node.child, ctx).cast(node.type)


@_lower.register
def _(node: E.Concat, ctx: Lowering) -> Any:
    return ctx.f.concat(ctx.seq([_lower(p, ctx) for p in node.parts]))


@_lower.register
def _(node: E.Sha256, ctx: Lowering) -> Any:
    return ctx.f.sha2(_lower(node.child, ctx), 256)


@_lower.register
def _(node: E.RegexReplace, ctx: Lowering) -> Any:
    f = ctx.f
    return f.regexp_replace(_lower(node.child, ctx), f.lit(node.pattern), f.lit(node.replacement))


@_lower.register
def _(node: E.FloorTo, ctx: Lowering) -> Any:
    child = _lower(node.child, ctx)
    m = ctx.f.lit(node.multiple)
    return ctx.f.floor(child.divide(m)).multiply(m).cast(node.type)


@_lower.register
def _(node: E.TruncTime, ctx: Lowering) -> Any:
    child = _lower(node.child, ctx)
    if node.type.lower() == "date":
        if node.unit == "day":
            return child
        return ctx.f.trunc(child, node.unit)
    return ctx.f.date_trunc(node.unit, child).cast(node.type)


@_lower.register
def _(node: E.Token, ctx: Lowering) -> Any:
    # The SIV construction of immuta_spark.masks.reversible, step by step in native functions.
    f = ctx.f
    keys = token_keys(ctx.secrets(node.key))

    def secret(value: bytes) -> Any:
        return f.unhex(ctx.secret_column(value.hex()))

    child = _lower(node.child, ctx)
    if ctx.masks is not None:  # a string: Tokens reads its UTF-8 bytes in place
        hexed = [ctx.secret_column(keys.enc.hex()), ctx.secret_column(keys.mac.hex())]
        return ctx.masks.call(ctx.masks.tokens, "tokenize", [child, *hexed])
    data = child.cast("binary")
    pad = f.unhex(f.lit("80" + "00" * (BUCKET - 1))).substr(
        f.lit(1), f.lit(BUCKET).minus(f.pmod(f.octet_length(data), f.lit(BUCKET)))
    )
    padded = f.concat(ctx.seq([data, pad]))
    inner = f.unhex(f.sha2(f.concat(ctx.seq([secret(keys.inner), padded])), 256))
    mac = f.unhex(f.sha2(f.concat(ctx.seq([secret(keys.outer), inner])), 256))
    iv = mac.substr(f.lit(1), f.lit(IV_BYTES))
    sealed = f.aes_encrypt(padded, secret(keys.enc), f.lit("GCM"), f.lit("DEFAULT"), iv, f.lit(AAD))
    return f.translate(f.base64(sealed), "\r\n", "")  # Spark's base64 breaks lines at 76: a token is one word


@_lower.register
def _(node: E.FormatPreserve, ctx: Lowering) -> Any:
    keys = fpe_keys(ctx.secrets(node.key))
    if ctx.masks is not None and ctx.masks.ff3 is not None:
        hexed = [ctx.secret_column(v) for v in (keys.key, keys.tweak_seed.hex(), keys.short.hex())]
        return ctx.masks.call(ctx.masks.ff3, "mask", [_lower(node.child, ctx), *hexed])
    # Without Bouncy Castle: the product's one UDF, vectorised over Arrow batches.
    udf = fpe_udf(keys)
    return udf(ClassicColumn(_lower(node.child, ctx)))._jc


@_lower.register
def _(node: E.If, ctx: Lowering) -> Any:
    return ctx.f.when(_lower(node.condition, ctx), _lower(node.then, ctx)).otherwise(_lower(node.otherwise, ctx))


@_lower.register
def _(node: E.NowMinus, ctx: Lowering) -> Any:
    f = ctx.f
    zero = f.lit(0)
    return f.current_timestamp().minus(f.make_dt_interval(zero, zero, zero, f.lit(node.seconds)))


@_lower.register
def _(node: E.InputFile, ctx: Lowering) -> Any:
    # Object-backed sources: file conditions were decided per file before lowering (immuta_spark.objects).
    return ctx.f.input_file_name()


@_lower.register
def _(node: E.AlwaysTrue, ctx: Lowering) -> Any:
    return ctx.f.lit(True)


@_lower.register
def _(node: E.AlwaysFalse, ctx: Lowering) -> Any:
    return ctx.f.lit(False)


@_lower.register
def _(node: E.And, ctx: Lowering) -> Any:
    return getattr(_lower(node.left, ctx), "and")(_lower(node.right, ctx))


@_lower.register
def _(node: E.Or, ctx: Lowering) -> Any:
    return getattr(_lower(node.left, ctx), "or")(_lower(node.right, ctx))


@_lower.register
def _(node: E.Not, ctx: Lowering) -> Any:
    return getattr(ctx.f, "not")(_lower(node.child, ctx))


@_lower.register
def _(node: E.IsNull, ctx: Lowering) -> Any:
    return _lower(node.term, ctx).isNull()


@_lower.register
def _(node: E.EqualTo, ctx: Lowering) -> Any:
    return _lower(node.term, ctx).equalTo(_lower(node.literal, ctx))


@_lower.register
def _(node: E.In, ctx: Lowering) -> Any:
    if all(v.type == "string" and isinstance(v.value, str) for v in node.literals):
        # Plain strings go over as they are: Column.isin makes each a literal, as lit would.
        return _lower(node.term, ctx).isin(ctx.seq([v.value for v in node.literals]))
    return _lower(node.term, ctx).isin(ctx.seq([_lower(v, ctx) for v in node.literals]))


@_lower.register
def _(node: E.GreaterOrEqual, ctx: Lowering) -> Any:
    return _lower(node.left, ctx).geq(_lower(node.right, ctx))


@_lower.register
def _(node: E.SqlPredicate, ctx: Lowering) -> Any:
    # A governor's predicate, checked at apply; Spark's parser reads it, nothing is spliced.
    return ctx.f.expr(node.sql)


@_lower.register
def _(node: E.NullAs, ctx: Lowering) -> Any:
    return ctx.f.coalesce(ctx.seq([_lower(node.child, ctx), ctx.f.lit(node.value)]))


@_lower.register
def _(node: E.HashBucketBelow, ctx: Lowering) -> Any:
    # xxhash64 is stable across runs and users, so the sample is the same for everyone.
    f = ctx.f
    bucket = f.pmod(f.xxhash64(ctx.seq([_lower(node.term, ctx)])), f.lit(10000))
    return bucket.lt(f.lit(round(node.percent * 100)))


@_lower.register
def _(node: E.GroupSmallerThan, ctx: Lowering) -> Any:
    # The group's count is joined onto the rows beforehand (spark/kanon.py): a window would sort every row.
    count = ctx.group_counts.get(node.columns)
    if count is None:
        raise PolicyBindError(
            f"no group counts for the k-anonymization over {', '.join(node.columns)}; the source is closed "
            "(fail closed): report this as a bug"
        )
    return ctx.f.col(quote_identifier(count)).lt(ctx.f.lit(node.k))
