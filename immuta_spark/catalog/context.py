"""The project a user acts under: the user's own setting in the catalog (POLICY.md section 6).

Seed: "When users change project contexts, all SQL queries ... reflect users as acting under
the purposes of that project." So the current project is not a property of one session: it is
kept in the catalog per user, and every governed session of that user follows it at its next
statement. By default no project is selected.
"""

from __future__ import annotations

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.engine import make_subject
from immuta_spark.errors import ImmutaSparkError

__all__ = ["ProjectContext"]


class ProjectContext(CatalogBase):
    """Reading and switching the project a user acts under."""

    def current_project(self, user: str | None = None) -> str | None:
        """The project ``user`` (default: the actor) acts under; None when none is selected."""
        with self.store.read() as conn:
            return self.store.current_project(conn, user or self.actor)

    def switch_project(self, project: str | None, *, user: str | None = None) -> None:
        """Make ``user`` (default: the actor) act under ``project`` from their next statement on; None: no project.

        Only a member (or the owner) may act under a project; acting for another user needs
        ``IMPERSONATE``. The switch, or its refusal, is audited with the project and its purposes.
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
