"""The store's runtime project state (part of :class:`immuta_spark.store.Store`).

What users create at run time lives beside what policy files declare and is never touched by
``apply``: entity rows whose ``origin`` is :data:`~immuta_spark.schema.ORIGIN_RUNTIME` (a
project created through the API, a custom purpose), the members and owners added to a project,
and each user's acknowledgement decisions. Every method runs inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from immuta_spark.schema import ORIGIN_FILE, ORIGIN_RUNTIME, acknowledgements, current_projects, entities, now
from immuta_spark.schema import project_members as members_table
from immuta_spark.schema import project_validations as validations_table

__all__ = ["RUNTIME_POSITION", "ProjectRows"]

#: The position runtime entities are stored at: after every entity a policy file declares.
RUNTIME_POSITION = 1_000_000_000


class ProjectRows:
    """Runtime entities, project members and acknowledgements, inside the caller's transaction."""

    def runtime_keys(self, conn: Connection) -> set[tuple[str, str]]:
        """The (kind, name) of every entity created at run time."""
        rows = conn.execute(select(entities.c.kind, entities.c.name).where(entities.c.origin != ORIGIN_FILE))
        return {(str(k), str(n)) for k, n in rows}

    def put_runtime_entity(self, conn: Connection, kind: str, name: str, body: str, *, new: bool) -> None:
        """Insert or replace one entity created at run time."""
        if new:
            row = {"kind": kind, "name": name, "position": RUNTIME_POSITION, "body": body, "origin": ORIGIN_RUNTIME}
            conn.execute(insert(entities).values(**row))
        else:
            conn.execute(
                update(entities)
                .where(entities.c.kind == kind, entities.c.name == name, entities.c.origin == ORIGIN_RUNTIME)
                .values(body=body)
            )

    # --- members ------------------------------------------------------------------------

    def project_members(self, conn: Connection) -> list[dict[str, Any]]:
        """Every runtime membership row: project, user, role, status, approvals (a list), reason, added_by, added_at."""
        rows = conn.execute(select(members_table)).mappings()
        return [{**r, "approvals": json.loads(r["approvals"])} for r in rows]

    def project_member(self, conn: Connection, project: str, user: str) -> dict[str, Any] | None:
        """One user's runtime membership row in a project, or None."""
        row = (
            conn.execute(select(members_table).where(members_table.c.project == project, members_table.c.user == user))
            .mappings()
            .first()
        )
        return None if row is None else {**row, "approvals": json.loads(row["approvals"])}

    def put_project_member(
        self,
        conn: Connection,
        project: str,
        user: str,
        role: str,
        added_by: str,
        *,
        status: str = "member",
        approvals: Iterable[str] = (),
        reason: str = "",
    ) -> None:
        """Insert or replace a user's runtime membership row."""
        values = {
            "role": role,
            "status": status,
            "approvals": json.dumps(sorted(set(approvals))),
            "reason": reason,
            "added_by": added_by,
            "added_at": now(),
        }
        done = conn.execute(
            update(members_table)
            .where(members_table.c.project == project, members_table.c.user == user)
            .values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(members_table).values(project=project, user=user, **values))

    def delete_project_members(self, conn: Connection, project: str, users: Iterable[str] | None = None) -> int:
        """Remove members added at run time (all of the project's when ``users`` is None); how many."""
        statement = delete(members_table).where(members_table.c.project == project)
        if users is not None:
            statement = statement.where(members_table.c.user.in_(sorted(set(users))))
        return int(conn.execute(statement).rowcount or 0)

    # --- acknowledgements ---------------------------------------------------------------

    def acknowledgements(self, conn: Connection) -> list[dict[str, Any]]:
        """Every acknowledgement decision: project, user, purpose, statement, decision, decided_at."""
        return [dict(r) for r in conn.execute(select(acknowledgements)).mappings()]

    def put_acknowledgement(
        self, conn: Connection, project: str, user: str, purpose: str, statement: str, decision: str
    ) -> None:
        """Record (replace) a user's decision on one purpose statement of a project."""
        key = (
            acknowledgements.c.project == project,
            acknowledgements.c.user == user,
            acknowledgements.c.purpose == purpose,
        )
        values = {"statement": statement, "decision": decision, "decided_at": now()}
        if conn.execute(update(acknowledgements).where(*key).values(**values)).rowcount == 0:
            conn.execute(insert(acknowledgements).values(project=project, user=user, purpose=purpose, **values))

    def delete_acknowledgements(self, conn: Connection, project: str, users: Iterable[str] | None = None) -> int:
        """Remove a project's acknowledgements (only the given users' when ``users`` is set); how many."""
        statement = delete(acknowledgements).where(acknowledgements.c.project == project)
        if users is not None:
            statement = statement.where(acknowledgements.c.user.in_(sorted(set(users))))
        return int(conn.execute(statement).rowcount or 0)

    # --- validations --------------------------------------------------------------------

    def validations(self, conn: Connection, project: str) -> dict[str, tuple[str, str]]:
        """The last validation of ``project``: user -> (status, validated_at); user "*" is the run itself."""
        rows = conn.execute(
            select(validations_table.c.user, validations_table.c.status, validations_table.c.validated_at).where(
                validations_table.c.project == project
            )
        )
        return {str(u): (str(s), str(t)) for u, s, t in rows}

    def put_validations(self, conn: Connection, project: str, statuses: dict[str, str], at: str) -> None:
        """Replace the last validation of ``project`` with ``statuses`` (user -> status) made at ``at``."""
        conn.execute(delete(validations_table).where(validations_table.c.project == project))
        rows = [{"project": project, "user": u, "status": s, "validated_at": at} for u, s in statuses.items()]
        conn.execute(
            insert(validations_table), [*rows, {"project": project, "user": "*", "status": "", "validated_at": at}]
        )

    # --- who acts under a project -------------------------------------------------------

    def current_projects(self, conn: Connection) -> list[tuple[str, str]]:
        """(user, project) for every user acting under a project."""
        rows = conn.execute(select(current_projects.c.user, current_projects.c.project))
        return [(str(u), str(p)) for u, p in rows]

    def users_acting_under(self, conn: Connection, project: str) -> list[str]:
        """The users whose current project is ``project``."""
        rows = conn.execute(select(current_projects.c.user).where(current_projects.c.project == project))
        return sorted(str(u) for (u,) in rows)

    def clear_current_project(self, conn: Connection, project: str, users: Iterable[str] | None = None) -> None:
        """Make the users acting under ``project`` (or only ``users`` of them) act under no project."""
        statement = delete(current_projects).where(current_projects.c.project == project)
        if users is not None:
            statement = statement.where(current_projects.c.user.in_(sorted(set(users))))
        conn.execute(statement)
