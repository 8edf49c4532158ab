"""EXPLAIN shows no salts or keys; DESCRIBE and SHOW show enforced columns and no statistics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.errors import AnalysisException

from immuta_spark.catalog import GovernanceCatalog
from tests.conftest import SPARK_IDENTITY
from tests.security.conftest import collect

SECRETS = """
version: 1
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: ann, groups: [Staff]}
sources:
  - name: Secret Claims
    table: claims.medical
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: h-ssn, type: masking, columns: {names: [ssn]}, mask: hash}
      - {name: tok-address, type: masking, columns: {names: [address]}, mask: reversible}
      - {name: c-amount, type: masking, columns: {names: [amount]}, mask: {constant: hidden}}
"""


@pytest.fixture(scope="module")
def secret_catalog(tmp_path_factory: pytest.TempPathFactory, sample_spark: Any) -> GovernanceCatalog:
    root: Path = tmp_path_factory.mktemp("secrets")
    (root / "secrets.yaml").write_text(SECRETS)
    catalog = GovernanceCatalog.open(f"sqlite:///{root / 'secrets.db'}", identity=SPARK_IDENTITY, create=True)
    catalog.apply(root / "secrets.yaml")
    return catalog


@pytest.fixture(scope="module")
def ann(sample_spark: Any, secret_catalog: GovernanceCatalog) -> Any:
    from immuta_spark.spark import ImmutaSparkSession

    return ImmutaSparkSession.wrap(sample_spark, catalog=secret_catalog, user="ann")


@pytest.fixture(scope="module")
def secrets(secret_catalog: GovernanceCatalog) -> list[str]:
    """Every form in which the salt and the key could show: hex in both cases, and their halves."""
    salt = secret_catalog.store.secret("source", "Secret Claims", "hash_salt")
    key = secret_catalog.store.secret("source", "Secret Claims", "token_key")[:32]
    return [s.hex()[i : i + 32] for s in (salt, key) for i in (0, 16, 32) if s.hex()[i : i + 32]]


def assert_secret_free(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret.lower() not in text.lower(), "a salt or key shows"


@pytest.mark.parametrize("mode", ["", "EXTENDED", "CODEGEN", "FORMATTED"])  # COST: refused (test_side_doors)
def test_explain_shows_no_salt_or_key(ann: Any, secrets: list[str], mode: str) -> None:
    text = collect(ann.sql(f"EXPLAIN {mode} SELECT ssn, address FROM claims.medical WHERE ssn IS NOT NULL"))[0][0]
    assert text.strip()
    assert_secret_free(text, secrets)


@pytest.mark.parametrize("mode", ["simple", "extended", "codegen", "formatted"])  # cost: refused
def test_dataframe_explain_shows_no_salt_or_key(
    ann: Any, secrets: list[str], mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ann.table("claims.medical").select("ssn", "address").filter("ssn <> 'x'").explain(mode)
    assert_secret_free(capsys.readouterr().out, secrets)


def test_analysis_errors_show_no_salt_or_key(ann: Any, secrets: list[str]) -> None:
    with pytest.raises(AnalysisException) as info:
        ann.sql("SELECT no_such_column FROM claims.medical")
    assert "no_such_column" in str(info.value)
    assert_secret_free(str(info.value), secrets)


def test_the_enforced_values_still_use_the_secrets(ann: Any, secrets: list[str]) -> None:
    hashed = {r[0] for r in collect(ann.sql("SELECT ssn FROM claims.medical WHERE ssn IS NOT NULL"))}
    assert len(hashed) == 5 and all(len(h) == 64 for h in hashed)


@pytest.fixture(scope="module")
def column_stats(sample_spark: Any) -> Iterator[None]:
    """Column statistics exist on the raw table (computed by an admin on the raw session)."""
    sample_spark.sql("ANALYZE TABLE claims.medical COMPUTE STATISTICS FOR ALL COLUMNS")
    raw = {r[0]: r[1] for r in sample_spark.sql("DESCRIBE EXTENDED claims.medical ssn").collect()}
    assert raw.get("distinct_count") == "5"  # the statistics really are there
    yield


@pytest.mark.parametrize("column", ["ssn", "address", "state", "amount", "claim_id"])
def test_describe_extended_shows_no_column_statistics(bob: Any, column_stats: None, column: str) -> None:
    for statement in (f"DESCRIBE EXTENDED claims.medical {column}", f"DESC FORMATTED claims.medical {column}"):
        info = {r[0]: r[1] for r in collect(bob.sql(statement))}
        assert set(info) == {"col_name", "data_type", "comment"}
        assert info["col_name"] == column


def test_describe_table_extended_shows_columns_only(bob: Any, column_stats: None) -> None:
    for statement in ("DESCRIBE TABLE EXTENDED claims.medical", "DESCRIBE FORMATTED claims.medical"):
        rows = collect(bob.sql(statement))
        assert [r[0] for r in rows] == ["claim_id", "ssn", "address", "state", "ip", "amount", "claim_date", "gender"]
        assert not any("Statistics" in str(v) or "rows" in str(v) for r in rows for v in r)


def test_show_table_extended_shows_no_statistics(bob: Any, sample_spark: Any, column_stats: None) -> None:
    raw = collect(sample_spark.sql("SHOW TABLE EXTENDED IN claims LIKE 'medical'"))[0][3]
    assert "Statistics:" in raw and "6 rows" in raw
    info = collect(bob.sql("SHOW TABLE EXTENDED IN claims LIKE 'medical'"))[0][3]
    assert "Statistics" not in info and "6 rows" not in info and "Table: medical" in info


def test_describe_and_show_columns_reflect_the_masked_types(ann: Any, sample_spark: Any) -> None:
    raw = dict((r[0], r[1]) for r in sample_spark.sql("DESCRIBE claims.medical").collect())
    assert raw["amount"] == "double"
    described = {r[0]: r[1] for r in collect(ann.sql("DESCRIBE claims.medical"))}
    assert described["amount"] == "string"  # the constant mask made it a string
    assert {r[0]: r[1] for r in collect(ann.sql("DESCRIBE claims.medical amount"))}["data_type"] == "string"
    assert [r[0] for r in collect(ann.sql("SHOW COLUMNS IN claims.medical"))] == list(raw)
    query = {r[0]: r[1] for r in collect(ann.sql("DESCRIBE QUERY SELECT amount, ssn FROM claims.medical"))}
    assert query == {"amount": "string", "ssn": "string"}
    assert {c.name: c.dataType for c in ann.catalog.listColumns("claims.medical")}["amount"] == "string"


def test_explain_policies_shows_no_salt_or_key(ann: Any, secrets: list[str]) -> None:
    text = ann.explain_policies("claims.medical")
    assert "h-ssn" in text
    assert_secret_free(text, secrets)


def test_describe_as_json_shows_the_enforced_columns_and_no_statistics(bob: Any, column_stats: None) -> None:
    import json

    for statement in ("DESCRIBE TABLE EXTENDED claims.medical AS JSON", "DESC FORMATTED claims.medical AS JSON"):
        described = json.loads(collect(bob.sql(statement))[0][0])
        assert described["table_name"] == "medical" and described["namespace"] == ["claims"]
        columns = {c["name"]: c for c in described["columns"]}
        assert list(columns) == ["claim_id", "ssn", "address", "state", "ip", "amount", "claim_date", "gender"]
        assert columns["ssn"]["comment"] == "masked: null (policy null-ssn)"
        assert "comment" not in columns["state"]
        assert columns["amount"]["type"] == {"name": "double"}
        assert not {"statistics", "location", "storage_properties", "table_properties"} & set(described)


def test_describe_as_json_of_a_hidden_table_fails_as_for_a_missing_one(dave: Any) -> None:
    from tests.security.conftest import assert_fails_alike

    with pytest.raises(AnalysisException) as hidden:
        dave.sql("DESCRIBE TABLE EXTENDED claims.medical AS JSON")
    with pytest.raises(AnalysisException) as missing:
        dave.sql("DESCRIBE TABLE EXTENDED claims.nosuch_table AS JSON")
    assert_fails_alike(hidden.value, missing.value, ("medical", "nosuch_table"))
