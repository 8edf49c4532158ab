"""Fingerprints with real Spark (issue 13, item 4): computed when a k-anonymization needs one, never used stale.

POLICY.md 5.2: the cardinality cutoff refuses a k-anonymized column with too many distinct
values, naming it and its count; ``k_anonymize: fingerprint`` is the largest K in 2..10 that
suppresses at most 10% of rows.
"""

from __future__ import annotations

from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: ann}
settings: {k_anonymization_cardinality_cutoff: 20}
sources:
  - name: Visits
    table: fpr.visits
    subscription: {anyone: {}}
    policies:
      - {name: k-zip, type: masking, columns: {names: [zip]}, mask: {k_anonymize: fingerprint}}
"""


def visits(zips: list[str]) -> list[tuple[int, str, str]]:
    return [(i, z, f"note {i}") for i, z in enumerate(zips)]


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    # 100 rows: zip A x60, B x30, and ten zips of one row each (10% of the rows).
    zips = ["A"] * 60 + ["B"] * 30 + [f"Z{i}" for i in range(10)]
    table(sample_spark, "fpr.visits", visits(zips), "id int, zip string, note string")
    return governed(_YAML)


def test_the_first_query_computes_the_fingerprint_and_k_suppresses_at_most_ten_percent(sessions: Any) -> None:
    ann = sessions("ann")
    ann.sql("SELECT zip FROM fpr.visits").write.format("noop").mode("overwrite").save()  # computing it voids nothing
    rows = ann.sql("SELECT zip FROM fpr.visits").collect()
    gov = GovernanceCatalog(sessions.catalog.store, identity="gov")
    printed = gov.fingerprint("Visits")
    assert printed is not None and printed["rows"] == 100
    assert printed["columns"]["zip"] == {"nulls": 0, "distinct": 12, "exact": True, "min": "A", "max": "Z9"}
    assert printed["columns"]["id"]["min"] == 0 and printed["columns"]["id"]["max"] == 99
    # K=10 would suppress only the ten single rows (10%): the largest K allowed.
    assert printed["k_anonymity"] == {"k-zip": 10}
    assert sorted({r["zip"] for r in rows}, key=str) == ["A", "B", None]
    audit = [r for r in gov.audit(action="fingerprint.compute")]
    assert len(audit) == 1 and audit[0].detail["automatic"] is True


def test_a_changed_table_makes_the_fingerprint_stale_and_it_is_recomputed(sessions: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    ann = sessions("ann")
    ann.sql("SELECT zip FROM fpr.visits").collect()
    gov = GovernanceCatalog(sessions.catalog.store, identity="gov")
    first = gov.fingerprint("Visits")
    table(sample_spark, "fpr.visits", visits(["A"] * 95 + ["B"] * 5), "id int, zip string, note string")
    sample_spark.catalog.refreshTable("fpr.visits")
    rows = sessions("ann").sql("SELECT zip FROM fpr.visits").collect()
    second = gov.fingerprint("Visits")
    assert first is not None and second is not None and second["version"] != first["version"]
    assert second["columns"]["zip"]["distinct"] == 2 and second["k_anonymity"] == {"k-zip": 10}
    assert sorted({r["zip"] for r in rows}, key=str) == ["A", None]  # B (5 rows) is under K=10


def test_a_column_above_the_cardinality_cutoff_is_refused_naming_it_and_its_count(
    sessions: Any, sample_spark: Any
) -> None:
    from pyspark.errors import AnalysisException

    from immuta_spark.errors import PolicyBindError
    from tests.spark.conftest import table

    table(sample_spark, "fpr.visits", visits([f"Z{i}" for i in range(50)]), "id int, zip string, note string")
    sample_spark.catalog.refreshTable("fpr.visits")
    with pytest.raises((AnalysisException, PolicyBindError), match=r"'zip', which has 50 distinct values, above .* 20"):
        sessions("ann").sql("SELECT * FROM fpr.visits").collect()


def test_the_command_fingerprints_as_an_owner_or_governor_only(
    sessions: Any, sample_spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools
    import io
    import json

    from immuta_spark import cli
    from immuta_spark.spark import fingerprint_cli

    url = sessions.catalog.store.url
    out = io.StringIO()
    monkeypatch.setenv("HADOOP_USER_NAME", "svc_notebook")  # who runs the commands: it may IMPERSONATE
    # The entry point loads fingerprint_cli.command; pinned to the plain session, as a new process would
    # start one (the builder here could hand back an earlier test's governed session, which refuses raw reads).
    monkeypatch.setattr(fingerprint_cli, "command", functools.partial(fingerprint_cli.command, spark=sample_spark))
    # The core's CLI runs the Spark layer's command (entry point group immuta_spark.commands).
    assert cli.main(["--catalog", url, "--as", "gov", "fingerprint", "Visits"], out=out) == 0
    assert out.getvalue().startswith("Visits: 100 rows, 3 columns; k: k-zip=10; version ")
    out = io.StringIO()
    argv = ["--catalog", url, "--user", "gov", "--all", "--format", "json"]
    assert fingerprint_cli.main(argv, spark=sample_spark, out=out) == 0
    assert json.loads(out.getvalue())["Visits"]["columns"]["zip"]["distinct"] == 12
    assert fingerprint_cli.main(["--catalog", url, "--user", "ann", "Visits"], spark=sample_spark, out=out) == 2
    assert fingerprint_cli.main(["--catalog", url, "--user", "gov", "Nope"], spark=sample_spark, out=out) == 2
    assert cli.main(["--catalog", url, "--as", "ann", "fingerprint", "Visits"], out=out) == 1
    # --user acts as someone: it needs IMPERSONATE of whoever runs the command, as --as does.
    stored = sessions.catalog.fingerprint("Visits")
    monkeypatch.setenv("HADOOP_USER_NAME", "ann")
    assert fingerprint_cli.main(["--catalog", url, "--user", "gov", "Visits"], spark=sample_spark, out=out) == 2
    assert sessions.catalog.fingerprint("Visits") == stored
