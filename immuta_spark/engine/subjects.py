"""Who asks (:class:`Subject`, :func:`make_subject`) and the catalog they ask (:class:`Snapshot`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.engine import derived, equalization
from immuta_spark.engine.index import PolicyBlock, ScopeIndex, SourcePolicies
from immuta_spark.errors import ImpersonationDenied, NotAuthorized
from immuta_spark.model import (
    Entitlement,
    Governance,
    OwnerRef,
    Permission,
    Policy,
    Project,
    Purpose,
    Source,
    Subscription,
    User,
)

__all__ = [
    "Acknowledgement",
    "MembershipState",
    "Snapshot",
    "Subject",
    "SubscriptionState",
    "make_subject",
    "project_access_problem",
]


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
    #: Acting under an equalized project: ``groups`` and ``attributes`` are its entitlement, and
    #: conditions on the user's own name do not hold (all members see identical data).
    equalized: bool = False

    def has(self, permission: Permission) -> bool:
        """Whether the subject holds ``permission``."""
        return permission in self.permissions


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionState:
    """Runtime subscription state of one user on one source."""

    status: str  # "requested" | "subscribed" | "denied" | "revoked"
    approvals: frozenset[str] = frozenset()
    added: bool = False


@dataclass(frozen=True, slots=True)
class MembershipState:
    """A user's runtime membership row in a project: role, status and the approvals given."""

    role: str  # "member" | "owner"
    status: str  # "member" | "requested" | "denied" | "revoked"
    approvals: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A user's decision on one purpose statement of a project, and the text decided on."""

    decision: str  # "accepted" | "rejected"
    statement: str


class Snapshot:
    """An immutable view of the catalog at one revision, indexed for fast compiles.

    Policies are found through :mod:`immuta_spark.engine.index`; ``scan=True`` finds them by
    scanning every policy instead (the reference the index is tested against).
    """

    def __init__(
        self,
        governance: Governance,
        *,
        subscriptions: Mapping[tuple[str, str], SubscriptionState] | None = None,
        fingerprints: Mapping[str, Mapping[str, Any]] | None = None,
        revision: int = 0,
        scan: bool = False,
        memberships: Mapping[tuple[str, str], MembershipState] | None = None,
        acknowledgements: Mapping[tuple[str, str, str], Acknowledgement] | None = None,
        runtime: Collection[tuple[str, str]] = (),
        unmasked: Mapping[tuple[str, str, str], frozenset[str]] | None = None,
        declared_users: tuple[User, ...] | None = None,
    ) -> None:
        self.governance = governance
        #: The users as policy files declare them, before identity providers' facts were merged in (export's).
        self.declared_users = governance.users if declared_users is None else declared_users
        #: Approved unmask requests: (requester, source, column) -> the tokens shown in the clear to them.
        self.unmasked = dict(unmasked or {})
        #: Runtime membership rows by (project, user): members and owners added, requests, denials, revocations.
        self.memberships = dict(memberships or {})
        #: Members and owners at run time (status "member"): project -> user -> role.
        self.added_members: dict[str, dict[str, str]] = {}
        self._revoked: dict[str, set[str]] = {}
        for (project, user), state in self.memberships.items():
            if state.status == "member":
                self.added_members.setdefault(project, {})[user] = state.role
            elif state.status == "revoked":
                self._revoked.setdefault(project, set()).add(user)
        #: Acknowledgement decisions by (project, user, purpose).
        self.acknowledgements = dict(acknowledgements or {})
        #: The (kind, name) of the entities created at run time (``apply`` leaves them alone).
        self.runtime = frozenset(runtime)
        self.revision = revision
        self.subscriptions = dict(subscriptions or {})
        self.fingerprints = dict(fingerprints or {})
        self.users: dict[str, User] = {u.name: u for u in governance.users}
        # Derived sources carry the tags their parents' columns give them (engine/derived.py).
        self.sources: dict[str, Source] = derived.resolve_derived({s.name: s for s in governance.sources})
        self.by_table: dict[str, Source] = {s.table_key: s for s in self.sources.values()}
        self.projects: dict[str, Project] = {p.name: p for p in governance.projects}
        self.purposes = {p.name: p for p in governance.purposes}
        self.scan = scan
        self._scopes = ScopeIndex(governance.policies)
        self._blocks: dict[tuple[frozenset[str], tuple[OwnerRef, ...] | None], PolicyBlock] = {}
        self._policy_cache: dict[str, SourcePolicies] = {}
        self._entitlements: dict[str, Entitlement] = {}

    def project_owners(self, project: Project) -> frozenset[str]:
        """Who owns ``project``: its creator (or declared owner) and the owners added at run time."""
        added = self.added_members.get(project.name, {})
        return frozenset({project.owner, *(u for u, role in added.items() if role == "owner")})

    def project_members(self, project: Project) -> frozenset[str]:
        """Everyone in ``project``: owners, the file's members (unless revoked) and the members added at run time."""
        revoked = self._revoked.get(project.name, set())
        listed = (project.members - revoked) | frozenset(self.added_members.get(project.name, {}))
        return self.project_owners(project) | listed

    def recommended_entitlement(self, project: Project) -> Entitlement:
        """The seed's recommendation for ``project``: what its least-privileged member holds.

        Only groups and attributes that the policies of its sources test count.
        """
        policies: list[Policy] = []
        specs: list[Subscription] = []
        for name in project.sources:
            source = self.sources.get(name)
            if source is not None:
                policies += self.source_policies(source).all
                if source.subscription is not None:
                    specs.append(source.subscription)
        members = [self.users.get(u) for u in sorted(self.project_members(project))]
        return equalization.recommended_entitlement(members, equalization.tested_by(policies, specs))

    def entitlement(self, project: Project) -> Entitlement:
        """The entitlement an equalized ``project`` evaluates its members as (computed once per snapshot)."""
        found = self._entitlements.get(project.name)
        if found is None:
            found = project.entitlement if project.entitlement is not None else self.recommended_entitlement(project)
            self._entitlements[project.name] = found
        return found

    def project_subscription(self, project: Project) -> Subscription | None:
        """Who may join ``project`` now (equalized: combined with the entitlement, as the seed's table says)."""
        entitlement = self.entitlement(project) if project.equalization else None
        return equalization.effective_subscription(project, entitlement)

    def statement(self, purpose: str) -> str:
        """The acknowledgement statement of a purpose."""
        found = self.purposes.get(purpose)
        return found.statement if found is not None else Purpose(name=purpose).statement

    def unacknowledged(self, project: Project, user: str) -> list[tuple[str, str, Acknowledgement | None]]:
        """The purposes of ``project`` whose current statement ``user`` has not accepted.

        Each as (purpose, statement, the decision on record or None).
        """
        out = []
        for purpose in project.purposes:
            text = self.statement(purpose)
            ack = self.acknowledgements.get((project.name, user, purpose))
            if ack is None or ack.decision != "accepted" or ack.statement != text:
                out.append((purpose, text, ack))
        return out

    def source(self, name_or_table: str) -> Source | None:
        """A source by its name, or by the table it governs (case-insensitive, as Spark)."""
        return self.sources.get(name_or_table) or self.by_table.get(name_or_table.lower())

    def policies_for(self, source: Source) -> tuple[Policy, ...]:
        """Every policy that applies to ``source``: local, global and restricted global."""
        return self.source_policies(source).all

    def source_policies(self, source: Source) -> SourcePolicies:
        """The policies that apply to ``source``, by type and column target (built once per source)."""
        cached = self._policy_cache.get(source.name)
        if cached is not None:
            return cached
        if self.scan:
            found = [p for p in self._scopes.scan(source) if not p.owners or self._owned_by(source, p)]
            if source.derived is not None:
                found += derived.inherited_purpose_policies(self, source)
            result = SourcePolicies((), PolicyBlock([*found, *source.policies], scan=True), ())
        else:
            key = self._scopes.block_key(source)
            block = self._blocks.get(key)
            if block is None:  # the first source alike: the tagged and "every source" policies
                shared = self._scopes.shared(key[0])
                block = PolicyBlock([p for p in shared if not p.owners or self._owned_by(source, p)])
                self._blocks[key] = block
            named = [p for p in self._scopes.named(source) if not p.owners or self._owned_by(source, p)]
            local = source.policies
            if source.derived is not None:
                local = (*local, *derived.inherited_purpose_policies(self, source))
            result = SourcePolicies(named, block, local)
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
        problem = project_access_problem(snapshot, proj, user)
        if problem is not None:
            raise NotAuthorized(problem)
        purposes = frozenset(proj.purposes)
        if proj.equalization:
            entitlement = snapshot.entitlement(proj)
            return Subject(
                user=user,
                groups=entitlement.groups,
                attributes=entitlement.attributes,
                permissions=known.permissions if known else frozenset(),
                project=project,
                purposes=purposes,
                impersonator=impersonator,
                equalized=True,
            )
    return Subject(
        user=user,
        groups=known.groups if known else frozenset(),
        attributes=known.attributes if known else {},
        permissions=known.permissions if known else frozenset(),
        project=project,
        purposes=purposes,
        impersonator=impersonator,
    )


def _unacknowledged(user: str, project: str, pending: list[tuple[str, str, Acknowledgement | None]]) -> str:
    """Why a member may not act under a project yet, and what to do."""
    accept = f"`immuta-spark project acknowledge '{project}' --accept`"
    rejected = [p for p, _, ack in pending if ack is not None and ack.decision == "rejected"]
    if rejected:
        return (
            f"user '{user}' rejected the acknowledgement statement of purpose '{rejected[0]}' of project "
            f"'{project}', so is not a member: a rejection denies access to the project. To join, read the "
            f"statements (`immuta-spark project acknowledge '{project}'`) and accept them: {accept}"
        )
    changed = [p for p, _, ack in pending if ack is not None]
    why = f" (the statement of {', '.join(changed)} changed since you accepted it)" if changed else ""
    names = ", ".join(p for p, _, _ in pending)
    return (
        f"user '{user}' has not acknowledged the purpose statement of project '{project}' for {names}{why}; "
        f"a member acts under a project only after accepting each of its purposes' statements. Read them "
        f"(`immuta-spark project acknowledge '{project}'`) and accept: {accept}"
    )


def project_access_problem(snapshot: Snapshot, project: Project, user: str) -> str | None:
    """Why ``user`` may not act under ``project`` now (None: they may), saying what to do.

    In order: not a member (or a request pending, denied, revoked), no longer meeting the
    subscription policy's condition, a purpose statement not accepted, out of compliance with
    an equalized project's entitlement. The one check behind every switch, statement and
    validation.
    """
    if user not in snapshot.project_members(project):
        return _not_member(snapshot, project, user)
    known = snapshot.users.get(user)
    groups = known.groups if known else frozenset()
    attributes = known.attributes if known else {}
    spec = snapshot.project_subscription(project)
    condition = spec.condition if spec is not None else None
    # Equalized, the condition is the entitlement: the compliance check below says what is missing.
    if condition is not None and not project.equalization and user not in snapshot.project_owners(project):
        if not condition.holds(Subject(user=user, groups=groups, attributes=attributes)):
            return (
                f"user '{user}' no longer meets the subscription policy of project '{project.name}' (it needs "
                f"{condition.to_data()}); ask a governor for the entitlement, or act under no project "
                "(`immuta-spark project switch --none`)"
            )
    pending = snapshot.unacknowledged(project, user)
    if pending:
        return _unacknowledged(user, project.name, pending)
    if project.equalization:
        missing = snapshot.entitlement(project).missing(groups, attributes)
        if missing:
            return (
                f"user '{user}' is out of compliance with the equalized entitlement of project '{project.name}' "
                f"(lacks {', '.join(missing)}), so gets no data in it: every member is evaluated as holding "
                "exactly that entitlement. Ask a governor for it, or the project's owners to change it "
                f"(`immuta-spark project compliance '{project.name}'`), or act under no project"
            )
    return None


def _not_member(snapshot: Snapshot, project: Project, user: str) -> str:
    """Why ``user`` is not in ``project`` (a request pending, denied, revoked, or none), and what to do."""
    state = snapshot.memberships.get((project.name, user))
    status = state.status if state is not None else None
    name, owner = project.name, project.owner
    leave = "or act under no project (`immuta-spark project switch --none`)"
    if status == "requested":
        return f"user '{user}' asked to join project '{name}' and the request is pending; wait for it, {leave}"
    if status == "denied":
        return f"user '{user}' asked to join project '{name}' and was denied; ask its owner '{owner}', {leave}"
    if status == "revoked":
        return f"the membership of user '{user}' in project '{name}' was revoked; ask its owner '{owner}', {leave}"
    return (
        f"user '{user}' is not a member of project '{project.name}'; ask to join (`immuta-spark project join "
        f"'{project.name}'`) or ask its owner '{project.owner}' to add you, {leave}"
    )
