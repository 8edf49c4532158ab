"""Row-level policies (section 5.3): every form, user values bound as literals, AND of policies."""

from __future__ import annotations

import pytest

from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import (
    AlwaysFalse,
    AlwaysTrue,
    And,
    Cast,
    Column,
    Expr,
    GreaterOrEqual,
    HashBucketBelow,
    In,
    Literal,
    NowMinus,
    NullAs,
    Predicate,
    SqlPredicate,
)
from tests.unit.support import plan, snapshot

INJECTION = "Ohio') OR 1=1 --"
QUOTED = 'O\'Hara "the" ; DROP TABLE claims'

DOC = f"""
version: 1
users:
  - {{name: bob, groups: [Analysts], attributes: {{Office: [Ohio]}}}}
  - {{name: carol, groups: [Finance, Analysts], attributes: {{Office: [Ohio, Florida]}}}}
  - {{name: dave, groups: [Admins]}}
  - {{name: eve, groups: [Analysts], attributes: {{Office: ["{INJECTION}", '{QUOTED.replace("'", "''")}']}}}}
  - {{name: frank, attributes: {{Office: []}}}}
sources:
  - name: Claims
    table: db.claims
    subscription: {{anyone: {{}}}}
    event_time: day
    high_cardinality_column: id
    tags: [PHI]
    dictionary:
      - {{name: id, type: bigint}}
      - {{name: state, type: string}}
      - {{name: team, type: string}}
      - {{name: amount, type: double}}
      - {{name: day, type: date}}
    policies:
      - {{name: office-rows, type: row, match: {{attribute: Office, column: state}}, except: {{groups: [Finance]}}}}
      - {{name: small-amounts, type: row, where: "amount < 1000", except: {{groups: [Admins]}}}}
  - name: Events
    table: db.events
    subscription: {{anyone: {{}}}}
    event_time: at
    high_cardinality_column: event_id
    dictionary:
      - {{name: event_id, type: string}}
      - {{name: at, type: timestamp}}
      - {{name: team, type: string}}
    policies:
      - {{name: last-30-days, type: row, time_window: 30d}}
      - {{name: last-12-hours, type: row, time_window: 12h, except: {{groups: [Analysts]}}}}
      - {{name: last-90-minutes, type: row, time_window: 90m, except: {{groups: [Analysts, Finance]}}}}
      - {{name: ten-percent, type: row, minimize: 10, except: {{groups: [Admins]}}}}
      - {{name: team-rows, type: row, match: {{groups: true, column: team}}, except: {{groups: [Admins]}}}}
  - name: Bare
    table: db.bare
    subscription: {{anyone: {{}}}}
    dictionary: [{{name: x, type: int}}]
policies:
  - {{name: phi-team, type: row, sources: {{tagged: PHI}}, match: {{groups: true, column: team}},
     except: {{groups: [Admins, Finance]}}}}
  - {{name: needs-region, type: row, sources: {{names: [Bare]}}, match: {{groups: true, column: region}},
     except: {{users: [bob]}}}}
"""
SNAP = snapshot(DOC)

STATE = Cast(Column("state"), "string")
TEAM = Cast(Column("team"), "string")
SMALL = NullAs(SqlPredicate("amount < 1000"), False)


def rows(user: str, source: str = "Claims") -> Predicate:
    return plan(SNAP, user, source).row_filter


def literals(node: object) -> list[Literal]:
    """Every Literal in a tree."""
    found: list[Literal] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Literal):
            found.append(n)
        elif isinstance(n, Expr):
            stack.extend(getattr(n, f) for f in n.__dataclass_fields__)  # type: ignore[attr-defined]
        elif isinstance(n, tuple):
            stack.extend(n)
    return found


def test_bob_sees_only_ohio_rows_of_his_team_under_1000() -> None:
    office = In(STATE, (Literal("Ohio", "string"),))
    team = In(TEAM, (Literal("Analysts", "string"),))
    assert rows("bob") == And(And(team, office), SMALL)


def test_every_value_of_the_attribute_is_matched() -> None:
    snap = snapshot(DOC.replace("except: {groups: [Finance]}}", "except: {groups: [Nobody]}}"))
    pred = plan(snap, "carol", "Claims").row_filter
    assert In(STATE, (Literal("Florida", "string"), Literal("Ohio", "string"))) in _conjuncts(pred)


def test_each_policy_has_its_own_exceptions() -> None:
    # carol (Finance) is excepted from office-rows and phi-team but not from small-amounts.
    assert rows("carol") == SMALL
    # dave (Admins) is excepted from phi-team and small-amounts but not office-rows: no Office values.
    assert rows("dave") == AlwaysFalse()


def test_attribute_values_with_quotes_and_sql_stay_bound_literals() -> None:
    pred = rows("eve")
    office = [c for c in _conjuncts(pred) if isinstance(c, In) and c.term == STATE]
    assert office == [In(STATE, tuple(Literal(v, "string") for v in sorted([INJECTION, QUOTED])))]
    # No SQL text anywhere holds a user value: the only SQL is the governor's own predicate.
    sql = [c for c in _conjuncts(pred) if isinstance(c, NullAs)]
    assert sql == [SMALL]
    assert {lit.value for lit in literals(pred)} == {INJECTION, QUOTED, "Analysts"}


@pytest.mark.parametrize("user", ["frank", "nobody"], ids=["empty-attribute", "unknown-user"])
def test_a_user_without_the_attribute_sees_no_rows(user: str) -> None:
    assert rows(user) == AlwaysFalse()


def test_match_groups_compares_the_column_with_the_users_group_names() -> None:
    pred = plan(SNAP, "carol", "Events").row_filter
    assert In(TEAM, (Literal("Analysts", "string"), Literal("Finance", "string"))) in _conjuncts(pred)


@pytest.mark.parametrize(
    ("user", "windows"),
    [
        ("dave", [30 * 86400, 12 * 3600, 90 * 60]),  # Admins: every window applies
        ("bob", [30 * 86400]),  # Analysts: only the 30 day window
        ("carol", [30 * 86400]),
    ],
)
def test_time_windows_use_the_event_time_column_in_seconds(user: str, windows: list[int]) -> None:
    pred = plan(SNAP, user, "Events").row_filter
    found = [c for c in _conjuncts(pred) if isinstance(c, NullAs) and isinstance(c.child, GreaterOrEqual)]
    assert found == [NullAs(GreaterOrEqual(Column("at"), NowMinus(s)), False) for s in windows]


def test_minimization_is_a_stable_hash_bucket_of_the_high_cardinality_column() -> None:
    pred = plan(SNAP, "bob", "Events").row_filter
    assert HashBucketBelow(Column("event_id"), 10.0) in _conjuncts(pred)
    assert not any(isinstance(c, HashBucketBelow) for c in _conjuncts(plan(SNAP, "dave", "Events").row_filter))


def test_a_where_predicate_null_counts_as_false() -> None:
    assert SMALL in _conjuncts(rows("bob"))


def test_explain_lists_every_row_policy_with_its_kind() -> None:
    data = plan(SNAP, "dave", "Events").to_json()
    assert data["row_filters"] == [
        {"policy": "last-30-days", "kind": "time_window"},
        {"policy": "last-12-hours", "kind": "time_window"},
        {"policy": "last-90-minutes", "kind": "time_window"},
    ]
    assert plan(SNAP, "bob", "Claims").to_json()["row_filters"] == [
        {"policy": "phi-team", "kind": "match_groups"},
        {"policy": "office-rows", "kind": "match_attribute"},
        {"policy": "small-amounts", "kind": "where"},
    ]


def test_no_row_policy_means_every_row() -> None:
    assert plan(SNAP, "bob", "Bare").row_filter == AlwaysTrue()
    assert plan(SNAP, "bob", "Bare").row_policies == ()


def test_a_row_policy_on_a_missing_column_closes_the_source() -> None:
    with pytest.raises(PolicyBindError, match="needs column 'region', which the table does not have"):
        plan(SNAP, "dave", "Bare")


def test_a_global_time_window_on_a_source_without_event_time_closes_it() -> None:
    snap = snapshot(DOC + "  - {name: recent, type: row, sources: {names: [Bare]}, time_window: 1d}\n")
    with pytest.raises(PolicyBindError, match="has no event_time column"):
        plan(snap, "bob", "Bare")


def test_a_global_minimize_on_a_source_without_high_cardinality_column_closes_it() -> None:
    snap = snapshot(DOC + "  - {name: sample, type: row, sources: {names: [Bare]}, minimize: 5}\n")
    with pytest.raises(PolicyBindError, match="has no high_cardinality_column"):
        plan(snap, "bob", "Bare")


def test_row_policy_rules_pick_a_form_per_user() -> None:
    snap = snapshot(
        """
        version: 1
        users: [{name: bob, groups: [A]}, {name: carol, groups: [B]}, {name: dave}]
        sources:
          - name: T
            table: db.t
            subscription: {anyone: {}}
            dictionary: [{name: x, type: int}, {name: team, type: string}]
            policies:
              - name: by-team
                type: row
                rules:
                  - {who: {groups: [A]}, where: "x > 0"}
                  - {who: {groups: [B]}}
                  - {otherwise: {match: {groups: true, column: team}}}
        """
    )
    assert plan(snap, "bob", "T").row_filter == NullAs(SqlPredicate("x > 0"), False)
    assert plan(snap, "carol", "T").row_filter == AlwaysTrue()
    assert plan(snap, "dave", "T").row_filter == AlwaysFalse()  # no groups at all


def _conjuncts(pred: Predicate) -> list[Predicate]:
    if isinstance(pred, And):
        return _conjuncts(pred.left) + _conjuncts(pred.right)
    return [pred]
