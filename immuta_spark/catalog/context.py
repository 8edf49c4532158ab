"""The project a user acts under: the user's own setting in the catalog (POLICY.md section 6).

Seed: "When users change project contexts, all SQL queries ... reflect users as acting under
the purposes of that project." So the current project is not a property of one session: it is
kept in the catalog per user, and every governed session of that user follows it at its next
statement. By default no project is selected.
"""

from __future__ import annotations

from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.grants import DEFAULT_LEASE_SECONDS, GrantRecord, audit_grant, grant_in, snapshot_in
from immuta_spark.engine import make_subject
from immuta_spark.errors import ImmutaSparkError

__all__ = ["ProjectContext"]


class ProjectContext(CatalogBase):
    """Reading and switching the project a user acts under."""

    def current_project(self, user: str | None = None) -> str | None:
        """The project ``user`` (default: the actor) acts under; None when none is selected."""
        with self.store.read() as conn:
            return self.store.current_project(conn, user or self.actor)

    def switch_project(
        self,
        project: str | None,
        *,
        user: str | None = None,
        holder: str = "context",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> GrantRecord | None:
        """Make ``user`` (default: the actor) act under ``project`` from their next statement on; None: no project.

        Only a member (or the owner) may act under a project; acting for another user needs
        ``IMPERSONATE``. The switch, or its refusal, is audited with the project and its purposes.
        In the same transaction, native access follows: grants on other projects' workspaces
        end, and if ``project`` has an enabled workspace the user may use, ``holder`` gets a grant
        for ``lease_seconds`` (returned; None otherwise).
        """
        who = user or self.actor
        snapshot = self.snapshot()
        impersonator = self.identity if who != self.identity else None
        try:
            subject = make_subject(snapshot, who, project=project, authenticated=self.identity)
        except ImmutaSparkError as exc:
            self.record(
                action="project.switch",
                outcome="denied",
                user=who,
                impersonator=impersonator,
                project=project,
                detail={"project": project, "error": str(exc)},
            )
            raise
        with self.store.write() as conn:
            previous = self.store.current_project(conn, who)
            self.store.set_current_project(conn, who, project)
            grant = self._follow_context(conn, who, project, holder, lease_seconds)
            self.store.append_audit(
                conn,
                user=who,
                impersonator=impersonator,
                action="project.switch",
                outcome="ok",
                project=project,
                purposes=sorted(subject.purposes),
                detail={"project": project, "previous": previous},
            )
        return grant

    def _follow_context(
        self, conn: Any, who: str, project: str | None, holder: str, lease_seconds: float
    ) -> GrantRecord | None:
        """Grants follow the switch: revoke the others, grant this project's workspace when allowed."""
        for row in self.store.delete_grants(conn, user=who, except_project=project):
            self._grant_audit(conn, "workspace.revoke", GrantRecord.from_row(row), "switched project")
        if project is None or self.store.workspace_row(conn, project) is None:
            return None
        snapshot = snapshot_in(self.store, conn, self._snapshot)
        grant, _ = grant_in(
            self.store, conn, snapshot, user=who, project=project, holder=holder, lease_seconds=lease_seconds
        )
        if grant is not None:
            self._grant_audit(conn, "workspace.grant", grant, "switched project")
        return grant

    def _grant_audit(self, conn: Any, action: str, grant: GrantRecord, reason: str) -> None:
        impersonator = self.identity if grant.user != self.identity else None
        audit_grant(self.store, conn, action, grant, reason, impersonator=impersonator)
