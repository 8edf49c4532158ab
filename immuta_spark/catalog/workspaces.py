"""Project workspaces as the catalog records them (POLICY.md section 6; seed "HDFS Native Workspace").

The catalog holds the desired state: which project has a workspace, where it lives on HDFS, its
Hive database, its Hadoop group and whether it is enabled, plus who holds native access now
(:mod:`immuta_spark.catalog.grants`). ``hdfs_workspace.manager`` makes HDFS and the Hive
metastore match it; the NameNode's group mapping reads the grants. Nothing here talks to HDFS.

Only a project's owners and governors record, change or forget its workspace; a workspace is
recorded only for an equalized project. Every change is audited and moves the grant generation
when grants change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, NoReturn

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.derived import disable_in, unregister_in
from immuta_spark.catalog.grants import DEFAULT_LEASE_SECONDS, GrantRecord, audit_grant, grant_in, snapshot_in
from immuta_spark.errors import NotAuthorized, ProjectError
from immuta_spark.model import Permission

__all__ = ["SOURCE_FATES", "WORKSPACE_STATES", "WorkspaceRecord", "Workspaces"]

#: What purging everything may do to the sources living in a workspace.
SOURCE_FATES = ("disable", "delete")
#: A workspace's life: being created, in use, closed to members (data kept), being purged.
WORKSPACE_STATES = ("enabling", "enabled", "disabled", "purging")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceRecord:
    """Where a project's workspace lives and its state."""

    project: str
    cluster: str
    root: str
    path: str
    uri: str
    hadoop_group: str
    hive_database: str
    hive_uri: str
    state: str
    enabled_by: str
    updated_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WorkspaceRecord:
        """From a ``workspaces`` row."""
        return cls(**{k: row[k] for k in cls.__slots__})  # type: ignore[attr-defined]

    def row(self) -> dict[str, Any]:
        """As a ``workspaces`` row (without ``updated_at``, which the store sets)."""
        return {k: getattr(self, k) for k in self.__slots__ if k != "updated_at"}  # type: ignore[attr-defined]

    @property
    def hive_connection(self) -> str:
        """How to reach the workspace's Hive database (the metastore URI and the database)."""
        return f"{self.hive_uri} database {self.hive_database}" if self.hive_uri else self.hive_database

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {**self.row(), "updated_at": self.updated_at, "hive_connection": self.hive_connection}


class Workspaces(CatalogBase):
    """Workspace records and native-access grants."""

    # --- records ------------------------------------------------------------------------

    def workspace(self, project: str) -> WorkspaceRecord | None:
        """The workspace of ``project``, or None."""
        with self.store.read() as conn:
            row = self.store.workspace_row(conn, project)
        return None if row is None else WorkspaceRecord.from_row(row)

    def workspaces(self) -> list[WorkspaceRecord]:
        """Every workspace, by project."""
        with self.store.read() as conn:
            return [WorkspaceRecord.from_row(r) for r in self.store.workspace_rows(conn)]

    def require_workspace_manager(self, project: str, action: str) -> None:
        """Refuse (audited) unless the actor owns ``project`` or is a governor."""
        snapshot = self.snapshot()
        proj = snapshot.projects.get(project)
        if proj is None:
            self._deny(
                action, project, f"there is no project '{project}'; list projects with `immuta-spark project list`"
            )
        me = self.subject(self.actor)
        if me.user not in snapshot.project_owners(proj) and not me.has(Permission.GOVERNANCE):  # type: ignore[arg-type]
            self._deny(
                action, project, f"only an owner of project '{project}' or a governor may do this", NotAuthorized
            )

    def save_workspace(self, record: WorkspaceRecord, *, action: str, detail: dict[str, Any] | None = None) -> None:
        """Record (or update) a workspace; enabling also grants members already acting under the project.

        An ``enabled`` record needs an equalized project. Audited as ``action``.
        """
        if record.state not in WORKSPACE_STATES:
            raise ProjectError(f"unknown workspace state '{record.state}'; use one of {', '.join(WORKSPACE_STATES)}")
        self.require_workspace_manager(record.project, action)
        project = self.snapshot().projects[record.project]
        if record.state in ("enabling", "enabled") and not project.equalization:
            self._deny(
                action,
                record.project,
                f"project '{record.project}' is not equalized: a workspace is enabled only for an equalized project, "
                f"so that what members write there is at one level of access. Enable equalization "
                f"(`immuta-spark project equalize '{record.project}' --enable`), then enable the workspace",
            )
        with self.store.write() as conn:
            self.store.put_workspace_row(conn, record.row())
            if record.state == "enabled":
                self._grant_current(conn, record.project)
            else:
                for gone in self.store.delete_grants(conn, project=record.project):
                    self._audit_grant(conn, "workspace.revoke", GrantRecord.from_row(gone), f"workspace {record.state}")
            self._audit_change(
                conn, action, record.project, {"state": record.state, "uri": record.uri, **(detail or {})}
            )

    def forget_workspace(self, project: str, *, action: str, detail: dict[str, Any] | None = None) -> None:
        """Forget a workspace entirely (after everything in it was purged); its grants go with it."""
        self.require_workspace_manager(project, action)
        with self.store.write() as conn:
            for gone in self.store.delete_grants(conn, project=project):
                self._audit_grant(conn, "workspace.revoke", GrantRecord.from_row(gone), "workspace purged")
            self.store.delete_workspace_row(conn, project)
            self._audit_change(conn, action, project, detail or {})

    def workspace_sources(self, project: str) -> dict[str, str]:
        """The data sources living in ``project``'s workspace (their table is in its Hive database): {source: table}."""
        record = self.workspace(project)
        if record is None:
            return {}
        prefix = record.hive_database.lower() + "."
        found = self.snapshot().sources.values()
        return {s.name: s.table_key[len(prefix) :] for s in found if s.table_key.startswith(prefix)}

    def retire_workspace_sources(self, project: str, *, how: str) -> list[str]:
        """Disable (``how="disable"``) or delete (``"delete"``) every source living in the workspace; their names.

        For ``purge --all``, whose data goes: a disabled source keeps its record (lineage,
        subscriptions, audit) and answers no query; a deleted one is unregistered. The project's
        owners and governors may do this to every source there, in one transaction, each audited.
        A source a policy file declares is refused (apply would bring it back): nothing changes.
        """
        if how not in SOURCE_FATES:
            raise ProjectError(f"unknown way to retire sources '{how}'; use disable or delete")
        action = f"source.{how}"
        self.require_workspace_manager(project, action)
        names = sorted(self.workspace_sources(project))
        snapshot = self.snapshot()
        declared = [n for n in names if snapshot.sources[n].derived is None]
        if declared:
            self._deny(
                action,
                project,
                f"data source(s) {', '.join(declared)} live in the workspace of project '{project}' but a policy file "
                "declares them: remove them from the file and apply it (or point them elsewhere) before purging "
                "everything",
            )
        reason = f"the data of project '{project}''s workspace was purged"
        with self.store.write() as conn:
            for name in names:
                source = snapshot.sources[name]
                if how == "delete":
                    unregister_in(self.store, conn, snapshot, name)
                elif source.derived is not None and source.derived.disabled is None:
                    disable_in(self.store, conn, source, reason)
                self._audit_in(conn, action, "ok", name, {"source": name, "reason": reason}, project=project)
            if names:
                self.store.bump(conn)
        return names

    def audit_workspace(self, action: str, project: str, outcome: str, detail: dict[str, Any]) -> None:
        """An audit record for a workspace operation (its refusals, failures and repairs)."""
        self.record(action=action, outcome=outcome, project=project, detail={"project": project, **detail})

    # --- grants -------------------------------------------------------------------------

    def workspace_grants(self, project: str | None = None, user: str | None = None) -> list[GrantRecord]:
        """The grants held now (expired ones included until pruned), optionally filtered."""
        with self.store.read() as conn:
            return [GrantRecord.from_row(r) for r in self.store.grant_rows(conn, project=project, user=user)]

    def grant_generation(self) -> tuple[int, dict[str, tuple[int, float]]]:
        """The grant generation, and what each NameNode acknowledged: {node: (generation, acked_at)}."""
        with self.store.read() as conn:
            acks = {a["node"]: (int(a["generation"]), float(a["acked_at"])) for a in self.store.grant_acks(conn)}
            return self.store.grant_generation(conn), acks

    def renew_workspace_access(
        self, *, holder: str = "context", lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> GrantRecord | None:
        """Grant or extend the actor's access to the workspace of the project they act under (None: none now).

        Checked again each time, so a renewal after the member fell out of compliance drops the
        grant instead. Audited when a grant starts or ends, not on every extension.
        """
        with self.store.write() as conn:
            project = self.store.current_project(conn, self.actor)
            before = self.store.grant_rows(conn, user=self.actor)
            if project is None:
                for gone in self.store.delete_grants(conn, user=self.actor, holder=holder):
                    self._audit_grant(conn, "workspace.revoke", GrantRecord.from_row(gone), "acting under no project")
                return None
            snapshot = snapshot_in(self.store, conn, self._snapshot)
            grant, why = grant_in(
                self.store, conn, snapshot, user=self.actor, project=project, holder=holder, lease_seconds=lease_seconds
            )
            had = any(r["project"] == project and r["holder"] == holder for r in before)
            if grant is not None and not had:
                self._audit_grant(conn, "workspace.grant", grant, "renewed")
            elif grant is None and had:
                old = next(r for r in before if r["project"] == project and r["holder"] == holder)
                self._audit_grant(conn, "workspace.revoke", GrantRecord.from_row(old), why or "")
            return grant

    def release_workspace_access(self, *, holder: str = "context") -> list[GrantRecord]:
        """Give up the actor's grants held by ``holder`` (a session that stops)."""
        with self.store.write() as conn:
            gone = [GrantRecord.from_row(g) for g in self.store.delete_grants(conn, user=self.actor, holder=holder)]
            for grant in gone:
                self._audit_grant(conn, "workspace.revoke", grant, "released")
            return gone

    def expire_workspace_grants(self) -> list[GrantRecord]:
        """Delete grants whose lease ran out (the NameNode already ignores them; this tidies the table)."""
        with self.store.write() as conn:
            gone = [GrantRecord.from_row(g) for g in self.store.delete_grants(conn, expired_before=time.time())]
            for grant in gone:
                self._audit_grant(conn, "workspace.revoke", grant, "its lease ran out")
            return gone

    # --- helpers ------------------------------------------------------------------------

    def _grant_current(self, conn: Any, project: str) -> None:
        """Grant every member now acting under ``project`` (on enable): holder ``context``."""
        snapshot = snapshot_in(self.store, conn, self._snapshot)
        for user, current in self.store.current_projects(conn):
            if current != project:
                continue
            grant, _ = grant_in(
                self.store,
                conn,
                snapshot,
                user=user,
                project=project,
                holder="context",
                lease_seconds=DEFAULT_LEASE_SECONDS,
            )
            if grant is not None:
                self._audit_grant(conn, "workspace.grant", grant, "workspace enabled")

    def _audit_change(self, conn: Any, action: str, project: str, detail: dict[str, Any]) -> None:
        """The audit record of a workspace change, in the change's own transaction."""
        self.store.append_audit(
            conn,
            user=self.actor,
            impersonator=self._impersonator(),
            action=action,
            outcome="ok",
            project=project,
            detail={"project": project, **detail},
        )

    def _audit_grant(self, conn: Any, action: str, grant: GrantRecord, reason: str) -> None:
        audit_grant(self.store, conn, action, grant, reason, impersonator=self._impersonator())

    def _deny(self, action: str, project: str, why: str, error: type[Exception] = ProjectError) -> NoReturn:
        self.refuse(action, why, project=project, detail={"project": project}, error=error)
