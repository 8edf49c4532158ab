"""Validation frequency (seed "Validation Frequency"): members re-validated at each project's interval.

Access is decided afresh at every statement (:func:`immuta_spark.engine.project_access_problem`),
so a member who loses a group loses the project at their next statement whatever the interval.
What validation adds, at the project's ``validation_frequency`` (seconds), is the record: each
member's status (valid, or why not: out of compliance, no longer meeting the subscription
policy, a statement not accepted, not a member any more) is compared with the last
validation's, every change is an audit record (``project.validation``), and a member who is no
longer valid is switched to no project in the catalog (every session of theirs follows).

Validations run when due, from any process that reads the catalog (checked at most once a
second per catalog handle), and on demand (``immuta-spark project validate``). A validation
that cannot write (the catalog's write lock held) is left for the next check: enforcement does
not depend on it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from immuta_spark.catalog.equalize import ProjectEqualization
from immuta_spark.engine import Snapshot, project_access_problem
from immuta_spark.errors import CatalogError
from immuta_spark.model import Project
from immuta_spark.schema import now

__all__ = ["VALID", "ProjectValidation"]

#: A valid member's status.
VALID = "valid"
#: How often one catalog handle looks for due validations, in seconds.
CHECK_EVERY_S = 1.0


class ProjectValidation(ProjectEqualization):
    """Periodic re-validation of project members (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    _next_check = 0.0

    def validate_projects(self, *, project: str | None = None, force: bool = False) -> list[dict[str, Any]]:
        """Validate the projects that are due (or ``project``; ``force``: now, interval or not); the changes."""
        snapshot = self.snapshot()
        changes: list[dict[str, Any]] = []
        for proj in sorted(snapshot.projects.values(), key=lambda p: p.name):
            if project is not None and proj.name != project:
                continue
            if proj.validation_frequency is None and not force:
                continue
            changes += self._validate(snapshot, proj, force=force)
        return changes

    def snapshot_for(self, user: str | None) -> tuple[Snapshot, str | None]:
        """As :meth:`CatalogBase.snapshot_for`, running the validations that are due first (at most once a second)."""
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + CHECK_EVERY_S
            try:
                self.validate_projects()
            except CatalogError as exc:
                if not exc.transient:
                    raise
        return super().snapshot_for(user)

    def _validate(self, snapshot: Snapshot, project: Project, *, force: bool) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            last = self.store.validations(conn, project.name)
        at = last.get("*")
        if not force and at is not None and project.validation_frequency is not None:
            due = datetime.fromisoformat(at[1]) + timedelta(seconds=project.validation_frequency)
            if datetime.now(timezone.utc) < due:
                return []
        members = set(snapshot.project_members(project)) | {u for u in last if u != "*"}
        statuses = {u: project_access_problem(snapshot, project, u) or VALID for u in sorted(members)}
        changes = []
        for user, status in statuses.items():
            before = last[user][0] if user in last else None
            if before is None and status == VALID:
                continue  # a new member who is valid: nothing changed for anyone to know
            if status != before:
                changes.append({"project": project.name, "user": user, "before": before or "new", "after": status})
        with self.store.write(wait_ms=self.store.audit_log.wait_ms) as conn:
            for change in changes:
                if change["after"] != VALID:
                    self.store.clear_current_project(conn, project.name, [change["user"]])
                self.store.append_audit(
                    conn,
                    user=change["user"],
                    action="project.validation",
                    outcome="ok" if change["after"] == VALID else "denied",
                    project=project.name,
                    detail={"project": project.name, "before": change["before"] or "new", "after": change["after"]},
                )
            self.store.put_validations(conn, project.name, {u: s for u, s in statuses.items()}, now())
        return changes
