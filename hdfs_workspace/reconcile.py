"""``hdfs-workspace check``: drift between the catalog's desired state and the NameNode, and repair.

For each workspace the catalog records, :func:`check` compares what HDFS and the metastore hold
with what :mod:`hdfs_workspace.layout` says they should: the directory exists, belongs to the
service identity, has mode 0770 and exactly the expected ACL; the Hive database exists and points
at the directory; no grant outlived its lease or its validity; the NameNode has put the current
grant generation in force; no enable or purge was left half done. A metastore it cannot reach
is ``unreachable-metastore`` drift of that workspace (saying what to do); the others are still
checked. :func:`repair` converges each
finding (re-running the idempotent step that produces it) and audits what it did.
"""

from __future__ import annotations

import time

from hdfs_workspace.acl import AclEntry, AclEntryType
from hdfs_workspace.drift import Drift
from hdfs_workspace.errors import NotFound
from hdfs_workspace.hive import MetastoreError
from hdfs_workspace.layout import WORKSPACE_MODE, expected_acl, layout_for
from hdfs_workspace.manager import WorkspaceError, WorkspaceManager
from immuta_spark.catalog.workspaces import WorkspaceRecord

__all__ = ["Drift", "check", "repair"]

#: Drift no repair step converges: the next check reports it again until someone fixes its cause.
UNREPAIRABLE = ("unreachable-metastore",)

#: How long check waits for the NameNode to acknowledge the grant generation before calling it drift.
ACK_GRACE_SECONDS = 5.0


def check(manager: WorkspaceManager, project: str | None = None) -> list[Drift]:
    """Every drift of one workspace, or of all of them."""
    records = [r for r in manager.catalog.workspaces() if project is None or r.project == project]
    if project is not None and not records:
        return [
            Drift(
                scope="project", name=project, kind="no-workspace", path="", expected="a workspace record", found="none"
            )
        ]
    found: list[Drift] = []
    for record in records:
        found += _directory_drift(manager, record)
        found += _database_drift(manager, record)
        found += _grant_drift(manager, record)
        if record.state in ("enabling", "purging"):
            found.append(_drift(record, "interrupted", record.path, "enabled or disabled", record.state))
    found += _namenode_drift(manager)
    return found


def repair(manager: WorkspaceManager, project: str | None = None) -> list[Drift]:
    """Converge every drift :func:`check` finds; returns what was repaired (each audited)."""
    drifts = check(manager, project)
    done: list[Drift] = []
    for name in sorted({d.name for d in drifts if d.name != "*"}):
        mine = [d for d in drifts if d.name == name]
        record = manager.catalog.workspace(name)
        if record is None:
            continue
        kinds = {d.kind for d in mine}
        if "interrupted" in kinds and record.state == "enabling":
            manager.enable(name)
        elif "interrupted" in kinds and record.state == "purging":
            manager.purge(name, everything=True, sources="delete")
        else:
            if kinds & {"missing-directory", "owner", "mode", "acl"}:
                config = manager.clusters.get(record.cluster)
                manager.converge_directory(config, layout_for(record.project, record.root))
            if "missing-database" in kinds and record.hive_uri:
                manager.converge_database(record)
        if "stale-grant" in kinds:
            manager.catalog.expire_workspace_grants()
            # Renewal re-checks validity; invalid grants were already pruned by the catalog's hook.
        mine = [d for d in mine if d.kind not in UNREPAIRABLE]
        done += mine
        manager.catalog.audit_workspace("workspace.repair", name, "ok", {"repaired": [d.to_json() for d in mine]})
    if any(d.name == "*" for d in drifts):
        manager.wait_in_force()
        done += [d for d in drifts if d.name == "*"]
    return done


def _drift(record: WorkspaceRecord, kind: str, path: str, expected: str, found: str) -> Drift:
    return Drift(scope="project", name=record.project, kind=kind, path=path, expected=expected, found=found)


def _directory_drift(manager: WorkspaceManager, record: WorkspaceRecord) -> list[Drift]:
    if record.state == "purging":
        return []
    access = manager.access(record.cluster)
    service = manager.clusters.get(record.cluster).service_user
    try:
        status = access.status(record.path)
        acl = access.get_acl(record.path)
    except NotFound:
        return [_drift(record, "missing-directory", record.path, "a directory", "missing")]
    found = []
    if status.owner != service:
        found.append(_drift(record, "owner", record.path, service, status.owner))
    if status.mode & 0o7777 != WORKSPACE_MODE:
        found.append(_drift(record, "mode", record.path, f"{WORKSPACE_MODE:o}", f"{status.mode & 0o7777:o}"))
    # The access scope's owner, mask and other entries are the mode bits: drift there is "mode".
    want = sorted(e.spec() for e in expected_acl(record.hadoop_group, service) if _beyond_mode(e))
    have = sorted(e.spec() for e in acl.full_entries() if _beyond_mode(e))
    if want != have:
        extra = sorted(set(have) - set(want))
        missing = sorted(set(want) - set(have))
        found.append(
            _drift(
                record,
                "acl",
                record.path,
                "missing: " + (",".join(missing) or "-"),
                "extra: " + (",".join(extra) or "-"),
            )
        )
    return found


def _beyond_mode(entry: AclEntry) -> bool:
    """Whether an ACL entry is more than the mode bits show (a named or default entry, or the owning group)."""
    return entry.is_default or entry.is_named or entry.kind is AclEntryType.GROUP


def _database_drift(manager: WorkspaceManager, record: WorkspaceRecord) -> list[Drift]:
    if not record.hive_uri or record.state == "purging":
        return []
    try:
        with manager.metastore(record) as hms:
            database = hms.database(record.hive_database)
    except MetastoreError as exc:
        # Reported, not guessed: the other workspaces are still checked, and the exit code stays 1.
        expected = f"readable at {record.hive_uri}"
        return [_drift(record, "unreachable-metastore", record.hive_database, expected, str(exc))]
    if database is None:
        return [_drift(record, "missing-database", record.hive_database, record.uri, "missing")]
    if database.location.rstrip("/") != record.uri.rstrip("/"):
        return [_drift(record, "database-location", record.hive_database, record.uri, database.location)]
    return []


def _grant_drift(manager: WorkspaceManager, record: WorkspaceRecord) -> list[Drift]:
    moment = time.time()
    found = []
    for grant in manager.catalog.workspace_grants(project=record.project):
        if grant.expires_at <= moment:
            found.append(
                _drift(record, "stale-grant", record.path, "no grant past its lease", f"{grant.user} ({grant.holder})")
            )
        elif record.state != "enabled":
            found.append(
                _drift(record, "stale-grant", record.path, f"no grant on a {record.state} workspace", grant.user)
            )
    return found


def _namenode_drift(manager: WorkspaceManager) -> list[Drift]:
    if not manager.catalog.workspaces():
        return []
    try:
        manager.wait_in_force(timeout=ACK_GRACE_SECONDS)
    except WorkspaceError as exc:
        generation, acks = manager.catalog.grant_generation()
        seen = ", ".join(f"{n}: {g}" for n, (g, _) in acks.items()) or "no acknowledgement"
        return [
            Drift(
                scope="project",
                name="*",
                kind="namenode",
                path="",
                expected=f"generation {generation}",
                found=f"{seen} ({exc})",
            )
        ]
    return []
