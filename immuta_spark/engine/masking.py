"""Masking: the one winning policy per column (section 5.1) and the term it masks the column with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from immuta_spark.conditions import tag_matches
from immuta_spark.engine.plan import ColumnPlan, Override
from immuta_spark.engine.subjects import Snapshot, Subject
from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import Cast, Column, If, NullAs, SecretRef, SqlPredicate, Term
from immuta_spark.masks import MaskContext, build_mask
from immuta_spark.model import MASK_RESTRICTIVENESS, KAnonymizeMask, Policy, PolicyType, Source

__all__ = ["UNFINGERPRINTED_K", "plan_columns", "rank_masking_policies"]


#: k used for ``k_anonymize: fingerprint`` until a fingerprint has been computed: the largest
#: k the fingerprint rule could choose, so an unfingerprinted source fails towards hiding.
UNFINGERPRINTED_K = 10


def rank_masking_policies(
    candidates: Sequence[tuple[Policy, int]],
) -> tuple[Policy, tuple[Override, ...]]:
    """Pick the one masking policy for a column (section 5.1) and say why each other lost.

    ``candidates`` pairs each policy with its target specificity (a named column beats every
    tag; a deeper tag beats a shallower one). The order: priority, specificity, local over
    global, restrictiveness of the mask, and last the policy name so the choice is stable.
    """

    def restrictiveness(p: Policy) -> int:
        kinds = [a.kind for a in p.actions()]
        ranks = [MASK_RESTRICTIVENESS.index(k) for k in kinds if k in MASK_RESTRICTIVENESS]
        return len(MASK_RESTRICTIVENESS) - min(ranks, default=len(MASK_RESTRICTIVENESS))

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
                    detail = f" ({_strictest(p)} < {_strictest(winner)})"
                reason = f"{label}{detail} than '{winner.name}'"
                break
        losers.append(Override(policy=p.name, reason=reason))
    return winner, tuple(losers)


def _strictest(p: Policy) -> str:
    kinds = [a.kind for a in p.actions() if a.kind in MASK_RESTRICTIVENESS]
    return min(kinds, key=MASK_RESTRICTIVENESS.index) if kinds else "none"


def _targets(policy: Policy, source: Source, column: str) -> int | None:
    """The specificity with which ``policy`` targets ``column``, or None if it does not."""
    target = policy.columns
    if target is None:
        return None
    if target.names is not None:
        return 1000 if column.lower() in (n.lower() for n in target.names) else None
    depth = None
    for tag in _column_tags(source, column):
        if tag_matches(tag, target.tagged or ""):
            depth = (target.tagged or "").count(".") + 1
    return depth


def _column_tags(source: Source, column: str) -> tuple[str, ...]:
    tags = source.column_tags.get(column)
    if tags is None:
        for name, t in source.column_tags.items():
            if name.lower() == column.lower():
                return t
        return ()
    return tags


def plan_columns(
    snapshot: Snapshot,
    subject: Subject,
    source: Source,
    policies: Sequence[Policy],
    columns: Sequence[tuple[str, str | None]],
    resolve: Mapping[str, str],
) -> Iterable[ColumnPlan]:
    """What the subject sees of each column: the winning masking policy's term, or the raw column."""
    masking = [p for p in policies if p.type is PolicyType.MASKING]
    for p in masking:
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
        candidates = [(p, s) for p in masking if (s := _targets(p, source, name)) is not None]
        if not candidates:
            yield ColumnPlan(
                name=name, type=ctype, source_type=ctype, mask=None, policy=None, overridden=(), term=Column(name)
            )
            continue
        winner, losers = rank_masking_policies(candidates)
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
            k_group = tuple(c for c, _ in columns if _targets(winner, source, c) is not None)
            k = action.k if action.k is not None else _fingerprint_k(snapshot, source, winner)
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


def _fingerprint_k(snapshot: Snapshot, source: Source, policy: Policy) -> int:
    found = snapshot.fingerprints.get(source.name, {}).get("k_anonymity", {}).get(policy.name)
    return int(found) if found else UNFINGERPRINTED_K
