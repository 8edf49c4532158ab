"""DataFrame writers: enforced rows may be written anywhere, never over a governed table or its storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.spark import EnforcementError, GovernedAccessDenied
from tests.security.conftest import BOB_ROWS, MEDICAL, collect


@pytest.fixture
def untouched(sample_spark: Any) -> Iterator[None]:
    """claims.medical must come out of the test exactly as it went in (rows, columns and files)."""

    def state() -> list[Any]:
        files = sorted(p.name for p in Path(_medical_location(sample_spark).removeprefix("file:")).iterdir())
        return [*sample_spark.sql(f"SELECT count(*), sum(hash(*)) FROM {MEDICAL}").collect()[0], files]

    before = state()
    yield
    assert state() == before


def _medical_location(spark: Any) -> str:
    return str(spark.sql(f"DESCRIBE FORMATTED {MEDICAL}").filter("col_name = 'Location'").collect()[0].data_type)


WRITES: list[tuple[str, Callable[[Any, str], None]]] = [
    ("insertInto", lambda df, loc: df.write.insertInto(MEDICAL)),
    ("insertInto overwrite", lambda df, loc: df.write.insertInto("`claims`.`medical`", overwrite=True)),
    ("saveAsTable overwrite", lambda df, loc: df.write.mode("overwrite").saveAsTable(MEDICAL)),
    ("saveAsTable append", lambda df, loc: df.write.mode("append").format("parquet").saveAsTable("CLAIMS.Medical")),
    ("writeTo append", lambda df, loc: df.writeTo(MEDICAL).append()),
    ("writeTo createOrReplace", lambda df, loc: df.writeTo(MEDICAL).createOrReplace()),
    ("writeTo overwritePartitions", lambda df, loc: df.writeTo(MEDICAL).overwritePartitions()),
]
PATH_WRITES: list[tuple[str, Callable[[Any, str], None]]] = [
    ("parquet overwrite", lambda df, loc: df.write.mode("overwrite").parquet(loc)),
    ("parquet append beneath", lambda df, loc: df.write.mode("append").parquet(loc + "/extra")),
    ("save with path option", lambda df, loc: df.write.format("parquet").option("path", loc).mode("append").save()),
    ("csv above", lambda df, loc: df.write.mode("overwrite").csv(loc.rsplit("/", 1)[0])),
    ("new table laid over the storage", lambda df, loc: df.write.option("path", loc).saveAsTable("default.sneaky")),
]


@pytest.mark.parametrize(("how", "write"), WRITES, ids=[w[0] for w in WRITES])
def test_bob_may_not_write_into_a_governed_table_he_does_not_own(
    bob: Any, sample_spark: Any, untouched: None, how: str, write: Callable[[Any, str], None]
) -> None:
    df = bob.table(MEDICAL)
    with pytest.raises(GovernedAccessDenied, match="reserved to the source's owners"):
        write(df, _medical_location(sample_spark))


@pytest.mark.parametrize(("how", "write"), PATH_WRITES, ids=[w[0] for w in PATH_WRITES])
def test_bob_may_not_write_over_governed_storage(
    bob: Any, sample_spark: Any, untouched: None, how: str, write: Callable[[Any, str], None]
) -> None:
    df = bob.sql("SELECT 1 AS claim_id")
    with pytest.raises(GovernedAccessDenied, match="storage of a governed table"):
        write(df, _medical_location(sample_spark))
    assert not sample_spark.catalog.tableExists("default.sneaky")


def test_a_user_who_cannot_see_the_table_is_told_it_does_not_exist(as_user: Any, untouched: None) -> None:
    dave = as_user("dave")
    with pytest.raises(AnalysisException) as caught:
        dave.sql("SELECT 1 AS x").write.insertInto(MEDICAL)
    assert caught.value.getCondition() == "TABLE_OR_VIEW_NOT_FOUND"


def test_bob_may_write_his_enforced_rows_to_a_table_which_becomes_a_derived_source(
    bob: Any, sample_spark: Any, tmp_path: Path, example_catalog: Any
) -> None:
    sample_spark.sql("DROP TABLE IF EXISTS default.bob_copy")
    bob.table(MEDICAL).write.mode("overwrite").saveAsTable("default.bob_copy")
    assert sorted(collect(sample_spark.table("default.bob_copy"))) == BOB_ROWS
    owner = GovernanceCatalog(example_catalog.store, identity="bob")  # the writer owns the copy
    assert owner.derived_source("default.bob_copy").parents == ("Medical Claims",)
    bob.table(MEDICAL).write.insertInto("default.bob_copy")
    assert sorted(collect(sample_spark.table("default.bob_copy"))) == sorted(BOB_ROWS * 2)
    # A directory cannot be registered: the write of governed rows to a path is refused, nothing written.
    out = str(tmp_path / "bob_parquet")
    with pytest.raises(EnforcementError, match="cannot be registered as a derived data source"):
        bob.table(MEDICAL).write.parquet(out)
    assert not Path(out).exists()
    bob.range(3).write.parquet(out)  # ungoverned rows go anywhere
    sample_spark.sql("DROP TABLE default.bob_copy")


def test_an_overwrite_condition_cannot_read_raw_data_through_a_subquery(bob: Any, sample_spark: Any) -> None:
    sample_spark.sql("DROP TABLE IF EXISTS default.bob_target_v2")
    sample_spark.sql("CREATE TABLE default.bob_target_v2 (claim_id bigint) USING parquet")
    # Whether the overwrite deletes rows would tell bob whether a raw SSN exists: the condition's
    # subquery is enforced like any other (bob's ssn values are NULL), so it matches nothing.
    oracle = F.expr("claim_id IN (SELECT claim_id FROM claims.medical WHERE ssn = '123-45-6789')")
    try:
        assert bob.range(10).withColumnRenamed("id", "claim_id").filter(oracle).count() == 0
        with pytest.raises(AnalysisException):  # Spark's own: a v1 table takes no overwrite condition
            bob.sql("SELECT 1L AS claim_id").writeTo("default.bob_target_v2").overwrite(oracle)
    finally:
        sample_spark.sql("DROP TABLE default.bob_target_v2")


def test_writer_methods_pyspark_does_not_offer_are_absent(bob: Any) -> None:
    with pytest.raises(AttributeError, match="not available on a governed DataFrameWriter"):
        bob.table(MEDICAL).write._jwrite  # noqa: B018
    with pytest.raises(AttributeError, match="not available on a governed DataFrameWriterV2"):
        bob.table(MEDICAL).writeTo("default.x")._jwriter  # noqa: B018


def test_refused_and_allowed_writes_are_audited(bob: Any, example_catalog: Any, untouched: None) -> None:
    with pytest.raises(GovernedAccessDenied):
        bob.table(MEDICAL).write.insertInto(MEDICAL)
    record = example_catalog.store.audit_records(user="bob")[-1]
    assert (record.action, record.outcome) == ("write", "denied")
    assert record.detail["target"] == MEDICAL
    assert "Medical Claims" in record.sources


def test_the_owner_may_write_into_her_own_table(governed: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "wr.owned", [(1, "a")], "id int, name string")
    sessions = governed(
        """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: other}
sources:
  - {name: Owned, table: wr.owned, owners: [owner], subscription: {anyone: {}}}
"""
    )
    owner = sessions("owner")
    owner.sql("SELECT 2 AS id, 'b' AS name").write.insertInto("wr.owned")
    assert sorted(r.id for r in owner.table("wr.owned").collect()) == [1, 2]
    with pytest.raises(GovernedAccessDenied):
        sessions("other").sql("SELECT 3 AS id, 'c' AS name").write.insertInto("wr.owned")
