"""Path-carrying parse helpers shared by every section of the policy file.

Each ``expect_*`` function checks one value at a location (:class:`At`) and raises
:class:`PolicyFileError` naming that location, e.g. ``users[2].groups[0]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, NoReturn

from immuta_spark.checkers import RegexChecker, SqlChecker
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import Source
from immuta_spark.sqlpredicate import check_limits

__all__ = [
    "DOTTED",
    "IDENT",
    "MAX_CONDITION_DEPTH",
    "MAX_REGEX_CHARS",
    "NAME",
    "At",
    "Context",
    "describe",
    "expect_bool",
    "expect_int",
    "expect_list",
    "expect_mapping",
    "expect_nonempty",
    "expect_number",
    "expect_string",
    "expect_strings",
    "expect_text",
    "known_column",
    "python_regex",
]

NAME = re.compile(r"^[^\x00-\x1f\x7f]+$")
DOTTED = re.compile(r"^[^.\x00-\x1f\x7f]+(\.[^.\x00-\x1f\x7f]+)*$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Longest regex mask pattern (and replacement) read; checking and running one is then bounded.
MAX_REGEX_CHARS = 1_000
#: Deepest nesting of ``all``/``any`` conditions (export writes them back within YAML's depth limit).
MAX_CONDITION_DEPTH = 16


class At:
    """A location in the document; builds child paths and raises path-carrying errors.

    The path text is made only when asked for (an error, nearly always): a large file builds
    hundreds of thousands of locations and reads none of them.
    """

    __slots__ = ("_indexed", "_parent", "_part", "_path", "file")

    def __init__(self, path: str = "", file: str | None = None) -> None:
        self._path: str | None = path
        self._parent: At | None = None
        self._part = ""
        self._indexed = False
        self.file = file

    @property
    def path(self) -> str:
        """The location as text: ``sources[0].policies[2].mask``."""
        if self._path is None:
            parent = self._parent
            assert parent is not None
            base = parent.path
            part = self._part
            self._path = base + part if self._indexed else (f"{base}.{part}" if base else part)
        return self._path

    def _child(self, part: str, indexed: bool) -> At:
        child = At.__new__(At)
        child._path = None
        child._parent = self
        child._part = part
        child._indexed = indexed
        child.file = self.file
        return child

    def key(self, name: str) -> At:
        """The location of ``name`` inside this mapping."""
        return self._child(name, False)

    def index(self, i: int) -> At:
        """The location of item ``i`` of this list."""
        return self._child(f"[{i}]", True)

    def fail(self, message: str) -> NoReturn:
        """Raise :class:`PolicyFileError` at this location."""
        raise PolicyFileError(self.path or "<document>", message, file=self.file)


# --- scalar helpers ---------------------------------------------------------------------


def expect_mapping(value: Any, at: At, *, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    """A mapping whose keys are all in ``allowed`` and include every ``required`` one."""
    if not isinstance(value, dict):
        at.fail(f"expected a mapping, got {describe(value)}")
    allowed_set = allowed if isinstance(allowed, frozenset) else frozenset(allowed)
    if allowed_set.issuperset(value):  # the common case: no key to blame, so no per-key work
        for key in required:
            if key not in value:
                at.fail(f"missing required key '{key}'")
        return value
    for key in value:
        if not isinstance(key, str):
            at.fail(f"keys must be strings, got {describe(key)}")
        if key not in allowed_set:
            at.key(key).fail(f"unknown key; expected one of: {', '.join(sorted(allowed_set))}")
    for key in required:
        if key not in value:
            at.fail(f"missing required key '{key}'")
    return value


def describe(value: Any) -> str:
    """A short description of a wrong value for an error message."""
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"[:80]


def expect_string(value: Any, at: At, *, pattern: re.Pattern[str] = NAME, what: str = "a name") -> str:
    """A non-empty string matching ``pattern``; ``what`` names it in errors."""
    if not isinstance(value, str) or not value.strip():
        at.fail(f"expected {what} (a non-empty string), got {describe(value)}")
    if not pattern.match(value):
        at.fail(f"invalid {what.split(' ', 1)[1]} {value!r}")
    return value


def expect_text(value: Any, at: At) -> str:
    """Any string, empty included."""
    if not isinstance(value, str):
        at.fail(f"expected text, got {describe(value)}")
    return value


def expect_list(value: Any, at: At) -> list[Any]:
    """A list."""
    if not isinstance(value, list):
        at.fail(f"expected a list, got {describe(value)}")
    return value


def expect_strings(value: Any, at: At, *, pattern: re.Pattern[str] = NAME, what: str = "a name") -> tuple[str, ...]:
    """A list of distinct strings, each checked as :func:`expect_string`."""
    if isinstance(value, list):
        # The common case first, without a location per item: only a failing list pays for them.
        match = pattern.match
        for v in value:
            if not isinstance(v, str) or not match(v) or not v.strip():
                break
        else:
            if len(set(value)) == len(value):
                return tuple(value)
    items = tuple(
        expect_string(v, at.index(i), pattern=pattern, what=what) for i, v in enumerate(expect_list(value, at))
    )
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item in seen:
            at.index(i).fail(f"duplicate entry {item!r}")
        seen.add(item)
    return items


def expect_bool(value: Any, at: At) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        at.fail(f"expected true or false, got {describe(value)}")
    return value


def expect_int(value: Any, at: At, *, minimum: int | None = None) -> int:
    """A whole number (not a boolean), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, int):
        at.fail(f"expected a whole number, got {describe(value)}")
    if minimum is not None and value < minimum:
        at.fail(f"must be at least {minimum}, got {value}")
    return value


def expect_number(value: Any, at: At) -> float | int:
    """A finite number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        at.fail(f"expected a number, got {describe(value)}")
    return value


class Context:
    """Names declared so far, for cross-reference checks."""

    def __init__(self, sql_checker: SqlChecker | None, regex_checker: RegexChecker | None = None) -> None:
        self.users: set[str] = set()
        self.purposes: set[str] = set()
        self.sources: dict[str, Source] = {}
        self.sql_checker = sql_checker
        self.regex_checker = regex_checker or python_regex
        # Each distinct pattern checked once: generated files repeat a few patterns thousands of
        # times, and the engine's checker may be a call into the JVM.
        self.regex_checked: dict[str, tuple[str | None, int]] = {}

    def regex(self, pattern: str, at: At) -> int:
        """Check a regex mask's pattern (at most :data:`MAX_REGEX_CHARS` long); its number of groups."""
        if len(pattern) > MAX_REGEX_CHARS:
            at.fail(
                f"the pattern is {len(pattern):,} characters long; a regex mask's pattern may have at most "
                f"{MAX_REGEX_CHARS:,}; simplify it"
            )
        checked = self.regex_checked.get(pattern)
        if checked is None:
            checked = self.regex_checked[pattern] = self.regex_checker(pattern)
        problem, groups = checked
        if problem:
            at.fail(f"invalid regular expression: {problem}")
        return groups

    def user(self, value: Any, at: At) -> str:
        """A declared user's name."""
        name = expect_string(value, at, what="a user name")
        if name not in self.users:
            at.fail(f"unknown user {name!r}; declare it under 'users'")
        return name

    def users_list(self, value: Any, at: At) -> tuple[str, ...]:
        """A list of declared users' names."""
        names = expect_strings(value, at, what="a user name")
        for i, name in enumerate(names):
            self.user(name, at.index(i))
        return names

    def purpose_list(self, value: Any, at: At) -> tuple[str, ...]:
        """A list of declared purposes."""
        names = expect_strings(value, at, pattern=DOTTED, what="a purpose")
        for i, name in enumerate(names):
            if name not in self.purposes:
                at.index(i).fail(f"unknown purpose {name!r}; declare it under 'purposes'")
        return names

    def sql(self, value: Any, at: At, columns: tuple[str, ...] | None) -> str:
        """A policy SQL predicate, checked with the SQL checker when there is one."""
        text = expect_string(value, at, what="a SQL predicate")
        problem = check_limits(text)  # whatever the checker: bounded work for any predicate
        if problem:
            at.fail(problem)
        if self.sql_checker is not None:
            problem = self.sql_checker(text, columns)
            if problem:
                at.fail(problem)
        return text


def python_regex(pattern: str) -> tuple[str | None, int]:
    """The regex check without Spark: Python's ``re`` stands in for Java's."""
    try:
        return None, re.compile(pattern).groups
    except re.error as exc:
        return str(exc), 0


def known_column(col: str, known: tuple[str, ...] | None, at: At) -> None:
    """Refuse a column the data dictionary lacks (no dictionary: any column)."""
    if known is not None and col not in known:
        at.fail(f"unknown column {col!r}; the data dictionary has: {', '.join(known)}")


def expect_nonempty(values: tuple[str, ...], at: At) -> tuple[str, ...]:
    """``values`` if there is at least one."""
    if not values:
        at.fail("list at least one value")
    return values
