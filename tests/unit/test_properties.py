"""Property-based tests: condition evaluation, the dump/parse round trip, and idempotent apply."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immuta_spark import policyfile
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.conditions import Condition
from immuta_spark.engine import Subject

USERS = ["gov", "bob", "carol", "dave"]
GROUPS = ["Legal", "Finance", "Analysts", "Medical Claims"]
ATTRIBUTES = {"Office": ["Ohio", "Texas", "O'Hara"], "Level": ["1", "2"]}
PURPOSES = ["Research", "Research.Onboarding", "Research.Onboarding.Customer", "ResearchX", "Fraud"]
TAGS = ["PII", "PII.SSN", "PHI", "PHI.Claims", "Location"]
DICTIONARY = [
    {"name": "id", "type": "bigint"},
    {"name": "ssn", "type": "string"},
    {"name": "state", "type": "string"},
    {"name": "amount", "type": "double"},
    {"name": "day", "type": "date"},
]
COLUMNS = [c["name"] for c in DICTIONARY]
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def subset(items: list[str], *, min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), unique=True, min_size=min_size, max_size=max_size)


# --- conditions ---------------------------------------------------------------------------------


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    attributes = st.dictionaries(
        st.sampled_from(sorted(ATTRIBUTES)),
        st.sampled_from(sorted(ATTRIBUTES)).flatmap(lambda k: subset(ATTRIBUTES[k], min_size=1)),
        min_size=1,
        max_size=2,
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "groups": subset(GROUPS, min_size=1),
            "users": subset(USERS, min_size=1),
            "purposes": subset(PURPOSES, min_size=1),
            "attributes": attributes,
        },
    ).filter(bool)


conditions: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.just("everyone"), _leaf()),
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(
            lambda a, b: {**a, **b}, _leaf(), st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=2)})
        ),
    ),
    max_leaves=6,
)

subjects = st.builds(
    lambda user, groups, attrs, purposes: Subject(
        user=user,
        groups=frozenset(groups),
        attributes={k: frozenset(v) for k, v in attrs.items()},
        purposes=frozenset(purposes),
    ),
    st.sampled_from([*USERS, "stranger"]),
    subset(GROUPS),
    st.dictionaries(st.sampled_from(sorted(ATTRIBUTES)), subset(sorted({v for vs in ATTRIBUTES.values() for v in vs}))),
    subset(PURPOSES, max_size=2),
)


def reference(cond: Any, s: Subject) -> bool:
    """An independent reading of section 3, straight from the YAML form."""
    if cond == "everyone":
        return True
    checks = []
    for key, value in cond.items():
        if key == "groups":
            checks.append(any(g in s.groups for g in value))
        elif key == "users":
            checks.append(s.user in value)
        elif key == "purposes":
            checks.append(any(h == p or h.startswith(p + ".") for h in s.purposes for p in value))
        elif key == "attributes":
            checks.append(all(any(v in s.attributes.get(a, ()) for v in vals) for a, vals in value.items()))
        elif key == "all":
            checks.append(all(reference(c, s) for c in value))
        elif key == "any":
            checks.append(any(reference(c, s) for c in value))
    return all(checks)


def parse_condition(cond: Any) -> Condition:
    doc = {
        "version": 1,
        "purposes": [{"name": p} for p in PURPOSES],
        "policies": [{"name": "p", "type": "masking", "columns": {"tagged": "PII"}, "mask": "hash", "except": cond}],
    }
    return policyfile.parse_document(doc).policies[0].rules[0].who


@SETTINGS
@given(conditions, subjects)
def test_condition_evaluation_agrees_with_a_reference_evaluator(cond: Any, subject: Subject) -> None:
    assert parse_condition(cond).holds(subject) is reference(cond, subject)


@SETTINGS
@given(conditions, subjects)
def test_a_condition_survives_its_export_form(cond: Any, subject: Subject) -> None:
    parsed = parse_condition(cond)
    again = parse_condition(parsed.to_data())
    assert again == parsed
    assert again.holds(subject) is parsed.holds(subject)


# --- whole documents ----------------------------------------------------------------------------

MASKS = st.sampled_from(
    [
        "hash",
        "null",
        "none",
        "reversible",
        "format_preserving",
        {"constant": "REDACTED"},
        {"constant": 0},
        {"regex": {"pattern": r"(\d+)$", "replacement": "X$1"}},
        {"round": 100},
        {"round": "month"},
        {"k_anonymize": 3},
        {"k_anonymize": "fingerprint"},
    ]
)


@st.composite
def with_form(draw: st.DrawFn, base: dict[str, Any], actions: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A policy body in one of the three forms: for everyone, except, or rules with otherwise."""
    form = draw(st.sampled_from(["everyone", "except", "rules"]))
    if form == "rules":
        rules = [{"who": draw(conditions), **draw(actions | st.just({}))} for _ in range(draw(st.integers(1, 2)))]
        return {**base, "rules": [*rules, {"otherwise": draw(actions | st.just({}))}]}
    extra = {"except": draw(conditions)} if form == "except" else {}
    return {**base, **draw(actions), **extra}


@st.composite
def masking_policy(draw: st.DrawFn, name: str, local: bool) -> dict[str, Any]:
    target = draw(
        st.one_of(
            st.builds(lambda t: {"tagged": t}, st.sampled_from(TAGS)),
            st.builds(lambda n: {"names": n}, subset(COLUMNS, min_size=1, max_size=2)),
        )
    )
    base: dict[str, Any] = {"name": name, "type": "masking", "columns": target}
    if draw(st.booleans()):
        base["priority"] = draw(st.integers(-3, 3))
    if draw(st.booleans()):
        base["where"] = "amount > 10"
    if not local and draw(st.booleans()):
        base["sources"] = {"tagged": draw(st.sampled_from(TAGS))}
    return draw(with_form(base, st.builds(lambda m: {"mask": m}, MASKS)))


@st.composite
def row_policy(draw: st.DrawFn, name: str, source: dict[str, Any] | None) -> dict[str, Any]:
    forms: list[dict[str, Any]] = [
        {"match": {"attribute": "Office", "column": "state"}},
        {"match": {"groups": True, "column": "state"}},
        {"where": "amount < 1000"},
    ]
    if source is None or "event_time" in source:
        forms.append({"time_window": "30d"})
    if source is None or "high_cardinality_column" in source:
        forms.append({"minimize": 12.5})
    base: dict[str, Any] = {"name": name, "type": "row"}
    if source is None and draw(st.booleans()):
        base["owners"] = draw(st.lists(st.sampled_from(["gov", {"group": "Legal"}]), min_size=1, max_size=1))
    return draw(with_form(base, st.sampled_from(forms)))


@st.composite
def dp_actions(draw: st.DrawFn) -> dict[str, Any]:
    """A differential-privacy action with any of its options (a budget never below its epsilon)."""
    epsilon = draw(st.sampled_from([0.5, 1.0]))
    action: dict[str, Any] = {"epsilon": epsilon}
    if draw(st.booleans()):
        action["bounds"] = {"amount": [0.0, 100.0]}
    if draw(st.booleans()):
        action["delta"] = draw(st.sampled_from([1e-9, 1e-6, 5e-4]))
    if draw(st.booleans()):
        keys = st.one_of(st.sampled_from(["Ohio", "Texas", "1", "yes", ""]), st.integers(-5, 5))
        values = draw(st.lists(keys, min_size=1, max_size=4, unique_by=str))
        action["public_keys"] = {"state": values, **({"id": [1, 2]} if draw(st.booleans()) else {})}
    if draw(st.booleans()):
        period = draw(st.sampled_from(["90m", "12h", "1d"]))
        action["budget"] = {"epsilon": draw(st.sampled_from([epsilon, 5, 10.5])), "period": period}
    return action


@st.composite
def source(draw: st.DrawFn, i: int, users: list[str]) -> dict[str, Any]:
    s: dict[str, Any] = {"name": f"Source {i}", "table": f"db.t{i}"}
    owners = draw(subset(users, max_size=2))
    if draw(st.booleans()):
        owners = [*owners, {"group": draw(st.sampled_from(GROUPS))}]
    if owners:
        s["owners"] = owners
    for key in ("experts", "subscribers", "ingest_users"):
        chosen = draw(subset(users, max_size=2))
        if chosen:
            s[key] = chosen
    tags = draw(subset(TAGS, max_size=2))
    if tags:
        s["tags"] = tags
    columns = draw(st.dictionaries(st.sampled_from(COLUMNS), subset(TAGS, min_size=1, max_size=2), max_size=3))
    if columns:
        s["columns"] = columns
    if draw(st.booleans()):
        s["event_time"] = "day"
    if draw(st.booleans()):
        s["high_cardinality_column"] = "id"
    if draw(st.booleans()):
        s["latency_tolerance"] = draw(st.integers(0, 7200))
    kind = draw(st.sampled_from(["none", "anyone", "approval", "when", "individuals"]))
    if kind == "anyone":
        s["subscription"] = {"anyone": {}}
    elif kind == "approval":
        approvers = draw(st.lists(st.sampled_from(["owner", "governance", {"group": "Legal"}]), min_size=1, max_size=3))
        s["subscription"] = {"approval": {"approvers": list({repr(a): a for a in approvers}.values())}}
    elif kind == "when":
        s["subscription"] = {"when": draw(conditions)}
    elif kind == "individuals":
        s["subscription"] = {"individuals": draw(subset(users))}
    s["dictionary"] = DICTIONARY
    policies = []
    for j in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["masking", "row", "dp"]))
        if kind == "masking":
            policies.append(draw(masking_policy(f"local-{j}", True)))
        elif kind == "row":
            policies.append(draw(row_policy(f"local-{j}", s)))
        else:
            policies.append(draw(with_form({"name": f"local-{j}", "type": "differential_privacy"}, dp_actions())))
    if policies:
        s["policies"] = policies
    return s


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    names = ["gov", *draw(subset(USERS[1:]))]
    users = []
    for name in names:
        u: dict[str, Any] = {"name": name}
        groups = draw(subset(GROUPS, max_size=2))
        if groups:
            u["groups"] = groups
        attrs = draw(st.dictionaries(st.sampled_from(sorted(ATTRIBUTES)), subset(ATTRIBUTES["Office"], max_size=2)))
        if attrs:
            u["attributes"] = attrs
        perms = ["GOVERNANCE"] if name == "gov" else draw(subset(["IMPERSONATE", "CREATE_PROJECT"], max_size=1))
        if perms:
            u["permissions"] = perms
        users.append(u)
    sources = [draw(source(i, names)) for i in range(draw(st.integers(0, 3)))]
    policies: list[dict[str, Any]] = []
    for j in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["masking", "row", "purpose", "subscription", "dp"]))
        name = f"global-{j}"
        if kind == "masking":
            policies.append(draw(masking_policy(name, False)))
        elif kind == "row":
            policies.append(draw(row_policy(name, None)))
        elif kind == "purpose":
            purposes = draw(subset(PURPOSES, min_size=1, max_size=2))
            policies.append(draw(with_form({"name": name, "type": "purpose"}, st.just({"purposes": purposes}))))
        elif kind == "subscription":
            body = st.one_of(st.builds(lambda c: {"when": c}, conditions), st.just({"anyone": {}}))
            policies.append(draw(with_form({"name": name, "type": "subscription"}, body)))
        else:
            policies.append(draw(with_form({"name": name, "type": "differential_privacy"}, dp_actions())))
    projects = []
    for k in range(draw(st.integers(0, 2))):
        projects.append(
            {
                "name": f"Project {k}",
                "owner": draw(st.sampled_from(names)),
                "members": draw(subset(names)),
                "purposes": draw(subset(PURPOSES, max_size=2)),
                "sources": draw(subset([s["name"] for s in sources])) if sources else [],
                "equalization": draw(st.booleans()),
                "masked_joins": draw(st.booleans()),
            }
        )
    return {
        "version": 1,
        "settings": {"k_anonymization_cardinality_cutoff": draw(st.integers(1, 1000))},
        "users": users,
        "purposes": [{"name": p, "acknowledgement": f"{p} only."} for p in PURPOSES],
        "sources": sources,
        "policies": policies,
        "projects": projects,
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_dump_then_parse_gives_the_same_model(doc: dict[str, Any]) -> None:
    model = policyfile.parse_document(doc)
    text = policyfile.dump_yaml(policyfile.dump_document(model))
    assert policyfile.load_text(text) == model
    assert policyfile.dump_yaml(policyfile.dump_document(policyfile.load_text(text))) == text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), documents())
def test_apply_is_idempotent_and_apply_is_the_whole_desired_state(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        a, b = directory / "a.yaml", directory / "b.yaml"
        a.write_text(yaml.safe_dump(first, sort_keys=False), encoding="utf-8")
        b.write_text(yaml.safe_dump(second, sort_keys=False), encoding="utf-8")
        cat = GovernanceCatalog.open(f"sqlite:///{directory / 'catalog.db'}", identity="gov", create=True)
        cat.apply(a, sql_checker=None)
        exported = cat.export()
        revision = cat.store.revision()
        assert cat.apply(a, sql_checker=None).is_noop
        (directory / "export.yaml").write_text(exported, encoding="utf-8")
        assert cat.apply(directory / "export.yaml", sql_checker=None).is_noop
        assert cat.store.revision() == revision
        cat.apply(b, sql_checker=None)
        cat.apply(a, sql_checker=None)
        assert cat.export() == exported
