"""Policy SQL predicates without an engine: limits, a parser for Spark's expression syntax, the checks.

Apply checks every ``where`` predicate. :func:`check_limits` always runs first (whatever checker
is in use) and bounds its size, so no predicate can make apply slow: at most
:data:`MAX_PREDICATE_CHARS` characters, :data:`MAX_PREDICATE_TOKENS` tokens and
:data:`MAX_PREDICATE_DEPTH` levels of nesting. An engine's checker (Spark's parser, registered
through :mod:`immuta_spark.checkers`) then reads it; without one, :func:`check_predicate` parses
it here, into a small tree, and refuses the same forms the Spark checker refuses:

- a subquery in any spelling (``(SELECT ...)``, ``EXISTS``, ``IN (SELECT ...)``, ``(WITH ...)``);
- a forbidden function (:data:`FORBIDDEN_FUNCTIONS`: non-deterministic, identity, session or
  reflection functions) in any case, and a qualified function name (``db.f()``);
- an identity function written as a bare name (``current_user``, ``user``, ``session_user``,
  any case, backquoted or not): Spark resolves a bare name that is not a column to that
  function. It is a column only when the source's data dictionary declares it;
- ``IDENTIFIER(...)`` (it names a column or function only at analysis), window functions,
  parameter markers, ``*``, qualified columns and, with a dictionary, unknown columns.

This parser is stricter than Spark's where it cannot tell: syntax it does not know is refused
("cannot check ... without Spark"), never let through.

>>> check_predicate("amount < 1000 AND state IN ('OH', 'TX')") is None
True
>>> check_predicate("current_user = 'bob'").startswith("current_user is Spark's current_user() function")
True
"""

from __future__ import annotations

from immuta_spark.sqlgrammar import (
    MAX_PREDICATE_DEPTH,
    MAX_PREDICATE_TOKENS,
    Refused,
    SqlNode,
    not_allowed,
    parse,
    tokens,
)

__all__ = [
    "FORBIDDEN_FUNCTIONS",
    "IDENTITY_NAMES",
    "MAX_PREDICATE_CHARS",
    "MAX_PREDICATE_DEPTH",
    "MAX_PREDICATE_TOKENS",
    "SqlNode",
    "check_limits",
    "check_predicate",
    "check_tree",
    "identity_message",
    "not_allowed",
    "parse_predicate",
]

MAX_PREDICATE_CHARS = 10_000

#: Functions a policy predicate may not call, by lower-case name: rows would differ between runs
#: or sessions, the JVM's user would be tested instead of ours, or the JVM reached by reflection.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "rand", "randn", "random", "uuid", "shuffle", "monotonically_increasing_id", "spark_partition_id",
        "input_file_name", "input_file_block_start", "input_file_block_length", "current_user", "user",
        "session_user", "reflect", "java_method", "try_reflect", "rand_str", "randstr", "uniform",
        "current_database", "current_schema", "current_catalog",
    }
)  # fmt: skip
#: Names that Spark resolves to the identity function when written bare and no column has them.
IDENTITY_NAMES = frozenset({"current_user", "user", "session_user"})


def check_limits(sql: str) -> str | None:
    """Why ``sql`` is too large or too deeply nested to check, or None. Linear in its length."""
    if len(sql) > MAX_PREDICATE_CHARS:
        return (
            f"the predicate is {len(sql):,} characters long; a policy predicate may have at most "
            f"{MAX_PREDICATE_CHARS:,}; simplify it"
        )
    try:
        found = tokens(sql)
    except Refused as exc:
        return str(exc)
    depth = 0
    for token in found:
        if token.kind == "op" and token.text in "([{":
            depth += 1
            if depth > MAX_PREDICATE_DEPTH:
                return f"the predicate nests parentheses more than {MAX_PREDICATE_DEPTH} deep; simplify it"
        elif token.kind == "op" and token.text in ")]}":
            depth -= 1
    return None


def identity_message(name: str) -> str:
    """The refusal of a bare identity name: the same words with and without Spark."""
    return (
        f"{name} is Spark's {name.lower()}() function unless the source has a column of that name; "
        "identity functions are not allowed in a policy predicate (declare the column in the source's "
        "dictionary to read a column of that name)"
    )


def parse_predicate(sql: str) -> SqlNode:
    """The tree of ``sql``; raises ValueError (its message says why) when it cannot be read."""
    problem = check_limits(sql)
    if problem:
        raise ValueError(problem)
    try:
        return parse(sql)
    except Refused as exc:
        raise ValueError(str(exc)) from None


def check_predicate(sql: str, columns: tuple[str, ...] | None = None) -> str | None:
    """An error message for an unacceptable predicate, or None (the pure fallback of Spark's checker)."""
    try:
        tree = parse_predicate(sql)
    except ValueError as exc:
        return str(exc)
    return check_tree(tree, columns)


def check_tree(tree: SqlNode, columns: tuple[str, ...] | None) -> str | None:
    """Walk a parsed predicate (no recursion) and say what a policy predicate may not contain."""
    known = {c.lower() for c in columns} if columns else None
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind == "subquery":
            return "a policy predicate may not contain a subquery (it may read only the source's own columns)"
        if node.kind == "call" and (node.qualified or node.name.lower() in FORBIDDEN_FUNCTIONS):
            return not_allowed(f"function {node.name}()")
        if node.kind == "column":
            if node.qualified:
                return f"column {node.name} is qualified; a policy predicate reads only its source's columns"
            if node.name.lower() in IDENTITY_NAMES and (known is None or node.name.lower() not in known):
                return identity_message(node.name)
            if known is not None and node.name.lower() not in known:
                return f"unknown column '{node.name}'; the data dictionary has: {', '.join(sorted(columns or ()))}"
        if node.kind == "star":
            return "a policy predicate may not use '*'"
        stack.extend(node.children)
    return None
