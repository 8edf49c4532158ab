"""Project membership: join, approve, deny, revoke, add and remove members, acknowledge purposes.

Who may become a member is the project's subscription policy, the four kinds of section 4 with
request / approve / deny / revoke exactly as for sources (no policy: individuals the owners add):

- ``anyone``: ``join`` makes the user a member;
- ``when``: ``join`` makes the user a member while the condition holds (checked at every
  statement, so a member who loses the group loses the project at once);
- ``approval``: ``join`` is a request; each approver role (``owner`` of the project,
  ``governance``, a group) gives one approval; with a ``when`` as well (an equalized project),
  the condition must hold too;
- ``individuals``: only owners add members (``add_project_member``).

A member acts under the project once they accept its purposes' statements (``acknowledge``).
Every action, allowed or refused, is audited; a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from immuta_spark import policyfile
from immuta_spark.catalog.project_records import ProjectRecord
from immuta_spark.catalog.projects import ProjectAdmin
from immuta_spark.engine import Snapshot, Subject, make_subject
from immuta_spark.errors import NotAuthorized, ProjectError
from immuta_spark.model import Approver, Permission, Project, Subscription, SubscriptionKind

__all__ = ["ProjectMembership"]


class ProjectMembership(ProjectAdmin):
    """The catalog's membership operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    # --- members and acknowledgements ---------------------------------------------------

    def add_project_member(self, name: str, user: str, *, role: str = "member") -> ProjectRecord:
        """Add a member (or, with ``role="owner"``, an owner) to a project (its owners and governors).

        The new member acts under the project once they accept its purposes' statements.
        """
        snapshot = self.snapshot()
        action = "project.add_member"
        project = self._project(snapshot, name)
        self._require_manager(snapshot, action, name)
        if role not in ("member", "owner"):
            raise ProjectError(f"role must be 'member' or 'owner', not {role!r}")
        if user not in snapshot.users:
            self._refuse(action, name, f"there is no user '{user}' in the catalog; governors declare users")
        if user == project.owner:
            raise ProjectError(f"'{user}' already owns project '{name}'; nothing to add")
        with self.store.write() as conn:
            self.store.put_project_member(conn, name, user, role, self.actor)  # added by hand: any policy
            self.store.bump(conn)
            self._audit_project(conn, action, name, {"member": user, "role": role})
        return self.project(name)

    def remove_project_member(self, name: str, user: str) -> ProjectRecord:
        """Remove a member added at run time (its owners and governors; file members leave through the file)."""
        snapshot = self.snapshot()
        action = "project.remove_member"
        project = self._project(snapshot, name)
        self._require_manager(snapshot, action, name)
        runtime = ("project", name) in snapshot.runtime
        if not runtime and (user == project.owner or user in project.members):
            self._refuse(
                action, name, f"'{user}' is a member of '{name}' in its policy file; remove them there and apply"
            )
        if user == project.owner:
            self._refuse(action, name, f"'{user}' created project '{name}' and stays its owner")
        if user not in snapshot.added_members.get(name, {}):
            raise ProjectError(f"'{user}' is not a member of project '{name}'; nothing to remove")
        with self.store.write() as conn:
            self.store.delete_project_members(conn, name, [user])
            self.store.delete_acknowledgements(conn, name, [user])
            self.store.clear_current_project(conn, name, [user])
            self.store.bump(conn)
            self._audit_project(conn, action, name, {"member": user})
        return self.project(name)

    def acknowledge_project(self, name: str, *, accept: bool = True, user: str | None = None) -> list[tuple[str, str]]:
        """Accept (or reject) every purpose statement of ``name``; the statements decided on.

        ``user`` (default: the actor) decides; deciding for another user is what a service that
        authenticated them does, and needs ``IMPERSONATE``. Only a member or owner may decide;
        the statements and the decision are audited. After a rejection the user may not act
        under the project until they accept.
        """
        snapshot = self.snapshot()
        who = user or self.actor
        make_subject(snapshot, who, authenticated=self.identity)  # acting for another needs IMPERSONATE
        project = self._project(snapshot, name)
        action = "project.acknowledge" if accept else "project.reject"
        if who not in snapshot.project_members(project):
            self._refuse(
                action,
                name,
                f"'{who}' is not a member of project '{name}'; ask its owner '{project.owner}' to add you, "
                "then acknowledge its purposes",
            )
        statements = [(p, snapshot.statement(p)) for p in project.purposes]
        decision = "accepted" if accept else "rejected"
        with self.store.write() as conn:
            for purpose, text in statements:
                self.store.put_acknowledgement(conn, name, who, purpose, text, decision)
            if not accept:
                self.store.clear_current_project(conn, name, [who])
            self.store.bump(conn)
            detail = {"decision": decision, "statements": [{"purpose": p, "statement": t} for p, t in statements]}
            self.store.append_audit(
                conn,
                user=who,
                impersonator=self.identity if who != self.identity else None,
                action=action,
                outcome="ok",
                project=name,
                purposes=list(project.purposes),
                detail=detail,
            )
        return statements

    def join_project(self, name: str, *, reason: str = "") -> ProjectRecord:
        """Ask to become a member of ``name`` as its subscription policy says (see the module)."""
        snapshot = self.snapshot()
        project = self._project(snapshot, name)
        me = self._actor_subject()
        action = "project.join"
        if me.user in snapshot.project_members(project):
            raise ProjectError(f"'{me.user}' is already a member of project '{name}'; nothing to join")
        state = snapshot.memberships.get((name, me.user))
        if state is not None and state.status == "requested":
            raise ProjectError(f"'{me.user}' already asked to join project '{name}'; the request is pending")
        if state is not None and state.status == "revoked":
            self._refuse(action, name, f"your membership of '{name}' was revoked; ask its owner '{project.owner}'")
        spec = _policy(snapshot, project)
        status = "member"
        if spec.kind is SubscriptionKind.INDIVIDUALS and me.user not in spec.users:
            self._refuse(
                action,
                name,
                f"project '{name}' takes individuals its owners add; ask its owner '{project.owner}' to add you",
            )
        if spec.condition is not None and not spec.condition.holds(me):
            self._refuse(
                action, name, f"joining project '{name}' needs {spec.condition.to_data()}, which you do not meet"
            )
        if spec.kind is SubscriptionKind.APPROVAL:
            status = "requested"
        with self.store.write() as conn:
            self.store.put_project_member(conn, name, me.user, "member", me.user, status=status, reason=reason)
            self.store.bump(conn)
            self._audit_project(conn, action, name, {"status": status, "reason": reason})
        return self.project(name)

    def approve_project_member(self, name: str, user: str) -> ProjectRecord:
        """Give one approval (of the first role the actor fills) to a pending request to join."""
        return self._decide_request(name, user, approve=True, reason="")

    def deny_project_member(self, name: str, user: str, *, reason: str = "") -> ProjectRecord:
        """Deny a pending request to join."""
        return self._decide_request(name, user, approve=False, reason=reason)

    def revoke_project_member(self, name: str, user: str) -> ProjectRecord:
        """Take a membership away (owners, governors): the user leaves the project at their next statement."""
        snapshot = self.snapshot()
        project = self._project(snapshot, name)
        action = "project.revoke"
        self._require_manager(snapshot, action, name)
        if user in snapshot.project_owners(project):
            self._refuse(action, name, f"'{user}' owns project '{name}'; an owner is not revoked")
        with self.store.write() as conn:
            self.store.put_project_member(conn, name, user, "member", self.actor, status="revoked")
            self.store.clear_current_project(conn, name, [user])
            self.store.bump(conn)
            self._audit_project(conn, action, name, {"member": user})
        return self.project(name)

    def set_project_subscription(self, name: str, subscription: Mapping[str, Any] | None) -> ProjectRecord:
        """Change who may join a runtime project (owners, governors); locked while it is equalized.

        ``subscription`` is the policy-as-code form (``{"approval": {"approvers": ["owner"]}}``);
        None: individuals the owners add.
        """
        snapshot = self.snapshot()
        action = "project.set_subscription"
        project = self._runtime_project(snapshot, action, name, "change its subscription policy")
        self._require_manager(snapshot, action, name)
        if project.equalization:
            self._refuse(
                action,
                name,
                f"project '{name}' is equalized: its subscription policy is locked and follows the equalized "
                "entitlement (seed); edit the entitlement instead, or disable equalization first",
            )
        body = {k: v for k, v in policyfile.dump_project(project).items() if k != "subscription"}
        if subscription is not None:
            body["subscription"] = dict(subscription)
        checked = self._validated(snapshot, action, name, body)
        return self._update(snapshot, action, checked, {"subscription": body.get("subscription")})

    def _decide_request(self, name: str, user: str, *, approve: bool, reason: str) -> ProjectRecord:
        snapshot = self.snapshot()
        project = self._project(snapshot, name)
        me = self._actor_subject()
        verb = "approve" if approve else "deny"
        action = f"project.{verb}"
        state = snapshot.memberships.get((name, user))
        if state is None or state.status != "requested":
            raise ProjectError(f"'{user}' has no pending request to join project '{name}'; nothing to decide")
        if user == me.user:
            raise ProjectError("you cannot decide your own request; another approver must")
        roles = list(_policy(snapshot, project).approvers)
        missing = [a for a in roles if a.key not in state.approvals]
        mine = [a for a in missing if _fills(a, me, snapshot, project)]
        if not mine:
            needed = ", ".join(a.key for a in missing) or "none"
            self._refuse(
                action, name, f"'{me.user}' may not {verb} this request; roles still needed: {needed}", NotAuthorized
            )
        with self.store.write() as conn:
            current = self.store.project_member(conn, name, user)  # another approver may have acted meanwhile
            if current is None or current["status"] != "requested":
                raise ProjectError(f"'{user}' has no pending request to join project '{name}'; nothing to decide")
            given = set(current["approvals"])
            if approve:
                approvals = sorted({*given, mine[0].key})
                done = all(a.key in approvals for a in roles)
                self.store.put_project_member(
                    conn, name, user, "member", me.user, status="member" if done else "requested", approvals=approvals
                )
                detail = {"member": user, "role": mine[0].key, "complete": done}
            else:
                self.store.put_project_member(conn, name, user, "member", me.user, status="denied", reason=reason)
                detail = {"member": user, "reason": reason}
            self.store.bump(conn)
            self._audit_project(conn, action, name, detail)
        return self.project(name)


def _policy(snapshot: Snapshot, project: Project) -> Subscription:
    """Who may join now: the project's policy, combined with the entitlement while it is equalized."""
    return snapshot.project_subscription(project) or Subscription(kind=SubscriptionKind.INDIVIDUALS)


def _fills(approver: Approver, who: Subject, snapshot: Snapshot, project: Project) -> bool:
    if approver.role == "owner":
        return who.user in snapshot.project_owners(project)
    if approver.role == "governance":
        return who.has(Permission.GOVERNANCE)
    return approver.group in who.groups
