"""Policy SQL is checked at apply time with the active Spark session's own parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from immuta_spark import sqlpredicate
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from immuta_spark.spark import sqlcheck
from tests.predicate_cases import CASES, INVALID

DOC = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    dictionary: [{name: amount, type: double}, {name: state, type: string}, {name: ssn, type: string}]
    policies:
      - {name: local-row, type: row, where: "LOCAL_ROW"}
      - {name: local-mask, type: masking, columns: {names: [ssn]}, mask: hash, where: "LOCAL_MASK"}
policies:
  - {name: global-row, type: row, where: "GLOBAL_ROW"}
"""
FINE = "amount < 1000 AND state IN ('OH', 'TX')"


def document(local_row: str = FINE, local_mask: str = FINE, global_row: str = FINE) -> str:
    def quoted(sql: str) -> str:
        return sql.replace('"', '\\"')

    return (
        DOC.replace("LOCAL_ROW", quoted(local_row))
        .replace("LOCAL_MASK", quoted(local_mask))
        .replace("GLOBAL_ROW", quoted(global_row))
    )


@pytest.fixture
def catalog(tmp_path: Path, spark: Any) -> GovernanceCatalog:
    """An empty catalog; the Spark session is active, so apply parses SQL with it."""
    return GovernanceCatalog.open(f"sqlite:///{tmp_path / 'catalog.db'}", identity="gov", create=True)


@pytest.mark.parametrize(
    ("where", "sql", "path", "fragment"),
    [
        (
            "local_row",
            "amount > (SELECT max(amount) FROM other.secrets)",
            "sources[0].policies[0].where",
            "may not contain a subquery",
        ),
        (
            "local_mask",
            "EXISTS (SELECT 1 FROM other.secrets WHERE secrets.ssn = ssn)",
            "sources[0].policies[1].where",
            "may not contain a subquery",
        ),
        ("global_row", "state IN (SELECT state FROM other.allowed)", "policies[0].where", "may not contain a subquery"),
        ("local_row", "rand() < 0.5", "sources[0].policies[0].where", "function rand() is not allowed"),
        ("global_row", "current_user() = 'gov'", "policies[0].where", "function current_user() is not allowed"),
        ("local_row", "claims.amount > 0", "sources[0].policies[0].where", "column claims.amount is qualified"),
        ("local_row", "amount >", "sources[0].policies[0].where", "invalid SQL predicate"),
        ("local_row", "amount > 0; DROP TABLE db.claims", "sources[0].policies[0].where", "invalid SQL predicate"),
        ("local_mask", "salary > 0", "sources[0].policies[1].where", "unknown column 'salary'"),
    ],
)
def test_unsafe_or_invalid_policy_sql_is_refused_at_apply_with_its_path(
    catalog: GovernanceCatalog, tmp_path: Path, where: str, sql: str, path: str, fragment: str
) -> None:
    file = tmp_path / "governance.yaml"
    file.write_text(document(**{where: sql}), encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(file)
    assert info.value.path == path
    assert fragment in info.value.reason
    assert catalog.export() == GovernanceCatalog.open(catalog.store.url, identity="gov").export()
    assert catalog.snapshot().governance.sources == ()


def test_a_predicate_on_the_sources_own_columns_is_accepted(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    file = tmp_path / "governance.yaml"
    file.write_text(document(global_row="abs(amount) BETWEEN 1 AND 10 OR state IS NULL"), encoding="utf-8")
    assert not catalog.apply(file).is_noop
    assert catalog.apply(file).is_noop


REGEX_DOC = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    policies:
      - {name: r, type: masking, columns: {names: [ssn]}, mask: {regex: {pattern: 'PATTERN', replacement: 'REPL'}}}
"""


def _regex_file(tmp_path: Path, pattern: str, replacement: str = "X") -> Path:
    file = tmp_path / "regex.yaml"
    file.write_text(REGEX_DOC.replace("PATTERN", pattern).replace("REPL", replacement), encoding="utf-8")
    return file


def test_regex_patterns_are_read_as_spark_runs_them_with_java_regex(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    # Python's re has no \p{...} classes; Java's regex (what regexp_replace runs) has.
    assert not catalog.apply(_regex_file(tmp_path, r"\p{Lu}+")).is_noop
    # Python's named-group syntax is an error in Java: it would fail every query, so apply refuses it.
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(_regex_file(tmp_path, r"(?P<d>\d+)"))
    assert info.value.path == "sources[0].policies[0].mask.regex.pattern"
    assert "Java regex syntax" in info.value.reason
    # A replacement is checked against the groups Java counts.
    with pytest.raises(PolicyFileError, match="refers to a group the pattern does not have"):
        catalog.apply(_regex_file(tmp_path, r"(\d+)-\d+", "$2"))
    assert not catalog.apply(_regex_file(tmp_path, r"(\d+)-(\d+)", "$2")).is_noop


@pytest.mark.parametrize(("sql", "columns", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sparks_checker_gives_the_same_verdicts_as_the_pure_one(
    spark: Any, sql: str, columns: tuple[str, ...] | None, fragment: str | None
) -> None:
    spark_problem = sqlcheck.check_predicate(sql, columns)
    pure_problem = sqlpredicate.check_predicate(sql, columns)
    if fragment is None:
        assert spark_problem is None and pure_problem is None
    else:
        assert spark_problem is not None and fragment in spark_problem, spark_problem
        assert pure_problem is not None and fragment in pure_problem
        if fragment != INVALID:  # syntax errors are worded by each parser; every other refusal alike
            assert spark_problem == pure_problem


def test_spark_checks_the_largest_predicate_the_limits_allow_and_refuses_a_larger_one(spark: Any) -> None:
    ors = " OR ".join(f"amount = {i}" for i in range(5000))
    assert "at most 10,000" in (sqlcheck.check_predicate(ors) or "")
    largest = " OR ".join(f"a = {i}" for i in range(249))  # 995 tokens, about 750 tree nodes
    assert sqlpredicate.check_limits(largest) is None
    assert sqlcheck.check_predicate(largest) is None
