"""Row filters (every applicable row policy, ANDed) and differential privacy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from immuta_spark.engine.index import SourcePolicies
from immuta_spark.engine.plan import DPPlan, RowPolicyApplied
from immuta_spark.engine.subjects import Subject
from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import (
    AlwaysFalse,
    Cast,
    Column,
    FileAttribute,
    FileFolder,
    FileModified,
    GreaterOrEqual,
    HashBucketBelow,
    NowMinus,
    NullAs,
    Predicate,
    SqlPredicate,
    Term,
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
    subject: Subject, source: Source, policies: SourcePolicies, resolve: Mapping[str, str]
) -> tuple[Predicate, tuple[RowPolicyApplied, ...]]:
    """The row filter (every applicable row policy, ANDed) and the policies behind it."""
    if policies.scan:
        return _plan_rows_scan(subject, source, policies.of(PolicyType.ROW), resolve)
    # Equal actions give equal predicates for one subject on one source (and the same error,
    # raised at the first policy with it): each distinct action is bound once. A source may
    # have hundreds of row policies, often sharing an action (one attribute match under
    # different scopes or exemptions), and each compile asks all of them.
    built: dict[int, Predicate] = {}
    applied: list[RowPolicyApplied] = []
    for p, rules in policies.rows:
        for who, action, number, entry in rules:
            if who.holds(subject):  # the first rule that holds decides (Policy.action_for)
                if action is not None and entry is not None:
                    if number not in built:
                        built[number] = _row_predicate(subject, source, p, action, resolve)
                    applied.append(entry)
                break
    # Several policies may demand the same predicate; A AND A is A, so each is applied once.
    return and_(*dict.fromkeys(built.values())), tuple(applied)


def _plan_rows_scan(
    subject: Subject, source: Source, policies: Iterable[Policy], resolve: Mapping[str, str]
) -> tuple[Predicate, tuple[RowPolicyApplied, ...]]:
    """:func:`plan_rows` policy by policy, every predicate built (the reference for the index)."""
    preds: list[Predicate] = []
    applied: list[RowPolicyApplied] = []
    for p in policies:
        action = p.action_for(subject)
        if action is not None:
            preds.append(_row_predicate(subject, source, p, action, resolve))
            applied.append(RowPolicyApplied(policy=p.name, kind=action.kind))
    return and_(*dict.fromkeys(preds)), tuple(applied)


def _row_predicate(
    subject: Subject, source: Source, p: Policy, action: object, resolve: Mapping[str, str]
) -> Predicate:
    """The predicate of one row policy's action for the subject."""
    if isinstance(action, MatchAttribute):
        values = subject.attributes.get(action.attribute, frozenset())
        if action.origin != "column":
            match = in_(_file_term(action, source, p), values)
            return match if isinstance(match, AlwaysFalse) else NullAs(match, False)
        col = Cast(Column(_bind(action.column, resolve, source, p)), "string")
        return in_(col, values)
    if isinstance(action, MatchGroups):
        col = Cast(Column(_bind(action.column, resolve, source, p)), "string")
        return in_(col, subject.groups)
    if isinstance(action, WhereFilter):
        return NullAs(SqlPredicate(action.sql), False)
    if isinstance(action, TimeWindow):
        if source.event_time is None and source.object is not None and source.object.event_time is not None:
            return NullAs(GreaterOrEqual(_file_time(source.object.event_time), NowMinus(action.seconds)), False)
        if source.event_time is None:
            raise PolicyBindError(
                f"policy '{p.name}' is a time window, but '{source.name}' has no event_time column; "
                "set the source's event_time"
            )
        return NullAs(
            GreaterOrEqual(Column(_bind(source.event_time, resolve, source, p)), NowMinus(action.seconds)), False
        )
    if isinstance(action, Minimize):
        if source.high_cardinality_column is None:
            raise PolicyBindError(
                f"policy '{p.name}' minimizes, but '{source.name}' has no high_cardinality_column; set it"
            )
        return HashBucketBelow(Column(_bind(source.high_cardinality_column, resolve, source, p)), action.percent)
    raise PolicyBindError(f"policy '{p.name}': unknown row action {action!r}")  # pragma: no cover


def _file_term(action: MatchAttribute, source: Source, policy: Policy) -> Term:
    """What a file-level attribute match compares: the file's xattr or its ``key=value`` folder."""
    if source.object is None:
        raise PolicyBindError(
            f"policy '{policy.name}' matches a file's {action.origin}, but '{source.name}' is a table, not an "
            "object-backed source; the source is closed until the policy matches a column there"
        )
    if action.origin == "xattr":
        return FileAttribute(action.column)
    return FileFolder(action.column)


def _file_time(event_time: str) -> Term:
    """An object-backed source's event time: the file's modification time or a timestamp xattr."""
    if event_time == "modified":
        return FileModified()
    return Cast(FileAttribute(event_time.removeprefix("xattr:")), "timestamp")


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
                delta=action.delta,
                public_keys=action.public_keys,
                budget=action.budget,
            )
    return best
