"""Our small immutable expression tree: what a compiled policy plan is made of.

Policies compile to these nodes, never to SQL text. Exactly one module,
:mod:`immuta_spark.spark.lower`, turns a tree into native Spark Columns. User values only ever
appear as :class:`Literal` nodes (bound, never spliced), and secrets only as
:class:`SecretRef` nodes whose printed form hides them.

A type of None in a node is the masked column's own type when it is not known yet: the plan
was compiled without a schema, to be explained. Plans that are lowered are compiled with the
table's schema, so every type in them is known.

``And``/``Or`` fold ``AlwaysTrue``/``AlwaysFalse`` as they are built (as pyiceberg does), so a
plan with no row policies has the filter ``AlwaysTrue()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

__all__ = [
    "AlwaysFalse",
    "AlwaysTrue",
    "And",
    "Cast",
    "Column",
    "Concat",
    "EqualTo",
    "Expr",
    "FileAttribute",
    "FileFolder",
    "FileModified",
    "FloorTo",
    "FormatPreserve",
    "GreaterOrEqual",
    "GroupSmallerThan",
    "HashBucketBelow",
    "If",
    "In",
    "InputFile",
    "IsNull",
    "Literal",
    "Not",
    "NowMinus",
    "NullAs",
    "NullOf",
    "Or",
    "Predicate",
    "RegexReplace",
    "SecretRef",
    "Sha256",
    "SqlPredicate",
    "Term",
    "Token",
    "TruncTime",
    "and_",
    "columns_of",
    "in_",
    "nodes",
    "or_",
    "reads_files",
]

LiteralValue = str | int | float | bool | Decimal | date | datetime


class Expr:
    """Base of every node."""

    __slots__ = ()


class Term(Expr):
    """A node that yields a value."""

    __slots__ = ()


class Predicate(Expr):
    """A node that yields a boolean (possibly NULL)."""

    __slots__ = ()


# --- terms ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column(Term):
    """A column of the governed table, by its name in the table's schema."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal(Term):
    """A bound literal of Spark SQL type ``type`` (None: the masked column's, not known yet)."""

    value: LiteralValue
    type: str | None


@dataclass(frozen=True, slots=True)
class NullOf(Term):
    """A typed NULL (``type`` None: the masked column's, not known yet)."""

    type: str | None


@dataclass(frozen=True, slots=True)
class SecretRef(Term):
    """A secret (salt or key) from the catalog, resolved only when lowering.

    The printed form never shows the value: the node holds only where to find it.
    """

    scope: str  # "source" | "project"
    owner: str  # the source or project name
    purpose: str  # "hash_salt" | "token_key" | "fpe_key"

    def __repr__(self) -> str:
        return f"SecretRef({self.scope}:{self.owner}:{self.purpose})"


@dataclass(frozen=True, slots=True)
class Cast(Term):
    """``CAST(child AS type)``."""

    child: Term
    type: str


@dataclass(frozen=True, slots=True)
class Concat(Term):
    """String concatenation."""

    parts: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Sha256(Term):
    """Hex SHA-256 of a string or binary term."""

    child: Term


@dataclass(frozen=True, slots=True)
class RegexReplace(Term):
    """``regexp_replace(child, pattern, replacement)``; pattern and replacement are bound."""

    child: Term
    pattern: str
    replacement: str


@dataclass(frozen=True, slots=True)
class FloorTo(Term):
    """A number floored to a multiple of ``multiple`` (keeps the column's type; None: not known yet)."""

    child: Term
    multiple: int | float
    type: str | None


@dataclass(frozen=True, slots=True)
class TruncTime(Term):
    """A date or timestamp truncated to ``unit`` (hour, day, month, year); ``type`` as :class:`FloorTo`."""

    child: Term
    unit: str
    type: str | None


@dataclass(frozen=True, slots=True)
class Token(Term):
    """A deterministic, reversible token of a value (reversible masking)."""

    child: Term
    key: SecretRef


@dataclass(frozen=True, slots=True)
class FormatPreserve(Term):
    """FF3-1 format-preserving encryption of a value."""

    child: Term
    key: SecretRef


@dataclass(frozen=True, slots=True)
class If(Term):
    """``CASE WHEN condition THEN then ELSE otherwise END``."""

    condition: Predicate
    then: Term
    otherwise: Term


@dataclass(frozen=True, slots=True)
class NowMinus(Term):
    """The current timestamp minus ``seconds`` (evaluated once per query)."""

    seconds: int


@dataclass(frozen=True, slots=True)
class FileAttribute(Term):
    """A file's extended attribute ``user.<name>`` (NULL when it has none): object-backed sources only.

    File terms are decided per file on the driver, from one listing per query, before lowering:
    a predicate over them becomes ``InputFile() IN (the files it holds for)``.
    """

    name: str


@dataclass(frozen=True, slots=True)
class FileFolder(Term):
    """The value of the ``key=value`` directory above a file (NULL when there is none)."""

    key: str


@dataclass(frozen=True, slots=True)
class FileModified(Term):
    """A file's modification time (a timestamp)."""


@dataclass(frozen=True, slots=True)
class InputFile(Term):
    """The qualified path of the file a row was read from (Spark's ``input_file_name()``)."""


# --- predicates -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlwaysTrue(Predicate):
    """TRUE."""


@dataclass(frozen=True, slots=True)
class AlwaysFalse(Predicate):
    """FALSE."""


@dataclass(frozen=True, slots=True)
class And(Predicate):
    """Both hold. Build with :func:`and_` to fold constants."""

    left: Predicate
    right: Predicate


@dataclass(frozen=True, slots=True)
class Or(Predicate):
    """Either holds. Build with :func:`or_` to fold constants."""

    left: Predicate
    right: Predicate


@dataclass(frozen=True, slots=True)
class Not(Predicate):
    """Negation."""

    child: Predicate


@dataclass(frozen=True, slots=True)
class IsNull(Predicate):
    """``term IS NULL``."""

    term: Term


@dataclass(frozen=True, slots=True)
class EqualTo(Predicate):
    """``term = literal``."""

    term: Term
    literal: Literal


@dataclass(frozen=True, slots=True)
class In(Predicate):
    """``term IN (literals...)``; an empty set is ``AlwaysFalse`` (see :func:`in_`)."""

    term: Term
    literals: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class GreaterOrEqual(Predicate):
    """``left >= right``."""

    left: Term
    right: Term


@dataclass(frozen=True, slots=True)
class SqlPredicate(Predicate):
    """A governor-written SQL predicate, parsed by Spark's own parser when lowered."""

    sql: str


@dataclass(frozen=True, slots=True)
class NullAs(Predicate):
    """``coalesce(child, value)``: how an unknown (NULL) outcome is decided, failing closed."""

    child: Predicate
    value: bool


@dataclass(frozen=True, slots=True)
class HashBucketBelow(Predicate):
    """A stable sample: the row's hash bucket of ``term`` (of 10,000) is below ``percent``%."""

    term: Term
    percent: float


@dataclass(frozen=True, slots=True)
class GroupSmallerThan(Predicate):
    """The row's combination of ``columns`` occurs fewer than ``k`` times (k-anonymization)."""

    columns: tuple[str, ...]
    k: int


# --- builders ---------------------------------------------------------------------------


def and_(*preds: Predicate) -> Predicate:
    """Conjunction that folds TRUE away and short-circuits on FALSE.

    >>> and_(AlwaysTrue(), IsNull(Column("a")))
    IsNull(term=Column(name='a'))
    >>> and_(IsNull(Column("a")), AlwaysFalse())
    AlwaysFalse()
    """
    out: Predicate = AlwaysTrue()
    for p in preds:
        if isinstance(p, AlwaysFalse):
            return p
        if isinstance(p, AlwaysTrue):
            continue
        out = p if isinstance(out, AlwaysTrue) else And(out, p)
    return out


def or_(*preds: Predicate) -> Predicate:
    """Disjunction that folds FALSE away and short-circuits on TRUE."""
    out: Predicate = AlwaysFalse()
    for p in preds:
        if isinstance(p, AlwaysTrue):
            return p
        if isinstance(p, AlwaysFalse):
            continue
        out = p if isinstance(out, AlwaysFalse) else Or(out, p)
    return out


def in_(term: Term, values: frozenset[str] | tuple[str, ...]) -> Predicate:
    """``term IN values`` as string literals; no values gives ``AlwaysFalse``."""
    if not values:
        return AlwaysFalse()
    return In(term, tuple(Literal(v, "string") for v in sorted(values)))


def nodes(*roots: Expr) -> Iterator[Expr]:
    """Every node of the trees ``roots``, depth first and left to right (fields in declaration order)."""
    stack: list[object] = list(reversed(roots))
    while stack:
        n = stack.pop()
        if isinstance(n, Expr):
            yield n
            stack.extend(reversed([getattr(n, f) for f in n.__dataclass_fields__]))  # type: ignore[attr-defined]
        elif isinstance(n, tuple):
            stack.extend(reversed(n))


def columns_of(node: Expr) -> frozenset[str]:
    """Every column a tree reads (SQL predicates are opaque here: Spark's parser binds them)."""
    found: set[str] = set()
    for n in nodes(node):
        if isinstance(n, Column):
            found.add(n.name)
        elif isinstance(n, GroupSmallerThan):
            found.update(n.columns)
    return frozenset(found)


def reads_files(node: Expr) -> bool:
    """Whether a tree holds file terms (:class:`FileAttribute`, :class:`FileFolder`, :class:`FileModified`)."""
    return any(isinstance(n, (FileAttribute, FileFolder, FileModified)) for n in nodes(node))
