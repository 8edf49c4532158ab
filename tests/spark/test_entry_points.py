"""Every entry point of the governed session enforces, hides invisible sources and explains denials.

Entry points: ``table``, ``sql``, ``read.*`` and ``load``, ``catalog.listTables`` /
``tableExists`` / ``listColumns``, ``DESCRIBE``, ``SHOW TABLES``, ``EXPLAIN``. An invisible
source fails exactly like a missing table (Spark's own error, names substituted); a visible
source the user is not subscribed to fails with an access-denied error saying how to request access.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.errors import AnalysisException

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.spark import GovernedAccessDenied, GovernedTableNotFound

BOB_ROWS = [
    (1, None, None, "Ohio", "164.16.13.XXX", 1200.0, dt.date(2026, 11, 1), "F"),
    (4, None, None, "Ohio", "172.16.0.XXX", 400.0, dt.date(2026, 8, 1), "M"),
]
SCHEMA = (
    "claim_id bigint, ssn string, address string, state string, ip string, amount double, claim_date date, "
    "gender string"
)


@pytest.fixture(scope="module")
def session(sample_spark: Any, example_catalog: GovernanceCatalog) -> Callable[[str], Any]:
    from immuta_spark.spark import ImmutaSparkSession

    made: dict[str, Any] = {}

    def get(user: str) -> Any:
        if user not in made:
            made[user] = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user=user)
        return made[user]

    return get


@pytest.fixture(scope="module")
def location(sample_spark: Any) -> Callable[[str], str]:
    def find(table: str) -> str:
        rows = sample_spark.sql(f"DESCRIBE FORMATTED {table}").collect()
        return next(r.data_type for r in rows if r.col_name == "Location")

    return find


# --- bob reads claims.medical through every entry point: always enforced ---------------

READS: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("sql", lambda s, loc: s.sql("SELECT * FROM claims.medical")),
    ("sql-join", lambda s, loc: s.sql("SELECT m.* FROM range(1) r JOIN claims.medical m ON true")),
    ("table", lambda s, loc: s.table("claims.medical")),
    ("read.table", lambda s, loc: s.read.table("claims.medical")),
    ("read.parquet", lambda s, loc: s.read.parquet(loc)),
    ("read.orc", lambda s, loc: s.read.orc(loc)),
    ("read.csv", lambda s, loc: s.read.csv(loc)),
    ("read.json", lambda s, loc: s.read.json(loc)),
    ("read.load", lambda s, loc: s.read.format("parquet").load(loc)),
    ("sql-path", lambda s, loc: s.sql(f"SELECT * FROM parquet.`{loc}`")),
]


@pytest.mark.parametrize("read", [r for _n, r in READS], ids=[n for n, _r in READS])
def test_bob_gets_the_enforced_rows_from_every_read_entry_point(
    session: Callable[[str], Any], sample_spark: Any, location: Callable[[str], str], read: Any
) -> None:
    expected = sample_spark.createDataFrame(BOB_ROWS, SCHEMA)
    df = read(session("bob"), location("claims.medical"))
    assert_df_equality(df, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_catalog_entry_points_show_bob_the_table_as_he_may_see_it(session: Callable[[str], Any]) -> None:
    bob = session("bob")
    assert "medical" in [t.name for t in bob.catalog.listTables("claims")]
    assert bob.catalog.tableExists("claims.medical")
    columns = {c.name: c.dataType for c in bob.catalog.listColumns("claims.medical")}
    assert list(columns) == ["claim_id", "ssn", "address", "state", "ip", "amount", "claim_date", "gender"]
    described = [tuple(r)[:2] for r in bob.sql("DESCRIBE claims.medical").collect()]
    assert described == list(columns.items())
    assert "medical" in [r.tableName for r in bob.sql("SHOW TABLES IN claims").collect()]


def test_explain_shows_the_enforced_plan(session: Callable[[str], Any]) -> None:
    text = session("bob").sql("EXPLAIN EXTENDED SELECT ssn FROM claims.medical").collect()[0][0]
    assert "Ohio" in text  # the row filter is in the plan


# --- dave: Medical Claims is invisible, exactly like a missing table ------------------


def normalized(message: str, name: str) -> str:
    return re.sub(r"#\d+L?", "#N", message.replace(name, "<name>"))


def failure(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        result = call()
        if hasattr(result, "collect"):
            result.collect()
    return info.value


def assert_like_missing(invisible: BaseException, missing: BaseException, names: tuple[str, str]) -> None:
    assert isinstance(invisible, AnalysisException) and isinstance(missing, AnalysisException)
    assert isinstance(invisible, GovernedTableNotFound)  # also our own SourceNotFound
    assert invisible.getCondition() == missing.getCondition()
    assert invisible.getSqlState() == missing.getSqlState()
    assert {k: normalized(str(v), names[0]) for k, v in invisible.getMessageParameters().items()} == {
        k: normalized(str(v), names[1]) for k, v in missing.getMessageParameters().items()
    }
    assert normalized(str(invisible), names[0]) == normalized(str(missing), names[1])


STATEMENTS = [
    "SELECT * FROM {t}",
    "SELECT ssn FROM {t} WHERE state = 'Ohio'",
    "SELECT a.claim_id FROM range(3) r JOIN {t} a ON r.id = a.claim_id",
    "SELECT * FROM claims.patients p, {t} m",
    "WITH x AS (SELECT * FROM {t}) SELECT count(*) FROM x",
    "SELECT (SELECT max(ssn) FROM {t})",
    "DESCRIBE {t}",
    "DESCRIBE EXTENDED {t} ssn",
    "DESCRIBE TABLE EXTENDED {t}",
    "SHOW COLUMNS IN {t}",
    "SHOW CREATE TABLE {t}",
    "SHOW TBLPROPERTIES {t}",
    "INSERT INTO {t} SELECT * FROM {t}",
    "INSERT INTO default.nothing SELECT * FROM {t}",
    "DROP TABLE {t}",
    "CACHE TABLE {t}",
    "UNCACHE TABLE {t}",
    "TRUNCATE TABLE {t}",
    "ALTER TABLE {t} ADD COLUMNS (x int)",
    "ANALYZE TABLE {t} COMPUTE STATISTICS",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_an_invisible_table_fails_in_sql_exactly_like_a_missing_one(
    session: Callable[[str], Any], sample_spark: Any, statement: str
) -> None:
    dave = session("dave")
    invisible = failure(lambda: dave.sql(statement.format(t="claims.medical")))
    missing = failure(lambda: dave.sql(statement.format(t="claims.nosuch")))
    assert_like_missing(invisible, missing, ("medical", "nosuch"))
    if statement.startswith("SELECT") and "patients" not in statement:  # and it is Spark's own error
        raw = failure(lambda: sample_spark.sql(statement.format(t="claims.nosuch")))
        assert normalized(str(missing), "nosuch") == normalized(str(raw), "nosuch")


@pytest.mark.parametrize(
    "name", ["claims.medical", "CLAIMS.Medical", "`claims`.`medical`", "spark_catalog.claims.medical"]
)
def test_an_invisible_table_fails_in_session_table_exactly_like_a_missing_one(
    session: Callable[[str], Any], sample_spark: Any, name: str
) -> None:
    missing_name = name.replace("medical", "nosuch").replace("Medical", "Nosuch")
    invisible = failure(lambda: session("dave").table(name))
    raw = failure(lambda: sample_spark.table(missing_name))
    part = name.replace("`", "").split(".")[-1]
    assert_like_missing(invisible, raw, (part, missing_name.replace("`", "").split(".")[-1]))
    invisible = failure(lambda: session("dave").read.table(name))
    assert_like_missing(invisible, raw, (part, missing_name.replace("`", "").split(".")[-1]))


def test_drop_if_exists_of_an_invisible_table_does_nothing_like_for_a_missing_one(
    session: Callable[[str], Any], sample_spark: Any
) -> None:
    assert session("dave").sql("DROP TABLE IF EXISTS claims.medical").collect() == []
    assert sample_spark.catalog.tableExists("claims.medical")


def test_explain_of_an_invisible_table_reads_like_explain_of_a_missing_one(session: Callable[[str], Any]) -> None:
    dave = session("dave")
    invisible = dave.sql("EXPLAIN SELECT * FROM claims.medical").collect()[0][0]
    missing = dave.sql("EXPLAIN SELECT * FROM claims.nosuch").collect()[0][0]
    assert "TABLE_OR_VIEW_NOT_FOUND" in invisible
    assert normalized(invisible, "medical") == normalized(missing, "nosuch")


def test_an_invisible_table_is_missing_from_the_catalog_api(session: Callable[[str], Any], sample_spark: Any) -> None:
    dave = session("dave")
    assert dave.catalog.tableExists("claims.medical") is False
    assert "medical" not in [t.name for t in dave.catalog.listTables("claims")]
    assert "medical" not in [t.name for t in dave.catalog.listTables("claims", "med*")]
    invisible = failure(lambda: dave.catalog.listColumns("claims.medical"))
    raw = failure(lambda: sample_spark.catalog.listColumns("claims.nosuch"))
    assert_like_missing(invisible, raw, ("medical", "nosuch"))


@pytest.mark.parametrize(
    "statement",
    ["SHOW TABLES IN claims", "SHOW TABLES IN claims LIKE 'med*'", "SHOW TABLE EXTENDED IN claims LIKE '*'"],
)
def test_show_tables_does_not_list_an_invisible_table(session: Callable[[str], Any], statement: str) -> None:
    names = [r.tableName for r in session("dave").sql(statement).collect()]
    assert "medical" not in names
    assert "medical" in [r.tableName for r in session("bob").sql(statement).collect()]


@pytest.mark.parametrize(
    "read",
    [
        lambda s, loc: s.read.parquet(loc),
        lambda s, loc: s.read.format("parquet").load(loc),
        lambda s, loc: s.read.json(loc),
        lambda s, loc: s.sql(f"SELECT * FROM parquet.`{loc}`"),
    ],
    ids=["read.parquet", "read.load", "read.json", "sql-path"],
)
def test_an_invisible_table_storage_reads_like_a_missing_path(
    session: Callable[[str], Any], sample_spark: Any, location: Callable[[str], str], read: Any
) -> None:
    loc = location("claims.medical")
    missing = loc + "_nothing_here"
    invisible = failure(lambda: read(session("dave"), loc))
    raw = failure(lambda: read(sample_spark, missing))
    assert_like_missing(invisible, raw, (loc, missing))
    assert invisible.getCondition() == "PATH_NOT_FOUND"


# --- bob and Patients: visible but not subscribed ------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, loc: s.sql("SELECT * FROM claims.patients"),
        lambda s, loc: s.sql("SELECT count(*) FROM claims.medical m JOIN claims.patients p ON true"),
        lambda s, loc: s.table("claims.patients"),
        lambda s, loc: s.read.parquet(loc),
        lambda s, loc: s.sql(f"SELECT * FROM parquet.`{loc}`"),
        lambda s, loc: s.catalog.listColumns("claims.patients"),
        lambda s, loc: s.sql("DESCRIBE claims.patients"),
    ],
    ids=["sql", "sql-join", "table", "read.parquet", "sql-path", "listColumns", "describe"],
)
def test_a_visible_source_without_subscription_says_how_to_request_access(
    session: Callable[[str], Any], location: Callable[[str], str], call: Any
) -> None:
    with pytest.raises(GovernedAccessDenied) as info:
        result = call(session("bob"), location("claims.patients"))
        if hasattr(result, "collect"):
            result.collect()
    message = str(info.value)
    assert "Patients" in message and "subscription request --source 'Patients'" in message
    assert isinstance(info.value, AnalysisException)


def test_a_visible_source_without_subscription_is_listed_and_exists(session: Callable[[str], Any]) -> None:
    bob = session("bob")
    assert bob.catalog.tableExists("claims.patients")
    assert "patients" in [t.name for t in bob.catalog.listTables("claims")]
