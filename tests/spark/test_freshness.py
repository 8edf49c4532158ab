"""Templates of enforcement are shared between sessions, and tables are read as fresh as Spark reads them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.spark.conftest import table

POLICIES = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: ann, attributes: {Region: [North]}}
  - {name: amy, attributes: {Region: [North]}}
  - {name: bob, attributes: {Region: [South]}}
sources:
  - name: Fresh
    table: fresh.events
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: hash-name, type: masking, columns: {names: [name]}, mask: hash}
      - {name: by-region, type: row, match: {attribute: Region, column: region}}
"""


def _templates(spark: Any) -> set[int]:
    """The templates of enforcement held for ``spark`` (by identity)."""
    from immuta_spark.spark.enforce import SharedFrames

    return {id(e) for e in SharedFrames.of(spark)._entries.values()}


@pytest.fixture
def events(sample_spark: Any) -> Any:
    table(sample_spark, "fresh.events", [(1, "n1", "North"), (2, "s1", "South")], "id int, name string, region string")
    return sample_spark


def test_a_table_rewritten_while_a_session_is_open_is_read_afresh(governed: Any, events: Any) -> None:
    ann = governed(POLICIES)("ann")
    assert [r.id for r in ann.sql("SELECT id FROM fresh.events").collect()] == [1]
    # Overwritten through Spark: new files, the old ones deleted.
    table(events, "fresh.events", [(7, "n7", "North"), (8, "n8", "North")], "id int, name string, region string")
    assert sorted(r.id for r in ann.sql("SELECT id FROM fresh.events").collect()) == [7, 8]
    assert sorted(r.id for r in ann.table("fresh.events").collect()) == [7, 8]


def test_rows_inserted_through_spark_are_seen_by_an_open_session(governed: Any, events: Any) -> None:
    ann = governed(POLICIES)("ann")
    assert ann.sql("SELECT count(*) AS n FROM fresh.events").collect()[0].n == 1
    events.sql("INSERT INTO fresh.events VALUES (3, 'n3', 'North'), (4, 's4', 'South')")
    assert sorted(r.id for r in ann.sql("SELECT id FROM fresh.events").collect()) == [1, 3]


def test_files_replaced_behind_sparks_back_are_seen_after_refresh_table(governed: Any, events: Any) -> None:
    ann = governed(POLICIES)("ann")
    assert ann.sql("SELECT count(*) AS n FROM fresh.events").collect()[0].n == 1
    location = events.sql("DESCRIBE FORMATTED fresh.events").filter("col_name = 'Location'").collect()[0].data_type
    # Another writer replaces the files (as another job or an HDFS workspace would).
    replacement = events.createDataFrame([(5, "n5", "North")], "id int, name string, region string")
    replacement.write.mode("overwrite").parquet(location)
    events.catalog.refreshTable("fresh.events")  # what plain Spark needs too
    assert [r.id for r in ann.sql("SELECT id FROM fresh.events").collect()] == [5]


def test_sessions_with_identical_enforcement_share_one_template(governed: Any, events: Any) -> None:
    sessions = governed(POLICIES)
    ann, amy, bob = sessions("ann"), sessions("amy"), sessions("bob")
    before = _templates(events)
    ann.sql("SELECT * FROM fresh.events").collect()
    after_ann = _templates(events)
    amy.sql("SELECT * FROM fresh.events").collect()
    assert _templates(events) == after_ann  # same attributes, same enforcement: nothing new built
    bob.sql("SELECT * FROM fresh.events").collect()
    assert len(_templates(events) - after_ann) == 1  # other rows: its own
    assert len(after_ann - before) == 1


def test_a_shared_template_masks_for_each_user_exactly(governed: Any, events: Any) -> None:
    sessions = governed(POLICIES)
    salt = sessions.catalog.store.secret("source", "Fresh", "hash_salt").hex()
    for user, expected in (("ann", ("n1", 1)), ("amy", ("n1", 1)), ("bob", ("s1", 2))):
        got = sessions(user).sql("SELECT id, name FROM fresh.events").collect()
        name, row_id = expected
        assert [(r.id, r.name) for r in got] == [(row_id, hashlib.sha256((salt + name).encode()).hexdigest())]


def test_a_dataframe_enforced_for_another_user_is_enforced_again_for_whoever_runs_it(
    governed: Any, events: Any
) -> None:
    sessions = governed(POLICIES)
    ann, bob = sessions("ann"), sessions("bob")
    bob_df = bob.table("fresh.events")
    ann_df = ann.table("fresh.events")
    assert [r.id for r in bob_df.collect()] == [2]
    # Joined in ann's session, bob's half is enforced again with ann's rules: she sees only her row.
    assert [r.id for r in ann_df.join(bob_df, "id").collect()] == [1]
    assert [r.id for r in bob_df.join(ann_df, "id").collect()] == [2]


def test_sessions_on_two_catalogs_never_share_a_template(governed: Any, events: Any) -> None:
    first, second = governed(POLICIES), governed(POLICIES)
    for sessions in (first, second):
        salt = sessions.catalog.store.secret("source", "Fresh", "hash_salt").hex()
        got = sessions("ann").sql("SELECT name FROM fresh.events").collect()
        assert [r.name for r in got] == [hashlib.sha256((salt + "n1").encode()).hexdigest()]


def test_least_recently_used_templates_are_dropped_and_rebuilt_when_needed(
    governed: Any, events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immuta_spark.spark.enforce import SharedFrames

    monkeypatch.setattr(SharedFrames, "LIMIT", 1)
    sessions = governed(POLICIES)
    ann, bob = sessions("ann"), sessions("bob")
    assert [r.id for r in ann.sql("SELECT id FROM fresh.events").collect()] == [1]
    first = _templates(events)
    assert [r.id for r in bob.sql("SELECT id FROM fresh.events").collect()] == [2]
    assert not (first & _templates(events))  # ann's template made room for bob's
    assert [r.id for r in ann.sql("SELECT id FROM fresh.events").collect()] == [1]


def test_a_stopped_session_lets_go_of_its_shared_templates(events: Any) -> None:
    from immuta_spark.spark.enforce import SharedFrames

    held = SharedFrames.of(events)
    assert SharedFrames.of(events) is held  # one per SparkSession, however often it is wrapped
    SharedFrames.forget(events)  # what ImmutaSparkSession.stop() does before stopping Spark
    assert SharedFrames.of(events) is not held
