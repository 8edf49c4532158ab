"""Policy SQL predicates without an engine: limits, then sqlglot's parser of Spark's syntax, then the checks.

Apply checks every ``where`` predicate. :func:`check_limits` always runs first (whatever checker
is in use) and bounds its size, so no predicate can make apply slow: at most
:data:`MAX_PREDICATE_CHARS` characters, :data:`MAX_PREDICATE_TOKENS` tokens and
:data:`MAX_PREDICATE_DEPTH` levels of nesting (sqlglot's tokenizer counts them). An engine's
checker (Spark's parser, registered through :mod:`immuta_spark.checkers`) then reads it; without
one, :func:`check_predicate` parses it with `sqlglot <https://sqlglot.com>`_ (its ``spark``
dialect, as one expression, never a statement) and refuses the same forms the Spark checker
refuses, in the same words:

- a subquery in any spelling (``(SELECT ...)``, ``EXISTS``, ``IN (SELECT ...)``, ``(WITH ...)``,
  ``(VALUES ...)``, ``ANY (SELECT ...)``, a table or lateral reference);
- a forbidden function (:data:`FORBIDDEN_FUNCTIONS`: non-deterministic, identity, session or
  reflection functions) in any case, backquoted or not, and a qualified function name (``db.f()``);
- an identity function written as a bare name (``current_user``, ``user``, ``session_user``,
  any case, backquoted or not): Spark resolves a bare name that is not a column to that
  function. It is a column only when the source's data dictionary declares it;
- ``IDENTIFIER(...)`` (it names a column or function only at analysis), window functions,
  parameter markers, ``*``, qualified columns and, with a dictionary, unknown columns.

Like Spark's own parser (outside ANSI reserved-keyword mode), the dialect used here reads the
bare names ``current_user``, ``user``, ``session_user``, ``current_date``, ``current_timestamp``
as column references; sqlglot's stock Spark dialect would make some of them function calls.

>>> check_predicate("amount < 1000 AND state IN ('OH', 'TX')") is None
True
>>> check_predicate("current_user = 'bob'").startswith("current_user is Spark's current_user() function")
True
>>> check_predicate("RAND(1) < 0.5")
'function RAND() is not allowed in a policy predicate'
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import SqlglotError, TokenError
from sqlglot.tokens import TokenType

__all__ = [
    "FORBIDDEN_FUNCTIONS",
    "IDENTITY_NAMES",
    "MAX_PREDICATE_CHARS",
    "MAX_PREDICATE_DEPTH",
    "MAX_PREDICATE_TOKENS",
    "check_limits",
    "check_predicate",
    "check_tree",
    "identity_message",
    "not_allowed",
    "parse_predicate",
]

MAX_PREDICATE_CHARS = 10_000
MAX_PREDICATE_TOKENS = 1_000
MAX_PREDICATE_DEPTH = 32

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

SUBQUERY_MESSAGE = "a policy predicate may not contain a subquery (it may read only the source's own columns)"
#: sqlglot nodes that read a relation: a subquery in any form (a SELECT, set operation, VALUES,
#: WITH, table, FROM, join, LATERAL). EXISTS and IN hold one of these when they hold a query.
_RELATION_NODES = (exp.Query, exp.Subquery, exp.Values, exp.With, exp.CTE, exp.Table, exp.From, exp.Join, exp.Lateral)
#: sqlglot nodes of a statement rather than an expression (parsing into an expression already
#: refuses them at the top; this holds anywhere in the tree).
_STATEMENT_NODES = (exp.DDL, exp.DML, exp.Command)
_PARAMETER_NODES = (exp.Placeholder, exp.Parameter, exp.SessionParameter)
_OPEN = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE})
_CLOSE = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END})
_PREFIX = frozenset({TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE})
_CLASS = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|`(?:[^`]|``)+`")


class _SparkExpressions(Spark):
    """sqlglot's Spark dialect, reading bare ``current_user``, ``current_date``, ... as columns.

    Spark's parser does the same outside ANSI reserved-keyword mode (its analyzer then turns a
    bare name that is not a column into the function), so a bare identity name reaches the
    column rule of :func:`check_tree` with its spelling, as it does in Spark's checker.
    """

    class Parser(Spark.Parser):
        """Spark's expression parser without sqlglot's functions called without parentheses."""

        NO_PAREN_FUNCTIONS: dict = {}  # noqa: RUF012 (a class attribute of sqlglot's, replaced)


_DIALECT = _SparkExpressions()


def not_allowed(what: str) -> str:
    """The refusal of a form a policy predicate may not use: the same words with and without Spark."""
    return f"{what} is not allowed in a policy predicate"


def identity_message(name: str) -> str:
    """The refusal of a bare identity name: the same words with and without Spark."""
    return (
        f"{name} is Spark's {name.lower()}() function unless the source has a column of that name; "
        "identity functions are not allowed in a policy predicate (declare the column in the source's "
        "dictionary to read a column of that name)"
    )


def check_limits(sql: str) -> str | None:
    """Why ``sql`` is too large or too deeply nested to check, or None. Linear in its length.

    Nesting counts brackets, ``CASE ... END`` and runs of prefix operators (``NOT``, ``-``,
    ``+``, ``~``), each of which sqlglot's parser (like Spark's) reads by recursion.
    """
    if len(sql) > MAX_PREDICATE_CHARS:
        return (
            f"the predicate is {len(sql):,} characters long; a policy predicate may have at most "
            f"{MAX_PREDICATE_CHARS:,}; simplify it"
        )
    try:
        found = _DIALECT.tokenize(sql)
    except TokenError as exc:
        return _invalid(exc)
    if len(found) > MAX_PREDICATE_TOKENS:
        return (
            f"the predicate has more than {MAX_PREDICATE_TOKENS:,} tokens; simplify it (for a long list "
            "of values use a row policy matching a user attribute, or a smaller IN list)"
        )
    depth = run = 0
    for token in found:
        kind = token.token_type
        run = run + 1 if kind in _PREFIX else 0
        if kind in _OPEN:
            depth += 1
        elif kind in _CLOSE:
            depth -= 1
        if depth + run > MAX_PREDICATE_DEPTH:
            return f"the predicate nests more than {MAX_PREDICATE_DEPTH} deep; simplify it"
    return None


def _invalid(exc: SqlglotError) -> str:
    """sqlglot's error as one short line (without repeating the predicate)."""
    errors = getattr(exc, "errors", None) or []
    if errors:
        first = errors[0]
        found = f" near {first['highlight']!r}" if first.get("highlight") else ""
        description = _CLASS.sub(r"\1", str(first.get("description", "syntax error")))
        return f"invalid SQL predicate: {description}{found} (line {first.get('line')}, column {first.get('col')})"
    message = (str(exc).strip().splitlines() or ["syntax error"])[0]
    if isinstance(exc, TokenError):
        message = "unterminated string, quoted name or comment"
    return f"invalid SQL predicate: {message[:200]}"


def parse_predicate(sql: str) -> exp.Expression:
    """sqlglot's tree of ``sql`` as one Spark expression; raises ValueError (saying why) otherwise.

    The limits run first. A statement, several statements or trailing text is a syntax error.
    """
    problem = check_limits(sql)
    if problem:
        raise ValueError(problem)
    try:
        found = _DIALECT.tokenize(sql)
        for token in found:
            if token.token_type == TokenType.SEMICOLON:  # sqlglot drops a trailing one; Spark refuses it
                raise ValueError(
                    f"invalid SQL predicate: ';' at line {token.line}, column {token.col} "
                    "(a predicate is one expression, not statements)"
                )
        tree = _DIALECT.parser().parse_into(exp.Condition, found, sql)[0]
    except SqlglotError as exc:
        raise ValueError(_invalid(exc)) from None
    except RecursionError:  # a backstop: the nesting limit keeps real predicates far from it
        raise ValueError(f"the predicate nests more than {MAX_PREDICATE_DEPTH} deep; simplify it") from None
    if tree is None:
        raise ValueError("invalid SQL predicate: it is empty")
    return tree


def check_predicate(sql: str, columns: tuple[str, ...] | None = None) -> str | None:
    """An error message for an unacceptable predicate, or None (the pure fallback of Spark's checker)."""
    try:
        tree = parse_predicate(sql)
    except ValueError as exc:
        return str(exc)
    return check_tree(tree, columns, sql)


def check_tree(tree: exp.Expression, columns: tuple[str, ...] | None, sql: str = "") -> str | None:
    """Walk a parsed predicate (no recursion) and say what a policy predicate may not contain.

    ``sql`` is the text ``tree`` was parsed from: refusals name functions as written there.
    """
    known = {c.lower() for c in columns} if columns else None
    stack = [tree]
    while stack:
        node = stack.pop()
        problem = _node_problem(node, known, columns, sql)
        if problem:
            return problem
        stack.extend(node.iter_expressions())
    return None


def _node_problem(
    node: exp.Expression, known: set[str] | None, columns: tuple[str, ...] | None, sql: str
) -> str | None:
    """What is wrong with this one node (not its children), or None."""
    if isinstance(node, _STATEMENT_NODES):
        return f"invalid SQL predicate: a {type(node).__name__.upper()} statement is not an expression"
    if isinstance(node, _RELATION_NODES):
        return SUBQUERY_MESSAGE
    if isinstance(node, exp.Window):
        return not_allowed("a window function (OVER)")
    if isinstance(node, _PARAMETER_NODES):
        return not_allowed("a parameter marker")
    if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
        return "a policy predicate may not use '*'"
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return not_allowed(f"function {_dotted(node.this)}.{_function_name(node.expression, sql)}()")
    if isinstance(node, exp.Func):
        name = _function_name(node, sql)
        if name.lower() == "identifier":  # backquoted too: stricter than Spark, which calls a function
            return not_allowed("IDENTIFIER(...)")
        if name.lower() in FORBIDDEN_FUNCTIONS or node.sql_name().lower() in FORBIDDEN_FUNCTIONS:
            return not_allowed(f"function {name}()")
    if isinstance(node, exp.Column):
        parts = [part.name for part in node.parts]
        if len(parts) != 1:
            return f"column {'.'.join(parts)} is qualified; a policy predicate reads only its source's columns"
        name = parts[0]
        if name.lower() in IDENTITY_NAMES and (known is None or name.lower() not in known):
            return identity_message(name)
        if known is not None and name.lower() not in known:
            return f"unknown column '{name}'; the data dictionary has: {', '.join(sorted(columns or ()))}"
    return None


def _source_name(node: exp.Expression, sql: str) -> str | None:
    """The name token of a call as written in ``sql`` (sqlglot records its position), or None."""
    start, end = node.meta.get("start"), node.meta.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    text = sql[start : end + 1]
    return text if _NAME.fullmatch(text) else None


def _function_name(node: exp.Expression, sql: str) -> str:
    """A call's name as written (unquoted), else sqlglot's name for it."""
    text = _source_name(node, sql)
    if text is not None:
        return text[1:-1].replace("``", "`") if text.startswith("`") else text
    if isinstance(node, exp.Anonymous):
        return node.name
    return node.sql_name().lower() if isinstance(node, exp.Func) else node.key


def _dotted(node: exp.Expression) -> str:
    """The qualifier of a qualified call (``db`` of ``db.f()``), as written."""
    if isinstance(node, exp.Identifier):
        return node.name
    if isinstance(node, exp.Dot):
        return f"{_dotted(node.this)}.{_dotted(node.expression)}"
    if isinstance(node, exp.Column):
        return ".".join(part.name for part in node.parts)
    return node.sql(dialect=_DIALECT)
