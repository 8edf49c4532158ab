"""The plan: data saying what one subject sees of one source (printable, comparable, explainable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.expr import AlwaysTrue, Predicate, Term
from immuta_spark.model import DEFAULT_DELTA, PrivacyBudget

__all__ = ["CONSTRUCTIONS", "ColumnPlan", "DPPlan", "Override", "Plan", "RowPolicyApplied"]

#: How each mask kind computes what the user sees (explain shows it beside the kind).
CONSTRUCTIONS = {
    "hash": "SHA-256 of the source's (or masked-joins project's) salt and the value, hex",
    "null": "NULL",
    "constant": "a constant",
    "regex": "a regular-expression replacement",
    "round": "rounded down to the step, or truncated to the time unit",
    "reversible": "SIV: IV = HMAC-SHA256 of the value padded to 16 bytes, then AES-256-GCM; base64 (reversible by an "
    "approved unmask request)",
    "format_preserving": "FF3-1 (NIST SP 800-38G Rev. 1) per character class, short runs hidden (reversible by an "
    "approved unmask request)",
    "k_anonymize": "NULL where the combination of the policy's columns occurs fewer than K times",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """A masking policy that lost a conflict on a column, and why."""

    policy: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnPlan:
    """What the subject sees of one column.

    ``source_type`` is the column's Spark SQL type and ``type`` the type the subject sees; None
    when it is not known (compiled without a schema, and the data dictionary gives no type).
    """

    name: str
    type: str | None
    source_type: str | None
    mask: str | None
    policy: str | None
    overridden: tuple[Override, ...]
    term: Term
    conditional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RowPolicyApplied:
    """A row policy that filters the subject's rows."""

    policy: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DPPlan:
    """Differential privacy applies: aggregate-only answers with noise at ``epsilon`` (and ``delta``).

    ``public_keys`` are the values GROUP BY on each column releases; ``budget`` caps what the
    user spends on the source per period (None: no cap). All of them are the chosen policy's.
    """

    policy: str
    epsilon: float
    bounds: Mapping[str, tuple[float, float]]
    high_cardinality_column: str | None
    latency_tolerance: int | None
    delta: float = DEFAULT_DELTA
    public_keys: Mapping[str, tuple[str | int, ...]] = field(default_factory=dict)
    budget: PrivacyBudget | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``differential_privacy`` entry of :meth:`Plan.to_json`."""
        return {
            "policy": self.policy,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "public_keys": {c: list(v) for c, v in self.public_keys.items()},
            "budget": None if self.budget is None else {"epsilon": self.budget.epsilon, "period": self.budget.text},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The decision and enforcement plan for one subject on one source."""

    source: str
    table: str
    user: str
    project: str | None
    visible: bool
    subscribed: bool
    denied_reason: str | None
    purposes_required: tuple[str, ...] = ()
    columns: tuple[ColumnPlan, ...] = ()
    row_filter: Predicate = field(default_factory=AlwaysTrue)
    row_policies: tuple[RowPolicyApplied, ...] = ()
    differential_privacy: DPPlan | None = None
    revision: int = 0
    #: Under an equalized project: the groups and attributes the user was evaluated as (not their own).
    equalized_as: tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]] | None = None

    @property
    def allowed(self) -> bool:
        """Whether the subject may read the source at all."""
        return self.visible and self.subscribed and self.denied_reason is None

    @property
    def policies_applied(self) -> tuple[str, ...]:
        """Names of the policies that change what the subject sees (for audit)."""
        names = [c.policy for c in self.columns if c.policy and c.mask]
        names += [r.policy for r in self.row_policies]
        if self.differential_privacy:
            names.append(self.differential_privacy.policy)
        return tuple(dict.fromkeys(names))

    def to_json(self) -> dict[str, Any]:
        """The stable explain shape documented in ``docs/explain.md``."""
        return {
            "source": self.source,
            "table": self.table,
            "user": self.user,
            "project": self.project,
            "visible": self.visible,
            "subscribed": self.subscribed,
            "denied_reason": self.denied_reason,
            "columns": {
                c.name: {
                    "mask": c.mask,
                    "construction": CONSTRUCTIONS.get(c.mask or ""),
                    "policy": c.policy,
                    "overridden": [o.policy for o in c.overridden],
                    "overridden_why": {o.policy: o.reason for o in c.overridden},
                    "conditional": c.conditional,
                    "type": c.type,
                }
                for c in self.columns
            },
            "row_filters": [{"policy": r.policy, "kind": r.kind} for r in self.row_policies],
            "purposes_required": list(self.purposes_required),
            "equalized_as": None
            if self.equalized_as is None
            else {"groups": list(self.equalized_as[0]), "attributes": {k: list(v) for k, v in self.equalized_as[1]}},
            "differential_privacy": self.differential_privacy.to_json() if self.differential_privacy else None,
        }
