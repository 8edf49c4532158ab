"""A copy never shows more than its parent: writes of governed data are registered or refused (issue 10, item 8).

Tried as a new user would: alice copies a source she sees unmasked into her own database, and
bob then reads her copy. Every form of write: DataFrame writers, CTAS, INSERT ... SELECT, paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: alice, groups: [Legal], attributes: {State: [Ohio]}}
  - {name: bob, attributes: {State: [Ohio]}}
  - {name: carol, groups: [Legal], attributes: {State: [Ohio, Texas]}}
  - {name: dave, groups: [Legal], attributes: {State: [Texas]}}
sources:
  - name: People
    table: gw.people
    owners: [gov]
    subscription: {anyone: {}}
    policies:
      - {name: ssn, type: masking, columns: {names: [ssn]}, mask: "null", except: {groups: [Legal]}}
      - {name: by-state, type: row, match: {attribute: State, column: state}}
"""
ROWS = [(1, "111-11-1111", "Ohio"), (2, "222-22-2222", "Texas"), (3, "333-33-3333", "Ohio")]
ALICE_SEES = [(1, "111-11-1111", "Ohio"), (3, "333-33-3333", "Ohio")]


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    table(sample_spark, "gw.people", ROWS, "id int, ssn string, state string")
    sample_spark.sql("CREATE DATABASE IF NOT EXISTS alice_db")
    for name in ("copy", "ctas", "target", "plain"):
        sample_spark.sql(f"DROP TABLE IF EXISTS alice_db.{name}")
    return governed(_YAML)


def governor(sessions: Any) -> GovernanceCatalog:
    """The catalog as its governor, who sees every derived source (the service identity sees what it may)."""
    return GovernanceCatalog(sessions.catalog.store, identity="gov")


def rows(session: Any, table: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in session.sql(f"SELECT id, ssn, state FROM {table}").collect())


def assert_only_the_entitled_read(sessions: Any, table: str) -> None:
    from immuta_spark.spark import GovernedTableNotFound

    assert rows(sessions("alice"), table) == ALICE_SEES
    assert rows(sessions("carol"), table) == ALICE_SEES  # Legal and Ohio: what alice saw, no more
    for reader in ("bob", "dave"):  # bob lacks Legal (would see SSNs), dave lacks Ohio (would see Ohio's rows)
        with pytest.raises(GovernedTableNotFound):
            sessions(reader).sql(f"SELECT * FROM {table}").collect()


def test_a_table_written_with_save_as_table_is_a_derived_source_at_once(sessions: Any) -> None:
    sessions("alice").table("gw.people").write.saveAsTable("alice_db.copy")
    record = governor(sessions).derived_source("alice_db.copy")
    assert record.parents == ("People",)
    assert record.entitlement == {"groups": ["Legal"], "attributes": {"State": ["Ohio"]}}
    assert_only_the_entitled_read(sessions, "alice_db.copy")


def test_create_table_as_select_is_registered_too(sessions: Any) -> None:
    alice = sessions("alice")
    alice.sql("CREATE TABLE alice_db.ctas USING parquet AS SELECT id, ssn, state FROM gw.people")
    assert governor(sessions).derived_source("alice_db.ctas").parents == ("People",)
    assert_only_the_entitled_read(sessions, "alice_db.ctas")
    gov = governor(sessions)
    audit = [r for r in gov.audit() if r.action == "write.derived_source"]
    assert audit[-1].user == "alice" and audit[-1].detail["table"] == "alice_db.ctas"


def test_insert_select_into_her_own_table_makes_it_governed(sessions: Any, sample_spark: Any) -> None:
    sample_spark.sql("CREATE TABLE alice_db.target (id int, ssn string, state string) USING parquet")
    sessions("alice").sql("INSERT INTO alice_db.target SELECT id, ssn, state FROM gw.people")
    assert_only_the_entitled_read(sessions, "alice_db.target")


def test_a_write_of_governed_data_to_a_path_is_refused_and_writes_nothing(sessions: Any, tmp_path: Path) -> None:
    from immuta_spark.spark import EnforcementError

    alice = sessions("alice")
    out = tmp_path / "out"
    with pytest.raises(EnforcementError, match="cannot be registered as a derived data source"):
        alice.table("gw.people").write.parquet(str(out))
    with pytest.raises(EnforcementError, match="cannot be registered as a derived data source"):
        alice.sql(f"INSERT OVERWRITE DIRECTORY '{out}' USING parquet SELECT * FROM gw.people")
    assert not out.exists()


def test_the_noop_sink_copies_nothing_so_it_is_neither_registered_nor_refused(sessions: Any) -> None:
    alice = sessions("alice")
    alice.table("gw.people").write.format("noop").mode("overwrite").save()
    assert governor(sessions).derived_sources() == []
    audit = [r for r in governor(sessions).audit(action="write") if r.user == "alice"]
    assert audit and audit[-1].outcome == "ok" and "People" in audit[-1].sources


def test_writing_ungoverned_data_registers_nothing(sessions: Any) -> None:
    sessions("alice").range(3).write.saveAsTable("alice_db.plain")
    assert governor(sessions).derived_sources() == []
    assert sorted(r[0] for r in sessions("bob").sql("SELECT id FROM alice_db.plain").collect()) == [0, 1, 2]


def test_a_copy_follows_its_parent_when_the_parent_changes(sessions: Any) -> None:
    from immuta_spark.spark import GovernedTableNotFound

    sessions("alice").table("gw.people").write.saveAsTable("alice_db.copy")
    text = sessions.path.read_text().replace("subscription: {anyone: {}}", "subscription: {when: {groups: [Audit]}}")
    changed = sessions.path.with_name("changed.yaml")
    changed.write_text(text)
    governor(sessions).apply(changed)
    with pytest.raises(GovernedTableNotFound):  # carol is not in Audit: the parent's new condition reaches the copy
        sessions("carol").sql("SELECT * FROM alice_db.copy").collect()


def test_a_table_is_governed_before_its_data_lands_and_a_failed_write_takes_that_back(sessions: Any) -> None:
    alice = sessions("alice")
    with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
        alice.sql(
            "CREATE TABLE alice_db.ctas USING parquet AS SELECT id, ssn, state, id DIV (id - id) AS x FROM gw.people"
        )
    assert governor(sessions).derived_sources() == []
    history = [
        (r.action, r.detail.get("source"))
        for r in governor(sessions).audit()
        if r.action in ("write.derived_source", "source.delete")
    ]
    assert ("write.derived_source", "alice_db.ctas") in history  # registered first ...
    assert ("source.delete", "alice_db.ctas") in history  # ... and taken back when the write failed
