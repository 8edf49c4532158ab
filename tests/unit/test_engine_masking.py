"""Masking policies compiled for a subject: every kind, except, OTHERWISE rules, conditions, salts."""

from __future__ import annotations

import pytest

from immuta_spark.engine import UNFINGERPRINTED_K
from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import (
    Cast,
    Column,
    Concat,
    FloorTo,
    FormatPreserve,
    GroupSmallerThan,
    If,
    Literal,
    NullAs,
    NullOf,
    RegexReplace,
    SecretRef,
    Sha256,
    SqlPredicate,
    Term,
    Token,
    TruncTime,
)
from tests.unit.support import plan, snapshot

DOC = """
version: 1
users:
  - {name: gov, groups: [Legal], permissions: [GOVERNANCE]}
  - {name: bob, groups: [Analysts], attributes: {Office: [Ohio]}}
  - {name: carol, groups: [Finance]}
  - {name: dave}
purposes:
  - {name: Research}
sources:
  - name: People
    table: hr.people
    owners: [gov]
    subscription: {anyone: {}}
    columns: {ssn: [PII.SSN], email: [PII], gender: [Quasi], zip: [Quasi]}
    dictionary:
      - {name: id, type: bigint}
      - {name: ssn, type: string}
      - {name: email, type: string}
      - {name: ip, type: string}
      - {name: salary, type: int}
      - {name: born, type: date}
      - {name: seen, type: timestamp}
      - {name: state, type: string}
      - {name: gender, type: string}
      - {name: zip, type: string}
      - {name: level, type: int}
      - {name: card, type: string}
      - {name: token, type: string}
    policies:
      - {name: hash-email, type: masking, columns: {names: [email]}, mask: hash, except: {groups: [Legal]}}
      - {name: null-ssn, type: masking, columns: {names: [ssn]}, mask: "null"}
      - name: ip-rules
        type: masking
        columns: {names: [ip]}
        rules:
          - {who: {groups: [Legal]}}
          - {who: {attributes: {Office: [Ohio]}}, mask: {regex: {pattern: '\\d+$', replacement: XXX}}}
          - {who: {groups: [Finance]}, mask: none}
          - {otherwise: {mask: {constant: hidden}}}
      - {name: round-salary, type: masking, columns: {names: [salary]}, mask: {round: 1000},
         where: "state <> 'Ohio'", except: {groups: [Finance]}}
      - {name: month-born, type: masking, columns: {names: [born]}, mask: {round: month}}
      - {name: day-seen, type: masking, columns: {names: [seen]}, mask: {round: day}}
      - {name: k-quasi, type: masking, columns: {tagged: Quasi}, mask: {k_anonymize: 3}}
      - {name: level-constant, type: masking, columns: {names: [level]}, mask: {constant: secret},
         where: "state = 'Ohio'"}
      - {name: fpe-card, type: masking, columns: {names: [card]}, mask: format_preserving}
      - {name: tokens, type: masking, columns: {names: [token]}, mask: reversible}
  - name: Visits
    table: hr.visits
    owners: [gov]
    subscription: {anyone: {}}
    columns: {email: [PII], zip: [Quasi]}
    dictionary:
      - {name: email, type: string}
      - {name: zip, type: string}
      - {name: amount, type: double}
    policies:
      - {name: k-fingerprint, type: masking, columns: {names: [zip]}, mask: {k_anonymize: fingerprint}}
policies:
  - {name: hash-pii-visits, type: masking, sources: {names: [Visits]}, columns: {tagged: PII}, mask: hash}
  - {name: null-missing, type: masking, columns: {names: [no_such_column]}, mask: "null"}
projects:
  - {name: Joined, owner: gov, members: [bob], sources: [People, Visits], masked_joins: true}
  - {name: Separate, owner: gov, members: [bob], sources: [People, Visits], masked_joins: false}
"""
SNAP = snapshot(DOC)


def column(user: str, name: str, source: str = "People", project: str | None = None) -> Term:
    cols = {c.name: c for c in plan(SNAP, user, source, project=project).columns}
    return cols[name].term


def test_bob_sees_email_hashed_with_the_source_salt() -> None:
    salt = SecretRef("source", "People", "hash_salt")
    assert column("bob", "email") == Sha256(Concat((salt, Cast(Column("email"), "string"))))


def test_legal_is_excepted_from_the_email_hash() -> None:
    assert column("gov", "email") == Column("email")


@pytest.mark.parametrize(
    ("user", "term"),
    [
        ("gov", Column("ip")),  # first rule: Legal, no mask
        ("bob", RegexReplace(Column("ip"), r"\d+$", "XXX")),  # second rule: Ohio office
        ("carol", Column("ip")),  # third rule: `mask: none` exempts
        ("dave", Literal("hidden", "string")),  # the blanket OTHERWISE
    ],
)
def test_otherwise_rules_first_match_wins(user: str, term: Term) -> None:
    assert column(user, "ip") == term


def test_an_unknown_user_gets_the_otherwise_branch() -> None:
    assert column("nobody", "ip") == Literal("hidden", "string")


@pytest.mark.parametrize(
    ("name", "term", "spark_type"),
    [
        ("ssn", NullOf("string"), "string"),
        ("born", TruncTime(Column("born"), "month", "date"), "date"),
        ("seen", TruncTime(Column("seen"), "day", "timestamp"), "timestamp"),
        ("card", FormatPreserve(Cast(Column("card"), "string"), SecretRef("source", "People", "fpe_key")), "string"),
        ("token", Token(Cast(Column("token"), "string"), SecretRef("source", "People", "token_key")), "string"),
        ("id", Column("id"), "bigint"),
        ("state", Column("state"), "string"),
    ],
)
def test_each_column_gets_its_policys_tree_and_type(name: str, term: Term, spark_type: str) -> None:
    cols = {c.name: c for c in plan(SNAP, "bob", "People").columns}
    assert (cols[name].term, cols[name].type) == (term, spark_type)


def test_conditional_masking_masks_where_the_predicate_is_true_or_null() -> None:
    masked = FloorTo(Column("salary"), 1000, "int")
    assert column("bob", "salary") == If(NullAs(SqlPredicate("state <> 'Ohio'"), True), masked, Column("salary"))
    cols = {c.name: c for c in plan(SNAP, "bob", "People").columns}
    assert cols["salary"].conditional
    assert plan(SNAP, "bob", "People").to_json()["columns"]["salary"]["conditional"] is True


def test_conditional_constant_that_changes_the_type_casts_the_unmasked_rows_too() -> None:
    cols = {c.name: c for c in plan(SNAP, "bob", "People").columns}
    level = cols["level"]
    assert (level.type, level.source_type) == ("string", "int")
    assert level.term == If(
        NullAs(SqlPredicate("state = 'Ohio'"), True), Literal("secret", "string"), Cast(Column("level"), "string")
    )


def test_finance_is_excepted_from_the_conditional_round() -> None:
    assert column("carol", "salary") == Column("salary")


def test_k_anonymization_groups_every_column_the_policy_targets() -> None:
    cols = {c.name: c for c in plan(SNAP, "bob", "People").columns}
    group = GroupSmallerThan(("gender", "zip"), 3)
    assert cols["gender"].term == If(group, NullOf("string"), Column("gender"))
    assert cols["zip"].term == If(group, NullOf("string"), Column("zip"))


def test_k_from_a_fingerprint_uses_ten_until_one_is_computed() -> None:
    assert UNFINGERPRINTED_K == 10
    assert column("bob", "zip", "Visits") == If(GroupSmallerThan(("zip",), 10), NullOf("string"), Column("zip"))
    printed = snapshot(DOC, fingerprints={"Visits": {"k_anonymity": {"k-fingerprint": 4}}})
    cols = {c.name: c for c in plan(printed, "bob", "Visits").columns}
    assert cols["zip"].term == If(GroupSmallerThan(("zip",), 4), NullOf("string"), Column("zip"))


def test_a_fingerprinted_column_above_the_cutoff_refuses_the_k_anonymization_naming_it() -> None:
    from immuta_spark.engine.masking import k_anonymity_groups
    from immuta_spark.errors import PolicyBindError

    wide = snapshot(DOC, fingerprints={"Visits": {"columns": {"zip": {"distinct": 501}}, "k_anonymity": {}}})
    with pytest.raises(
        PolicyBindError, match=r"'zip', which has 501 distinct values, above the cardinality cutoff 500"
    ):
        plan(wide, "bob", "Visits")
    narrow = snapshot(DOC, fingerprints={"Visits": {"columns": {"zip": {"distinct": 500}}, "k_anonymity": {}}})
    assert {c.name for c in plan(narrow, "bob", "Visits").columns} >= {"zip"}
    assert k_anonymity_groups(narrow, narrow.sources["Visits"], ["zip", "other"]) == {"k-fingerprint": ("zip",)}


@pytest.mark.parametrize(
    ("project", "salt"),
    [
        (None, SecretRef("source", "Visits", "hash_salt")),
        ("Separate", SecretRef("source", "Visits", "hash_salt")),
        ("Joined", SecretRef("project", "Joined", "hash_salt")),
    ],
)
def test_masked_joins_hash_with_the_projects_salt_else_the_sources(project: str | None, salt: SecretRef) -> None:
    assert column("bob", "email", "Visits", project) == Sha256(Concat((salt, Cast(Column("email"), "string"))))


def test_two_sources_in_a_masked_joins_project_share_one_salt() -> None:
    people = column("bob", "email", "People", "Joined")
    visits = column("bob", "email", "Visits", "Joined")
    assert people == Sha256(Concat((SecretRef("project", "Joined", "hash_salt"), Cast(Column("email"), "string"))))
    assert people == visits


def test_a_global_policy_naming_a_missing_column_selects_nothing() -> None:
    assert all(c.policy != "null-missing" for c in plan(SNAP, "bob", "People").columns)


def test_a_local_policy_naming_a_column_the_table_lacks_closes_the_source() -> None:
    schema = [("id", "bigint"), ("email", "string")]
    with pytest.raises(PolicyBindError, match="masks column 'ssn', which the table does not have"):
        plan(SNAP, "bob", "People", schema=schema)


def test_a_round_mask_on_a_column_of_the_wrong_type_is_a_bind_error() -> None:
    schema = [("id", "bigint"), ("ssn", "string"), ("email", "string"), ("ip", "string"), ("salary", "string")]
    schema += [("born", "date"), ("seen", "timestamp"), ("state", "string"), ("gender", "string")]
    schema += [("zip", "string"), ("level", "int"), ("card", "string"), ("token", "string")]
    with pytest.raises(PolicyBindError, match=r"round mask on People\.salary: the column is string"):
        plan(SNAP, "bob", "People", schema=schema)


def test_the_real_schema_decides_types_and_matches_columns_case_insensitively() -> None:
    snap = snapshot(
        """
        version: 1
        users: [{name: bob}]
        sources:
          - {name: T, table: db.t, subscription: {anyone: {}}, columns: {SSN: [PII]}}
        policies:
          - {name: hash-pii, type: masking, columns: {tagged: PII}, mask: hash}
          - {name: const-amount, type: masking, columns: {names: [Amount]}, mask: {constant: 0}}
        """
    )
    cols = {c.name: c for c in plan(snap, "bob", "T", schema=[("ssn", "string"), ("amount", "decimal(8,2)")]).columns}
    assert cols["ssn"].policy == "hash-pii"
    assert cols["amount"].term == Literal(0, "decimal(8,2)")  # type: ignore[arg-type]
    assert cols["amount"].type == "decimal(8,2)"


def test_without_a_schema_or_dictionary_the_tagged_columns_stand_in_with_unknown_types() -> None:
    snap = snapshot(
        """
        version: 1
        users: [{name: bob}]
        sources:
          - {name: T, table: db.t, subscription: {anyone: {}}, columns: {ssn: [PII]}}
        policies:
          - {name: null-pii, type: masking, columns: {tagged: PII}, mask: "null"}
        """
    )
    # Issue 8, deliverable 7: the type is unknown (None), not assumed to be string.
    assert [(c.name, c.term, c.type) for c in plan(snap, "bob", "T").columns] == [("ssn", NullOf(None), None)]


def test_explain_names_the_mask_kind_and_policy_per_column() -> None:
    data = plan(SNAP, "dave", "People").to_json()["columns"]
    assert {name: (c["mask"], c["policy"]) for name, c in data.items()} == {
        "id": (None, None),
        "ssn": ("null", "null-ssn"),
        "email": ("hash", "hash-email"),
        "ip": ("constant", "ip-rules"),
        "salary": ("round", "round-salary"),
        "born": ("round", "month-born"),
        "seen": ("round", "day-seen"),
        "state": (None, None),
        "gender": ("k_anonymize", "k-quasi"),
        "zip": ("k_anonymize", "k-quasi"),
        "level": ("constant", "level-constant"),
        "card": ("format_preserving", "fpe-card"),
        "token": ("reversible", "tokens"),
    }


def test_an_exempt_user_sees_no_mask_but_the_deciding_policy_is_named() -> None:
    data = plan(SNAP, "gov", "People").to_json()["columns"]
    assert (data["email"]["mask"], data["email"]["policy"]) == (None, "hash-email")


# --- types not known without Spark (issue 8, deliverable 7) ------------------------------------

UNTYPED = """
version: 1
users: [{name: bob}]
sources:
  - name: Claims
    table: db.claims
    subscription: {anyone: {}}
    columns: {ssn: [PII]}
    dictionary: [{name: amount}, {name: claim_date}, {name: ssn}, {name: state, type: string}]
    policies:
      - {name: round-amount, type: masking, columns: {names: [amount]}, mask: {round: 100}, where: "state <> 'MO'"}
      - {name: month-dates, type: masking, columns: {names: [claim_date]}, mask: {round: month}}
      - {name: hash-pii, type: masking, columns: {tagged: PII}, mask: hash, where: "state = 'OH'"}
"""


def test_without_a_schema_a_type_the_dictionary_does_not_give_is_unknown_and_round_is_accepted() -> None:
    cols = {c.name: c for c in plan(snapshot(UNTYPED), "bob", "Claims").columns}
    assert {n: (c.source_type, c.type, c.mask) for n, c in cols.items()} == {
        "amount": (None, None, "round"),
        "claim_date": (None, None, "round"),
        "ssn": (None, "string", "hash"),
        "state": ("string", "string", None),
    }
    when = NullAs(SqlPredicate("state <> 'MO'"), True)
    assert cols["amount"].term == If(when, FloorTo(Column("amount"), 100, None), Column("amount"))
    assert cols["claim_date"].term == TruncTime(Column("claim_date"), "month", None)
    # The unmasked rows of a conditional hash become strings too, whatever the column's type.
    salted = Sha256(Concat((SecretRef("source", "Claims", "hash_salt"), Cast(Column("ssn"), "string"))))
    assert cols["ssn"].term == If(NullAs(SqlPredicate("state = 'OH'"), True), salted, Cast(Column("ssn"), "string"))
    assert plan(snapshot(UNTYPED), "bob", "Claims").to_json()["columns"]["amount"]["type"] is None


def test_with_the_real_schema_the_same_masks_are_checked_against_the_types() -> None:
    good = [("amount", "double"), ("claim_date", "date"), ("ssn", "string"), ("state", "string")]
    cols = {c.name: c for c in plan(snapshot(UNTYPED), "bob", "Claims", schema=good).columns}
    assert cols["amount"].type == "double"
    assert cols["amount"].term == If(
        NullAs(SqlPredicate("state <> 'MO'"), True), FloorTo(Column("amount"), 100, "double"), Column("amount")
    )
    assert cols["claim_date"].term == TruncTime(Column("claim_date"), "month", "date")


@pytest.mark.parametrize(
    ("column", "spark_type", "fragment"),
    [
        ("amount", "string", "round mask on Claims.amount: the column is string, the mask needs a number"),
        ("claim_date", "double", "round mask on Claims.claim_date: the column is double, the mask needs a date"),
    ],
)
def test_a_mask_the_real_type_does_not_take_fails_closed_when_the_schema_is_known(
    column: str, spark_type: str, fragment: str
) -> None:
    schema = [("amount", "double"), ("claim_date", "date"), ("ssn", "string"), ("state", "string")]
    schema = [(n, spark_type if n == column else t) for n, t in schema]
    with pytest.raises(PolicyBindError) as info:
        plan(snapshot(UNTYPED), "bob", "Claims", schema=schema)
    assert fragment in str(info.value)
    policy = "round-amount" if column == "amount" else "month-dates"
    assert f"policy '{policy}'" in str(info.value)
    assert "the source is closed until" in str(info.value)
