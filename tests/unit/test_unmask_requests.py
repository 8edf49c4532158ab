"""Unmask requests in the catalog (issue 13, item 2): one value, one requester, decided by the policy's exempt.

No JVM: the tokens are made with the reference construction under the source's own key, as
the masked column shows them. tests/spark/test_unmask_spark.py shows the approved value in
query results.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import compile_plan
from immuta_spark.errors import NotAuthorized, TokenError, UnmaskError
from immuta_spark.expr import If, SecretRef
from immuta_spark.masks.reversible import token_keys, tokenize
from tests.unit.support import open_catalog, write
from tests.unit.test_projects import as_

DOC = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: ann}
  - {name: bob}
  - {name: lee, groups: [Legal]}
sources:
  - name: Addresses
    table: rv.addresses
    subscription: {anyone: {}}
    dictionary: [{name: id, type: int}, {name: address, type: string}, {name: ssn, type: string}]
    policies:
      - {name: tok, type: masking, columns: {names: [address]}, mask: reversible, except: {groups: [Legal]}}
      - {name: h, type: masking, columns: {names: [ssn]}, mask: hash}
"""


@pytest.fixture
def catalog(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(catalog_url, tmp_path, DOC)


def token(catalog: GovernanceCatalog, value: str) -> str:
    return tokenize(value, token_keys(catalog.secret(SecretRef("source", "Addresses", "token_key"))))


def test_an_approved_request_shows_that_one_value_to_its_requester_only(catalog: GovernanceCatalog) -> None:
    ann, lee, bob = as_(catalog, "ann"), as_(catalog, "lee"), as_(catalog, "bob")
    wanted, other = token(catalog, "1 Main St"), token(catalog, "2 Side St")
    request = ann.request_unmask("Addresses", "ADDRESS", wanted, reason="a fraud case")
    assert (request.status, request.column, request.requester) == ("pending", "address", "ann")
    with pytest.raises(NotAuthorized, match=r"not yours to see \(pending\)"):
        ann.unmask("Addresses", "address", wanted)
    assert [r.id for r in lee.unmask_requests()] == [request.id]  # lee may decide it
    assert bob.unmask_requests() == []
    lee.approve_unmask(request.id, reason="case 42")
    assert ann.unmask("Addresses", "address", wanted) == "1 Main St"
    with pytest.raises(NotAuthorized, match="never requested"):
        ann.unmask("Addresses", "address", other)
    with pytest.raises(NotAuthorized, match="never requested"):
        bob.unmask("Addresses", "address", wanted)
    # In the requester's plan, and only there, that token's value is in the clear.
    snapshot = catalog.snapshot()
    ann_term = next(c.term for c in compile_plan(snapshot, ann.subject(), "Addresses").columns if c.name == "address")
    bob_term = next(c.term for c in compile_plan(snapshot, bob.subject(), "Addresses").columns if c.name == "address")
    assert isinstance(ann_term, If) and wanted in repr(ann_term) and other not in repr(ann_term)
    assert not isinstance(bob_term, If)
    records = catalog.store.audit_records(source="Addresses")
    steps = [(r.action, r.outcome, r.user) for r in records if r.action.startswith("unmask.")]
    assert steps == [
        ("unmask.request", "ok", "ann"),
        ("unmask.reveal", "denied", "ann"),
        ("unmask.approve", "ok", "lee"),
        ("unmask.reveal", "ok", "ann"),
        ("unmask.reveal", "denied", "ann"),
        ("unmask.reveal", "denied", "bob"),
    ]
    assert all("1 Main St" not in json.dumps(r.detail) for r in records)  # the value is never in the audit


def test_only_a_user_the_policy_exempts_decides_and_a_denial_reveals_nothing(catalog: GovernanceCatalog) -> None:
    ann, lee = as_(catalog, "ann"), as_(catalog, "lee")
    wanted = token(catalog, "1 Main St")
    request = ann.request_unmask("Addresses", "address", wanted, reason="why not")
    for who in ("ann", "bob", "gov"):  # the requester; a user it masks; a governor it masks too
        with pytest.raises(NotAuthorized, match="exempts"):
            as_(catalog, who).approve_unmask(request.id)
    assert [r.id for r in as_(catalog, "gov").unmask_requests()] == [request.id]  # governors see them all
    lee.deny_unmask(request.id, reason="no case number")
    with pytest.raises(UnmaskError, match="decided already"):
        lee.approve_unmask(request.id)
    with pytest.raises(NotAuthorized, match=r"\(denied\)"):
        ann.unmask("Addresses", "address", wanted)
    again = ann.request_unmask("Addresses", "address", wanted, reason="case 42 now")
    assert again.id != request.id and again.status == "pending"


def test_what_cannot_be_unmasked_is_refused_and_stores_nothing(catalog: GovernanceCatalog) -> None:
    ann = as_(catalog, "ann")
    wanted = token(catalog, "1 Main St")
    with pytest.raises(UnmaskError, match="hash mask is not reversible"):
        ann.request_unmask("Addresses", "ssn", wanted, reason="r")
    with pytest.raises(UnmaskError, match="is not masked for you"):
        as_(catalog, "lee").request_unmask("Addresses", "address", wanted, reason="r")
    with pytest.raises(UnmaskError, match="say why"):
        ann.request_unmask("Addresses", "address", wanted, reason=" ")
    with pytest.raises(TokenError, match="not one of Addresses's reversible tokens"):
        ann.request_unmask("Addresses", "address", wanted[:-4] + "AAA=", reason="r")
    with pytest.raises(UnmaskError, match="has no column"):
        ann.request_unmask("Addresses", "street", wanted, reason="r")
    assert as_(catalog, "gov").unmask_requests() == []


def test_requests_are_runtime_state_an_apply_keeps(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    ann, lee = as_(catalog, "ann"), as_(catalog, "lee")
    wanted = token(catalog, "1 Main St")
    lee.approve_unmask(ann.request_unmask("Addresses", "address", wanted, reason="r").id)
    catalog.apply(write(tmp_path, DOC.replace("a fraud", "b"), "again.yaml"), sql_checker=None)
    assert ann.unmask("Addresses", "address", wanted) == "1 Main St"


def test_the_cli_requests_lists_decides_and_reveals(catalog: GovernanceCatalog) -> None:
    wanted = token(catalog, "1 Main St")

    def run(who: str, *argv: str) -> str:
        out = io.StringIO()
        assert cli.main(["unmask", *argv], catalog=as_(catalog, who), out=out) == 0
        return out.getvalue()

    where = ["--source", "Addresses", "--column", "address", "--token", wanted]
    made = json.loads(run("ann", "request", *where, "--reason", "r", "--format", "json"))
    assert made["status"] == "pending" and "value" not in made
    assert "pending" in run("lee", "list") and "ann" in run("lee", "list")
    assert run("lee", "approve", str(made["id"])).endswith(": approved\n")
    assert run("ann", "reveal", *where) == "1 Main St\n"
