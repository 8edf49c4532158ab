"""The governance catalog: policy as code in, snapshots and decisions out, every change audited.

>>> catalog = GovernanceCatalog.open("sqlite:///catalog.db")     # doctest: +SKIP
>>> catalog.apply("conf/governance.yaml")                        # doctest: +SKIP
>>> catalog.explain("Medical Claims", user="bob").to_json()      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from immuta_spark import policyfile
from immuta_spark.engine import (
    Plan,
    Snapshot,
    Subject,
    SubscriptionState,
    compile_plan,
    make_subject,
    subscription_requirements,
)
from immuta_spark.errors import (
    CatalogError,
    ImmutaSparkError,
    NotAuthorized,
    SourceNotFound,
    SubscriptionError,
)
from immuta_spark.expr import SecretRef
from immuta_spark.identity import current_user
from immuta_spark.model import Approver, Governance, Permission, Source, SubscriptionKind
from immuta_spark.store import AuditRecord, Store

__all__ = ["ApplyResult", "GovernanceCatalog", "SubscriptionRecord", "default_catalog_url"]

_KINDS = ("settings", "user", "purpose", "source", "policy", "project")
_SECTION = {"user": "users", "purpose": "purposes", "source": "sources", "policy": "policies", "project": "projects"}
#: Secrets each source and project gets when it is first applied.
SOURCE_SECRETS = ("hash_salt", "token_key", "fpe_key")


def default_catalog_url() -> str:
    """``IMMUTA_CATALOG_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get("IMMUTA_CATALOG_URL")
    if url:
        return url
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "immuta-spark"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'catalog.db'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """What an apply changed (or would change, with ``dry_run``)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    revision: int = 0
    dry_run: bool = False

    @property
    def is_noop(self) -> bool:
        """Whether nothing changed."""
        return not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        """One line for people."""
        if self.is_noop:
            return "no changes"
        verb = "would change" if self.dry_run else "changed"
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed"]
        return f"{verb}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRecord:
    """A user's subscription state on a source, as the workflow left it."""

    source: str
    user: str
    status: str
    approvals: tuple[str, ...] = ()
    added: bool = False
    reason: str = ""
    updated_at: str = ""
    needed: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "source": self.source,
            "user": self.user,
            "status": self.status,
            "approvals": list(self.approvals),
            "added": self.added,
            "reason": self.reason,
            "updated_at": self.updated_at,
        }


class GovernanceCatalog:
    """The governance catalog, acting for one authenticated identity.

    ``identity`` is who is authenticated (by default the Hadoop rules of section 2);
    ``act_as`` makes every operation act as another user, which needs ``IMPERSONATE``.
    """

    def __init__(self, store: Store, *, identity: str | None = None, act_as: str | None = None) -> None:
        self.store = store
        self.identity = identity or current_user()
        self.act_as = act_as
        self._snapshot: Snapshot | None = None

    @classmethod
    def open(
        cls, url: str | None = None, *, identity: str | None = None, act_as: str | None = None
    ) -> GovernanceCatalog:
        """Open (creating and migrating as needed) the catalog at ``url``."""
        return cls(Store(url or default_catalog_url()), identity=identity, act_as=act_as)

    # --- who ----------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        """The user operations act as."""
        return self.act_as or self.identity

    def subject(self, user: str | None = None, *, project: str | None = None) -> Subject:
        """The subject for ``user`` (default: the actor) under ``project``.

        Asking for anyone but the authenticated identity needs ``IMPERSONATE``.
        """
        return make_subject(self.snapshot(), user or self.actor, project=project, authenticated=self.identity)

    def _actor_subject(self) -> Subject:
        return self.subject(self.actor)

    # --- snapshots ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The catalog as of now; cached until the revision moves."""
        with self.store.read() as conn:
            revision = self.store.revision(conn)
            if self._snapshot is not None and self._snapshot.revision == revision:
                return self._snapshot
            rows = self.store.entities(conn)
            subs = self.store.subscriptions(conn)
            prints = self.store.fingerprints(conn)
        governance = _assemble(rows)
        states = {
            (r["source"], r["user"]): SubscriptionState(
                status=r["status"], approvals=frozenset(r["approvals"]), added=bool(r["added"])
            )
            for r in subs
        }
        self._snapshot = Snapshot(governance, subscriptions=states, fingerprints=prints, revision=revision)
        return self._snapshot

    # --- policy as code -----------------------------------------------------------------

    def apply(
        self,
        path: str | Path,
        *,
        dry_run: bool = False,
        sql_checker: policyfile.SqlChecker | str | None = "default",
        regex_checker: policyfile.RegexChecker | str | None = "default",
    ) -> ApplyResult:
        """Make the catalog match a policy-as-code file, in one transaction.

        By default policy SQL is checked with Spark's parser and regex patterns with Java's
        regex (what runs them), when the ``spark`` extra is installed.

        The file is the whole governance state: entities it does not name are removed
        (subscriptions, secrets and audit are runtime state and are kept). An invalid file
        raises :class:`PolicyFileError` and changes nothing. The first apply on an empty
        catalog bootstraps it; after that the actor needs ``GOVERNANCE``.
        """
        checker = _default_sql_checker() if sql_checker == "default" else sql_checker
        regex = _default_regex_checker() if regex_checker == "default" else regex_checker
        governance = policyfile.load_file(path, sql_checker=checker, regex_checker=regex)  # type: ignore[arg-type]
        return self.apply_governance(governance, file=str(path), dry_run=dry_run)

    def apply_governance(self, governance: Governance, *, file: str = "", dry_run: bool = False) -> ApplyResult:
        """Apply an already validated model (see :meth:`apply`)."""
        desired = _rows(governance)
        current = self.snapshot()
        with self.store.read() as conn:
            # Empty: nothing stored but (default) settings. Anything more needs a governor.
            bootstrap = all(kind == "settings" for kind, _ in self.store.entities(conn))
        if not bootstrap:
            self._require(Permission.GOVERNANCE, "apply policy as code", current)
        with self.store.write() as conn:
            existing = self.store.entities(conn)
            added = [k for k in desired if k not in existing]
            removed = [k for k in existing if k not in desired]
            changed = [k for k in desired if k in existing and existing[k][1] != desired[k][1]]
            moved = [k for k in desired if k in existing and existing[k][0] != desired[k][0]]
            result = ApplyResult(
                added=tuple(f"{k}:{n}" for k, n in added),
                changed=tuple(f"{k}:{n}" for k, n in changed),
                removed=tuple(f"{k}:{n}" for k, n in removed),
                revision=self.store.revision(conn),
                dry_run=dry_run,
            )
            if dry_run or (result.is_noop and not moved):
                return result
            for key in removed:
                self.store.delete_entity(conn, *key)
            for key in [*added, *changed, *moved]:
                pos, body = desired[key]
                self.store.put_entity(conn, key[0], key[1], pos, body, new=key in added)
            for source in governance.sources:
                for purpose in SOURCE_SECRETS:
                    self.store.ensure_secret(conn, "source", source.name, purpose)
            for project in governance.projects:
                self.store.ensure_secret(conn, "project", project.name, "hash_salt")
            revision = self.store.bump(conn)
            self.store.append_audit(
                conn,
                user=self.actor,
                impersonator=self._impersonator(),
                action="apply",
                outcome="ok",
                detail={
                    "file": file,
                    "bootstrap": bootstrap,
                    "added": list(result.added),
                    "changed": list(result.changed),
                    "removed": list(result.removed),
                },
            )
        return ApplyResult(added=result.added, changed=result.changed, removed=result.removed, revision=revision)

    def export(self) -> str:
        """The governance state as policy-as-code YAML (no secrets, no runtime state)."""
        return policyfile.dump_yaml(policyfile.dump_document(self.snapshot().governance))

    # --- decisions ----------------------------------------------------------------------

    def plan(self, subject: Subject, source: str, schema: Sequence[tuple[str, str]] | None = None) -> Plan:
        """The enforcement plan for ``subject`` on ``source`` (no audit: the caller audits)."""
        return compile_plan(self.snapshot(), subject, source, schema)

    def explain(
        self,
        source: str,
        *,
        user: str | None = None,
        project: str | None = None,
        schema: Sequence[tuple[str, str]] | None = None,
    ) -> Plan:
        """What ``user`` would see of ``source``; explaining someone else needs ``GOVERNANCE``."""
        target = user or self.actor
        snapshot = self.snapshot()
        me = self._actor_subject()  # acting as someone else needs IMPERSONATE
        if target != self.actor:
            self._require(Permission.GOVERNANCE, f"explain what '{target}' sees", snapshot)
        subject = make_subject(snapshot, target, project=project)
        plan = compile_plan(snapshot, subject, source, schema)
        if not plan.visible and not me.has(Permission.GOVERNANCE):
            # An invisible source looks exactly like a missing one (section 4).
            raise SourceNotFound(source)
        self.record(
            action="explain",
            outcome="ok",
            project=project,
            purposes=sorted(subject.purposes),
            sources=[plan.source],
            policies=plan.policies_applied,
            detail={"explained_user": target},
        )
        return plan

    # --- subscriptions ------------------------------------------------------------------

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
                out.append(_to_record(r))
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
        mine = [a for a in missing if _fills(a, me, src)]
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
            mine = [a for a in roles if a.key not in given and _fills(a, me, src)]
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
                    return _to_record(r)
        raise SubscriptionError(f"no subscription record for '{user}' on '{source}'")  # pragma: no cover

    # --- audit --------------------------------------------------------------------------

    def record(
        self,
        *,
        action: str,
        outcome: str,
        user: str | None = None,
        project: str | None = None,
        purposes: Sequence[str] = (),
        sources: Sequence[str] = (),
        policies: Sequence[str] = (),
        detail: dict[str, Any] | None = None,
        impersonator: str | None = None,
    ) -> None:
        """Append an audit record in its own transaction."""
        with self.store.write() as conn:
            self.store.append_audit(
                conn,
                user=user or self.actor,
                impersonator=impersonator if impersonator is not None else self._impersonator(),
                action=action,
                outcome=outcome,
                project=project,
                purposes=list(purposes),
                sources=list(sources),
                policies=list(policies),
                detail=detail,
            )

    def _audit_in(self, conn: Any, action: str, outcome: str, source: str, detail: dict[str, Any]) -> None:
        self.store.append_audit(
            conn,
            user=self.actor,
            impersonator=self._impersonator(),
            action=action,
            outcome=outcome,
            sources=[source],
            detail=detail,
        )

    def audit(self, **filters: Any) -> list[AuditRecord]:
        """Audit records (filters: user, action, outcome, source, project, since, until, limit).

        Governors see every record; anyone else only records about themselves.
        """
        if not self._actor_subject().has(Permission.GOVERNANCE):  # also checks IMPERSONATE
            if filters.get("user") not in (None, self.actor):
                raise NotAuthorized("reading other users' audit records needs GOVERNANCE")
            filters["user"] = self.actor
        return self.store.audit_records(**filters)

    # --- secrets (for enforcement only; never printed) ---------------------------------

    def secret(self, ref: SecretRef) -> bytes:
        """The bytes behind a secret reference."""
        return self.store.secret(ref.scope, ref.owner, ref.purpose)

    # --- helpers ------------------------------------------------------------------------

    def _impersonator(self) -> str | None:
        return self.identity if self.act_as and self.act_as != self.identity else None

    def _require(self, permission: Permission, what: str, snapshot: Snapshot) -> None:
        subject = make_subject(snapshot, self.actor, authenticated=self.identity)
        if not subject.has(permission):
            self.record(action="denied", outcome="denied", detail={"operation": what, "needs": permission.value})
            raise NotAuthorized(f"'{self.actor}' may not {what}: that needs the {permission.value} permission")


def _fills(approver: Approver, who: Subject, source: Source) -> bool:
    if approver.role == "owner":
        return source.is_owner(who.user, who.groups)
    if approver.role == "governance":
        return who.has(Permission.GOVERNANCE)
    return approver.group in who.groups


def _to_record(r: dict[str, Any]) -> SubscriptionRecord:
    return SubscriptionRecord(
        source=r["source"],
        user=r["user"],
        status=r["status"],
        approvals=tuple(r["approvals"]),
        added=bool(r["added"]),
        reason=r["reason"] or "",
        updated_at=r["updated_at"],
    )


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rows(g: Governance) -> dict[tuple[str, str], tuple[int, str]]:
    """The entity rows a model is stored as: (kind, name) -> (position, canonical body)."""
    doc = policyfile.dump_document(g)
    rows: dict[tuple[str, str], tuple[int, str]] = {("settings", "settings"): (0, _canonical(doc["settings"]))}
    for kind, section in _SECTION.items():
        for i, item in enumerate(doc[section]):
            rows[(kind, item["name"])] = (i, _canonical(item))
    return rows


def _assemble(rows: dict[tuple[str, str], tuple[int, str]]) -> Governance:
    """Rebuild the model from stored rows (validated again: the store is not trusted blindly)."""
    if not rows:
        return Governance()
    doc: dict[str, Any] = {"version": 1}
    ordered = sorted(rows.items(), key=lambda kv: (_KINDS.index(kv[0][0]), kv[1][0]))
    for (kind, _name), (_pos, body) in ordered:
        data = json.loads(body)
        if kind == "settings":
            doc["settings"] = data
        else:
            doc.setdefault(_SECTION[kind], []).append(data)
    try:
        # Stored documents were validated at apply, patterns by the engine's own regex.
        return policyfile.parse_document(doc, file="<catalog>", regex_checker=_stored_regex)
    except ImmutaSparkError as exc:  # pragma: no cover - only a hand-edited database gets here
        raise CatalogError(f"the stored catalog is inconsistent ({exc}); re-apply a policy file") from exc


def _stored_regex(pattern: str) -> tuple[str | None, int]:
    return None, 9  # any $n the replacement uses was checked against the real pattern at apply


def _default_regex_checker() -> policyfile.RegexChecker | None:
    """Java's regex (as Spark runs the masks) when the ``spark`` extra is installed."""
    try:
        from immuta_spark.spark.sqlcheck import check_regex
    except ImportError:
        return None
    return check_regex


def _default_sql_checker() -> Callable[[str, tuple[str, ...] | None], str | None] | None:
    """Spark's own parser when the ``spark`` extra is installed; else syntax is checked at query time."""
    try:
        from immuta_spark.spark.sqlcheck import check_predicate
    except ImportError:
        return None
    return check_predicate
