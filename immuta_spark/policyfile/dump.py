"""Writing: the canonical policy-as-code form that ``export`` prints and apply reads back unchanged."""

from __future__ import annotations

from typing import Any

import yaml

from immuta_spark.model import (
    DEFAULT_DELTA,
    Action,
    ConstantMask,
    Derivation,
    DifferentialPrivacy,
    Entitlement,
    Governance,
    KAnonymizeMask,
    Mask,
    MatchAttribute,
    MatchGroups,
    Minimize,
    OwnerRef,
    Policy,
    Project,
    Purpose,
    PurposeLimit,
    RegexMask,
    RoundMask,
    Settings,
    Source,
    Subscription,
    SubscriptionKind,
    TimeWindow,
    User,
    WhereFilter,
)
from immuta_spark.policyfile.identity import dump_identity_provider

__all__ = [
    "dump_action",
    "dump_derivation",
    "dump_document",
    "dump_entitlement",
    "dump_mask",
    "dump_policy",
    "dump_project",
    "dump_purpose",
    "dump_settings",
    "dump_source",
    "dump_subscription",
    "dump_user",
    "dump_yaml",
]


def dump_document(g: Governance) -> dict[str, Any]:
    """The canonical policy-as-code form of a model (no secrets, no runtime state)."""
    out: dict[str, Any] = {"version": 1, "settings": dump_settings(g.settings)}
    out["users"] = [dump_user(u) for u in g.users]
    out["purposes"] = [dump_purpose(p) for p in g.purposes]
    out["sources"] = [dump_source(s) for s in g.sources]
    out["policies"] = [dump_policy(p) for p in g.policies]
    out["projects"] = [dump_project(p) for p in g.projects]
    if g.identity_providers:  # absent when there are none: exports of catalogs without providers read as before
        out["identity_providers"] = [dump_identity_provider(p) for p in g.identity_providers]
    return out


def dump_yaml(data: Any) -> str:
    """YAML text in the project's one canonical style."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def dump_settings(s: Settings) -> dict[str, Any]:
    """Settings as policy-as-code."""
    gov = s.governance
    return {
        "k_anonymization_cardinality_cutoff": s.k_anonymization_cardinality_cutoff,
        "workspace_root": s.workspace_root,
        "workspace_lease_max_seconds": s.workspace_lease_max_seconds,
        "governance": {f: getattr(gov, f) for f in gov.__dataclass_fields__},
    }


def dump_user(u: User) -> dict[str, Any]:
    """A user as policy-as-code."""
    d: dict[str, Any] = {"name": u.name}
    if u.groups:
        d["groups"] = sorted(u.groups)
    if u.attributes:
        d["attributes"] = {k: sorted(v) for k, v in sorted(u.attributes.items())}
    if u.permissions:
        d["permissions"] = sorted(p.value for p in u.permissions)
    return d


def dump_purpose(p: Purpose) -> dict[str, Any]:
    """A purpose as policy-as-code."""
    return {"name": p.name, "acknowledgement": p.acknowledgement}


def _dump_owners(owners: tuple[OwnerRef, ...]) -> list[Any]:
    return [o.user if o.user is not None else {"group": o.group} for o in owners]


def dump_source(s: Source) -> dict[str, Any]:
    """A data source (with its local policies) as policy-as-code."""
    d: dict[str, Any] = {"name": s.name, "table": s.table}
    if s.location and s.object is None:
        d["location"] = s.location
    if s.object is not None:
        d["object"] = {
            "format": s.object.format,
            "location": s.location,
            **({"options": dict(s.object.options)} if s.object.options else {}),
            **({"event_time": s.object.event_time} if s.object.event_time else {}),
        }
    if s.owners:
        d["owners"] = _dump_owners(s.owners)
    for key in ("experts", "ingest_users", "tags"):
        if getattr(s, key):
            d[key] = list(getattr(s, key))
    if s.subscribers:
        d["subscribers"] = sorted(s.subscribers)
    if s.column_tags:
        d["columns"] = {c: list(t) for c, t in s.column_tags.items()}
    for key in ("event_time", "high_cardinality_column", "latency_tolerance"):
        if getattr(s, key) is not None:
            d[key] = getattr(s, key)
    if s.subscription is not None:
        d["subscription"] = dump_subscription(s.subscription)
    if s.dictionary:
        d["dictionary"] = [
            {
                "name": c.name,
                **({"type": c.type} if c.type else {}),
                **({"description": c.description} if c.description else {}),
            }
            for c in s.dictionary
        ]
    if s.policies:
        d["policies"] = [dump_policy(p) for p in s.policies]
    if s.derived is not None:
        d["derived"] = dump_derivation(s.derived)
    return d


def dump_derivation(d: Derivation) -> dict[str, Any]:
    """A derived source's derivation as the catalog stores it."""
    out: dict[str, Any] = {"parents": list(d.parents), "created_by": d.created_by}
    if d.project is not None:
        out["project"] = d.project
    out["entitlement"] = dump_entitlement(d.entitlement)
    out["lineage"] = {c: [list(p) for p in pairs] for c, pairs in d.lineage.items()}
    if d.purposes:
        out["purposes"] = list(d.purposes)
    if d.readers is not None:
        out["readers"] = sorted(d.readers)
    out["certified"] = d.certified
    if d.disabled is not None:
        out["disabled"] = d.disabled
    return out


def dump_subscription(sub: Subscription) -> dict[str, Any]:
    """A subscription policy body as policy-as-code."""
    if sub.kind is SubscriptionKind.ANYONE:
        return {"anyone": {}}
    if sub.kind is SubscriptionKind.WHEN:
        assert sub.condition is not None
        return {"when": sub.condition.to_data()}
    if sub.kind is SubscriptionKind.INDIVIDUALS:
        return {"individuals": sorted(sub.users)}
    body: dict[str, Any] = {"approvers": [a.role if a.role != "group" else {"group": a.group} for a in sub.approvers]}
    if sub.condition is not None:
        body["when"] = sub.condition.to_data()
    return {"approval": body}


def dump_action(action: Action | None) -> dict[str, Any]:
    """The action keys of a policy or rule."""
    if action is None:
        return {}
    if isinstance(action, Subscription):
        return dump_subscription(action)
    if isinstance(action, PurposeLimit):
        return {"purposes": list(action.purposes)}
    if isinstance(action, DifferentialPrivacy):
        d: dict[str, Any] = {"epsilon": action.epsilon}
        if action.bounds:
            d["bounds"] = {c: list(b) for c, b in action.bounds.items()}
        if action.delta != DEFAULT_DELTA:  # the default is left out, as the reader fills it in
            d["delta"] = action.delta
        if action.public_keys:
            d["public_keys"] = {c: list(v) for c, v in action.public_keys.items()}
        if action.budget is not None:
            d["budget"] = {"epsilon": action.budget.epsilon, "period": action.budget.text}
        return d
    if isinstance(action, MatchAttribute):
        return {"match": {"attribute": action.attribute, action.origin: action.column}}
    if isinstance(action, MatchGroups):
        return {"match": {"groups": True, "column": action.column}}
    if isinstance(action, WhereFilter):
        return {"where": action.sql}
    if isinstance(action, TimeWindow):
        return {"time_window": action.text}
    if isinstance(action, Minimize):
        return {"minimize": action.percent}
    return {"mask": dump_mask(action)}


def dump_mask(mask: Mask) -> Any:
    """A mask as policy-as-code."""
    if isinstance(mask, ConstantMask):
        return {"constant": mask.value}
    if isinstance(mask, RegexMask):
        return {"regex": {"pattern": mask.pattern, "replacement": mask.replacement}}
    if isinstance(mask, RoundMask):
        return {"round": mask.unit if mask.unit is not None else mask.multiple}
    if isinstance(mask, KAnonymizeMask):
        return {"k_anonymize": mask.k if mask.k is not None else "fingerprint"}
    return mask.kind


def dump_policy(p: Policy) -> dict[str, Any]:
    """A policy as policy-as-code."""
    d: dict[str, Any] = {"name": p.name, "type": p.type.value}
    if p.priority:
        d["priority"] = p.priority
    if p.scope.tagged is not None:
        d["sources"] = {"tagged": p.scope.tagged}
    elif p.scope.names is not None:
        d["sources"] = {"names": sorted(p.scope.names)}
    if p.owners:
        d["owners"] = _dump_owners(p.owners)
    if p.columns is not None:
        d["columns"] = {"tagged": p.columns.tagged} if p.columns.tagged else {"names": list(p.columns.names or ())}
    if p.where is not None:
        d["where"] = p.where
    if p.form == "rules":
        rules: list[dict[str, Any]] = [{"who": r.who.to_data(), **dump_action(r.action)} for r in p.rules[:-1]]
        rules.append({"otherwise": dump_action(p.rules[-1].action)})
        d["rules"] = rules
    else:
        action = p.rules[-1].action
        if p.form == "except":
            d["except"] = p.rules[0].who.to_data()
        # ``mask: none`` (exempt everyone the policy covers) must survive the round trip.
        d.update(dump_action(action) if action is not None else {"mask": "none"})
    if p.description:
        d["description"] = p.description
    return d


def dump_entitlement(e: Entitlement) -> dict[str, Any]:
    """An equalized entitlement as policy-as-code."""
    return {"groups": sorted(e.groups), "attributes": {k: sorted(v) for k, v in sorted(e.attributes.items()) if v}}


def dump_project(p: Project) -> dict[str, Any]:
    """A project as policy-as-code."""
    d: dict[str, Any] = {"name": p.name, "owner": p.owner}
    if p.members:
        d["members"] = sorted(p.members)
    d["purposes"] = list(p.purposes)
    d["sources"] = list(p.sources)
    d["equalization"] = p.equalization
    d["masked_joins"] = p.masked_joins
    if p.validation_frequency is not None:
        d["validation_frequency"] = p.validation_frequency
    if p.workspace:
        d["workspace"] = True
    if p.description:
        d["description"] = p.description
    if p.subscription is not None:
        d["subscription"] = dump_subscription(p.subscription)
    if p.entitlement is not None:
        d["entitlement"] = dump_entitlement(p.entitlement)
    return d
