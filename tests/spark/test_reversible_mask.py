"""Reversible masking with real Spark (issue 13, item 1): deterministic tokens that leak nothing but equality.

The tokens (the SIV construction of :mod:`immuta_spark.masks.reversible`, computed by the JVM
class ``Tokens`` or natively with ``sha2`` and ``aes_encrypt``) must equal the Python reference
byte for byte, so that the key reverses them.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from immuta_spark.expr import SecretRef
from immuta_spark.masks.reversible import detokenize, token_keys, tokenize

VALUES = [
    "1 Main Street, Springfield",
    "1 Main Street, Shelbyville",  # the same first 16 characters: ECB showed that
    "",
    "a",
    "exactly15bytes!",
    "exactly16bytes!!",
    "exactly17bytes!!!",
    "Zoë, née Müller",
    None,
]

_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: ann}
  - {name: bob}
  - {name: lee, groups: [Legal]}
sources:
  - name: Addresses
    table: rv.addresses
    subscription: {anyone: {}}
    policies:
      - {name: tok, type: masking, columns: {names: [address]}, mask: reversible, except: {groups: [Legal]}}
"""


@pytest.fixture
def tokens(governed: Any, sample_spark: Any) -> tuple[dict[int, str | None], Any]:
    from tests.spark.conftest import table

    table(sample_spark, "rv.addresses", list(enumerate(VALUES)), "id int, address string")
    sessions = governed(_YAML)
    rows = sessions("ann").sql("SELECT id, address FROM rv.addresses").collect()
    keys = token_keys(sessions.catalog.secret(SecretRef("source", "Addresses", "token_key")))
    return {r["id"]: r["address"] for r in rows}, keys


def test_tokens_equal_the_reference_and_reverse_to_the_values(tokens: tuple[dict[int, Any], Any]) -> None:
    found, keys = tokens
    for i, value in enumerate(VALUES):
        if value is None:
            assert found[i] is None
            continue
        assert found[i] == tokenize(value, keys), value
        assert detokenize(found[i], keys) == value


def test_values_sharing_sixteen_characters_get_tokens_that_share_no_prefix(tokens: tuple[dict[int, Any], Any]) -> None:
    found, _ = tokens
    a, b = base64.b64decode(found[0]), base64.b64decode(found[1])
    shared = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(a))
    assert shared < 4  # chance alone: 2**-32 for four bytes; ECB shared the first 16
    assert len(a) == len(b)  # both in the 32-byte bucket


def test_token_lengths_reveal_only_the_sixteen_byte_bucket(tokens: tuple[dict[int, Any], Any]) -> None:
    found, _ = tokens
    raw = {VALUES[i]: len(base64.b64decode(t)) for i, t in found.items() if t is not None}
    overhead = 12 + 16  # the synthetic IV and the GCM tag
    assert raw[""] == raw["a"] == raw["exactly15bytes!"] == overhead + 16
    assert raw["exactly16bytes!!"] == raw["exactly17bytes!!!"] == overhead + 32


def test_equal_values_give_equal_tokens_so_masked_columns_still_group(governed: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "rv.addresses", [(1, "x"), (2, "y"), (3, "x")], "id int, address string")
    ann = governed(_YAML)("ann")
    groups = {
        r["address"]: r["n"] for r in ann.sql("SELECT address, count(*) AS n FROM rv.addresses GROUP BY 1").collect()
    }
    assert sorted(groups.values()) == [1, 2] and "x" not in groups


def test_an_approved_unmask_request_shows_that_value_in_the_requesters_results_only(
    governed: Any, sample_spark: Any
) -> None:
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.errors import NotAuthorized
    from tests.spark.conftest import table

    table(sample_spark, "rv.addresses", list(enumerate(VALUES[:3])), "id int, address string")
    sessions = governed(_YAML)
    ann, bob = sessions("ann"), sessions("bob")

    def seen(session: Any) -> dict[int, Any]:
        return {r["id"]: r["address"] for r in session.sql("SELECT id, address FROM rv.addresses").collect()}

    masked = seen(ann)
    request = ann.request_unmask("Addresses", "address", masked[0], "a fraud case")
    assert seen(ann) == masked  # pending: nothing revealed
    with pytest.raises(NotAuthorized, match="pending"):
        ann.unmask("Addresses", "address", masked[0])
    GovernanceCatalog(sessions.catalog.store, identity="lee").approve_unmask(request.id, reason="case 42")
    after = seen(ann)
    assert after[0] == VALUES[0] and after[1] == masked[1] and after[2] == masked[2]
    assert ann.unmask("Addresses", "address", masked[0]) == VALUES[0]
    assert seen(bob)[0] != VALUES[0]  # bob's own tokens; the approval is ann's alone
    assert seen(sessions("lee"))[0] == VALUES[0]  # exempt: the clear, as always
