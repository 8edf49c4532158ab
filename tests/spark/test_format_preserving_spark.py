"""Format-preserving masking with real Spark (issue 13, item 3): the mask equals the reference, and unmasks.

Spark has no native FF3-1: it runs in the JVM with Bouncy Castle (or, without it, in the
product's one pandas UDF; tests/spark/test_mask_jvm.py holds both to the reference).
"""

from __future__ import annotations

from typing import Any

import pytest

from immuta_spark.expr import SecretRef
from immuta_spark.masks.format_preserving import encrypt, fpe_keys

ROWS = [(1, "123-45-6789"), (2, "987-65-4321"), (3, "12345"), (4, None), (5, "Ann.Lee@example.org")]

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: ann}
  - {name: lee, groups: [Legal]}
sources:
  - name: Ids
    table: fp.ids
    subscription: {anyone: {}}
    policies:
      - {name: fpe, type: masking, columns: {names: [code]}, mask: format_preserving, except: {groups: [Legal]}}
"""


@pytest.fixture
def sessions(governed: Any, sample_spark: Any) -> Any:
    from tests.spark.conftest import table

    table(sample_spark, "fp.ids", ROWS, "id int, code string")
    return governed(_YAML)


def test_the_mask_equals_the_reference_and_the_exempt_see_the_clear(sessions: Any) -> None:
    keys = fpe_keys(sessions.catalog.secret(SecretRef("source", "Ids", "fpe_key")))
    seen = {r["id"]: r["code"] for r in sessions("ann").sql("SELECT id, code FROM fp.ids").collect()}
    assert seen == {i: None if v is None else encrypt(v, keys) for i, v in ROWS}
    assert seen[1] != "123-45-6789" and seen[1][3] == "-" and seen[3] != "12345"
    clear = {r["id"]: r["code"] for r in sessions("lee").sql("SELECT id, code FROM fp.ids").collect()}
    assert clear == dict(ROWS)


def test_an_approved_unmask_reveals_an_fpe_value_and_a_too_short_one_cannot_be(sessions: Any) -> None:
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.errors import TokenError

    ann = sessions("ann")
    seen = {r["id"]: r["code"] for r in ann.sql("SELECT id, code FROM fp.ids").collect()}
    request = ann.request_unmask("Ids", "code", seen[1], "a fraud case")
    GovernanceCatalog(sessions.catalog.store, identity="lee").approve_unmask(request.id)
    assert ann.unmask("Ids", "code", seen[1]) == "123-45-6789"
    after = {r["id"]: r["code"] for r in ann.sql("SELECT id, code FROM fp.ids").collect()}
    assert after[1] == "123-45-6789" and after[2] == seen[2]
    with pytest.raises(TokenError, match="too few for FF3-1"):
        ann.request_unmask("Ids", "code", seen[3], "five digits")
