"""Policy SQL predicates and what the checks say, shared by the pure checker's and Spark's tests.

Both checkers get exactly this list (tests/unit/test_sqlpredicate.py without a JVM,
tests/spark/test_policy_sql.py with Spark's parser) and must agree on every verdict.
"""

from __future__ import annotations

COLUMNS = ("amount", "state", "ssn", "day", "arr")
WITH_USER = (*COLUMNS, "user")

SUBQUERY = "may not contain a subquery"
IDENTITY = "identity functions are not allowed"
INVALID = "invalid SQL predicate"

# (id, predicate, the source's dictionary columns or None, a fragment of the refusal or None: accepted)
CASES: list[tuple[str, str, tuple[str, ...] | None, str | None]] = [
    ("simple", "amount < 1000 AND state IN ('OH', 'TX')", COLUMNS, None),
    ("functions", "abs(amount) BETWEEN 1 AND 10 OR upper(state) IS NULL", COLUMNS, None),
    ("case", "CASE WHEN amount > 1 THEN 'x' ELSE 'y' END = 'x'", COLUMNS, None),
    ("cast", "CAST(amount AS DECIMAL(10, 2)) > 1 AND amount::int < 5", COLUMNS, None),
    ("dates", "day > DATE '2020-01-01' AND day > current_date() - INTERVAL 30 DAYS", COLUMNS, None),
    ("like", "state LIKE 'O%' ESCAPE '!' OR state NOT RLIKE '^T' OR NOT (amount = 1)", COLUMNS, None),
    ("lambda", "exists(arr, x -> x > 1)", None, None),
    ("distinct-from", "amount IS NOT DISTINCT FROM 1", COLUMNS, None),
    ("no-dictionary", "anything > 0", None, None),
    ("user-column-declared", "user = 'bob'", WITH_USER, None),
    ("user-column-backquoted", "`user` <> 'bob'", WITH_USER, None),
    # identity functions, every spelling
    ("current-user-call", "current_user() = 'gov'", COLUMNS, "function current_user() is not allowed"),
    ("current-user-upper", "CURRENT_USER() = 'gov'", COLUMNS, "function CURRENT_USER() is not allowed"),
    ("current-user-bare", "current_user = 'gov'", COLUMNS, IDENTITY),
    ("current-user-bare-upper", "CURRENT_USER = 'gov'", COLUMNS, IDENTITY),
    ("current-user-bare-no-dictionary", "current_user = 'gov'", None, IDENTITY),
    ("session-user-bare", "session_user = 'gov'", COLUMNS, IDENTITY),
    ("session-user-call", "Session_User() = 'gov'", COLUMNS, "function Session_User() is not allowed"),
    ("user-bare", "user = 'gov'", COLUMNS, IDENTITY),
    ("user-bare-no-dictionary", "USER = 'gov'", None, IDENTITY),
    ("user-backquoted", "`user` = 'gov'", None, IDENTITY),
    ("user-call", "user() = 'gov'", COLUMNS, "function user() is not allowed"),
    ("user-deep-inside", "amount > 0 AND (state = 'OH' OR coalesce(user, 'x') = 'gov')", COLUMNS, IDENTITY),
    ("identifier-clause", "IDENTIFIER('current_user') = 'gov'", COLUMNS, "IDENTIFIER(...) is not allowed"),
    # non-deterministic, session and reflection functions
    ("rand", "rand() < 0.5", COLUMNS, "function rand() is not allowed"),
    ("rand-upper", "RAND(1) < 0.5", COLUMNS, "function RAND() is not allowed"),
    ("uuid", "uuid() = ssn", COLUMNS, "function uuid() is not allowed"),
    ("nested-random", "abs(amount + randn()) > 1", COLUMNS, "function randn() is not allowed"),
    ("reflect", "reflect('java.lang.Thread', 'sleep', 1) IS NULL", COLUMNS, "function reflect() is not allowed"),
    ("current-database", "current_database() = 'x'", COLUMNS, "function current_database() is not allowed"),
    ("qualified-function", "db.f(amount) = 1", COLUMNS, "function db.f() is not allowed"),
    ("window", "count(*) OVER (PARTITION BY state) > 1", COLUMNS, "a window function (OVER) is not allowed"),
    # subqueries, every form
    ("scalar-subquery", "amount > (SELECT max(amount) FROM other.secrets)", COLUMNS, SUBQUERY),
    ("exists", "EXISTS (SELECT 1 FROM other.secrets WHERE secrets.ssn = ssn)", COLUMNS, SUBQUERY),
    ("not-exists", "NOT EXISTS (SELECT 1 FROM other.secrets)", COLUMNS, SUBQUERY),
    ("in-subquery", "state IN (SELECT state FROM other.allowed)", COLUMNS, SUBQUERY),
    ("in-subquery-parenthesised", "state IN ((SELECT state FROM other.allowed))", COLUMNS, SUBQUERY),
    ("with-subquery", "amount = (WITH a AS (SELECT 1 AS x) SELECT x FROM a)", COLUMNS, SUBQUERY),
    ("subquery-in-function", "coalesce((SELECT 1), amount) > 0", COLUMNS, SUBQUERY),
    # columns
    ("qualified-column", "claims.amount > 0", COLUMNS, "column claims.amount is qualified"),
    ("unknown-column", "salary > 0", COLUMNS, "unknown column 'salary'"),
    ("star", "coalesce(*) IS NULL", COLUMNS, "may not use '*'"),
    # not a predicate
    ("incomplete", "amount >", COLUMNS, INVALID),
    ("two-statements", "amount > 0; DROP TABLE db.claims", COLUMNS, INVALID),
    ("parameter-marker", "amount = ?", COLUMNS, "a parameter marker is not allowed"),
]
