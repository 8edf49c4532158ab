"""The shipped example applies cleanly and explains the seed's scenarios."""

from __future__ import annotations

import sys

from immuta_spark.catalog import GovernanceCatalog
from tests.unit.conftest import CONF


def test_importing_the_core_does_not_import_pyspark() -> None:
    import subprocess

    code = (
        "import immuta_spark, immuta_spark.catalog, immuta_spark.engine, immuta_spark.cli, sys; "
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_applying_the_example_twice_changes_nothing(catalog: GovernanceCatalog) -> None:
    before = catalog.export()
    result = catalog.apply(CONF, sql_checker=None)
    assert result.is_noop
    assert catalog.export() == before


def test_bob_sees_ssn_nulled_and_only_ohio_rows(catalog: GovernanceCatalog) -> None:
    plan = catalog.explain("Medical Claims", user="bob").to_json()
    assert plan["columns"]["ssn"] == {
        "mask": "null",
        "construction": "NULL",
        "policy": "null-ssn",
        "overridden": ["hash-pii", "constant-ssn"],
        "overridden_why": {
            "hash-pii": "less specific target than 'null-ssn'",
            "constant-ssn": "lower priority (-1 < 0) than 'null-ssn'",
        },
        "conditional": False,
        "type": "string",
    }
    assert plan["row_filters"] == [{"policy": "office-rows", "kind": "match_attribute"}]
