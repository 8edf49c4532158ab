"""Masking: the one winning policy per column (section 5.1) and the term it masks the column with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from immuta_spark.engine.conflicts import decide, rank_masking_policies, with_own
from immuta_spark.engine.index import SourcePolicies, column_specificity, column_tags
from immuta_spark.engine.plan import ColumnPlan, Override
from immuta_spark.engine.subjects import Snapshot, Subject
from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import Cast, Column, If, In, Literal, NullAs, SecretRef, SqlPredicate, Term
from immuta_spark.masks import MaskContext, build_mask
from immuta_spark.model import KAnonymizeMask, Policy, Source

__all__ = ["REVERSIBLE", "UNFINGERPRINTED_K", "k_anonymity_groups", "plan_columns", "rank_masking_policies"]

#: The mask kinds an approved unmask request reverses for its requester.
REVERSIBLE = ("reversible", "format_preserving")


#: k used for ``k_anonymize: fingerprint`` until a fingerprint has been computed: the largest
#: k the fingerprint rule could choose, so an unfingerprinted source fails towards hiding.
UNFINGERPRINTED_K = 10


def _ranking(policies: SourcePolicies, source: Source, column: str) -> tuple[Policy, tuple[Override, ...]] | None:
    """A column's masking conflict (None: no policy targets it), decided once per snapshot."""
    if column not in policies.rankings:
        tags = column_tags(source, column)
        if policies.scan:  # the reference: every candidate ranked together, nothing shared
            candidates = policies.block.masking_candidates(column, tags)
            found = rank_masking_policies(candidates) if candidates else None
        else:
            shared = policies.block.column(column, tags, decide)
            found = with_own(shared, *policies.own_masking_candidates(column, tags))
        policies.rankings[column] = found
    return policies.rankings[column]


def plan_columns(
    snapshot: Snapshot,
    subject: Subject,
    source: Source,
    policies: SourcePolicies,
    columns: Sequence[tuple[str, str | None]],
    resolve: Mapping[str, str],
    fingerprint: Mapping[str, Any] | None = None,
) -> Iterable[ColumnPlan]:
    """What the subject sees of each column: the winning masking policy's term, or the raw column.

    Each column's conflict is decided once per snapshot (who wins does not depend on who asks),
    among the policies the index finds targeting it; only the winner's rule is chosen per subject.
    """
    for p in policies.masking:
        if p.is_local and p.columns is not None and p.columns.names is not None:
            for n in p.columns.names:
                if n.lower() not in resolve:
                    raise PolicyBindError(
                        f"policy '{p.name}' on '{source.name}' masks column '{n}', which the table does not "
                        "have; fix the policy or the table"
                    )
    project = snapshot.projects.get(subject.project or "")
    salt_scope = ("project", project.name) if project is not None and project.masked_joins else ("source", source.name)
    types = dict(columns)
    for name, ctype in columns:
        ranked = _ranking(policies, source, name)
        if ranked is None:
            yield ColumnPlan(
                name=name, type=ctype, source_type=ctype, mask=None, policy=None, overridden=(), term=Column(name)
            )
            continue
        winner, losers = ranked
        action = winner.action_for(subject)
        if action is None:
            yield ColumnPlan(
                name=name,
                type=ctype,
                source_type=ctype,
                mask=None,
                policy=winner.name,
                overridden=losers,
                term=Column(name),
            )
            continue
        k_group: tuple[str, ...] = ()
        k = 2
        if isinstance(action, KAnonymizeMask):
            k_group = tuple(c for c, _ in columns if column_specificity(winner, c, column_tags(source, c)) is not None)
            printed = fingerprint if fingerprint is not None else snapshot.fingerprints.get(source.name, {})
            _check_cardinality(snapshot, source, winner, k_group, printed)
            k = action.k if action.k is not None else _fingerprint_k(printed, winner)
        ctx = MaskContext(
            source=source.name,
            column=name,
            type=ctype,
            policy=winner.name,
            hash_salt=SecretRef(salt_scope[0], salt_scope[1], "hash_salt"),
            token_key=SecretRef("source", source.name, "token_key"),
            fpe_key=SecretRef("source", source.name, "fpe_key"),
            k_group=k_group,
            k=k,
        )
        result = build_mask(action, ctx)  # type: ignore[arg-type]
        term = result.term
        shown = snapshot.unmasked.get((subject.user, source.name, name.lower())) if action.kind in REVERSIBLE else None
        if shown:
            # Approved unmask requests: those values, and only those, in the clear for this requester.
            clear: Term = Column(name) if result.type == types[name] else Cast(Column(name), result.type)
            term = If(In(term, tuple(Literal(t, result.type) for t in sorted(shown))), clear, term)
        if winner.where is not None:
            raw: Term = Column(name) if result.type == types[name] else Cast(Column(name), result.type)
            # NULL counts as true: a row whose condition cannot be decided is masked.
            term = If(NullAs(SqlPredicate(winner.where), True), term, raw)
        yield ColumnPlan(
            name=name,
            type=result.type,
            source_type=ctype,
            mask=action.kind,
            policy=winner.name,
            overridden=losers,
            term=term,
            conditional=winner.where is not None,
        )


def _fingerprint_k(fingerprint: Mapping[str, Any], policy: Policy) -> int:
    found = fingerprint.get("k_anonymity", {}).get(policy.name)
    return int(found) if found else UNFINGERPRINTED_K


def _check_cardinality(
    snapshot: Snapshot, source: Source, policy: Policy, group: Sequence[str], fingerprint: Mapping[str, Any]
) -> None:
    """Refuse a k-anonymization over a column whose fingerprinted distinct count passes the cutoff (POLICY.md 5.2)."""
    cutoff = snapshot.governance.settings.k_anonymization_cardinality_cutoff
    stats = fingerprint.get("columns", {})
    for column in group:
        distinct = stats.get(column, stats.get(column.lower(), {})).get("distinct")
        if distinct is not None and distinct > cutoff:
            raise PolicyBindError(
                f"k-anonymization policy '{policy.name}' on '{source.name}' uses column '{column}', which has "
                f"{distinct} distinct values, above the cardinality cutoff {cutoff} "
                "(settings.k_anonymization_cardinality_cutoff): k-anonymizing it would hide almost every row; "
                "generalise the column (round, truncate) or leave it out of the policy"
            )


def k_anonymity_groups(snapshot: Snapshot, source: Source, columns: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each k-anonymization policy that may mask ``source`` and the columns it groups by (for fingerprints)."""
    policies = snapshot.source_policies(source)
    groups: dict[str, tuple[str, ...]] = {}
    for policy in policies.masking:
        if any(isinstance(a, KAnonymizeMask) for a in policy.actions()):
            group = tuple(c for c in columns if column_specificity(policy, c, column_tags(source, c)) is not None)
            if group:
                groups[policy.name] = group
    return groups
