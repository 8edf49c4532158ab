"""The checker registry: apply uses the checkers an engine registered, else the pure-Python fallbacks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from immuta_spark import checkers, sqlpredicate
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.checkers import CheckerRegistry
from immuta_spark.errors import PolicyFileError
from tests.unit.support import write

# Bound before the autouse fixture switches the defaults off for the rest of the unit tests.
REAL_DEFAULT_SQL = checkers.default_sql_checker
REAL_DEFAULT_REGEX = checkers.default_regex_checker

DOC = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    policies:
      - {name: rows, type: row, where: "amount < 1000"}
      - {name: ip, type: masking, columns: {names: [ip]}, mask: {regex: {pattern: 'PATTERN', replacement: X}}}
"""


class FakeEntryPoint:
    """Stands in for an ``importlib.metadata.EntryPoint`` of the checkers group."""

    def __init__(self, hook: Any = None, *, missing: bool = False) -> None:
        self.hook = hook
        self.missing = missing

    def load(self) -> Any:
        if self.missing:
            raise ModuleNotFoundError("No module named 'pyspark'")
        return self.hook


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> CheckerRegistry:
    """An empty process registry whose group has no entry points, with the real defaults back on."""
    fresh = CheckerRegistry(group="immuta_spark.tests.no_such_group")
    monkeypatch.setattr(checkers, "REGISTRY", fresh)
    monkeypatch.setattr(checkers, "default_sql_checker", REAL_DEFAULT_SQL)
    monkeypatch.setattr(checkers, "default_regex_checker", REAL_DEFAULT_REGEX)
    return fresh


def apply(tmp_path: Path, url: str, pattern: str = r"\d+$") -> None:
    GovernanceCatalog.open(url, identity="gov", create=True).apply(write(tmp_path, DOC.replace("PATTERN", pattern)))


def test_apply_checks_sql_with_the_registered_checker(
    registry: CheckerRegistry, tmp_path: Path, catalog_url: str
) -> None:
    seen: list[tuple[str, tuple[str, ...] | None]] = []

    def refuse(sql: str, columns: tuple[str, ...] | None) -> str:
        seen.append((sql, columns))
        return "refused by the engine's parser"

    checkers.register(sql=refuse)
    with pytest.raises(PolicyFileError) as info:
        apply(tmp_path, catalog_url)
    assert info.value.path == "sources[0].policies[0].where"
    assert info.value.reason == "refused by the engine's parser"
    assert seen == [("amount < 1000", None)]


def test_apply_checks_regex_patterns_with_the_registered_checker(
    registry: CheckerRegistry, tmp_path: Path, catalog_url: str
) -> None:
    checkers.register(regex=lambda pattern: ("not in this engine's syntax", 0))
    with pytest.raises(PolicyFileError) as info:
        apply(tmp_path, catalog_url)
    assert info.value.path == "sources[0].policies[1].mask.regex.pattern"
    assert "not in this engine's syntax" in info.value.reason


def test_without_a_registered_checker_the_pure_sql_checker_and_python_read_them(
    registry: CheckerRegistry, tmp_path: Path, catalog_url: str
) -> None:
    apply(tmp_path, catalog_url, r"(?P<d>\d+)")  # Python's named group: fine for the fallback
    with pytest.raises(PolicyFileError, match="invalid regular expression"):
        apply(tmp_path, catalog_url, "(unclosed")
    assert registry.sql() is None and registry.regex() is None
    assert checkers.default_sql_checker() is sqlpredicate.check_predicate


def test_entry_points_register_once_and_one_whose_engine_is_missing_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[CheckerRegistry] = []

    def hook(target: CheckerRegistry) -> None:
        calls.append(target)
        target.register(sql=lambda sql, columns: None, regex=lambda pattern: (None, 0))

    points = [FakeEntryPoint(missing=True), FakeEntryPoint(hook)]
    asked: list[str] = []

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        asked.append(group)
        return points

    monkeypatch.setattr(checkers, "entry_points", fake_entry_points)
    registry = CheckerRegistry()
    assert registry.sql() is not None
    assert registry.regex() is not None
    assert calls == [registry]
    assert asked == [checkers.ENTRY_POINT_GROUP]


def test_an_explicit_registration_wins_without_loading_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_plugins(*, group: str) -> list[FakeEntryPoint]:
        raise AssertionError("plugins must not be loaded when checkers are registered")

    monkeypatch.setattr(checkers, "entry_points", no_plugins)
    registry = CheckerRegistry()

    def mine(sql: str, columns: tuple[str, ...] | None) -> None:
        return None

    registry.register(sql=mine, regex=lambda pattern: (None, 0))
    assert registry.sql() is mine


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="needs the spark extra")
def test_with_the_spark_extra_the_entry_point_brings_sparks_checkers_without_starting_a_jvm() -> None:
    # What the CLI's apply gets: the core loads the entry point group, never the Spark layer by name.
    code = (
        "from immuta_spark import checkers; from pyspark import SparkContext; "
        "s, r = checkers.default_sql_checker(), checkers.default_regex_checker(); "
        "print(s.__module__, s.__name__, r.__name__, SparkContext._gateway is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["immuta_spark.spark.sqlcheck", "check_predicate", "check_regex", "True"]
