"""The cardinality cutoff at apply (POLICY.md 5.2): a fingerprinted column above it refuses the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from immuta_spark.errors import NotAuthorized, PolicyFileError
from tests.unit.support import open_catalog, write
from tests.unit.test_projects import as_

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: ann}
sources:
  - name: Visits
    table: db.visits
    subscription: {anyone: {}}
    policies:
      - {name: k-zip, type: masking, columns: {names: [zip]}, mask: {k_anonymize: 2}}
"""


def test_a_fingerprinted_column_above_the_cutoff_refuses_the_apply_and_changes_nothing(
    catalog_url: str, tmp_path: Path
) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC.replace("mask: {k_anonymize: 2}", "mask: hash"))
    gov.store_fingerprint("Visits", {"rows": 900, "columns": {"zip": {"distinct": 501}}, "k_anonymity": {}})
    before = gov.export()
    with pytest.raises(PolicyFileError, match=r"'zip' of 'Visits', which has 501 distinct values .* cutoff 500"):
        gov.apply(write(tmp_path, DOC, "k.yaml"), sql_checker=None)
    assert gov.export() == before
    raised = DOC.replace("version: 1\n", "version: 1\nsettings: {k_anonymization_cardinality_cutoff: 600}\n")
    gov.apply(write(tmp_path, raised, "k600.yaml"), sql_checker=None)
    assert "k_anonymize" in gov.export()


def test_only_owners_and_governors_store_a_fingerprint_by_hand(catalog_url: str, tmp_path: Path) -> None:
    gov = open_catalog(catalog_url, tmp_path, DOC)
    with pytest.raises(NotAuthorized, match="only an owner of 'Visits' or a governor"):
        as_(gov, "ann").store_fingerprint("Visits", {"rows": 1})
    as_(gov, "ann").store_fingerprint("Visits", {"rows": 1}, automatic=True)  # a governed session's own
    assert gov.fingerprint("Visits") == {"rows": 1}
