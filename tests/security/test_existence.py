"""Existence probes: a hidden table's name behaves exactly as a free name in every statement.

dave sees nothing of claims (claims.medical is hidden from him). Whatever he tries to create
under claims.medical, he gets exactly what he gets for a name nobody uses: in a database that
holds data hidden from him, creating anything is refused, for every name alike. Dropping the
database is refused in the same words, with or without CASCADE, so neither "not empty" nor
"would drop governed tables" tells him something is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from immuta_spark.spark import UnenforcedPathError
from tests.security.test_side_doors import ei

HIDDEN = "claims.medical"
FREE = "claims.nobody_uses_this_name"

_STATEMENTS = [
    "CREATE TABLE {t} (a INT) USING parquet",
    "CREATE TABLE IF NOT EXISTS {t} (a INT) USING parquet",
    "CREATE TABLE {t} (a INT) STORED AS PARQUET",
    "CREATE TABLE {t} USING parquet AS SELECT 1 AS a",
    "CREATE TABLE IF NOT EXISTS {t} USING parquet AS SELECT 1 AS a",
    "CREATE OR REPLACE TABLE {t} USING parquet AS SELECT 1 AS a",
    "REPLACE TABLE {t} (a INT) USING parquet",
    "CREATE VIEW {t} AS SELECT 1 AS a",
    "CREATE OR REPLACE VIEW {t} AS SELECT 1 AS a",
    "CREATE VIEW IF NOT EXISTS {t} AS SELECT 1 AS a",
    "CREATE TABLE {t} LIKE default.side_like_source",
    "ALTER TABLE default.side_like_source RENAME TO {t}",
]


@pytest.fixture(scope="module", autouse=True)
def like_source(sample_spark: Any) -> Any:
    sample_spark.sql("CREATE TABLE IF NOT EXISTS default.side_like_source (a INT) USING parquet")
    yield
    sample_spark.sql("DROP TABLE IF EXISTS default.side_like_source")


def _failure(run: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        run()
    return info.value


def _alike(hidden: BaseException, free: BaseException) -> None:
    """The same failure, but for the name itself (Spark's own errors name the table they were given)."""
    assert type(hidden) is type(free)
    assert str(hidden).replace("medical", "<name>") == str(free).replace("nobody_uses_this_name", "<name>")


@pytest.mark.parametrize("statement", _STATEMENTS)
@pytest.mark.parametrize("wrap", [lambda s: s, ei], ids=["direct", "execute-immediate"])
def test_creating_under_a_hidden_name_fails_exactly_as_under_a_free_one(
    dave: Any, statement: str, wrap: Callable[[str], str]
) -> None:
    hidden = _failure(lambda: dave.sql(wrap(statement.format(t=HIDDEN))).collect())
    free = _failure(lambda: dave.sql(wrap(statement.format(t=FREE))).collect())
    _alike(hidden, free)
    assert isinstance(hidden, UnenforcedPathError) or "UNSUPPORTED_FEATURE" in str(hidden)  # Spark's, before ours
    assert not dave.catalog.tableExists(FREE)


@pytest.mark.parametrize(
    "write",
    [
        lambda s, t: s.range(1).write.saveAsTable(t),
        lambda s, t: s.range(1).write.mode("append").saveAsTable(t),
        lambda s, t: s.range(1).write.mode("ignore").saveAsTable(t),
        lambda s, t: s.range(1).write.mode("overwrite").saveAsTable(t),
        lambda s, t: s.range(1).writeTo(t).create(),
        lambda s, t: s.range(1).writeTo(t).createOrReplace(),
        lambda s, t: s.range(1).writeTo(t).using("parquet").create(),
    ],
    ids=["save-as-table", "append", "ignore", "overwrite", "write-to-create", "create-or-replace", "using"],
)
def test_dataframe_writers_fail_alike_for_a_hidden_and_a_free_name(dave: Any, write: Any) -> None:
    _alike(_failure(lambda: write(dave, HIDDEN)), _failure(lambda: write(dave, FREE)))
    assert not dave.catalog.tableExists(FREE)


@pytest.mark.parametrize(
    "statement",
    ["DROP DATABASE claims", "DROP DATABASE claims CASCADE", "DROP DATABASE IF EXISTS claims", "DROP SCHEMA claims"],
)
def test_dropping_a_database_with_hidden_tables_says_nothing_of_them(dave: Any, statement: str) -> None:
    for text in (statement, ei(statement)):
        with pytest.raises(UnenforcedPathError) as info:
            dave.sql(text)
        message = str(info.value)
        assert "medical" not in message and "Medical" not in message and "SCHEMA_NOT_EMPTY" not in message
    assert "medical" in [t.name for t in dave._root.catalog.listTables("claims")]  # nothing was dropped


def test_users_who_see_a_whole_database_create_in_it_and_others_elsewhere(alice: Any, dave: Any) -> None:
    alice.sql("CREATE TABLE claims.side_alice (a INT) USING parquet")
    try:
        assert alice.catalog.tableExists("claims.side_alice")
    finally:
        alice.sql("DROP TABLE claims.side_alice")
    dave.sql("CREATE DATABASE IF NOT EXISTS side_dave")
    dave.sql("CREATE TABLE side_dave.t USING parquet AS SELECT 1 AS a")
    assert dave.sql("SELECT a FROM side_dave.t").first()[0] == 1
    dave.sql("DROP DATABASE side_dave CASCADE")


@pytest.mark.parametrize(
    "read",
    [
        lambda s, p: s.read.parquet(p),
        lambda s, p: s.read.format("parquet").load(p),
        lambda s, p: s.sql(f"SELECT * FROM parquet.`{p}`"),
        lambda s, p: s.sql(ei(f"SELECT * FROM parquet.`{p}`")),
    ],
    ids=["reader", "load", "sql", "execute-immediate"],
)
def test_a_path_inside_a_hidden_table_fails_as_a_missing_path(dave: Any, medical_location: str, read: Any) -> None:
    from pathlib import Path

    from pyspark.errors import AnalysisException

    inside = str(next(Path(medical_location.removeprefix("file:")).glob("*.parquet")))
    missing = str(Path(inside).with_name("part-00000-nobody-has-this-file.parquet"))
    with pytest.raises(AnalysisException) as hidden_error:
        read(dave, inside).collect()
    with pytest.raises(AnalysisException) as missing_error:
        read(dave, missing).collect()
    assert hidden_error.value.getCondition() == missing_error.value.getCondition() == "PATH_NOT_FOUND"
    name_a, name_b = Path(inside).name, Path(missing).name
    assert str(hidden_error.value).replace(name_a, "<f>") == str(missing_error.value).replace(name_b, "<f>")
