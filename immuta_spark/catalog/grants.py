"""Native-access grants to project workspaces: when a member holds one, and keeping that true.

Seed ("HDFS Native Workspace"): "When a user is acting under the project context, Immuta will
provide them read/write access to the project HDFS directory ... Once a user is not acting
under the project, all access to that directory will be revoked". A grant row
(``workspace_grants``) is what the NameNode's group mapping reads: while it exists and its lease
runs, the member is in the workspace's Hadoop group. A grant is valid only while

1. the workspace is enabled,
2. the project is equalized (what members write there is at the equalized level),
3. the member acts under the project (their current project, section 6), and
4. the member may act under it now (:func:`project_access_problem`: a member, every purpose
   acknowledged, in compliance with the entitlement).

Every write keeps it so, inside its own transaction: :meth:`ProjectContext.switch_project`
grants and revokes with the switch; every other change that moves the catalog's revision runs
:func:`prune_grants` before it commits (the store's revision hook), so a member who leaves, falls
out of compliance or loses the project's equalization loses the grant in that same commit.
Leases end grants whose holder (a session) died without releasing them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from immuta_spark.catalog.base import read_snapshot
from immuta_spark.engine import Snapshot
from immuta_spark.engine.subjects import project_access_problem
from immuta_spark.store import Store

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "GrantRecord",
    "audit_grant",
    "grant_in",
    "grant_problem",
    "prune_grants",
    "snapshot_in",
]

#: How long a grant lasts without renewal (a governed session renews its own while it runs).
DEFAULT_LEASE_SECONDS = 900.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantRecord:
    """One holder's native access to a project's workspace, until ``expires_at`` (unix seconds)."""

    project: str
    user: str
    holder: str
    hadoop_group: str
    expires_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> GrantRecord:
        """From a ``workspace_grants`` row."""
        return cls(
            project=row["project"],
            user=row["user_name"],
            holder=row["holder"],
            hadoop_group=row["hadoop_group"],
            expires_at=float(row["expires_at"]),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "project": self.project,
            "user": self.user,
            "holder": self.holder,
            "hadoop_group": self.hadoop_group,
            "expires_at": self.expires_at,
        }


def snapshot_in(store: Store, conn: Any, cached: Snapshot | None = None) -> Snapshot:
    """The snapshot as of the caller's transaction (``cached`` when it is still current)."""
    revision = store.revision(conn)
    if cached is not None and cached.revision == revision:
        return cached
    return read_snapshot(store, conn, revision)


def grant_problem(snapshot: Snapshot, workspace: dict[str, Any] | None, user: str, current: str | None) -> str | None:
    """Why ``user`` may not hold a grant on ``workspace`` now (None: they may), saying what to do."""
    if workspace is None:
        return "the project has no workspace; its owner enables one with `hdfs-workspace enable PROJECT`"
    name = workspace["project"]
    if workspace["state"] != "enabled":
        return f"the workspace of project '{name}' is {workspace['state']}; its owner may enable it again"
    project = snapshot.projects.get(name)
    if project is None:
        return f"there is no project '{name}' any more"
    if not project.equalization:
        return (
            f"project '{name}' is not equalized, and a workspace holds data at the project's equalized level; "
            "its owner enables equalization first"
        )
    if current != name:
        return (
            f"user '{user}' is not acting under project '{name}'; switch to it "
            f"(`immuta-spark project switch '{name}'`) to reach its workspace"
        )
    return project_access_problem(snapshot, project, user)


def grant_in(
    store: Store,
    conn: Any,
    snapshot: Snapshot,
    *,
    user: str,
    project: str,
    holder: str,
    lease_seconds: float,
) -> tuple[GrantRecord | None, str | None]:
    """Grant (or extend) ``holder``'s access for ``user`` if valid now; else drop it. Returns (grant, why not).

    Runs in the caller's write transaction, against ``snapshot`` as of that transaction, so a
    revocation that committed first always wins: the check sees it.
    """
    workspace = store.workspace_row(conn, project)
    problem = grant_problem(snapshot, workspace, user, store.current_project(conn, user))
    if problem is not None or workspace is None:  # no workspace is always a problem; the check narrows the type
        store.delete_grants(conn, project=project, user=user, holder=holder)
        return None, problem
    # The catalog, not the session, bounds the lease: a session asking for a year must not
    # leave a grant that outlives it by a year when it dies.
    expires = time.time() + min(lease_seconds, snapshot.governance.settings.workspace_lease_max_seconds)
    group = str(workspace["hadoop_group"])
    store.put_grant(conn, project=project, user=user, holder=holder, hadoop_group=group, expires_at=expires)
    grant = GrantRecord(project=project, user=user, holder=holder, hadoop_group=group, expires_at=expires)
    return grant, None


def audit_grant(
    store: Store, conn: Any, action: str, grant: GrantRecord, reason: str, *, impersonator: str | None = None
) -> None:
    """The audit record of one grant starting (``workspace.grant``) or ending (``workspace.revoke``)."""
    store.append_audit(
        conn,
        user=grant.user,
        impersonator=impersonator,
        action=action,
        outcome="ok",
        project=grant.project,
        detail={"project": grant.project, "holder": grant.holder, "hadoop_group": grant.hadoop_group, "reason": reason},
    )


def prune_grants(store: Store, conn: Any) -> list[GrantRecord]:
    """Drop every grant that is no longer valid or whose lease ran out, each audited (the revision hook)."""
    if not store.has_grants(conn):
        return []
    snapshot = snapshot_in(store, conn)
    workspaces = {w["project"]: w for w in store.workspace_rows(conn)}
    gone: list[GrantRecord] = []
    moment = time.time()
    for row in store.grant_rows(conn):
        grant = GrantRecord.from_row(row)
        if grant.expires_at <= moment:
            why = "its lease ran out"
        else:
            why = grant_problem(
                snapshot, workspaces.get(grant.project), grant.user, store.current_project(conn, grant.user)
            )
        if why is None:
            continue
        store.delete_grants(conn, project=grant.project, user=grant.user, holder=grant.holder)
        audit_grant(store, conn, "workspace.revoke", grant, why)
        gone.append(grant)
    return gone
