"""Several masking policies on one column: exactly one applies, in the order of section 5.1."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from immuta_spark.engine import Override, rank_masking_policies
from immuta_spark.model import MASK_RESTRICTIVENESS
from tests.unit.support import load, plan, snapshot

MASKS = {
    "null": '"null"',
    "constant": "{constant: X}",
    "k_anonymize": "{k_anonymize: 2}",
    "hash": "hash",
    "reversible": "reversible",
    "format_preserving": "format_preserving",
    "regex": "{regex: {pattern: 'a', replacement: b}}",
    "round": "{round: 10}",
}


def doc(global_policies: Sequence[str], local_policies: Sequence[str] = ()) -> str:
    local = "\n".join(f"      - {p}" for p in local_policies)
    glob = "\n".join(f"  - {p}" for p in global_policies)
    return f"""
version: 1
users:
  - {{name: bob}}
  - {{name: lena, groups: [Legal]}}
sources:
  - name: S
    table: db.s
    subscription: {{anyone: {{}}}}
    columns: {{ssn: [PII.SSN.Full], other: [PII]}}
    dictionary: [{{name: ssn, type: int}}, {{name: other, type: int}}]
    policies:
      - {{name: placeholder, type: row, where: "1 = 1", except: {{users: [bob, lena]}}}}
{local}
policies:
{glob}
"""


def ssn(global_policies: Sequence[str], local_policies: Sequence[str] = (), user: str = "bob") -> dict[str, Any]:
    data = plan(snapshot(doc(global_policies, local_policies)), user, "S").to_json()
    return data["columns"]["ssn"]  # type: ignore[no-any-return]


def test_the_restrictiveness_order_is_the_contracts() -> None:
    assert MASK_RESTRICTIVENESS == (
        "null",
        "constant",
        "k_anonymize",
        "hash",
        "reversible",
        "format_preserving",
        "regex",
        "round",
    )


@pytest.mark.parametrize(
    ("policies", "winner", "loser", "reason"),
    [
        pytest.param(
            [
                "{name: a-null, type: masking, columns: {tagged: PII}, mask: 'null'}",
                "{name: b-round, type: masking, columns: {tagged: PII}, mask: {round: 10}, priority: 1}",
            ],
            "b-round",
            "a-null",
            "lower priority (0 < 1) than 'b-round'",
            id="higher-priority-beats-more-restrictive",
        ),
        pytest.param(
            [
                "{name: a-named, type: masking, columns: {names: [ssn]}, mask: {round: 10}}",
                "{name: b-tag, type: masking, columns: {tagged: PII.SSN.Full}, mask: 'null'}",
            ],
            "a-named",
            "b-tag",
            "less specific target than 'a-named'",
            id="named-column-beats-deepest-tag",
        ),
        pytest.param(
            [
                "{name: a-shallow, type: masking, columns: {tagged: PII}, mask: 'null'}",
                "{name: b-deep, type: masking, columns: {tagged: PII.SSN}, mask: {round: 10}}",
            ],
            "b-deep",
            "a-shallow",
            "less specific target than 'b-deep'",
            id="deeper-tag-beats-shallower",
        ),
        pytest.param(
            [
                "{name: a-deeper, type: masking, columns: {tagged: PII.SSN.Full}, mask: {round: 10}}",
                "{name: b-deep, type: masking, columns: {tagged: PII.SSN}, mask: 'null'}",
            ],
            "a-deeper",
            "b-deep",
            "less specific target than 'a-deeper'",
            id="three-levels-beat-two",
        ),
        pytest.param(
            [
                "{name: a-null, type: masking, columns: {tagged: PII}, mask: 'null'}",
                "{name: b-hash, type: masking, columns: {tagged: PII}, mask: hash}",
            ],
            "a-null",
            "b-hash",
            "less restrictive mask (hash < null) than 'a-null'",
            id="null-beats-hash",
        ),
        pytest.param(
            [
                "{name: a-hash, type: masking, columns: {tagged: PII}, mask: hash}",
                "{name: b-hash, type: masking, columns: {tagged: PII}, mask: hash}",
            ],
            "a-hash",
            "b-hash",
            "same rank as 'a-hash'; the name decides",
            id="a-full-tie-is-broken-by-name",
        ),
    ],
)
def test_conflict_order_between_global_policies(policies: list[str], winner: str, loser: str, reason: str) -> None:
    col = ssn(policies)
    assert col["policy"] == winner
    assert col["overridden"] == [loser]
    assert col["overridden_why"] == {loser: reason}


def test_local_beats_global_at_equal_priority_and_specificity() -> None:
    col = ssn(
        ["{name: g-null, type: masking, columns: {names: [ssn]}, mask: 'null'}"],
        ["{name: l-round, type: masking, columns: {names: [ssn]}, mask: {round: 10}}"],
    )
    assert (col["policy"], col["mask"]) == ("l-round", "round")
    assert col["overridden_why"] == {"g-null": "global policy loses to local than 'l-round'"}


def test_specificity_is_decided_before_local_over_global() -> None:
    col = ssn(
        ["{name: g-named, type: masking, columns: {names: [ssn]}, mask: hash}"],
        ["{name: l-tag, type: masking, columns: {tagged: PII}, mask: 'null'}"],
    )
    assert col["policy"] == "g-named"
    assert col["overridden_why"] == {"l-tag": "less specific target than 'g-named'"}


def test_priority_is_decided_before_everything() -> None:
    col = ssn(
        ["{name: g-tag, type: masking, columns: {tagged: PII}, mask: {round: 10}, priority: 5}"],
        ["{name: l-named, type: masking, columns: {names: [ssn]}, mask: 'null'}"],
    )
    assert col["policy"] == "g-tag"
    assert col["overridden_why"] == {"l-named": "lower priority (0 < 5) than 'g-tag'"}


@pytest.mark.parametrize(
    ("stricter", "looser"),
    list(itertools.combinations(MASK_RESTRICTIVENESS, 2)),
)
def test_the_more_restrictive_mask_wins_a_tie(stricter: str, looser: str) -> None:
    # Names chosen so that the name tie-break would pick the looser one.
    policies = [
        f"{{name: z-{stricter}, type: masking, columns: {{tagged: PII}}, mask: {MASKS[stricter]}}}",
        f"{{name: a-{looser}, type: masking, columns: {{tagged: PII}}, mask: {MASKS[looser]}}}",
    ]
    col = ssn(policies)
    assert col["policy"] == f"z-{stricter}"
    assert col["overridden_why"] == {
        f"a-{looser}": f"less restrictive mask ({looser} < {stricter}) than 'z-{stricter}'"
    }


def test_every_loser_is_listed_with_its_own_reason() -> None:
    col = ssn(
        [
            "{name: win, type: masking, columns: {names: [ssn]}, mask: {round: 10}, priority: 2}",
            "{name: low, type: masking, columns: {names: [ssn]}, mask: 'null', priority: 1}",
            "{name: tag, type: masking, columns: {tagged: PII}, mask: 'null', priority: 2}",
        ]
    )
    assert col["policy"] == "win"
    assert col["overridden"] == ["tag", "low"]
    assert col["overridden_why"] == {
        "tag": "less specific target than 'win'",
        "low": "lower priority (1 < 2) than 'win'",
    }


def test_the_winner_is_chosen_without_looking_at_the_user_and_then_its_rules_decide() -> None:
    policies = [
        "{name: win, type: masking, columns: {names: [ssn]}, mask: {round: 10}, except: {groups: [Legal]}}",
        "{name: lose, type: masking, columns: {tagged: PII}, mask: 'null'}",
    ]
    legal = ssn(policies, user="lena")
    assert (legal["mask"], legal["policy"], legal["overridden"]) == (None, "win", ["lose"])
    other = ssn(policies, user="bob")
    assert (other["mask"], other["policy"]) == ("round", "win")


def test_a_rule_policy_ranks_by_its_most_restrictive_branch() -> None:
    policies = [
        "{name: a-hash, type: masking, columns: {tagged: PII}, mask: hash}",
        "{name: z-rules, type: masking, columns: {tagged: PII}, rules: "
        "[{who: {groups: [Legal]}, mask: {round: 10}}, {otherwise: {mask: 'null'}}]}",
    ]
    assert ssn(policies)["policy"] == "z-rules"
    assert ssn(policies, user="lena")["mask"] == "round"


def test_rank_masking_policies_directly() -> None:
    policy = load(doc(["{name: a, type: masking, columns: {tagged: PII}, mask: hash, priority: 3}"])).policies[0]
    twin = dataclasses.replace(policy, name="b")
    assert rank_masking_policies([(policy, 1)]) == (policy, ())
    assert rank_masking_policies([(twin, 1), (policy, 1)]) == (
        policy,
        (Override(policy="b", reason="same rank as 'a'; the name decides"),),
    )
    assert rank_masking_policies([(twin, 2), (policy, 1)]) == (
        twin,
        (Override(policy="a", reason="less specific target than 'b'"),),
    )


def test_a_policy_on_another_column_does_not_take_part() -> None:
    col = ssn(
        [
            "{name: other-only, type: masking, columns: {names: [other]}, mask: 'null', priority: 9}",
            "{name: ssn-hash, type: masking, columns: {names: [ssn]}, mask: hash}",
        ]
    )
    assert (col["policy"], col["overridden"]) == ("ssn-hash", [])
