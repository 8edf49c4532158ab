"""The subscription workflow: request, approve, deny, revoke, add and list (section 4)."""

from __future__ import annotations

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.records import SubscriptionRecord, to_record
from immuta_spark.engine import Snapshot, Subject, compile_plan, make_subject, subscription_requirements
from immuta_spark.errors import NotAuthorized, SourceNotFound, SubscriptionError
from immuta_spark.model import Approver, Permission, Source, SubscriptionKind

__all__ = ["SubscriptionWorkflow"]


class SubscriptionWorkflow(CatalogBase):
    """The catalog's subscription operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def request_subscription(self, source: str, *, reason: str = "") -> SubscriptionRecord:
        """Ask for access to a source whose subscription policy needs approval."""
        snapshot = self.snapshot()
        subject = self._actor_subject()
        src = self._visible_source(snapshot, subject, source)
        plan = compile_plan(snapshot, subject, src.name)
        if plan.subscribed:
            raise SubscriptionError(f"'{self.actor}' is already subscribed to '{src.name}'; nothing to request")
        roles = self._approvers(snapshot, subject, src)
        if not roles:
            raise SubscriptionError(
                f"'{src.name}' is not open to requests: its subscription policy does not take approvals; "
                "ask an owner of the source to add you"
            )
        with self.store.write() as conn:
            self.store.put_subscription(
                conn, source=src.name, user=self.actor, status="requested", approvals=[], added=False, reason=reason
            )
            self.store.bump(conn)
            self._audit_in(conn, "subscription.request", "ok", src.name, {"reason": reason})
        return self._record(src.name, self.actor)

    def approve_subscription(self, source: str, user: str) -> SubscriptionRecord:
        """Give one approval (of the first role the actor can fill) to a pending request."""
        return self._decide(source, user, approve=True, reason="")

    def deny_subscription(self, source: str, user: str, *, reason: str = "") -> SubscriptionRecord:
        """Deny a pending request."""
        return self._decide(source, user, approve=False, reason=reason)

    def revoke_subscription(self, source: str, user: str) -> SubscriptionRecord:
        """Take a subscription away (owners and governors)."""
        snapshot = self.snapshot()
        src = self._managed_source(snapshot, source, "revoke subscriptions")
        with self.store.write() as conn:
            self.store.put_subscription(conn, source=src.name, user=user, status="revoked", approvals=[], added=False)
            self.store.bump(conn)
            self._audit_in(conn, "subscription.revoke", "ok", src.name, {"subscriber": user})
        return self._record(src.name, user)

    def add_subscriber(self, source: str, user: str) -> SubscriptionRecord:
        """Subscribe a user by hand (owners and governors; the ``individuals`` kind's way in)."""
        snapshot = self.snapshot()
        src = self._managed_source(snapshot, source, "add subscribers")
        state = snapshot.subscriptions.get((src.name, user))
        approvals = sorted(state.approvals) if state and state.status != "revoked" else []
        with self.store.write() as conn:
            self.store.put_subscription(
                conn, source=src.name, user=user, status="subscribed", approvals=approvals, added=True
            )
            self.store.bump(conn)
            self._audit_in(conn, "subscription.add", "ok", src.name, {"subscriber": user})
        return self._record(src.name, user)

    def subscriptions(self, *, source: str | None = None, user: str | None = None) -> list[SubscriptionRecord]:
        """Subscription records the actor may see: its own, its sources', or all for governors."""
        snapshot = self.snapshot()
        me = self._actor_subject()
        governor = me.has(Permission.GOVERNANCE)
        with self.store.read() as conn:
            rows = self.store.subscriptions(conn)
        out = []
        for r in rows:
            src = snapshot.sources.get(r["source"])
            if source is not None and r["source"] != source:
                continue
            if user is not None and r["user"] != user:
                continue
            mine = r["user"] == me.user or (src is not None and src.is_owner(me.user, me.groups))
            if governor or mine:
                out.append(to_record(r))
        return out

    def _decide(self, source: str, user: str, *, approve: bool, reason: str) -> SubscriptionRecord:
        snapshot = self.snapshot()
        me = self._actor_subject()
        src = snapshot.source(source)
        if src is None:
            raise SourceNotFound(source)
        state = snapshot.subscriptions.get((src.name, user))
        if state is None or state.status != "requested":
            raise SubscriptionError(f"'{user}' has no pending request on '{src.name}'; nothing to decide")
        if user == me.user:
            raise SubscriptionError("you cannot decide your own request; another approver must")
        requester = make_subject(snapshot, user)
        roles = self._approvers(snapshot, requester, src)
        missing = [a for a in roles if a.key not in state.approvals]
        mine = [a for a in missing if _fills(a, me, src, snapshot)]
        if not mine:
            verb = "approve" if approve else "deny"
            self.record(
                action=f"subscription.{verb}", outcome="denied", sources=[src.name], detail={"subscriber": user}
            )
            needed = ", ".join(a.key for a in missing) or "none"
            raise NotAuthorized(f"'{me.user}' may not {verb} this request; roles still needed: {needed}")
        with self.store.write() as conn:
            # Re-read inside the (serialised) write: another approver may have acted meanwhile.
            current = self.store.subscription(conn, src.name, user)
            if current is None or current["status"] != "requested":
                raise SubscriptionError(f"'{user}' has no pending request on '{src.name}'; nothing to decide")
            given = set(current["approvals"])
            mine = [a for a in roles if a.key not in given and _fills(a, me, src, snapshot)]
            if not mine:
                raise SubscriptionError(f"the approvals '{me.user}' could give on this request were given meanwhile")
            if approve:
                approvals = sorted({*given, mine[0].key})
                done = all(a.key in approvals for a in roles)
                status = "subscribed" if done else "requested"
                self.store.put_subscription(
                    conn, source=src.name, user=user, status=status, approvals=approvals, added=bool(current["added"])
                )
                detail = {"subscriber": user, "role": mine[0].key, "complete": done}
                self._audit_in(conn, "subscription.approve", "ok", src.name, detail)
            else:
                self.store.put_subscription(
                    conn, source=src.name, user=user, status="denied", approvals=[], added=False, reason=reason
                )
                self._audit_in(conn, "subscription.deny", "ok", src.name, {"subscriber": user, "reason": reason})
            self.store.bump(conn)
        return self._record(src.name, user)

    def _approvers(self, snapshot: Snapshot, subject: Subject, source: Source) -> list[Approver]:
        roles: dict[str, Approver] = {}
        for spec, _local in subscription_requirements(snapshot, subject, source):
            if spec.kind is SubscriptionKind.APPROVAL:
                for a in spec.approvers:
                    roles.setdefault(a.key, a)
        return list(roles.values())

    def _visible_source(self, snapshot: Snapshot, subject: Subject, name: str) -> Source:
        src = snapshot.source(name)
        if src is None or not compile_plan(snapshot, subject, src.name).visible:
            raise SourceNotFound(name)
        return src

    def _managed_source(self, snapshot: Snapshot, name: str, what: str) -> Source:
        me = self._actor_subject()
        src = snapshot.source(name)
        if src is None:
            raise SourceNotFound(name)
        if not (src.is_owner(me.user, me.groups) or me.has(Permission.GOVERNANCE)):
            self.record(action="denied", outcome="denied", sources=[src.name], detail={"operation": what})
            raise NotAuthorized(f"only an owner of '{src.name}' or a governor may {what}")
        return src

    def _record(self, source: str, user: str) -> SubscriptionRecord:
        with self.store.read() as conn:
            for r in self.store.subscriptions(conn):
                if r["source"] == source and r["user"] == user:
                    return to_record(r)
        raise SubscriptionError(f"no subscription record for '{user}' on '{source}'")  # pragma: no cover


def _fills(approver: Approver, who: Subject, source: Source, snapshot: Snapshot) -> bool:
    if approver.role == "owner":
        # A derived source's inherited approval is given by the owners of the parent it names.
        target = snapshot.sources.get(approver.source) if approver.source is not None else source
        return target is not None and target.is_owner(who.user, who.groups)
    if approver.role == "governance":
        return who.has(Permission.GOVERNANCE)
    return approver.group in who.groups
