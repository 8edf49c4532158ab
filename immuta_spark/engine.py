"""The policy engine: pure Python, no pyspark.

``compile_plan(snapshot, subject, source, schema)`` decides what one subject may see of one
data source and returns a :class:`Plan`: visibility, subscription, purpose checks, a masking
term per column (with the conflict losers and why they lost) and one row-filter predicate, all
in the expression tree of :mod:`immuta_spark.expr`. A plan is data: printable, comparable and
explainable; the Spark layer lowers it and never decides anything itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.conditions import purpose_satisfies, tag_matches
from immuta_spark.errors import ImpersonationDenied, NotAuthorized, PolicyBindError, SourceNotFound
from immuta_spark.expr import (
    AlwaysTrue,
    Cast,
    Column,
    GreaterOrEqual,
    HashBucketBelow,
    If,
    NowMinus,
    NullAs,
    Predicate,
    SecretRef,
    SqlPredicate,
    Term,
    and_,
    in_,
)
from immuta_spark.masks import MaskContext, build_mask
from immuta_spark.model import (
    MASK_RESTRICTIVENESS,
    DifferentialPrivacy,
    Governance,
    KAnonymizeMask,
    MatchAttribute,
    MatchGroups,
    Minimize,
    Permission,
    Policy,
    PolicyType,
    Project,
    PurposeLimit,
    Source,
    Subscription,
    SubscriptionKind,
    TimeWindow,
    User,
    WhereFilter,
)

__all__ = [
    "ColumnPlan",
    "DPPlan",
    "Override",
    "Plan",
    "RowPolicyApplied",
    "Snapshot",
    "Subject",
    "SubscriptionState",
    "compile_plan",
    "make_subject",
    "rank_masking_policies",
    "subscription_requirements",
]

#: k used for ``k_anonymize: fingerprint`` until a fingerprint has been computed: the largest
#: k the fingerprint rule could choose, so an unfingerprinted source fails towards hiding.
UNFINGERPRINTED_K = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """Who is asking: the user, what the catalog knows of it, and the project it acts under."""

    user: str
    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    permissions: frozenset[Permission] = frozenset()
    project: str | None = None
    purposes: frozenset[str] = frozenset()
    impersonator: str | None = None

    def has(self, permission: Permission) -> bool:
        """Whether the subject holds ``permission``."""
        return permission in self.permissions


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionState:
    """Runtime subscription state of one user on one source."""

    status: str  # "requested" | "subscribed" | "denied" | "revoked"
    approvals: frozenset[str] = frozenset()
    added: bool = False


class Snapshot:
    """An immutable view of the catalog at one revision, indexed for fast compiles."""

    def __init__(
        self,
        governance: Governance,
        *,
        subscriptions: Mapping[tuple[str, str], SubscriptionState] | None = None,
        fingerprints: Mapping[str, Mapping[str, Any]] | None = None,
        revision: int = 0,
    ) -> None:
        self.governance = governance
        self.revision = revision
        self.subscriptions = dict(subscriptions or {})
        self.fingerprints = dict(fingerprints or {})
        self.users: dict[str, User] = {u.name: u for u in governance.users}
        self.sources: dict[str, Source] = {s.name: s for s in governance.sources}
        self.by_table: dict[str, Source] = {s.table_key: s for s in governance.sources}
        self.projects: dict[str, Project] = {p.name: p for p in governance.projects}
        self.purposes = {p.name: p for p in governance.purposes}
        self._by_name: dict[str, list[Policy]] = {}
        self._by_tag: list[Policy] = []
        self._everywhere: list[Policy] = []
        for p in governance.policies:
            if p.scope.names is not None:
                for n in p.scope.names:
                    self._by_name.setdefault(n, []).append(p)
            elif p.scope.tagged is not None:
                self._by_tag.append(p)
            else:
                self._everywhere.append(p)
        self._policy_cache: dict[str, tuple[Policy, ...]] = {}

    def source(self, name_or_table: str) -> Source | None:
        """A source by its name, or by the table it governs (case-insensitive, as Spark)."""
        return self.sources.get(name_or_table) or self.by_table.get(name_or_table.lower())

    def policies_for(self, source: Source) -> tuple[Policy, ...]:
        """Every policy that applies to ``source``: local, global and restricted global."""
        cached = self._policy_cache.get(source.name)
        if cached is not None:
            return cached
        candidates = [*self._by_name.get(source.name, ()), *self._everywhere]
        candidates += [p for p in self._by_tag if any(tag_matches(t, p.scope.tagged or "") for t in source.tags)]
        found = [p for p in candidates if not p.owners or self._owned_by(source, p)]
        found.extend(source.policies)
        result = tuple(found)
        self._policy_cache[source.name] = result
        return result

    def _owned_by(self, source: Source, policy: Policy) -> bool:
        """Whether a restricted global policy's owners own ``source``."""
        for owner in source.owners:
            for ref in policy.owners:
                if owner.user is not None:
                    user = self.users.get(owner.user)
                    groups = user.groups if user else frozenset()
                    if ref.covers(owner.user, groups):
                        return True
                elif owner.group is not None:
                    if ref.group == owner.group:
                        return True
                    member = self.users.get(ref.user or "")
                    if member is not None and owner.group in member.groups:
                        return True
        return False


def make_subject(
    snapshot: Snapshot,
    user: str,
    *,
    project: str | None = None,
    authenticated: str | None = None,
) -> Subject:
    """The subject for ``user`` acting under ``project``.

    ``authenticated`` is who is really asking; acting as anyone else needs ``IMPERSONATE``.
    A user unknown to the catalog has no groups, attributes or permissions.
    """
    impersonator = None
    if authenticated is not None and authenticated != user:
        real = snapshot.users.get(authenticated)
        if real is None or Permission.IMPERSONATE not in real.permissions:
            raise ImpersonationDenied(
                f"user '{authenticated}' may not act as '{user}': that needs the IMPERSONATE permission; "
                "ask a governor to grant it, or drop the impersonation option"
            )
        impersonator = authenticated
    known = snapshot.users.get(user)
    purposes: frozenset[str] = frozenset()
    if project is not None:
        proj = snapshot.projects.get(project)
        if proj is None:
            raise NotAuthorized(f"there is no project '{project}'; list projects with `immuta-spark export`")
        if user != proj.owner and user not in proj.members:
            raise NotAuthorized(
                f"user '{user}' is not a member of project '{project}'; ask its owner '{proj.owner}' to add you"
            )
        purposes = frozenset(proj.purposes)
    return Subject(
        user=user,
        groups=known.groups if known else frozenset(),
        attributes=known.attributes if known else {},
        permissions=known.permissions if known else frozenset(),
        project=project,
        purposes=purposes,
        impersonator=impersonator,
    )


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """A masking policy that lost a conflict on a column, and why."""

    policy: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnPlan:
    """What the subject sees of one column."""

    name: str
    type: str
    source_type: str
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
    """Differential privacy applies: aggregate-only answers with noise at ``epsilon``."""

    policy: str
    epsilon: float
    bounds: Mapping[str, tuple[float, float]]
    high_cardinality_column: str | None
    latency_tolerance: int | None


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
            "differential_privacy": (
                {"policy": self.differential_privacy.policy, "epsilon": self.differential_privacy.epsilon}
                if self.differential_privacy
                else None
            ),
        }


# --- compiling --------------------------------------------------------------------------


def compile_plan(
    snapshot: Snapshot,
    subject: Subject,
    source_name: str,
    schema: Sequence[tuple[str, str]] | None = None,
) -> Plan:
    """Decide what ``subject`` may see of a source; pure and deterministic.

    ``schema`` is the table's (column, Spark SQL type) list; without it the source's data
    dictionary (or its tagged columns) stands in. Raises :class:`SourceNotFound` for an unknown
    source and :class:`PolicyBindError` when a policy cannot be bound to the schema (fail closed).
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
    }
    if subject.project is not None:
        project = snapshot.projects[subject.project]
        if source.name not in project.sources:
            return Plan(
                **base,
                visible=False,
                subscribed=False,
                denied_reason=f"not a source of project '{subject.project}'",
            )
    policies = snapshot.policies_for(source)
    visible, subscribed, why = _subscription(snapshot, subject, source, policies)
    if not visible:
        return Plan(**base, visible=False, subscribed=False, denied_reason=why)
    required, purpose_ok = _purposes(subject, policies)
    denied = why
    if denied is None and not purpose_ok:
        denied = f"purpose required: act under a project with one of {', '.join(required)} (or a sub-purpose)"
    columns = _schema(source, schema)
    resolve = {c.lower(): c for c, _ in columns}
    column_plans = tuple(_columns(snapshot, subject, source, policies, columns, resolve))
    row_filter, row_policies = _rows(subject, source, policies, resolve)
    dp = _dp(subject, source, policies)
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


def _schema(source: Source, schema: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if schema is not None:
        return [(n, t) for n, t in schema]
    if source.dictionary:
        return [(c.name, c.type or "string") for c in source.dictionary]
    return [(c, "string") for c in source.column_tags]


def subscription_requirements(snapshot: Snapshot, subject: Subject, source: Source) -> list[tuple[Subscription, bool]]:
    """Every subscription policy the subject must satisfy on ``source``, each with "is local".

    A source without its own subscription policy is ``individuals: []`` plus its owners.
    """
    local = source.subscription or Subscription(kind=SubscriptionKind.INDIVIDUALS)
    specs: list[tuple[Subscription, bool]] = [(local, True)]
    for p in snapshot.policies_for(source):
        if p.type is PolicyType.SUBSCRIPTION:
            action = p.action_for(subject)
            if isinstance(action, Subscription):
                specs.append((action, False))
    return specs


def _subscription(
    snapshot: Snapshot, subject: Subject, source: Source, policies: Iterable[Policy]
) -> tuple[bool, bool, str | None]:
    """(visible, subscribed, reason if not subscribed) under every applicable subscription policy."""
    owner = source.is_owner(subject.user, subject.groups)
    state = snapshot.subscriptions.get((source.name, subject.user))
    listed = subject.user in source.subscribers or (state is not None and state.added)
    revoked = state is not None and state.status == "revoked"
    approvals = state.approvals if state is not None and state.status != "revoked" else frozenset()
    visible = True
    subscribed = not revoked
    needed: list[str] = []
    for spec, is_local in subscription_requirements(snapshot, subject, source):
        kind = spec.kind
        if kind is SubscriptionKind.WHEN:
            ok = spec.condition is not None and spec.condition.holds(subject)
            visible = visible and (ok or (is_local and owner))
            subscribed = subscribed and (ok or (is_local and owner))
        elif kind is SubscriptionKind.INDIVIDUALS:
            # Being added by hand (or pre-subscribed) satisfies only the source's own policy:
            # an owner cannot add a way around a global subscription policy.
            ok = subject.user in spec.users or (is_local and (listed or owner))
            visible = visible and ok
            subscribed = subscribed and ok
        elif kind is SubscriptionKind.APPROVAL:
            missing = [a.key for a in spec.approvers if a.key not in approvals]
            ok = not missing or (is_local and (listed or owner))
            subscribed = subscribed and ok
            if not ok:
                needed.extend(missing)
    if not visible:
        return False, False, "not visible"
    if subscribed:
        return True, True, None
    if revoked:
        return True, False, "subscription revoked; ask an owner of the source to add you again"
    if needed:
        roles = ", ".join(dict.fromkeys(needed))
        return (
            True,
            False,
            (
                f"not subscribed: request access with `immuta-spark subscription request --source "
                f"'{source.name}'`; approvals needed from: {roles}"
            ),
        )
    return True, False, "not subscribed: ask an owner of the source to add you"


def _purposes(subject: Subject, policies: Iterable[Policy]) -> tuple[tuple[str, ...], bool]:
    required: list[str] = []
    ok = True
    for p in policies:
        if p.type is not PolicyType.PURPOSE:
            continue
        action = p.action_for(subject)
        if not isinstance(action, PurposeLimit):
            continue
        required.extend(action.purposes)
        if not any(purpose_satisfies(h, r) for h in subject.purposes for r in action.purposes):
            ok = False
    return tuple(dict.fromkeys(required)), ok


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


def _columns(
    snapshot: Snapshot,
    subject: Subject,
    source: Source,
    policies: Sequence[Policy],
    columns: Sequence[tuple[str, str]],
    resolve: Mapping[str, str],
) -> Iterable[ColumnPlan]:
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


def _bind(column: str, resolve: Mapping[str, str], source: Source, policy: Policy) -> str:
    found = resolve.get(column.lower())
    if found is None:
        raise PolicyBindError(
            f"policy '{policy.name}' on '{source.name}' needs column '{column}', which the table does not have; "
            "the source is closed until the policy or the table is fixed"
        )
    return found


def _rows(
    subject: Subject, source: Source, policies: Iterable[Policy], resolve: Mapping[str, str]
) -> tuple[Predicate, tuple[RowPolicyApplied, ...]]:
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


def _dp(subject: Subject, source: Source, policies: Iterable[Policy]) -> DPPlan | None:
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
