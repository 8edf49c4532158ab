"""Row filters (every applicable row policy, ANDed) and differential privacy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from immuta_spark.engine.plan import DPPlan, RowPolicyApplied
from immuta_spark.engine.subjects import Subject
from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import (
    Cast,
    Column,
    GreaterOrEqual,
    HashBucketBelow,
    NowMinus,
    NullAs,
    Predicate,
    SqlPredicate,
    and_,
    in_,
)
from immuta_spark.model import (
    DifferentialPrivacy,
    MatchAttribute,
    MatchGroups,
    Minimize,
    Policy,
    PolicyType,
    Source,
    TimeWindow,
    WhereFilter,
)

__all__ = ["plan_differential_privacy", "plan_rows"]


def _bind(column: str, resolve: Mapping[str, str], source: Source, policy: Policy) -> str:
    found = resolve.get(column.lower())
    if found is None:
        raise PolicyBindError(
            f"policy '{policy.name}' on '{source.name}' needs column '{column}', which the table does not have; "
            "the source is closed until the policy or the table is fixed"
        )
    return found


def plan_rows(
    subject: Subject, source: Source, policies: Iterable[Policy], resolve: Mapping[str, str]
) -> tuple[Predicate, tuple[RowPolicyApplied, ...]]:
    """The row filter (every applicable row policy, ANDed) and the policies behind it."""
    preds: list[Predicate] = []
    applied: list[RowPolicyApplied] = []
    for p in policies:
        if p.type is not PolicyType.ROW:
            continue
        action = p.action_for(subject)
        if action is None:
            continue
        pred: Predicate
        if isinstance(action, MatchAttribute):
            col = Cast(Column(_bind(action.column, resolve, source, p)), "string")
            pred = in_(col, subject.attributes.get(action.attribute, frozenset()))
        elif isinstance(action, MatchGroups):
            col = Cast(Column(_bind(action.column, resolve, source, p)), "string")
            pred = in_(col, subject.groups)
        elif isinstance(action, WhereFilter):
            pred = NullAs(SqlPredicate(action.sql), False)
        elif isinstance(action, TimeWindow):
            if source.event_time is None:
                raise PolicyBindError(
                    f"policy '{p.name}' is a time window, but '{source.name}' has no event_time column; "
                    "set the source's event_time"
                )
            pred = NullAs(
                GreaterOrEqual(Column(_bind(source.event_time, resolve, source, p)), NowMinus(action.seconds)), False
            )
        elif isinstance(action, Minimize):
            if source.high_cardinality_column is None:
                raise PolicyBindError(
                    f"policy '{p.name}' minimizes, but '{source.name}' has no high_cardinality_column; set it"
                )
            pred = HashBucketBelow(Column(_bind(source.high_cardinality_column, resolve, source, p)), action.percent)
        else:  # pragma: no cover - the reader admits nothing else
            raise PolicyBindError(f"policy '{p.name}': unknown row action {action!r}")
        preds.append(pred)
        applied.append(RowPolicyApplied(policy=p.name, kind=action.kind))
    # Several policies may demand the same predicate; A AND A is A, so each is applied once.
    return and_(*dict.fromkeys(preds)), tuple(applied)


def plan_differential_privacy(subject: Subject, source: Source, policies: Iterable[Policy]) -> DPPlan | None:
    """The strictest (lowest epsilon) differential-privacy policy that applies, or None."""
    best: DPPlan | None = None
    for p in policies:
        if p.type is not PolicyType.DIFFERENTIAL_PRIVACY:
            continue
        action = p.action_for(subject)
        if isinstance(action, DifferentialPrivacy) and (best is None or action.epsilon < best.epsilon):
            best = DPPlan(
                policy=p.name,
                epsilon=action.epsilon,
                bounds=action.bounds,
                high_cardinality_column=source.high_cardinality_column,
                latency_tolerance=source.latency_tolerance,
            )
    return best
