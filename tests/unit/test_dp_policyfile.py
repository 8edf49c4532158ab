"""Differential privacy in policy files: delta, public keys and budgets read, refused, written back and planned."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from immuta_spark import cli, policyfile
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import DEFAULT_DELTA, DifferentialPrivacy, PrivacyBudget
from tests.unit.support import catalog_state, load, plan, snapshot, write

BASE = """\
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: bob, groups: [Analysts]}
sources:
  - name: Rides
    table: db.rides
    owners: [gov]
    subscription: {anyone: {}}
    high_cardinality_column: id
    latency_tolerance: 600
    dictionary:
      - {name: id, type: bigint}
      - {name: region, type: string}
      - {name: fare, type: double}
"""


def local(body: str) -> str:
    """The base document with one local policy on Rides."""
    return BASE + f"    policies:\n      - {body}\n"


def global_policy(body: str) -> str:
    """The base document with one global policy."""
    return BASE + f"policies:\n  - {body}\n"


def dp_action(text: str) -> DifferentialPrivacy:
    """The action of the one local policy of ``text``."""
    action = load(text).sources[0].policies[0].rules[-1].action
    assert isinstance(action, DifferentialPrivacy)
    return action


DP = "name: dp, type: differential_privacy"


def run(cat: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    """The CLI's exit status and standard output."""
    out = io.StringIO()
    return cli.main(list(argv), catalog=cat, out=out), out.getvalue()


# --- reading ---------------------------------------------------------------------------------


def test_delta_public_keys_and_budget_are_read() -> None:
    action = dp_action(
        local(
            "{" + DP + ", epsilon: 0.5, delta: 1.0e-7, bounds: {fare: [0, 500]}, "
            "public_keys: {region: [east, west, '3'], id: [1, 2]}, budget: {epsilon: 5, period: 1d}}"
        )
    )
    assert action == DifferentialPrivacy(
        0.5,
        {"fare": (0.0, 500.0)},
        delta=1e-7,
        public_keys={"region": ("east", "west", "3"), "id": (1, 2)},
        budget=PrivacyBudget(5.0, 86400, "1d"),
    )


def test_without_the_options_delta_is_the_default_and_there_is_no_budget() -> None:
    action = dp_action(local("{" + DP + ", epsilon: 1}"))
    assert (action.delta, action.public_keys, action.budget) == (DEFAULT_DELTA, {}, None)
    assert DEFAULT_DELTA == 1e-6


@pytest.mark.parametrize(("written", "value"), [("1e-6", 1e-6), ("5E-5", 5e-5), ("0.0001", 1e-4), ("2.5e-7", 2.5e-7)])
def test_delta_may_be_written_as_yaml_reads_it_as_text(written: str, value: float) -> None:
    # YAML 1.1 floats need a dot: 1e-6 reaches the reader as the text '1e-6'.
    assert dp_action(local("{" + DP + f", epsilon: 1, delta: {written}}}")).delta == value


def test_an_epsilon_and_a_budget_written_with_an_exponent_are_numbers_too() -> None:
    action = dp_action(local("{" + DP + ", epsilon: 5e-1, budget: {epsilon: 2E0, period: 1d}}"))
    assert (action.epsilon, action.budget) == (0.5, PrivacyBudget(2.0, 86400, "1d"))


@pytest.mark.parametrize(("period", "seconds"), [("90m", 5400), ("12h", 43200), ("30d", 2592000)])
def test_a_budget_period_is_written_like_a_time_window(period: str, seconds: int) -> None:
    budget = dp_action(local("{" + DP + f", epsilon: 1, budget: {{epsilon: 1, period: {period}}}}}")).budget
    assert budget == PrivacyBudget(1.0, seconds, period)


def test_options_go_into_each_rule() -> None:
    text = local(
        "{" + DP + ", rules: [{who: {groups: [Analysts]}, epsilon: 0.1, budget: {epsilon: 1, period: 1h}}, "
        "{otherwise: {epsilon: 1, delta: 1.0e-8}}]}"
    )
    rules = load(text).sources[0].policies[0].rules
    assert [r.action for r in rules] == [
        DifferentialPrivacy(0.1, budget=PrivacyBudget(1.0, 3600, "1h")),
        DifferentialPrivacy(1.0, delta=1e-8),
    ]


# --- refusals: each names the key and says what to do ----------------------------------------

REFUSALS = [
    ("delta-zero", local("{" + DP + ", epsilon: 1, delta: 0}"), "sources[0].policies[0].delta", "below 0.001"),
    ("delta-big", local("{" + DP + ", epsilon: 1, delta: 0.001}"), "sources[0].policies[0].delta", "such as 1.0e-6"),
    ("delta-text", local("{" + DP + ", epsilon: 1, delta: tiny}"), "sources[0].policies[0].delta", "expected a number"),
    ("delta-bool", local("{" + DP + ", epsilon: 1, delta: true}"), "sources[0].policies[0].delta", "expected a number"),
    (
        "keys-not-mapping",
        local("{" + DP + ", epsilon: 1, public_keys: [region]}"),
        "sources[0].policies[0].public_keys",
        "expected a mapping of column to [values...]",
    ),
    (
        "keys-bad-column",
        local("{" + DP + ", epsilon: 1, public_keys: {'re gion': [a]}}"),
        "sources[0].policies[0].public_keys",
        "invalid column name 're gion'",
    ),
    (
        "keys-unknown-column",
        local("{" + DP + ", epsilon: 1, public_keys: {zone: [a]}}"),
        "sources[0].policies[0].public_keys.zone",
        "unknown column 'zone'; the data dictionary has: id, region, fare",
    ),
    (
        "keys-empty",
        local("{" + DP + ", epsilon: 1, public_keys: {region: []}}"),
        "sources[0].policies[0].public_keys.region",
        "list at least one value",
    ),
    (
        "keys-not-list",
        local("{" + DP + ", epsilon: 1, public_keys: {region: east}}"),
        "sources[0].policies[0].public_keys.region",
        "expected a list",
    ),
    (
        "keys-bool",
        local("{" + DP + ", epsilon: 1, public_keys: {region: [east, yes]}}"),
        "sources[0].policies[0].public_keys.region[1]",
        "got bool True; quote it to keep it as text",
    ),
    (
        "keys-float",
        local("{" + DP + ", epsilon: 1, public_keys: {region: [1.5]}}"),
        "sources[0].policies[0].public_keys.region[0]",
        "expected text or a whole number, got float 1.5",
    ),
    (
        "keys-date",
        local("{" + DP + ", epsilon: 1, public_keys: {region: [2024-01-31]}}"),
        "sources[0].policies[0].public_keys.region[0]",
        "quote it to keep it as text",
    ),
    (
        "keys-nested",
        local("{" + DP + ", epsilon: 1, public_keys: {region: [[a]]}}"),
        "sources[0].policies[0].public_keys.region[0]",
        "expected text or a whole number",
    ),
    (
        "keys-duplicate",
        local("{" + DP + ", epsilon: 1, public_keys: {region: [east, west, east]}}"),
        "sources[0].policies[0].public_keys.region[2]",
        "duplicate value 'east' (already at [0]); list each value once",
    ),
    (
        "keys-duplicate-after-cast",
        local("{" + DP + ", epsilon: 1, public_keys: {id: [1, '1']}}"),
        "sources[0].policies[0].public_keys.id[1]",
        "duplicate value '1' (already at [0])",
    ),
    (
        "bounds-unknown-column",
        local("{" + DP + ", epsilon: 1, bounds: {tip: [0, 5]}}"),
        "sources[0].policies[0].bounds.tip",
        "unknown column 'tip'",
    ),
    (
        "budget-not-mapping",
        local("{" + DP + ", epsilon: 1, budget: 5}"),
        "sources[0].policies[0].budget",
        "expected a mapping",
    ),
    (
        "budget-unknown-key",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 5, period: 1d, per: user}}"),
        "sources[0].policies[0].budget.per",
        "unknown key; expected one of: epsilon, period",
    ),
    (
        "budget-no-period",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 5}}"),
        "sources[0].policies[0].budget",
        "missing required key 'period'",
    ),
    (
        "budget-no-epsilon",
        local("{" + DP + ", epsilon: 1, budget: {period: 1d}}"),
        "sources[0].policies[0].budget",
        "missing required key 'epsilon'",
    ),
    (
        "budget-zero",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 0, period: 1d}}"),
        "sources[0].policies[0].budget.epsilon",
        "a budget's epsilon must be positive",
    ),
    (
        "budget-below-epsilon",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 0.5, period: 1d}}"),
        "sources[0].policies[0].budget.epsilon",
        "no query could ever be answered; raise the budget to at least 1.0, or lower the policy's epsilon",
    ),
    (
        "budget-bad-period",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 5, period: 1w}}"),
        "sources[0].policies[0].budget.period",
        "expected a period such as 30d, 12h or 90m (units m, h, d), got '1w'",
    ),
    (
        "budget-period-number",
        local("{" + DP + ", epsilon: 1, budget: {epsilon: 5, period: 3600}}"),
        "sources[0].policies[0].budget.period",
        "expected a period such as 30d, 12h or 90m (a non-empty string)",
    ),
    (
        "budget-in-rule-below-its-epsilon",
        local(
            "{" + DP + ", rules: [{who: {groups: [Analysts]}, epsilon: 2, budget: {epsilon: 1, period: 1h}}, "
            "{otherwise: {epsilon: 1}}]}"
        ),
        "sources[0].policies[0].rules[0].budget.epsilon",
        "at least 2.0",
    ),
    (
        "option-without-epsilon",
        local("{" + DP + ", rules: [{who: {groups: [Analysts]}, budget: {epsilon: 1, period: 1h}}, {otherwise: {}}]}"),
        "sources[0].policies[0].rules[0].budget",
        "'budget' goes with 'epsilon'; add epsilon: E beside it, or leave both out",
    ),
    (
        "global-keys-bad-value",
        global_policy("{" + DP + ", epsilon: 1, public_keys: {region: [null]}}"),
        "policies[0].public_keys.region[0]",
        "expected text or a whole number, got nothing (null)",
    ),
    (
        "no-epsilon",
        local("{" + DP + ", delta: 1.0e-7}"),
        "sources[0].policies[0]",
        "a differential_privacy policy needs one of: epsilon",
    ),
]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> tuple[GovernanceCatalog, str]:
    """A catalog holding a valid DP document: each refused file must leave it as it is."""
    directory = tmp_path_factory.mktemp("dp-refusals")
    url = f"sqlite:///{directory / 'catalog.db'}"
    cat = GovernanceCatalog.open(url, identity="gov", create=True)
    cat.apply(write(directory, local("{" + DP + ", epsilon: 1, budget: {epsilon: 3, period: 1d}}")), sql_checker=None)
    return cat, url


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_a_bad_dp_option_names_its_key_and_changes_nothing(
    applied: tuple[GovernanceCatalog, str], tmp_path: Path, text: str, path: str, fragment: str
) -> None:
    catalog, url = applied
    before = catalog_state(catalog, url)
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(write(tmp_path, text), sql_checker=None)
    assert (info.value.path, fragment in info.value.reason) == (path, True), info.value.reason
    assert catalog_state(catalog, url) == before


# --- writing back ------------------------------------------------------------------------------


def test_export_writes_the_options_and_reads_back_to_the_same_model() -> None:
    text = local(
        "{" + DP + ", epsilon: 0.5, delta: 1e-7, public_keys: {region: [east, 'yes', '1', 7]}, "
        "budget: {epsilon: 5, period: 12h}}"
    )
    model = load(text)
    dumped = policyfile.dump_yaml(policyfile.dump_document(model))
    policy = policyfile.dump_document(model)["sources"][0]["policies"][0]
    assert policy == {
        "name": "dp",
        "type": "differential_privacy",
        "epsilon": 0.5,
        "delta": 1e-7,
        "public_keys": {"region": ["east", "yes", "1", 7]},
        "budget": {"epsilon": 5.0, "period": "12h"},
    }
    assert policyfile.load_text(dumped, sql_checker=None) == model
    assert policyfile.dump_yaml(policyfile.dump_document(policyfile.load_text(dumped, sql_checker=None))) == dumped


def test_the_default_delta_is_left_out_of_the_export() -> None:
    policy = policyfile.dump_document(load(local("{" + DP + ", epsilon: 1, delta: 1.0e-6}")))["sources"][0]
    assert policy["policies"][0] == {"name": "dp", "type": "differential_privacy", "epsilon": 1.0}


def test_catalog_export_prints_the_options(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    body = "{" + DP + ", epsilon: 1, delta: 2.0e-7, public_keys: {region: [east]}, budget: {epsilon: 4, period: 90m}}"
    cat.apply(write(tmp_path, global_policy(body)), sql_checker=None)
    exported = cat.export()
    assert (
        textwrap.dedent(
            """\
        - name: dp
          type: differential_privacy
          epsilon: 1.0
          delta: 2.0e-07
          public_keys:
            region:
            - east
          budget:
            epsilon: 4.0
            period: 90m
        """
        )
        in exported
    )
    (tmp_path / "export.yaml").write_text(exported, encoding="utf-8")
    assert cat.apply(tmp_path / "export.yaml", sql_checker=None).is_noop


# --- the plan ----------------------------------------------------------------------------------


def test_the_plan_carries_the_strictest_policys_delta_keys_and_budget() -> None:
    snap = snapshot(
        local("{" + DP + ", epsilon: 2, delta: 1.0e-8}")
        + "policies:\n  - {name: strict, type: differential_privacy, epsilon: 0.5, delta: 1.0e-7,"
        " public_keys: {region: [east, west]}, budget: {epsilon: 2, period: 1d}}\n"
    )
    dp = plan(snap, "bob", "Rides").differential_privacy
    assert dp is not None
    assert (dp.policy, dp.epsilon, dp.delta, dict(dp.public_keys), dp.budget) == (
        "strict",
        0.5,
        1e-7,
        {"region": ("east", "west")},
        PrivacyBudget(2.0, 86400, "1d"),
    )
    assert (dp.high_cardinality_column, dp.latency_tolerance) == ("id", 600)


def test_explain_json_and_text_show_the_budget(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    body = "{" + DP + ", epsilon: 0.5, public_keys: {id: [1, 2]}, budget: {epsilon: 5, period: 1d}}"
    cat.apply(write(tmp_path, local(body)), sql_checker=None)
    code, out = run(cat, "explain", "--source", "Rides", "--user", "bob", "--format", "json")
    assert code == 0
    assert json.loads(out)["differential_privacy"] == {
        "policy": "dp",
        "epsilon": 0.5,
        "delta": 1e-6,
        "public_keys": {"id": [1, 2]},
        "budget": {"epsilon": 5.0, "period": "1d"},
    }
    text = run(cat, "explain", "--source", "Rides", "--user", "bob")[1]
    line = "differential privacy: dp (epsilon 0.5; budget 5.0 per user in any 1d); only aggregate queries are answered"
    assert line in text


def test_explain_json_without_a_budget_says_null() -> None:
    dp = plan(snapshot(local("{" + DP + ", epsilon: 1}")), "bob", "Rides").to_json()["differential_privacy"]
    assert dp == {"policy": "dp", "epsilon": 1.0, "delta": 1e-6, "public_keys": {}, "budget": None}
