"""The policy index gives exactly the plans of a full scan (immuta_spark.engine.index).

Every compile on an indexed snapshot is compared with the same compile on ``scan=True``, which
tests every policy against every source and column and ranks every conflict from scratch: over
generated catalogs (scopes by name, hierarchical tag and everywhere, restricted owners, local
policies, priorities that tie) and over the benchmarks' synthetic catalog. The shared masking
conflict merged with a source's own candidates is compared with ranking them all together.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.catalog_gen import COLUMNS as BENCH_COLUMNS
from bench.catalog_gen import synthetic_governance
from immuta_spark import policyfile
from immuta_spark.conditions import Everyone, InGroups
from immuta_spark.engine import Override, Snapshot, compile_plan, make_subject, rank_masking_policies
from immuta_spark.engine.conflicts import decide, with_own
from immuta_spark.engine.index import tag_prefixes
from immuta_spark.errors import PolicyBindError
from immuta_spark.model import (
    MASK_RESTRICTIVENESS,
    ColumnTarget,
    Governance,
    HashMask,
    NullMask,
    Policy,
    PolicyType,
    RoundMask,
    Rule,
)
from tests.unit.test_properties import (
    ATTRIBUTES,
    DICTIONARY,
    GROUPS,
    MASKS,
    PURPOSES,
    conditions,
    subset,
    with_form,
)

TAGS = ["PII", "PII.SSN", "PII.SSN.Last4", "PHI", "PHI.Claims", "Location", "Unused.Tag"]
COLUMNS = [c["name"] for c in DICTIONARY]
USERS = ["gov", "bob", "carol", "dave"]


def outcome(snap: Snapshot, user: str, source: str, schema: list[tuple[str, str]] | None) -> Any:
    """A compile's plan, or the error it raised (both must agree)."""
    try:
        return compile_plan(snap, make_subject(snap, user), source, schema)
    except PolicyBindError as exc:
        return ("error", str(exc))


def assert_same_plans(model: Governance, users: list[str], schemas: list[Any], *, seed: int = 0) -> int:
    indexed, scanned = Snapshot(model), Snapshot(model, scan=True)
    pairs = [(u, s.name, i) for u in users for s in model.sources for i in range(len(schemas))]
    random.Random(seed).shuffle(pairs)  # which source builds a shared block first must not matter
    for user, source, i in pairs:
        expected = outcome(scanned, user, source, schemas[i])
        assert outcome(indexed, user, source, schemas[i]) == expected, (user, source, schemas[i])
    return len(pairs)


# --- generated catalogs -------------------------------------------------------------------------


@st.composite
def scope(draw: st.DrawFn, sources: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["everywhere", "tagged", "tagged", "names"] if sources else ["everywhere", "tagged"]))
    if kind == "tagged":
        return {"sources": {"tagged": draw(st.sampled_from(TAGS))}}
    if kind == "names":
        return {"sources": {"names": draw(subset(sources, min_size=1, max_size=2))}}
    return {}


@st.composite
def policy(draw: st.DrawFn, name: str, sources: list[str], local: bool) -> dict[str, Any]:
    kinds = [
        "masking",
        "masking",
        "masking",
        "row",
        "purpose",
        "differential_privacy",
        *([] if local else ["subscription"]),
    ]
    kind = draw(st.sampled_from(kinds))
    base: dict[str, Any] = {"name": name, "type": kind}
    if not local:
        base.update(draw(scope(sources)))
        if draw(st.integers(0, 4)) == 0:
            base["owners"] = draw(st.lists(st.sampled_from(["gov", "bob", {"group": "Legal"}]), min_size=1, max_size=1))
    if kind == "masking":
        target = draw(
            st.one_of(
                st.builds(lambda t: {"tagged": t}, st.sampled_from(TAGS)),
                st.builds(lambda n: {"names": n}, subset(COLUMNS, min_size=1, max_size=2)),
            )
        )
        base["columns"] = target
        base["priority"] = draw(st.integers(0, 2))  # few values: many ties for the later keys
        if draw(st.integers(0, 5)) == 0:
            base["where"] = "amount > 10"
        return draw(with_form(base, st.builds(lambda m: {"mask": m}, MASKS)))
    if kind == "row":
        forms = [
            {"match": {"attribute": "Office", "column": "state"}},
            {"match": {"groups": True, "column": "state"}},
            {"where": "amount < 1000"},
            {"where": "amount < 2000"},
        ]
        return draw(with_form(base, st.sampled_from(forms)))
    if kind == "purpose":
        return draw(with_form(base, st.just({"purposes": draw(subset(PURPOSES, min_size=1, max_size=2))})))
    if kind == "subscription":
        return draw(with_form(base, st.one_of(st.builds(lambda c: {"when": c}, conditions), st.just({"anyone": {}}))))
    epsilon = draw(st.sampled_from([0.5, 1.0]))
    return draw(with_form(base, st.just({"epsilon": epsilon, "bounds": {"amount": [0.0, 100.0]}})))


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    users = []
    for name in USERS:
        u: dict[str, Any] = {"name": name, "groups": draw(subset(GROUPS, max_size=2))}
        u["attributes"] = draw(st.dictionaries(st.just("Office"), subset(ATTRIBUTES["Office"], max_size=2)))
        users.append(u)
    names = [f"Source {i}" for i in range(draw(st.integers(1, 6)))]
    sources = []
    for i, name in enumerate(names):
        s: dict[str, Any] = {"name": name, "table": f"db.t{i}", "dictionary": DICTIONARY}
        s["owners"] = draw(st.lists(st.sampled_from(["gov", "bob", {"group": "Legal"}]), max_size=1))
        s["tags"] = draw(subset(TAGS, max_size=3))
        s["columns"] = draw(st.dictionaries(st.sampled_from(COLUMNS), subset(TAGS, min_size=1, max_size=2), max_size=4))
        s["subscription"] = {"anyone": {}}
        local = [draw(policy(f"local-{i}-{j}", [], True)) for j in range(draw(st.integers(0, 3)))]
        if local:
            s["policies"] = local
        sources.append(s)
    policies = [draw(policy(f"global-{j}", names, False)) for j in range(draw(st.integers(0, 25)))]
    return {
        "version": 1,
        "users": users,
        "purposes": [{"name": p} for p in PURPOSES],
        "sources": sources,
        "policies": policies,
    }


#: The dictionary's schema, and the same columns spelt in other case (names bind case-insensitively).
SCHEMAS = [None, [(c["name"], c["type"]) for c in DICTIONARY], [(c["name"].upper(), c["type"]) for c in DICTIONARY]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs(), st.integers(0, 1000))
def test_the_index_gives_the_plans_of_a_full_scan(doc: dict[str, Any], seed: int) -> None:
    model = policyfile.parse_document(doc)
    assert_same_plans(model, [*USERS, "stranger"], SCHEMAS, seed=seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_index_gives_the_plans_of_a_full_scan_on_the_synthetic_catalog(seed: int) -> None:
    model = synthetic_governance(sources=60, policies=900, users=40, seed=seed)
    assert assert_same_plans(model, [u.name for u in model.users][:25], [list(BENCH_COLUMNS)], seed=seed) == 1500


def test_sources_alike_share_one_block_and_restricted_policies_split_them_by_owner() -> None:
    doc = {
        "version": 1,
        "users": [{"name": "gov"}, {"name": "bob"}],
        "sources": [
            {"name": "a", "table": "db.a", "tags": ["PII", "Free"], "owners": ["gov"]},
            {"name": "b", "table": "db.b", "tags": ["PII.SSN"], "owners": ["gov"]},
            {"name": "c", "table": "db.c", "tags": ["PII"], "owners": ["bob"]},
            {"name": "d", "table": "db.d", "tags": ["Location"], "owners": ["gov"]},
            {"name": "e", "table": "db.e", "tags": ["Location"], "owners": ["bob"]},
        ],
        "policies": [
            {"name": "p", "type": "row", "sources": {"tagged": "PII"}, "where": "1 = 1"},
            {"name": "r", "type": "row", "sources": {"tagged": "Location"}, "owners": ["gov"], "where": "2 = 2"},
        ],
    }
    snap = Snapshot(policyfile.parse_document(doc))
    blocks = {n: snap.source_policies(snap.sources[n]).block for n in "abcde"}
    assert blocks["a"] is blocks["b"] is blocks["c"]  # "Free" and ".SSN" hit no other bucket
    assert blocks["d"] is not blocks["e"]  # the restricted policy is gov's: owners split the block
    assert [p.name for p in blocks["d"].all] == ["r"] and blocks["e"].all == ()


def test_tag_prefixes_are_exactly_the_targets_that_hit_a_tag() -> None:
    from immuta_spark.conditions import tag_matches

    for tag in ["PII", "PII.SSN.Last4", "A..B", ".x", "x."]:
        candidates = {tag[:i] for i in range(len(tag) + 1)}
        assert set(tag_prefixes(tag)) == {t for t in candidates if tag_matches(tag, t)}


# --- masking conflicts: the shared decision merged with a source's own candidates ----------------


def reference_rank(candidates: list[tuple[Policy, int]]) -> tuple[Policy, tuple[Override, ...]]:
    """The ranking as first written (before it was made fast), for comparison."""

    def restrictiveness(p: Policy) -> int:
        kinds = [a.kind for a in p.actions()]
        ranks = [MASK_RESTRICTIVENESS.index(k) for k in kinds if k in MASK_RESTRICTIVENESS]
        return len(MASK_RESTRICTIVENESS) - min(ranks, default=len(MASK_RESTRICTIVENESS))

    def strictest(p: Policy) -> str:
        kinds = [a.kind for a in p.actions() if a.kind in MASK_RESTRICTIVENESS]
        return min(kinds, key=MASK_RESTRICTIVENESS.index) if kinds else "none"

    def key(item: tuple[Policy, int]) -> tuple[int, int, int, int]:
        p, spec = item
        return (p.priority, spec, int(p.is_local), restrictiveness(p))

    ordered = sorted(candidates, key=lambda it: (tuple(-x for x in key(it)), it[0].name))
    winner, wspec = ordered[0]
    wkey = key((winner, wspec))
    losers = []
    labels = ("lower priority", "less specific target", "global policy loses to local", "less restrictive mask")
    for p, spec in ordered[1:]:
        lkey = key((p, spec))
        reason = f"same rank as '{winner.name}'; the name decides"
        for i, label in enumerate(labels):
            if lkey[i] != wkey[i]:
                detail = ""
                if i == 0:
                    detail = f" ({p.priority} < {winner.priority})"
                elif i == 3:
                    detail = f" ({strictest(p)} < {strictest(winner)})"
                reason = f"{label}{detail} than '{winner.name}'"
                break
        losers.append(Override(policy=p.name, reason=reason))
    return winner, tuple(losers)


@st.composite
def candidate(draw: st.DrawFn, local: bool) -> tuple[Policy, int]:
    mask = draw(st.sampled_from([HashMask(), NullMask(), RoundMask(multiple=10), None]))
    # The exempt group is outside the ranking's key: policies equal in key still differ.
    exempt = InGroups(frozenset({draw(st.sampled_from(["x", "y"]))}))
    rules = (Rule(who=exempt, action=None), Rule(who=Everyone(), action=mask))
    policy = Policy(
        name=draw(st.sampled_from(["a", "b", "c", "d"])),  # few names: ties all the way down
        type=PolicyType.MASKING,
        rules=rules,
        columns=ColumnTarget(tagged="T"),
        priority=draw(st.integers(0, 1)),
        source="s" if local else None,
    )
    return policy, draw(st.sampled_from([1, 2, 1000]))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(candidate(False), max_size=4),
    st.lists(candidate(False), max_size=8),
    st.lists(candidate(True), max_size=4),
)
def test_a_shared_conflict_merged_with_own_candidates_ranks_as_all_together(
    before: list[tuple[Policy, int]], shared: list[tuple[Policy, int]], after: list[tuple[Policy, int]]
) -> None:
    everything = [*before, *shared, *after]
    expected = reference_rank(everything) if everything else None
    assert with_own(decide(shared), before, after) == expected
    if everything:
        assert rank_masking_policies(everything) == expected
