"""The storage wall: governed sources' files readable natively only by the service identity.

:class:`StorageWall` finds every governed source's location (a source's ``location``, and the
Hive table location of each source living in a workspace), says who may read it natively
(:mod:`hdfs_workspace.wall_state`), walks it through the access layer and sets, or reports,
owner, mode and ACLs. Governed reads are unaffected: a governed session reads governed storage
as the service identity (``spark.immuta.hdfs.serviceUser``), the owner of every walled inode.

Changing an owner needs HDFS superuser rights; ``acting_as`` names a superuser the service
identity impersonates for the changes (``hdfs-workspace protect --as USER``). Reading the state
needs only the service identity, which owns (or, in a workspace, is named on) what it checks.
Everything a run refuses (an unknown source, one with no location, a location on no configured
cluster, one it cannot inspect) is refused before the first change. ``check`` instead reports a
source it cannot inspect (its workspace's metastore or its cluster unreachable) as
``wall-unchecked`` drift naming it, and goes on with the others.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from urllib.parse import urlsplit

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.drift import Drift
from hdfs_workspace.errors import HdfsWorkspaceError, NotFound, PermissionDenied, RemoteError, Unavailable
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.status import FileStatus
from hdfs_workspace.wall_state import (
    WallError,
    WallTarget,
    desired_acl,
    inode_drift,
    place,
    workspace_holding,
)
from immuta_spark.engine import Snapshot, compile_plan, make_subject
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.expr import AlwaysTrue
from immuta_spark.model import Permission, Source

__all__ = ["StorageWall"]


class StorageWall:
    """Protect and check governed sources' files; see the module docstring.

    ``manager`` gives the catalog (acting as the person asking), the clusters, each cluster's
    service-identity access and the workspaces' metastores.
    """

    def __init__(self, manager: WorkspaceManager, *, acting_as: str | None = None) -> None:
        self.manager = manager
        self.acting_as = acting_as

    # --- which locations ------------------------------------------------------------------

    def targets(self, source: str | None = None, *, project: str | None = None) -> list[WallTarget]:
        """The walled locations: of ``source``, of the sources in ``project``'s workspace, or of every source.

        A named source that is unknown, has no location or lies on no configured cluster is
        refused; across every source, one on an ``hdfs://`` cluster that is not configured is
        refused too (nothing would wall it), and one on other storage is left out.
        """
        if source is not None:
            snapshot = self.manager.catalog.snapshot()
            in_workspaces, unchecked = self._workspace_locations()
            if blind := [d for d in unchecked if d.name == source]:
                raise WallError(blind[0].found)
            found = snapshot.sources.get(source)
            if found is None:
                raise WallError(
                    f"there is no data source {source!r}: list sources with `immuta-spark source list`, "
                    "or wall every source with `hdfs-workspace protect --all`"
                )
            if source not in in_workspaces and not found.location:
                raise WallError(
                    f"data source {source!r} has no storage location (its table is {found.table}), so there are "
                    "no files to wall: give it `location:` in the policy file, or protect another source"
                )
            target = self._target(snapshot, found, in_workspaces, strict=True)
            assert target is not None
            return [target]
        targets, problems = self.survey(project=project)
        if problems:
            raise WallError("; ".join(d.found for d in problems))
        return targets

    def survey(self, *, project: str | None = None) -> tuple[list[WallTarget], list[Drift]]:
        """Every walled location (only ``project``'s workspace's, if named), and why any source cannot be walled.

        The second list names each source left out: ``wall-location`` (on no configured cluster)
        or ``wall-unchecked`` (its workspace's metastore could not be read), each saying what to do.
        """
        snapshot = self.manager.catalog.snapshot()
        in_workspaces, problems = self._workspace_locations(project)
        targets = []
        for name in sorted(snapshot.sources):
            found = snapshot.sources[name]
            if name not in in_workspaces and not found.location:
                continue
            try:
                target = self._target(snapshot, found, in_workspaces, strict=False)
            except WallError as exc:
                where = "a configured cluster"
                problems.append(
                    Drift(scope="source", name=name, kind="wall-location", path="", expected=where, found=str(exc))
                )
                continue
            if target is not None and (project is None or target.project == project):
                targets.append(target)
        return targets, problems

    def _target(
        self, snapshot: Snapshot, source: Source, in_workspaces: dict[str, tuple[str, str]], *, strict: bool
    ) -> WallTarget | None:
        if source.name in in_workspaces:
            cluster, path = in_workspaces[source.name]
        else:
            assert source.location is not None
            placed = place(source.name, source.location, self.manager.clusters, strict=strict)
            if placed is None:
                return None  # not HDFS: left out of --all
            cluster, path = placed
        config = self.manager.clusters.get(cluster)
        records = {r.project: r for r in self.manager.catalog.workspaces() if r.cluster == cluster}
        project = workspace_holding(source.name, path, ((r.project, r.path) for r in records.values()))
        if project is not None:
            return WallTarget(
                source=source.name,
                cluster=cluster,
                path=path,
                service_user=config.service_user,
                workspace_group=records[project].hadoop_group,
                project=project,
            )
        return WallTarget(
            source=source.name,
            cluster=cluster,
            path=path,
            service_user=config.service_user,
            readers=_native_readers(snapshot, source),
            writers=tuple(sorted(set(source.ingest_users))),
        )

    def _workspace_locations(self, project: str | None = None) -> tuple[dict[str, tuple[str, str]], list[Drift]]:
        """{source: (cluster, path)} of the sources living in a workspace (``project``'s only), from its Hive tables.

        A workspace whose metastore cannot be read leaves its sources out, each as a
        ``wall-unchecked`` finding (second item): one unreachable metastore hides no other source.
        """
        found: dict[str, tuple[str, str]] = {}
        unchecked: list[Drift] = []
        for record in self.manager.catalog.workspaces():
            skip = record.state == "purging" or not record.hive_uri or record.cluster not in self.manager.clusters.names
            if skip or project not in (None, record.project):
                continue
            tables = self.manager.catalog.workspace_sources(record.project)
            if not tables:
                continue
            try:
                with self.manager.metastore(record) as hms:
                    for name, table in sorted(tables.items()):
                        meta = hms.table(record.hive_database, table)
                        if meta is not None and meta.location:
                            found[name] = (record.cluster, posixpath.normpath(urlsplit(meta.location).path or "/"))
            except HdfsWorkspaceError as exc:
                for name in sorted(tables):
                    found.pop(name, None)
                    unchecked.append(_unchecked(name, f"{record.hive_database}.{tables[name]}", exc))
        return found, unchecked

    # --- check and protect ----------------------------------------------------------------

    def check(self, targets: Iterable[WallTarget]) -> list[Drift]:
        """Every inode beneath the targets where the wall does not hold (read only)."""
        return [d for _, _, drifts in self._inodes(targets) for d in drifts]

    def _inodes(self, targets: Iterable[WallTarget]) -> list[tuple[WallTarget, FileStatus | None, list[Drift]]]:
        """(target, inode, its drift) for every inode beneath the targets that drifted.

        A directory the walking identity may not list is one ``wall-unreadable`` finding (inode
        None); the walk goes on beside it, so one closed directory hides nothing else.
        """
        found: list[tuple[WallTarget, FileStatus | None, list[Drift]]] = []
        for target in targets:
            mine: list[tuple[WallTarget, FileStatus | None, list[Drift]]] = []
            try:
                self._walk(target, mine)
            except PermissionDenied:
                raise  # the service may not even look at the location: an error that says so, as before
            except (Unavailable, RemoteError) as exc:
                # The cluster failed us part-way: what this walk saw is no verdict, so none of it counts.
                mine = [(target, None, [_unchecked(target.source, target.path, exc)])]
            found += mine
        return found

    def _walk(self, target: WallTarget, found: list[tuple[WallTarget, FileStatus | None, list[Drift]]]) -> None:
        # With --as, the impersonated superuser walks too: it sees what the service may not yet.
        access = self._writer(target)
        try:
            top = access.status(target.path)
        except NotFound:
            return  # no files yet: nothing to wall (protect walls them once they exist)
        pending = [top]
        while pending:
            status = pending.pop()
            try:
                if drifts := inode_drift(target, status, access.get_acl(status.path)):
                    found.append((target, status, drifts))
                if status.is_dir:
                    pending.extend(reversed(access.list_dir(status.path)))
            except NotFound:
                continue  # deleted while we walked
            except PermissionDenied:
                blind = Drift(
                    scope="source",
                    name=target.source,
                    kind="wall-unreadable",
                    path=status.path,
                    expected=f"walkable by {access.user or target.service_user}",
                    found="permission denied: run with --as <an HDFS superuser> to see and repair it",
                )
                found.append((target, None, [blind]))

    def protect(self, targets: Iterable[WallTarget]) -> list[Drift]:
        """Make the wall hold beneath every target; returns the drift it fixed (empty: nothing to do).

        Owners change first, so a run without the rights to change them fails before any other
        change; then each drifting inode gets its whole ACL (mode bits included). Idempotent.
        """
        targets = list(targets)
        inodes = self._inodes(targets)
        drifts = [d for _, _, found in inodes for d in found]
        if unchecked := [d for d in drifts if d.kind == "wall-unchecked"]:
            raise WallError("; ".join(d.found for d in unchecked) + "; nothing changed")
        if blind := [d for d in drifts if d.kind == "wall-unreadable"]:
            raise WallError(
                "cannot see beneath "
                + ", ".join(f"{d.path} (data source {d.name!r})" for d in blind)
                + ": run again with --as <an HDFS superuser>, which the service identity impersonates; nothing changed"
            )
        for target, status, found in inodes:
            if status is None or not any(d.kind == "wall-owner" for d in found):
                continue
            try:
                self._writer(target).set_owner(status.path, owner=target.service_user)
            except PermissionDenied as exc:
                raise WallError(
                    f"cannot make {target.service_user} the owner of {status.path} (data source {target.source!r}): "
                    "changing an owner needs HDFS superuser rights. Run again with --as <an HDFS superuser> (the "
                    "service identity impersonates it), or have an administrator run `hdfs dfs -chown -R "
                    f"{target.service_user} {target.path}` ({exc.remote_exception or 'permission denied'})"
                ) from exc
        for target, status, _ in inodes:
            assert status is not None
            self._writer(target).set_acl(status.path, desired_acl(target, directory=status.is_dir))
        for target in targets:
            mine = [d.to_json() for d in drifts if d.name == target.source]
            if mine:
                detail = {"path": target.path, "fixed": mine}
                self.manager.catalog.record(action="wall.protect", outcome="ok", sources=[target.source], detail=detail)
        return drifts

    def require_allowed(self, targets: Iterable[WallTarget]) -> None:
        """Refuse (before any change) unless the actor governs, or owns each source or its workspace's project."""
        catalog = self.manager.catalog
        snapshot = catalog.snapshot()
        me = catalog.subject()
        if me.has(Permission.GOVERNANCE):
            return
        for target in targets:
            source = snapshot.sources[target.source]
            project = snapshot.projects.get(target.project) if target.project else None
            if source.is_owner(me.user, me.groups):
                continue
            if project is not None and me.user in snapshot.project_owners(project):
                continue
            catalog.record(
                action="wall.protect", outcome="denied", sources=[target.source], detail={"path": target.path}
            )
            raise WallError(
                f"{me.user} may not change the storage wall of data source {target.source!r}: that needs GOVERNANCE, "
                "ownership of the source, or ownership of the project whose workspace holds it"
            )

    def _writer(self, target: WallTarget) -> HdfsAccess:
        access = self.manager.access(target.cluster)
        return access.as_user(self.acting_as) if self.acting_as else access


def _unchecked(source: str, what: str, exc: Exception) -> Drift:
    """The finding for a source whose location could not be inspected: it names the source and what to do."""
    return Drift(
        scope="source",
        name=source,
        kind="wall-unchecked",
        path=what,
        expected="inspectable",
        found=f"cannot check the wall of data source {source!r}: {exc}; run again once that is reachable",
    )


def _native_readers(snapshot: Snapshot, source: Source) -> tuple[str, ...]:
    """The source's owners (named users) whose governed view of it is the raw data: the wall lets them read natively.

    A group owner gets no entry (its members' views may differ), and any doubt (an unknown
    user, an error compiling the plan) gives none: fail closed.
    """
    readers = []
    for owner in source.owners:
        if owner.user is None:
            continue
        try:
            plan = compile_plan(snapshot, make_subject(snapshot, owner.user), source.name)
        except ImmutaSparkError:
            continue
        unrestricted = (
            plan.allowed
            and not plan.policies_applied
            and not plan.row_policies
            and isinstance(plan.row_filter, AlwaysTrue)
            and plan.differential_privacy is None
            and not any(c.mask for c in plan.columns)
        )
        if unrestricted:
            readers.append(owner.user)
    return tuple(sorted(set(readers)))
