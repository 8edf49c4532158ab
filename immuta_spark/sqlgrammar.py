"""The tokenizer and parser behind :mod:`immuta_spark.sqlpredicate` (Spark's expression syntax).

Recursive descent over the parts of Spark's grammar a row predicate uses, with its nesting
bounded (:data:`MAX_PREDICATE_DEPTH`) so that no input reaches Python's recursion limit.
Subqueries are not parsed, only skipped to their closing parenthesis: they are refused anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_PREDICATE_DEPTH",
    "MAX_PREDICATE_TOKENS",
    "Refused",
    "SqlNode",
    "Token",
    "not_allowed",
    "parse",
    "tokens",
]

MAX_PREDICATE_TOKENS = 1_000
MAX_PREDICATE_DEPTH = 32

_TOKEN = re.compile(
    r"""(?P<ws>\s+|--[^\n]*|/\*.*?\*/)
      | (?P<str>(?:[rR])?'(?:[^'\\]|\\.)*'|(?:[rR])?"(?:[^"\\]|\\.)*")
      | (?P<quoted>`(?:[^`]|``)*`)
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:BD|[LSYDF])?(?![A-Za-z0-9_]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=>|<>|!=|<=|>=|==|\|\||::|->|=>|<<|>>|[=<>+\-*/%&|^~!(),.\[\]:?;{}])""",
    re.VERBOSE | re.DOTALL,
)
_QUERY_WORDS = frozenset({"select", "with", "values", "from", "table"})
_COMPARE = frozenset({"=", "==", "<>", "!=", "<", "<=", ">", ">=", "<=>"})
_BINARY = ({"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-", "||"}, {"*", "/", "%", "div"})
_TYPED_LITERALS = frozenset({"date", "timestamp", "timestamp_ntz", "timestamp_ltz", "x", "interval"})
_CONSTANTS = frozenset({"true", "false", "null"})


class Refused(Exception):
    """A predicate is refused; the message says why."""


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: ``kind`` is str, quoted, num, word or op; ``text`` as written."""

    kind: str
    text: str

    @property
    def word(self) -> str:
        """The lower-case text of a word token (empty for others)."""
        return self.text.lower() if self.kind == "word" else ""


@dataclass(frozen=True, slots=True)
class SqlNode:
    """A node of a parsed predicate: ``kind`` is column, call, subquery, star, literal or op."""

    kind: str
    name: str = ""
    children: tuple[SqlNode, ...] = ()
    qualified: bool = False


def tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` (whitespace and comments dropped); at most :data:`MAX_PREDICATE_TOKENS`."""
    out: list[Token] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise Refused(f"invalid SQL predicate: unexpected character {sql[pos]!r} at position {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, m.group()))
            if len(out) > MAX_PREDICATE_TOKENS:
                raise Refused(
                    f"the predicate has more than {MAX_PREDICATE_TOKENS:,} tokens; simplify it (for a long list "
                    "of values use a row policy matching a user attribute, or a smaller IN list)"
                )
    return out


def not_allowed(what: str) -> str:
    """The refusal of a form a policy predicate may not use: the same words with and without Spark."""
    return f"{what} is not allowed in a policy predicate"


def parse(sql: str) -> SqlNode:
    """The tree of ``sql`` (within the token limit); raises :class:`Refused`."""
    return _Parser(tokens(sql)).predicate()


class _Parser:
    """Recursive descent over Spark's expression grammar (the parts a row predicate uses)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # --- token helpers
    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, *texts: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and (token.word in texts or (token.kind == "op" and token.text in texts))

    def take(self, *texts: str) -> bool:
        if self.at(*texts):
            self.pos += 1
            return True
        return False

    def expect(self, *texts: str) -> None:
        if not self.take(*texts):
            found = self.peek()
            raise Refused(
                f"invalid SQL predicate: expected {' or '.join(texts)} but found "
                f"{repr(found.text) if found else 'the end of the input'}"
            )

    def unsupported(self) -> Refused:
        found = self.peek()
        what = repr(found.text) if found else "the end of the input"
        return Refused(
            f"invalid SQL predicate (or syntax this release cannot check without Spark): unexpected {what}; "
            "simplify it, or install the spark extra so that Spark's own parser checks it"
        )

    # --- grammar
    def predicate(self) -> SqlNode:
        node = self.expr()
        if self.peek() is not None:
            raise self.unsupported()
        return node

    def expr(self) -> SqlNode:
        self.depth += 1
        if self.depth > MAX_PREDICATE_DEPTH:
            raise Refused(f"the predicate nests more than {MAX_PREDICATE_DEPTH} deep; simplify it")
        node = self.chain(("or",), self.conjunction)
        self.depth -= 1
        return node

    def chain(self, ops: tuple[str, ...], operand: object) -> SqlNode:
        parts = [operand()]  # type: ignore[operator]
        while self.take(*ops):
            parts.append(operand())  # type: ignore[operator]
        return parts[0] if len(parts) == 1 else SqlNode("op", ops[0], tuple(parts))

    def conjunction(self) -> SqlNode:
        return self.chain(("and",), self.negation)

    def negation(self) -> SqlNode:
        nots = 0
        while self.take("not", "!"):
            nots += 1
            if nots > MAX_PREDICATE_DEPTH:
                raise Refused(f"the predicate nests more than {MAX_PREDICATE_DEPTH} deep; simplify it")
        node = self.exists() if self.at("exists") and self._parenthesised_query(1) else self.comparison()
        return SqlNode("op", "not", (node,)) if nots else node

    def exists(self) -> SqlNode:
        self.pos += 1
        self.expect("(")
        return self.query()

    def comparison(self) -> SqlNode:
        node = self.value(0)
        while True:
            if self.at(*_COMPARE):
                self.pos += 1
                node = SqlNode("op", "cmp", (node, self.value(0)))
            elif self.at("is"):
                node = self.is_suffix(node)
            elif self.at("between", "in", "like", "ilike", "rlike", "regexp") or (
                self.at("not") and self.at("between", "in", "like", "ilike", "rlike", "regexp", ahead=1)
            ):
                self.take("not")
                node = self.suffix(node)
            else:
                return node

    def is_suffix(self, node: SqlNode) -> SqlNode:
        self.pos += 1
        self.take("not")
        if self.take("distinct"):
            self.expect("from")
            return SqlNode("op", "distinct", (node, self.value(0)))
        self.expect("null", "true", "false", "unknown")
        return SqlNode("op", "is", (node,))

    def suffix(self, node: SqlNode) -> SqlNode:
        word = self.tokens[self.pos].word
        self.pos += 1
        if word == "between":
            low = self.value(0)
            self.expect("and")
            return SqlNode("op", "between", (node, low, self.value(0)))
        if word == "in":
            self.expect("(")
            if self.at(*_QUERY_WORDS) or self.at("("):
                if self.at(*_QUERY_WORDS) or self._parenthesised_query():
                    return SqlNode("op", "in", (node, self.query()))
            items = self.items(")")
            return SqlNode("op", "in", (node, *items))
        if word in ("like", "ilike") and self.take("any", "some", "all"):
            self.expect("(")
            return SqlNode("op", word, (node, *self.items(")")))
        pattern = self.value(0)
        if self.take("escape"):
            pattern = SqlNode("op", "escape", (pattern, self.value(0)))
        return SqlNode("op", word, (node, pattern))

    def _parenthesised_query(self, ahead: int = 0) -> bool:
        i = self.pos + ahead
        while i < len(self.tokens) and self.tokens[i].text == "(":
            i += 1
        return i < len(self.tokens) and self.tokens[i].word in _QUERY_WORDS

    def items(self, close: str) -> list[SqlNode]:
        if self.take(close):
            return []
        items = [self.argument()]
        while self.take(","):
            items.append(self.argument())
        self.expect(close)
        return items

    def value(self, level: int) -> SqlNode:
        if level == len(_BINARY):
            return self.unary()
        node = self.value(level + 1)
        while self.at(*_BINARY[level]):
            op = self.tokens[self.pos].text.lower()
            self.pos += 1
            node = SqlNode("op", op, (node, self.value(level + 1)))
        return node

    def unary(self) -> SqlNode:
        signs = 0
        while self.take("-", "+", "~"):
            signs += 1
            if signs > MAX_PREDICATE_DEPTH:
                raise Refused(f"the predicate nests more than {MAX_PREDICATE_DEPTH} deep; simplify it")
        node = self.postfix()
        return SqlNode("op", "sign", (node,)) if signs else node

    def postfix(self) -> SqlNode:
        node = self.primary()
        while True:
            if self.take("."):
                field = self.peek()
                if field is None or field.kind not in ("word", "quoted"):
                    raise self.unsupported()
                self.pos += 1
                if node.kind == "column":
                    node = SqlNode("column", f"{node.name}.{_ident(field)}", qualified=True)
                else:
                    node = SqlNode("op", "field", (node,))
            elif self.take("["):
                node = SqlNode("op", "subscript", (node, self.expr()))
                self.expect("]")
            elif self.take("::"):
                self.type_name()
                node = SqlNode("op", "cast", (node,))
            else:
                return node

    def primary(self) -> SqlNode:
        token = self.peek()
        if token is None:
            raise self.unsupported()
        if token.kind in ("str", "num") or token.word in _CONSTANTS:
            self.pos += 1
            while token.kind == "str" and self.peek() is not None and self.peek().kind == "str":  # type: ignore[union-attr]
                self.pos += 1  # 'a' 'b' is one literal in Spark
            return SqlNode("literal")
        if token.kind == "op":
            return self.operator_primary(token)
        if token.word in _TYPED_LITERALS and self.peek(1) is not None and self.peek(1).kind == "str":  # type: ignore[union-attr]
            self.pos += 2
            return self.interval_units() if token.word == "interval" else SqlNode("literal")
        if token.word == "interval":
            self.pos += 1
            node = self.value(len(_BINARY))
            self.interval_units()
            return SqlNode("op", "interval", (node,))
        if token.word == "case":
            return self.case()
        if token.word in ("cast", "try_cast") and self.at("(", ahead=1):
            self.pos += 2
            node = self.expr()
            self.expect("as")
            self.type_name()
            self.expect(")")
            return SqlNode("op", "cast", (node,))
        if token.word == "identifier" and self.at("(", ahead=1):
            raise Refused(not_allowed("IDENTIFIER(...)"))
        if token.kind in ("word", "quoted"):
            return self.name()
        raise self.unsupported()

    def operator_primary(self, token: Token) -> SqlNode:
        if token.text == "(":
            if self._parenthesised_query():
                self.pos += 1
                return self.query()
            self.pos += 1
            if self.peek() is not None and self.peek().kind == "word" and self.at("->", ahead=1):  # type: ignore[union-attr]
                return self.lambda_rest(")")
            items = self.items(")")
            if self.at("->"):  # (x, y) -> body
                self.pos += 1
                return SqlNode("op", "lambda", (self.expr(),))
            return items[0] if len(items) == 1 else SqlNode("op", "struct", tuple(items))
        if token.text == "*":
            self.pos += 1
            return SqlNode("star")
        if token.text in ("?", ":"):
            raise Refused(not_allowed("a parameter marker"))
        raise self.unsupported()

    def lambda_rest(self, close: str) -> SqlNode:
        self.pos += 2  # x ->
        body = self.expr()
        self.expect(close)
        return SqlNode("op", "lambda", (body,))

    def query(self) -> SqlNode:
        """Skip a subquery's tokens up to its closing parenthesis: it is refused whatever it says."""
        depth = 1
        while depth:
            token = self.peek()
            if token is None:
                raise self.unsupported()
            self.pos += 1
            if token.kind == "op" and token.text == "(":
                depth += 1
            elif token.kind == "op" and token.text == ")":
                depth -= 1
        return SqlNode("subquery")

    def case(self) -> SqlNode:
        self.pos += 1
        parts: list[SqlNode] = []
        if not self.at("when"):
            parts.append(self.expr())
        while self.take("when"):
            parts.append(self.expr())
            self.expect("then")
            parts.append(self.expr())
        if not parts or (len(parts) == 1 and not self.at("else")):
            raise self.unsupported()
        if self.take("else"):
            parts.append(self.expr())
        self.expect("end")
        return SqlNode("op", "case", tuple(parts))

    def interval_units(self) -> SqlNode:
        units = r"(year|month|week|day|hour|minute|second|millisecond|microsecond)s?"
        while self.peek() is not None and re.fullmatch(units, self.peek().word or "-"):  # type: ignore[union-attr]
            self.pos += 1
            self.take("to")
        return SqlNode("literal")

    def type_name(self) -> None:
        token = self.peek()
        if token is None or token.kind != "word":
            raise self.unsupported()
        self.pos += 1
        if self.take("("):
            self.items(")")
        if token.word in ("array", "map", "struct") and self.take("<"):
            depth = 1
            while depth:
                nxt = self.peek()
                if nxt is None:
                    raise self.unsupported()
                self.pos += 1
                depth += {"<": 1, ">": -1, ">>": -2}.get(nxt.text, 0)

    def argument(self) -> SqlNode:
        if self.peek() is not None and self.peek().kind == "word" and self.at("->", "=>", ahead=1):  # type: ignore[union-attr]
            if self.at("=>", ahead=1):
                self.pos += 2
                return self.expr()
            self.pos += 2
            return SqlNode("op", "lambda", (self.expr(),))
        return self.expr()

    def name(self) -> SqlNode:
        token = self.tokens[self.pos]
        self.pos += 1
        parts = [_ident(token)]
        while self.at(".") and self.peek(1) is not None and self.peek(1).kind in ("word", "quoted"):  # type: ignore[union-attr]
            self.pos += 1
            parts.append(_ident(self.tokens[self.pos]))
            self.pos += 1
        if not self.take("("):
            return SqlNode("column", ".".join(parts), qualified=len(parts) > 1)
        self.take("distinct", "all")
        args = self.items(")")
        if self.take("within"):
            self.expect("group")
            self.expect("(")
            args.append(SqlNode("op", "order", tuple(self.order_items())))
        if self.take("filter"):
            self.expect("(")
            self.expect("where")
            args.append(self.expr())
            self.expect(")")
        if self.take("ignore", "respect"):
            self.expect("nulls")
        call = SqlNode("call", ".".join(parts), tuple(args), qualified=len(parts) > 1)
        if self.at("over"):
            raise Refused(not_allowed("a window function (OVER)"))
        return call

    def order_items(self) -> list[SqlNode]:
        self.expect("order")
        self.expect("by")
        out = [self.expr()]
        self.take("asc", "desc")
        while self.take(","):
            out.append(self.expr())
            self.take("asc", "desc")
        self.expect(")")
        return out


def _ident(token: Token) -> str:
    return token.text[1:-1].replace("``", "`") if token.kind == "quoted" else token.text
