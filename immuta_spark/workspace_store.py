"""The store's workspace state (part of :class:`immuta_spark.store.Store`).

Two kinds of rows: each project workspace (where it lives on HDFS, its Hive database, its
state), and the native-access grants a member holds while acting under the project. The grants
table is read by the NameNode's group mapping (``hdfs_workspace/jvm/WorkspaceGroupsMapping.java``),
so every change of it bumps ``workspace_grant_generation`` in the same transaction, and each
NameNode acknowledges the generation it has put in force in ``workspace_grant_acks``. Every
method runs inside the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from immuta_spark.schema import now, workspace_grant_acks, workspace_grant_generation, workspace_grants, workspaces

__all__ = ["WorkspaceRows"]


class WorkspaceRows:
    """Workspace rows and native-access grants, inside the caller's transaction."""

    # --- workspaces ---------------------------------------------------------------------

    def workspace_rows(self, conn: Connection) -> list[dict[str, Any]]:
        """Every workspace row, by project name."""
        return [dict(r) for r in conn.execute(select(workspaces).order_by(workspaces.c.project)).mappings()]

    def workspace_row(self, conn: Connection, project: str) -> dict[str, Any] | None:
        """One project's workspace row, or None."""
        row = conn.execute(select(workspaces).where(workspaces.c.project == project)).mappings().first()
        return None if row is None else dict(row)

    def put_workspace_row(self, conn: Connection, row: dict[str, Any]) -> None:
        """Insert or replace a project's workspace row (``updated_at`` is set here)."""
        values = {**row, "updated_at": now()}
        done = conn.execute(update(workspaces).where(workspaces.c.project == row["project"]).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(workspaces).values(**values))

    def delete_workspace_row(self, conn: Connection, project: str) -> None:
        """Forget a project's workspace (after a purge of everything)."""
        conn.execute(delete(workspaces).where(workspaces.c.project == project))

    # --- grants -------------------------------------------------------------------------

    def grant_rows(
        self, conn: Connection, *, project: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Grant rows (project, user_name, holder, hadoop_group, expires_at), optionally filtered."""
        query = select(workspace_grants)
        if project is not None:
            query = query.where(workspace_grants.c.project == project)
        if user is not None:
            query = query.where(workspace_grants.c.user_name == user)
        order = (workspace_grants.c.project, workspace_grants.c.user_name, workspace_grants.c.holder)
        return [dict(r) for r in conn.execute(query.order_by(*order)).mappings()]

    def has_grants(self, conn: Connection) -> bool:
        """Whether any grant row exists (cheap: the revision hook skips its work otherwise)."""
        return conn.execute(select(workspace_grants.c.project).limit(1)).first() is not None

    def put_grant(
        self, conn: Connection, *, project: str, user: str, holder: str, hadoop_group: str, expires_at: float
    ) -> None:
        """Insert or extend one holder's grant, and bump the generation."""
        key = (
            workspace_grants.c.project == project,
            workspace_grants.c.user_name == user,
            workspace_grants.c.holder == holder,
        )
        done = conn.execute(
            update(workspace_grants).where(*key).values(hadoop_group=hadoop_group, expires_at=expires_at)
        )
        if done.rowcount == 0:
            conn.execute(
                insert(workspace_grants).values(
                    project=project, user_name=user, holder=holder, hadoop_group=hadoop_group, expires_at=expires_at
                )
            )
        self.bump_grants(conn)

    def delete_grants(
        self,
        conn: Connection,
        *,
        project: str | None = None,
        user: str | None = None,
        holder: str | None = None,
        except_project: str | None = None,
        expired_before: float | None = None,
    ) -> list[dict[str, Any]]:
        """Delete the matching grants (bumping the generation when any were) and return them."""
        where = []
        if project is not None:
            where.append(workspace_grants.c.project == project)
        if user is not None:
            where.append(workspace_grants.c.user_name == user)
        if holder is not None:
            where.append(workspace_grants.c.holder == holder)
        if except_project is not None:
            where.append(workspace_grants.c.project != except_project)
        if expired_before is not None:
            where.append(workspace_grants.c.expires_at <= expired_before)
        gone = [dict(r) for r in conn.execute(select(workspace_grants).where(*where)).mappings()]
        if gone:
            conn.execute(delete(workspace_grants).where(*where))
            self.bump_grants(conn)
        return gone

    def bump_grants(self, conn: Connection) -> int:
        """Move the grant generation on: the NameNode reloads grants when it changes."""
        current = self.grant_generation(conn)
        conn.execute(
            update(workspace_grant_generation)
            .where(workspace_grant_generation.c.id == 1)
            .values(generation=current + 1)
        )
        return current + 1

    def grant_generation(self, conn: Connection) -> int:
        """The current grant generation."""
        return int(
            conn.execute(
                select(workspace_grant_generation.c.generation).where(workspace_grant_generation.c.id == 1)
            ).scalar()
            or 0
        )

    def grant_acks(self, conn: Connection) -> list[dict[str, Any]]:
        """What each NameNode acknowledged: node, generation, acked_at (unix seconds)."""
        return [
            dict(r) for r in conn.execute(select(workspace_grant_acks).order_by(workspace_grant_acks.c.node)).mappings()
        ]
