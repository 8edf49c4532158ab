"""``compile_plan``: every decision for one subject on one source, put together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from immuta_spark.engine.masking import plan_columns
from immuta_spark.engine.plan import Plan
from immuta_spark.engine.rows import plan_differential_privacy, plan_rows
from immuta_spark.engine.subjects import Snapshot, Subject
from immuta_spark.engine.subscriptions import purposes_required, subscription_status
from immuta_spark.errors import PolicyBindError, SourceNotFound
from immuta_spark.model import PolicyType, Source
from immuta_spark.objects import ingest_only, masking_problem

__all__ = ["compile_plan"]


def compile_plan(
    snapshot: Snapshot,
    subject: Subject,
    source_name: str,
    schema: Sequence[tuple[str, str]] | None = None,
    fingerprint: Mapping[str, Any] | None = None,
) -> Plan:
    """Decide what ``subject`` may see of a source; pure and deterministic.

    ``schema`` is the table's (column, Spark SQL type) list; without it the source's data
    dictionary (or its tagged columns) stands in, and a column whose type it does not give has
    an unknown type (None): masks are accepted for it and checked against the real type when a
    schema is given (the Spark layer passes the table's at query time). Raises
    :class:`SourceNotFound` for an unknown source and :class:`PolicyBindError` when a policy
    cannot be bound to the schema, such as a mask the column's type does not take, or a
    k-anonymization over a column above the cardinality cutoff (fail closed). ``fingerprint``,
    when given, is the source's fresh fingerprint (else the stored one is used).
    """
    source = snapshot.source(source_name)
    if source is None:
        raise SourceNotFound(source_name)
    base = {
        "source": source.name,
        "table": source.table,
        "user": subject.user,
        "project": subject.project,
        "revision": snapshot.revision,
        "equalized_as": _equalized_as(subject),
    }
    policies = snapshot.source_policies(source)
    if subject.project is not None and source.name not in snapshot.projects[subject.project].sources:
        # Outside the project the user may see it: then its existence is no secret to them,
        # and the error says why it cannot be used here (seed: only the project's sources).
        outside = replace(subject, project=None, purposes=frozenset())
        visible_outside = subscription_status(snapshot, outside, source, policies.all)[0]
        reason = (
            f"data source '{source.name}' is not in project '{subject.project}', which you act under: only "
            "the project's sources are usable there; ask the project's owner to add it, or act under no "
            "project (`immuta-spark project switch --none`)"
        )
        return Plan(**base, visible=visible_outside, subscribed=False, denied_reason=reason)
    visible, subscribed, why = subscription_status(snapshot, subject, source, policies.all)
    if not visible:
        return Plan(**base, visible=False, subscribed=False, denied_reason=why)
    if source.derived is not None and source.derived.disabled is not None:
        reason = (
            f"data source '{source.name}' is disabled ({source.derived.disabled}) and answers no query; "
            f"its owners or a governor may delete it (`immuta-spark source delete-derived '{source.name}'`)"
        )
        return Plan(**base, visible=True, subscribed=subscribed, denied_reason=reason)
    # Each step filters its own policy type anyway; it is handed only that type's policies.
    required, purpose_ok = purposes_required(subject, policies.of(PolicyType.PURPOSE))
    denied = why
    if denied is None and not purpose_ok:
        denied = f"purpose required: act under a project with one of {', '.join(required)} (or a sub-purpose)"
    restricted = bool(policies.of(PolicyType.PURPOSE))
    if denied is None and not restricted and snapshot.governance.settings.governance.all_sources_require_purpose:
        denied = (
            f"data source '{source.name}' has no purpose restriction, and the governance setting "
            "all_sources_require_purpose requires one (fail closed); ask a governor to add a purpose policy to it"
        )
    if denied is None and ingest_only(source, subject.user, subject.groups):
        denied = (
            f"you are an ingest user of '{source.name}': you may add files to it and check them with "
            "session.ingest_status, but ingest users read no data (seed: Data Source Roles)"
        )
    columns = _schema(source, schema)
    resolve = {c.lower(): c for c, _ in columns}
    column_plans = tuple(plan_columns(snapshot, subject, source, policies, columns, resolve, fingerprint))
    masked = [c.policy for c in column_plans if c.mask]
    problem = masking_problem(source) if masked else None
    if problem is not None:
        raise PolicyBindError(
            f"masking policy '{masked[0]}' covers {problem}; the source is closed until the policy or source is fixed"
        )
    row_filter, row_policies = plan_rows(subject, source, policies, resolve)
    dp = plan_differential_privacy(subject, source, policies.of(PolicyType.DIFFERENTIAL_PRIVACY))
    return Plan(
        **base,
        visible=True,
        subscribed=subscribed,
        denied_reason=denied,
        purposes_required=required,
        columns=column_plans,
        row_filter=row_filter,
        row_policies=row_policies,
        differential_privacy=dp,
    )


def _schema(source: Source, schema: Sequence[tuple[str, str]] | None) -> list[tuple[str, str | None]]:
    if schema is not None:
        return [(n, t) for n, t in schema]
    # Without the table, a type the dictionary does not give is unknown, never guessed: a guess
    # would refuse masks the real column takes (round on a number taken for text).
    if source.dictionary:
        return [(c.name, c.type) for c in source.dictionary]
    return [(c, None) for c in source.column_tags]


def _equalized_as(subject: Subject) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]] | None:
    """What an equalized subject is evaluated as, for explain (None: the user's own identity)."""
    if not subject.equalized:
        return None
    attributes = tuple((k, tuple(sorted(v))) for k, v in sorted(subject.attributes.items()))
    return tuple(sorted(subject.groups)), attributes
