"""The workspace manager: a project's HDFS directory and Hive database, enabled, disabled, purged.

Seed ("HDFS Native Workspace"): once a project is equalized, its owner enables a workspace,
"which creates a workspace directory in HDFS (and a corresponding database in the Hive
metastore) where users can write files"; members reach it only while acting under the project;
the owner may disable it (members lose read and write, data and sources stay) and, after that,
purge the data that belongs to no source, or everything.

The catalog (:class:`immuta_spark.catalog.GovernanceCatalog`) holds the desired state and the
grants; this class makes HDFS and the metastore match it, acting as the cluster's service
identity. Every step is idempotent, so a run that failed halfway is finished by running it
again (or by ``check --repair``, :mod:`hdfs_workspace.reconcile`). The Hive database is never
dropped while its directory holds anything: ``DROP DATABASE ... CASCADE`` deletes the
database's LOCATION, which is where sources live.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.acl import FsAction
from hdfs_workspace.config import WORKSPACE_OPT_OUT_KEY, ClusterConfig, ClustersFile
from hdfs_workspace.errors import NotFound, PermissionDenied, WorkspaceError
from hdfs_workspace.hive import HiveMetastore
from hdfs_workspace.hive_tables import HiveTableSpec
from hdfs_workspace.layout import WORKSPACE_MODE, WorkspaceLayout, expected_acl, layout_for
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.workspaces import SOURCE_FATES, WorkspaceRecord

__all__ = ["SOURCE_FATES", "MetastoreClient", "WorkspaceError", "WorkspaceManager"]

#: How long to wait for the NameNode to put a grant change in force before failing.
DEFAULT_IN_FORCE_TIMEOUT = 10.0


class MetastoreClient(Protocol):
    """What the manager needs from a Hive metastore (:class:`hdfs_workspace.hive.HiveMetastore`)."""

    def database(self, name: str) -> Any:
        """The database (with ``.location``), or None."""
        ...

    def create_database(self, name: str, *, location: str, description: str = "", owner: str | None = None) -> None:
        """Create a database whose LOCATION is ``location``."""
        ...

    def drop_database(self, name: str) -> None:
        """Drop an empty database, never deleting its data."""
        ...

    def tables(self, database: str) -> list[str]:
        """The tables of a database."""
        ...

    def table(self, database: str, name: str) -> Any:
        """The table (with ``.location``), or None."""
        ...

    def drop_table(self, database: str, name: str) -> None:
        """Drop a table's metadata, never its data; missing is fine."""
        ...

    def create_table(self, spec: HiveTableSpec) -> None:
        """Create the external table ``spec`` describes (metadata only)."""
        ...

    def add_partitions(self, spec: HiveTableSpec, partitions: Sequence[tuple[Sequence[str | None], str]]) -> int:
        """Register ``(values, location)`` partitions of the table ``spec``; how many were added."""
        ...


Progress = Callable[[str], None]


def _default_metastore(uri: str, user: str) -> AbstractContextManager[MetastoreClient]:
    return HiveMetastore.connect(uri, user=user)


def _quiet(_: str) -> None:
    return None


class WorkspaceManager:
    """Enable, disable and purge project workspaces; see the module docstring.

    ``catalog`` acts as the person asking (a project owner or a governor); ``access(cluster)``
    gives the cluster's service identity (default: :func:`hdfs_workspace.webhdfs.connect`);
    ``metastore(uri, user)`` opens a metastore client acting as ``user`` (default:
    :class:`hdfs_workspace.hive.HiveMetastore`). ``progress`` receives one line per step.
    """

    def __init__(
        self,
        catalog: GovernanceCatalog,
        clusters: ClustersFile,
        *,
        access: Callable[[ClusterConfig], HdfsAccess] | None = None,
        metastore: Callable[[str, str], AbstractContextManager[MetastoreClient]] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.catalog = catalog
        self.clusters = clusters
        self._access_factory = access or _default_access
        self._open_metastore = metastore or _default_metastore
        self.progress = progress or _quiet
        self._accesses: dict[str, HdfsAccess] = {}

    # --- configuration --------------------------------------------------------------------

    def metastore(self, record: WorkspaceRecord) -> AbstractContextManager[MetastoreClient]:
        """A client of the workspace's Hive metastore acting as its cluster's service identity."""
        if not record.hive_uri:
            raise WorkspaceError(f"the workspace of {record.project} has no Hive metastore: enable it with --hive URI")
        return self._open_metastore(record.hive_uri, self.clusters.get(record.cluster).service_user)

    def access(self, cluster: str) -> HdfsAccess:
        """The service identity's access to ``cluster`` (one per cluster, reused)."""
        if cluster not in self._accesses:
            self._accesses[cluster] = self._access_factory(self.clusters.get(cluster))
        return self._accesses[cluster]

    def root(self) -> str:
        """The workspace root the catalog's settings name (``settings.workspace_root``)."""
        return self.catalog.snapshot().governance.settings.workspace_root

    def pick_cluster(self, name: str | None) -> ClusterConfig:
        """The cluster to enable on: named, or the only one (the seed: asked when there are several)."""
        if name is None:
            if len(self.clusters.clusters) != 1:
                raise WorkspaceError(
                    f"{len(self.clusters.clusters)} clusters are configured ({', '.join(self.clusters.names)}): "
                    "say which one the workspace goes to with --cluster NAME"
                )
            return self.clusters.clusters[0]
        return self.clusters.get(name)

    def check_root(self, cluster: ClusterConfig, root: str) -> None:
        """Refuse an opted-out cluster, a root other than the existing workspaces', or one the service cannot use."""
        if cluster.workspace_opt_out:
            raise WorkspaceError(
                f"cluster '{cluster.name}' is marked unavailable for workspaces: its core-site.xml sets "
                f"{WORKSPACE_OPT_OUT_KEY}=true ({cluster.hadoop_conf_dir}); pick another cluster, or ask its "
                "administrators to remove the key"
            )
        others = {w.root for w in self.catalog.workspaces()}
        if others and others != {root}:
            raise WorkspaceError(
                f"the workspace root is {root} in the catalog's settings, but existing workspaces live under "
                f"{', '.join(sorted(others))}: the root can change only while no workspace exists. Set "
                "settings.workspace_root back, or purge every workspace first"
            )
        self.check_service_root(cluster, root)

    def check_service_root(self, cluster: ClusterConfig, root: str) -> None:
        """Create ``root`` if missing (when allowed) and refuse it unless the service identity has rwx on it."""
        access = self.access(cluster.name)
        if not access.exists(root):
            try:
                access.makedirs(root, mode=0o755)
            except PermissionDenied as exc:
                raise WorkspaceError(
                    f"the workspace root {root} does not exist on cluster '{cluster.name}' and the service "
                    f"identity '{cluster.service_user}' may not create it: ask an HDFS administrator to create it "
                    f"owned by {cluster.service_user} (hdfs dfs -mkdir -p {root}; hdfs dfs -chown "
                    f"{cluster.service_user} {root})"
                ) from exc
        if not access.check_access(root, FsAction.ALL):
            raise WorkspaceError(
                f"the service identity '{cluster.service_user}' lacks full access (rwx) to the workspace root "
                f"{root} on cluster '{cluster.name}', which it needs (seed: the Immuta user must have full access "
                f"to that directory): ask an HDFS administrator to run hdfs dfs -chown {cluster.service_user} "
                f"{root}, or hdfs dfs -setfacl -m user:{cluster.service_user}:rwx {root}"
            )

    # --- lifecycle ------------------------------------------------------------------------

    def enable(self, project: str, *, cluster: str | None = None, hive_uri: str | None = None) -> WorkspaceRecord:
        """Create (or finish creating) ``project``'s workspace: directory, ACL, Hive database; grant members.

        Only an owner of an equalized project (or a governor) may. Returns the record, whose
        ``uri`` and ``hive_connection`` the project page shows.
        """
        self.catalog.require_workspace_manager(project, "workspace.enable")
        existing = self.catalog.workspace(project)
        config = self.clusters.get(existing.cluster) if existing is not None else self.pick_cluster(cluster)
        root = existing.root if existing is not None else self.root()
        layout = layout_for(project, root)
        self.progress(f"checking the workspace root {root} on cluster '{config.name}'")
        self.check_root(config, root)
        hive = hive_uri or (existing.hive_uri if existing is not None else None) or config.hive_metastore_uri or ""
        record = WorkspaceRecord(
            project=project,
            cluster=config.name,
            root=root,
            path=layout.path,
            uri=layout.uri(config.fs_uri),
            hadoop_group=layout.hadoop_group,
            hive_database=layout.hive_database,
            hive_uri=hive,
            state="enabling",
            enabled_by=self.catalog.actor,
        )
        self.catalog.save_workspace(record, action="workspace.enabling")
        self.converge_directory(config, layout)
        if hive:
            self.converge_database(record)
        final = replace(record, state="enabled")
        self.catalog.save_workspace(final, action="workspace.enable")
        self.progress(f"enabled: {final.uri}" + (f" (Hive: {final.hive_connection})" if hive else ""))
        return self.catalog.workspace(project) or final

    def disable(self, project: str, *, timeout: float = DEFAULT_IN_FORCE_TIMEOUT) -> WorkspaceRecord:
        """Close the workspace to members at once; data and sources stay. Returns when the NameNode agrees."""
        record = self._record(project, "workspace.disable")
        if record.state in ("enabled", "enabling"):
            record = replace(record, state="disabled")
            self.catalog.save_workspace(record, action="workspace.disable")
        self.progress("waiting for the NameNode to drop the project's group")
        self.wait_in_force(timeout=timeout)
        return record

    def purge(self, project: str, *, everything: bool = False, sources: str | None = None) -> list[str]:
        """Delete workspace data after ``disable``; returns the paths deleted.

        Without ``everything``: only data that belongs to no data source. With it, ``sources``
        says what happens to the sources living there: ``disable`` (kept in the catalog with
        their record, answering no query) or ``delete`` (unregistered). Their Hive tables are
        dropped (metadata only) once their data is gone, then the database (never with
        CASCADE, never deleting data), and the workspace is forgotten.
        """
        record = self._record(project, "workspace.purge")
        if record.state not in ("disabled", "purging"):
            raise WorkspaceError(
                f"the workspace of project '{project}' is {record.state}: purge only after disabling it "
                f"(`hdfs-workspace disable '{project}'`)"
            )
        if everything and sources not in SOURCE_FATES:
            raise WorkspaceError(
                "purging everything deletes the data of the sources living in the workspace: say what happens to "
                "those sources with --sources disable (kept, answering no query) or --sources delete"
            )
        access = self.access(record.cluster)
        keep = set() if everything else self.source_locations(record)
        retired: list[str] = []
        if everything:
            assert sources is not None
            self.catalog.save_workspace(replace(record, state="purging"), action="workspace.purging")
            # Their Hive tables go first (metadata only), while the catalog still names them, so
            # that a rerun after a crash never meets a table no source owns.
            self.drop_source_tables(record)
            retired = self.catalog.retire_workspace_sources(project, how=sources)
            for name in retired:
                self.progress(f"data source '{name}' {sources}d")
        deleted = []
        for entry in _children(access, record.path):
            if any(entry.path == k or k.startswith(entry.path + "/") for k in keep):
                if entry.path not in keep:
                    deleted += self._purge_beside(access, entry.path, keep)
                continue
            self.progress(f"deleting {entry.path}")
            access.delete(entry.path, recursive=True)
            deleted.append(entry.path)
        if everything:
            if record.hive_uri:
                with self.metastore(record) as hms:
                    if hms.database(record.hive_database) is not None:
                        if left := hms.tables(record.hive_database):
                            raise WorkspaceError(
                                f"the Hive database {record.hive_database} still has tables "
                                f"({', '.join(left)}) that no data source owns: drop them "
                                "(their data is already deleted), then run the purge again"
                            )
                        hms.drop_database(record.hive_database)
            access.delete(record.path, recursive=True)
            detail = {"deleted": deleted, "all": True, "sources": sources, "retired": retired}
            self.catalog.forget_workspace(project, action="workspace.purge", detail=detail)
        else:
            self.catalog.audit_workspace("workspace.purge", project, "ok", {"deleted": deleted, "all": False})
        return deleted

    # --- grants in force ------------------------------------------------------------------

    def wait_in_force(self, *, timeout: float = DEFAULT_IN_FORCE_TIMEOUT) -> int:
        """Wait until every NameNode acknowledged the current grant generation; return it.

        Reads only the catalog (the NameNode writes its acknowledgement there): no NameNode call.
        """
        deadline = time.monotonic() + timeout
        while True:
            generation, acks = self.catalog.grant_generation()
            if acks and all(g >= generation for g, _ in acks.values()):
                return generation
            if time.monotonic() > deadline:
                seen = ", ".join(f"{n} at {g}" for n, (g, _) in acks.items()) or "no NameNode has acknowledged any"
                raise WorkspaceError(
                    f"the NameNode did not put grant generation {generation} in force within {timeout:.0f}s ({seen}): "
                    "check that its group mapping is io.immuta.hdfs.WorkspaceGroupsMapping and that it reaches the "
                    "catalog (docs/hdfs.md, 'Workspace groups in the NameNode')"
                )
            time.sleep(0.01)

    def member_access(self, project: str, user: str) -> bool:
        """Whether the NameNode lets ``user`` read and write the workspace now (one CHECKACCESS)."""
        record = self._record(project, "workspace.check_access", manager=False)
        return self.access(record.cluster).check_access(record.path, FsAction.ALL, user=user)

    # --- helpers --------------------------------------------------------------------------

    def converge_directory(self, config: ClusterConfig, layout: WorkspaceLayout) -> None:
        """Create the directory if missing and set its owner, mode and whole ACL (idempotent)."""
        access = self.access(config.name)
        self.progress(f"creating {layout.path} (mode {WORKSPACE_MODE:o}, group {layout.hadoop_group} only)")
        if not access.exists(layout.path):
            access.makedirs(layout.path, mode=WORKSPACE_MODE)
        access.set_acl(layout.path, expected_acl(layout.hadoop_group, config.service_user))
        access.set_mode(layout.path, WORKSPACE_MODE)

    def converge_database(self, record: WorkspaceRecord) -> None:
        """Create the Hive database at the workspace's URI; refuse one that points elsewhere."""
        self.progress(f"creating Hive database {record.hive_database} at {record.uri}")
        with self.metastore(record) as hms:
            found = hms.database(record.hive_database)
            if found is None:
                hms.create_database(
                    record.hive_database,
                    location=record.uri,
                    description=f"workspace of project {record.project}",
                    owner=self.clusters.get(record.cluster).service_user,
                )
            elif _norm(found.location) != _norm(record.uri):
                raise WorkspaceError(
                    f"the Hive database {record.hive_database} already exists and points at {found.location}, not "
                    f"the workspace {record.uri}: rename or drop that database (without CASCADE), then enable again"
                )

    def drop_source_tables(self, record: WorkspaceRecord) -> None:
        """Drop the Hive tables of the sources living in the workspace, never deleting data (idempotent)."""
        tables = sorted(set(self.catalog.workspace_sources(record.project).values()))
        if not tables or not record.hive_uri:
            return
        with self.metastore(record) as hms:
            for name in tables:
                self.progress(f"dropping Hive table {record.hive_database}.{name} (its data is purged next)")
                hms.drop_table(record.hive_database, name)

    def source_locations(self, record: WorkspaceRecord) -> set[str]:
        """HDFS paths (under the workspace) of the data of the sources living there.

        A source's own ``location`` where it has one (every source made from a workspace
        directory, hdfs ones included: they have no table), else its Hive table's location.
        """
        living = self.catalog.workspace_sources(record.project)
        sources = self.catalog.snapshot().sources
        located = {n: sources[n].location for n in living if n in sources and sources[n].location}
        paths = {_path_of(loc) for loc in located.values() if loc}
        tables = sorted({t for n, t in living.items() if n not in located})
        if not tables or not record.hive_uri:
            return paths
        with self.metastore(record) as hms:
            for name in tables:
                table = hms.table(record.hive_database, name)
                if table is not None and table.location:
                    paths.add(_path_of(table.location))
        return paths

    def _purge_beside(self, access: HdfsAccess, directory: str, keep: set[str]) -> list[str]:
        deleted = []
        for entry in _children(access, directory):
            if entry.path in keep:
                continue
            if any(k.startswith(entry.path + "/") for k in keep):
                deleted += self._purge_beside(access, entry.path, keep)
                continue
            access.delete(entry.path, recursive=True)
            deleted.append(entry.path)
        return deleted

    def _record(self, project: str, action: str, *, manager: bool = True) -> WorkspaceRecord:
        if manager:
            self.catalog.require_workspace_manager(project, action)
        record = self.catalog.workspace(project)
        if record is None:
            raise WorkspaceError(
                f"project '{project}' has no workspace; its owner enables one with `hdfs-workspace enable '{project}'`"
            )
        return record


def _default_access(cluster: ClusterConfig) -> HdfsAccess:
    from hdfs_workspace.webhdfs import connect

    return connect(cluster)


def _children(access: HdfsAccess, path: str) -> Iterator[Any]:
    try:
        yield from access.list_dir(path)
    except NotFound:
        return


def _path_of(location: str) -> str:
    """The path part of an ``hdfs://host:port/path`` location."""
    if "://" in location:
        rest = location.split("://", 1)[1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return location


def _norm(location: str) -> str:
    return posixpath.normpath(location.rstrip("/")) if location else ""
