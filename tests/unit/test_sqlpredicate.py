"""The pure-Python predicate checker (no JVM): the shared cases, and its limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hostile_bench import HOSTILE_PREDICATES, HOSTILE_WHERE
from immuta_spark import checkers, sqlpredicate
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from tests.predicate_cases import CASES
from tests.unit.support import write

# Bound before the autouse fixture switches the defaults off for the unit tests.
REAL_DEFAULT_SQL = checkers.default_sql_checker


@pytest.mark.parametrize(("sql", "columns", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_pure_checker_gives_the_shared_verdicts(
    sql: str, columns: tuple[str, ...] | None, fragment: str | None
) -> None:
    problem = sqlpredicate.check_predicate(sql, columns)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem


@pytest.mark.parametrize("sql", HOSTILE_PREDICATES.values(), ids=HOSTILE_PREDICATES.keys())
def test_a_huge_or_deeply_nested_predicate_is_refused(sql: str) -> None:
    # How fast: bench/hostile_bench.py (hostile_predicate_s), not a timed assertion here.
    problem = sqlpredicate.check_predicate(sql)
    assert problem is not None
    assert "simplify it" in problem or "invalid SQL predicate" in problem


def test_the_limits_leave_room_for_real_predicates() -> None:
    states = ", ".join(f"'S{i}'" for i in range(300))
    assert sqlpredicate.check_predicate(f"state IN ({states}) AND amount > 0") is None
    assert sqlpredicate.check_predicate("(" * 20 + "a = 1" + ")" * 20) is None


def test_without_an_engine_apply_uses_the_pure_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkers, "REGISTRY", checkers.CheckerRegistry(group="immuta_spark.tests.none"))
    assert REAL_DEFAULT_SQL() is sqlpredicate.check_predicate


DOC = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    dictionary: [{name: amount, type: double}, {name: user, type: string}]
    policies:
      - {name: mine, type: row, where: "user = 'gov'"}
policies:
  - {name: everywhere, type: row, where: "WHERE"}
"""


def test_apply_refuses_a_bare_identity_name_in_a_global_policy_but_reads_a_declared_column(
    tmp_path: Path, catalog_url: str
) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    with pytest.raises(PolicyFileError) as info:
        cat.apply(
            write(tmp_path, DOC.replace("WHERE", "current_user = 'gov'")), sql_checker=sqlpredicate.check_predicate
        )
    assert info.value.path == "policies[0].where"
    assert "identity functions are not allowed" in info.value.reason
    assert cat.store.revision() == 0
    assert not cat.apply(
        write(tmp_path, DOC.replace("WHERE", "amount > 0")), sql_checker=sqlpredicate.check_predicate
    ).is_noop


def test_the_size_limits_hold_even_with_the_sql_check_switched_off(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    with pytest.raises(PolicyFileError) as info:
        cat.apply(write(tmp_path, DOC.replace("WHERE", HOSTILE_WHERE)), sql_checker=None)
    assert info.value.path == "policies[0].where"
    assert "at most 10,000" in info.value.reason


SQLGLOT_FORMS = {
    # sqlglot maps these to its own function classes; refusals still name them as written
    "random() > 0.5": "function random() is not allowed",
    "`rand`(1) > 0": "function rand() is not allowed",
    "db.rand() > 0": "function db.rand() is not allowed",
    "java_method('a', 'b') IS NULL": "function java_method() is not allowed",
    "try_reflect('a', 'b') IS NULL": "function try_reflect() is not allowed",
    "current_catalog() = 'x'": "function current_catalog() is not allowed",
    # subqueries sqlglot reads in other shapes
    "amount = (VALUES 1)": "may not contain a subquery",
    "amount = ANY (SELECT 1)": "may not contain a subquery",
    "amount IN (1, (SELECT 1))": "may not contain a subquery",
    # not one expression, parameters, deep nesting
    "amount > 0;": "invalid SQL predicate: ';'",
    "SELECT 1": "invalid SQL predicate",
    "": "invalid SQL predicate",
    "amount = :limit": "a parameter marker is not allowed",
    "amount = ${limit}": "a parameter marker is not allowed",
    "row_number() OVER (ORDER BY amount) = 1": "a window function (OVER) is not allowed",
    "t.* IS NULL": "may not use '*'",
    "CASE WHEN " * 33 + "a" + " THEN 1 END" * 33 + " = 1": "nests more than 32 deep",
    # bare current_date is a column to Spark's parser too: unknown unless declared
    "current_date > day": "unknown column 'current_date'",
}


@pytest.mark.parametrize(("sql", "fragment"), SQLGLOT_FORMS.items(), ids=range(len(SQLGLOT_FORMS)))
def test_sqlglot_specific_forms_are_refused_in_sparks_words(sql: str, fragment: str) -> None:
    problem = sqlpredicate.check_predicate(sql, ("amount", "day"))
    assert problem is not None and fragment in problem, problem


def test_a_parse_past_pythons_recursion_limit_is_refused_not_raised() -> None:
    import inspect
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 150)  # room for the check, not for a 30-deep parse
    try:
        problem = sqlpredicate.check_predicate("abs(" * 30 + "amount" + ")" * 30 + " > 0")
    finally:
        sys.setrecursionlimit(limit)
    assert problem is not None and "simplify it" in problem
