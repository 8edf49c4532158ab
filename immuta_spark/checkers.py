"""Checkers of policy SQL predicates and regex patterns, as the engine that runs them reads them.

The core validates policy files without knowing any engine. An engine layer registers its
checkers with :func:`register`: the Spark layer registers Spark's own SQL parser and Java's
regex (what ``regexp_replace`` runs) when it is imported, and through the entry point group
``immuta_spark.checkers`` (declared in ``pyproject.toml``), so that a process that never imports
it, such as the ``immuta-spark`` CLI, still gets them when the ``spark`` extra is installed. The
core names no engine package: it only loads that group. With nothing registered, SQL is checked
by :mod:`immuta_spark.sqlpredicate` (sqlglot's Spark dialect) and patterns with Python's ``re``.

>>> registry = CheckerRegistry(group="nothing.registers.here")
>>> registry.sql() is None
True
>>> registry.register(sql=lambda sql, columns: None)
>>> registry.sql() is not None
True
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from immuta_spark.sqlpredicate import check_predicate

__all__ = [
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "CheckerRegistry",
    "RegexChecker",
    "SqlChecker",
    "default_regex_checker",
    "default_sql_checker",
    "register",
]

#: Checks one policy SQL predicate against the source's columns (None: not known); returns an
#: error message, or None when it is acceptable.
SqlChecker = Callable[[str, "tuple[str, ...] | None"], "str | None"]
#: ``(pattern) -> (problem or None, number of groups)``: how the engine that runs regex masks
#: (Spark: Java's java.util.regex) reads a pattern. Without one, Python's ``re`` stands in.
RegexChecker = Callable[[str], "tuple[str | None, int]"]
#: The entry point group: each names a hook called once with the registry to register into.
ENTRY_POINT_GROUP = "immuta_spark.checkers"


class CheckerRegistry:
    """The checkers apply uses by default: registered ones, else those the entry points register.

    The entry points of ``group`` are loaded once, the first time a checker is asked for and
    none is registered. One whose engine is not installed (its import fails) is skipped, as
    when the ``spark`` extra is absent: the pure-Python fallbacks then apply.
    """

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._sql: SqlChecker | None = None
        self._regex: RegexChecker | None = None
        self._loaded = False

    def register(self, *, sql: SqlChecker | None = None, regex: RegexChecker | None = None) -> None:
        """Make ``sql`` and ``regex`` the defaults (a later registration replaces them)."""
        if sql is not None:
            self._sql = sql
        if regex is not None:
            self._regex = regex

    def load_plugins(self) -> None:
        """Call every entry point's hook of the group with this registry, once; later calls do nothing."""
        if self._loaded:
            return
        self._loaded = True
        for point in entry_points(group=self.group):
            try:
                hook = point.load()
            except ImportError:
                continue
            hook(self)

    def sql(self) -> SqlChecker | None:
        """The SQL checker, or None: predicates are then checked only at query time."""
        if self._sql is None:
            self.load_plugins()
        return self._sql

    def regex(self) -> RegexChecker | None:
        """The regex checker, or None: Python's ``re`` then stands in."""
        if self._regex is None:
            self.load_plugins()
        return self._regex


#: The process's registry: checkers describe the installed engine, not any one catalog.
REGISTRY = CheckerRegistry()


def register(*, sql: SqlChecker | None = None, regex: RegexChecker | None = None) -> None:
    """Register an engine's checkers with :data:`REGISTRY` (what an entry point's hook calls)."""
    REGISTRY.register(sql=sql, regex=regex)


def default_sql_checker() -> SqlChecker | None:
    """The SQL checker apply uses when it is not given one: the registered one, else the pure fallback.

    The fallback (:func:`immuta_spark.sqlpredicate.check_predicate`) parses Spark's expression
    syntax with sqlglot and refuses the same forms as Spark's checker.
    """
    return REGISTRY.sql() or check_predicate


def default_regex_checker() -> RegexChecker | None:
    """The regex checker apply uses when it is not given one."""
    return REGISTRY.regex()
