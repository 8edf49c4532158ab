"""The catalog acting for one identity: who, snapshots, audit and secrets (what every operation needs)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from immuta_spark.auditlog import audit_row
from immuta_spark.catalog.entities import assemble
from immuta_spark.engine import Acknowledgement, MembershipState, Snapshot, Subject, SubscriptionState, make_subject
from immuta_spark.errors import NotAuthorized, ProjectError
from immuta_spark.expr import SecretRef
from immuta_spark.identity import current_user
from immuta_spark.idp.facts import provider_users
from immuta_spark.model import Permission
from immuta_spark.store import AuditRecord, Store

__all__ = ["CatalogBase", "default_catalog_url", "read_snapshot"]


def default_catalog_url() -> str:
    """``IMMUTA_CATALOG_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get("IMMUTA_CATALOG_URL")
    if url:
        return url
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "immuta-spark"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'catalog.db'}"


def read_snapshot(store: Store, conn: Any, revision: int) -> Snapshot:
    """The whole catalog as one snapshot, read in the caller's transaction (read or write)."""
    rows = store.entities(conn)
    runtime = store.runtime_keys(conn)
    subs = store.subscriptions(conn)
    prints = store.fingerprints(conn)
    added = store.project_members(conn)
    acks = store.acknowledgements(conn)
    unmasked: dict[tuple[str, str, str], set[str]] = {}
    for r in store.unmask_request_rows(conn, status="approved"):
        unmasked.setdefault((r["requester"], r["source"], r["column_name"]), set()).add(r["token"])
    governance = assemble(rows)
    declared = governance.users
    if governance.identity_providers:
        governance = replace(governance, users=provider_users(governance, store.idp_user_bodies(conn)))
    memberships = {
        (m["project"], m["user"]): MembershipState(m["role"], m["status"], frozenset(m["approvals"])) for m in added
    }
    states = {
        (r["source"], r["user"]): SubscriptionState(
            status=r["status"], approvals=frozenset(r["approvals"]), added=bool(r["added"])
        )
        for r in subs
    }
    return Snapshot(
        governance,
        subscriptions=states,
        fingerprints=prints,
        revision=revision,
        memberships=memberships,
        acknowledgements={
            (a["project"], a["user"], a["purpose"]): Acknowledgement(a["decision"], a["statement"]) for a in acks
        },
        runtime=runtime,
        unmasked={k: frozenset(v) for k, v in unmasked.items()},
        declared_users=declared,
    )


class CatalogBase:
    """The governance catalog's core, acting for one authenticated identity.

    ``identity`` is who is authenticated (by default the Hadoop rules of section 2);
    ``act_as`` makes every operation act as another user, which needs ``IMPERSONATE``.
    Use :class:`immuta_spark.catalog.GovernanceCatalog`, which adds the operations.
    """

    def __init__(self, store: Store, *, identity: str | None = None, act_as: str | None = None) -> None:
        self.store = store
        self.identity = identity or current_user()
        self.act_as = act_as
        self._snapshot: Snapshot | None = None

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
        return self.snapshot_for(None)[0]

    def snapshot_for(self, user: str | None) -> tuple[Snapshot, str | None]:
        """The snapshot and the project ``user`` acts under, read in one transaction (one per statement)."""
        with self.store.read() as conn:
            revision = self.store.revision(conn)
            project = self.store.current_project(conn, user) if user is not None else None
            if self._snapshot is not None and self._snapshot.revision == revision:
                return self._snapshot, project
            self._snapshot = read_snapshot(self.store, conn, revision)
        return self._snapshot, project

    def _people(self, conn: Any, names: set[str]) -> Snapshot:
        """A snapshot of only the named users' entries, read in the caller's transaction.

        Enough for :func:`make_subject` without a project (who a user is, what it may do, whom
        it may impersonate), which reads nothing else; parsed by the same reader as a full
        snapshot, so a user's groups and permissions are exactly what one would hold.
        """
        return Snapshot(assemble(self.store.named_entities(conn, "user", names)))

    # --- audit --------------------------------------------------------------------------

    def refuse(
        self,
        action: str,
        why: str,
        *,
        project: str | None,
        detail: dict[str, Any],
        error: type[Exception] = ProjectError,
    ) -> NoReturn:
        """Audit ``action`` as denied (``detail`` plus the reason) and raise ``error(why)``."""
        self.record(action=action, outcome="denied", project=project, detail={**detail, "error": why})
        raise error(why)

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
        """Append an audit record of its own; durable when this returns, or :class:`CatalogError`.

        It waits for the catalog's write lock only briefly, then goes to the local audit spool,
        which drains into the catalog later (see :class:`immuta_spark.auditlog.AuditLog`).
        """
        self.store.audit_log.record(
            audit_row(
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
        )

    def _audit_in(
        self,
        conn: Any,
        action: str,
        outcome: str,
        source: str,
        detail: dict[str, Any],
        *,
        project: str | None = None,
        sources: Sequence[str] = (),
    ) -> None:
        """Append the actor's audit record of ``source`` (and ``sources`` besides) in the caller's transaction."""
        self.store.append_audit(
            conn,
            user=self.actor,
            impersonator=self._impersonator(),
            action=action,
            outcome=outcome,
            project=project,
            sources=[source, *sources],
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
