"""Derived data sources made from a workspace directory (seed "HDFS Native Workspace", issue 12 item 1).

A member holding ``CREATE_DATA_SOURCE_IN_PROJECT``, acting under the project, picks a directory
beneath the project's workspace and exposes its files as a data source:

- **hive** (Parquet or ORC files only): the schema and the ``key=value/`` partition columns are
  inferred from the files' footers (:mod:`hdfs_workspace.infer`), an external table is created
  in the workspace's Hive database over the directory and its partitions are registered, all
  through the metastore's Thrift API as the cluster's service identity (the table is the
  service's: it keeps working when its creator leaves the project or the workspace is
  disabled). It is registered as a derived source of the parents named, through the catalog's
  derived-source registration, so the projects issue's inheritance applies.
- **hdfs** (csv, tsv, json, Parquet or ORC files, one format a directory): an object-backed
  derived source whose ``location`` is the directory; governed sessions read its files as that
  format (:mod:`immuta_spark.objects`), with no table behind it.

Nothing changes until every check has passed: the catalog's own checks of a derived source
(certification, permission, acting under the equalized project, parents among its sources,
name and table free) run first, then the directory (beneath the workspace, no ``..``, a
directory with data files), then the storage rule: no source's storage may be the directory,
lie beneath it or hold it. A Hive table whose registration then fails is dropped again
(metadata only; the files are the members' and are never touched).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from hdfs_workspace.errors import NotFound, WorkspaceError
from hdfs_workspace.footers import Column, FooterError
from hdfs_workspace.hive_tables import DEFAULT_PARTITION, HiveTableSpec, create_table_ddl
from hdfs_workspace.infer import DirectoryInference, InferenceError, infer_directory
from hdfs_workspace.manager import WorkspaceManager
from immuta_spark.catalog.derived import DerivedRecord
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.engine import project_access_problem
from immuta_spark.locations import overlapping
from immuta_spark.model import OBJECT_FORMATS, ObjectStore, Permission

__all__ = [
    "SOURCE_TYPES",
    "DirectoryReport",
    "DirectorySourceError",
    "WorkspaceSources",
]

#: The kinds of source a workspace directory can become.
SOURCE_TYPES = ("hive", "hdfs")

_ACTION = "project.derived_source"
_REFRESH = "project.derived_source.refresh"
_WORD = re.compile(r"[^a-z0-9_]+")


class DirectorySourceError(WorkspaceError):
    """A source cannot be made from the directory as asked (the message says why and what to do)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryReport:
    """What ``source inspect`` shows: the files, what they offer, and the table a hive source would be."""

    project: str
    path: str
    uri: str
    inference: DirectoryInference
    table: HiveTableSpec | None

    @property
    def ddl(self) -> str | None:
        """The ``CREATE EXTERNAL TABLE`` a hive source would amount to (None: the files offer no hive type)."""
        return create_table_ddl(self.table) if self.table is not None else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "project": self.project,
            "path": self.path,
            "uri": self.uri,
            **self.inference.to_json(),
            "table": f"{self.table.database}.{self.table.name}" if self.table else None,
            "ddl": self.ddl,
        }


class WorkspaceSources:
    """Inspect a workspace directory and create a derived source from it; see the module docstring.

    ``manager.catalog`` acts as the person asking (a member acting under the project); HDFS and
    the metastore are reached as the cluster's service identity.
    """

    def __init__(self, manager: WorkspaceManager, *, threads: int = 8) -> None:
        self.manager = manager
        self.catalog = manager.catalog
        self.threads = threads
        self._doing = _ACTION  # the audit action of the call under way (its refusals are recorded as that)

    def inspect(
        self, project: str, directory: str, *, name: str | None = None, table: str | None = None
    ) -> DirectoryReport:
        """What the files beneath ``directory`` are, what they offer, and the DDL a hive source would run.

        Changes nothing. The caller must act under ``project`` (its files are its members' only).
        """
        self._doing = "workspace.source_inspect"
        record = self._workspace(project, name, directory)
        self._acting_under(record, name, directory)
        path = self._path(record, directory, name)
        inference = self._infer(record, path, name, columnar_only=False)
        spec = None
        if "hive" in inference.offered_types:
            spec = self._spec(record, path, inference, self._table(record, table, name or posixpath.basename(path)))
        return DirectoryReport(project=project, path=path, uri=self._uri(record, path), inference=inference, table=spec)

    def create(
        self,
        project: str,
        directory: str,
        *,
        name: str,
        type: str,
        parents: Sequence[str],
        table: str | None = None,
        certify: bool = True,
        options: Mapping[str, str] | None = None,
    ) -> DerivedRecord:
        """Make ``directory`` (beneath ``project``'s workspace) the derived source ``name`` of ``type`` hive or hdfs.

        ``options`` are Spark's reader options for an hdfs source's files (``{"header": "true"}``
        for csv with a header line); a hive source takes none. Refused, audited and changing
        nothing unless every check passes (module docstring).
        """
        self._doing = _ACTION
        if type not in SOURCE_TYPES:
            self._refuse(project, name, directory, f"unknown source type {type!r}: use --type hive or --type hdfs")
        record = self._workspace(project, name, directory)
        self._acting_under(record, name, directory)
        qualified = f"{record.hive_database}.{self._table(record, table, name)}"
        # The catalog's own checks first (permission, project, parents, name, table): audited, nothing touched.
        self.catalog.check_derived_source(name, table=qualified, parents=parents, read=parents, certify=certify)
        path = self._path(record, directory, name)
        uri = self._uri(record, path)
        self._refuse_overlap(record, name, uri)
        if type == "hdfs":
            inference = self._infer(record, path, name, columnar_only=False)
            return self._create_hdfs(
                record, uri, inference, name=name, table=qualified, parents=parents, certify=certify, options=options
            )
        if options:
            self._refuse(
                project, name, directory, "reader options are for --type hdfs: a hive table's files describe themselves"
            )
        inference = self._infer(record, path, name, columnar_only=True)
        spec = self._spec(record, path, inference, qualified.split(".", 1)[1])
        return self._create_hive(record, spec, inference, name=name, parents=parents, certify=certify)

    def refresh(self, project: str, name: str) -> list[tuple[str | None, ...]]:
        """Register the ``key=value/`` partitions of hive source ``name`` that appeared since it was made.

        The caller acts under ``project`` and holds ``CREATE_DATA_SOURCE_IN_PROJECT``. Footers are
        read again; files whose columns no longer match the source's dictionary are refused
        (make a new source: its lineage would change). The new partitions' values, in order.
        """
        self._doing = _REFRESH
        record = self._workspace(project, name, name)
        self._acting_under(record, name, name)
        source = self.catalog.snapshot().sources.get(name)
        living = self.catalog.workspace_sources(project)
        if source is None or name not in living or source.derived is None or not source.location:
            self._refuse(
                project,
                name,
                name,
                f"'{name}' is not a source made from a directory of '{project}'s "
                "workspace: list them with `immuta-spark source derived`",
            )
        if source.object is not None:
            self._refuse(
                project,
                name,
                name,
                f"'{name}' is an hdfs source: its files are listed at every query, so there is nothing to refresh",
            )
        if not self.catalog.subject(self.catalog.actor).has(Permission.CREATE_DATA_SOURCE_IN_PROJECT):
            self._refuse(
                project,
                name,
                name,
                "refreshing a project's source needs CREATE_DATA_SOURCE_IN_PROJECT; ask a user admin for it",
            )
        path = urlsplit(source.location).path
        inference = self._infer(record, path, name, columnar_only=True)
        now = [(c.name, c.type) for c in (*inference.columns, *inference.partition_keys)]
        known = [(c.name, c.type) for c in source.dictionary]
        if now != known:
            changed = ", ".join(f"{n} {t}" for n, t in now if (n, t) not in known) or "columns removed"
            self._refuse(
                project,
                name,
                source.location,
                f"the files' columns changed since '{name}' was made ({changed}): make a new source from the directory",
            )
        spec = self._spec(record, path, inference, living[name])
        with self.manager.metastore(record) as hms:
            have = {tuple(v) for v, _ in hms.partitions(spec.database, spec.name)}
            new = [
                (v, self._uri(record, w))
                for v, w in inference.partitions
                if tuple(DEFAULT_PARTITION if x is None else x for x in v) not in have
            ]
            if new:
                hms.add_partitions(spec, new)
        detail = {"source": name, "project": project, "partitions": [list(v) for v, _ in new]}
        self.catalog.record(action=_REFRESH, outcome="ok", project=project, detail=detail)
        return [v for v, _ in new]

    # --- hdfs ----------------------------------------------------------------------------

    def _create_hdfs(
        self,
        record: WorkspaceRecord,
        uri: str,
        inference: DirectoryInference,
        *,
        name: str,
        table: str,
        parents: Sequence[str],
        certify: bool,
        options: Mapping[str, str] | None,
    ) -> DerivedRecord:
        kind = inference.kind
        if kind is None or kind.value not in OBJECT_FORMATS:
            found = ", ".join(f"{n} {k}" for k, n in inference.kinds.items())
            self._refuse(
                record.project,
                name,
                uri,
                f"{uri} holds {found} files: an hdfs source reads files of one format of "
                f"{', '.join(OBJECT_FORMATS)}; keep one kind in the directory (or name the files by their format)",
            )
        columns = [*inference.columns, *inference.partition_keys]  # known for Parquet/ORC only
        self.manager.progress(f"registering {uri} as the {kind.value} files of '{name}'")
        return self.catalog.create_derived_source(
            name,
            table=table,
            parents=parents,
            read=parents,
            lineage=self._lineage(parents, columns),
            columns=[(c.name, c.type) for c in columns],
            certify=certify,
            location=uri,
            object_store=ObjectStore(format=kind.value, options=dict(options or {})),
        )

    # --- hive ----------------------------------------------------------------------------

    def _create_hive(
        self,
        record: WorkspaceRecord,
        spec: HiveTableSpec,
        inference: DirectoryInference,
        *,
        name: str,
        parents: Sequence[str],
        certify: bool,
    ) -> DerivedRecord:
        qualified = f"{spec.database}.{spec.name}"
        with self.manager.metastore(record) as hms:
            if hms.table(spec.database, spec.name) is not None:
                self._refuse(
                    record.project,
                    name,
                    spec.location,
                    f"the Hive table {qualified} exists already: choose another table name (--table NAME)",
                )
            self.manager.progress(f"creating external table {qualified} at {spec.location}")
            hms.create_table(spec)
            try:
                if inference.partitions:
                    self.manager.progress(f"registering {len(inference.partitions)} partitions of {qualified}")
                    partitions = [(values, self._uri(record, where)) for values, where in inference.partitions]
                    hms.add_partitions(spec, partitions)
                columns = [*spec.columns, *spec.partition_keys]
                return self.catalog.create_derived_source(
                    name,
                    table=qualified,
                    parents=parents,
                    read=parents,
                    lineage=self._lineage(parents, columns),
                    columns=[(c.name, c.type) for c in columns],
                    certify=certify,
                    location=spec.location,
                )
            except BaseException:
                hms.drop_table(spec.database, spec.name)  # metadata only: the files stay the members'
                raise

    def _spec(self, record: WorkspaceRecord, path: str, inference: DirectoryInference, table: str) -> HiveTableSpec:
        kind = inference.kind
        assert kind is not None and kind.columnar
        return HiveTableSpec(
            database=record.hive_database,
            name=table,
            location=self._uri(record, path),
            kind=kind,
            columns=inference.columns,
            partition_keys=inference.partition_keys,
            owner=self.manager.clusters.get(record.cluster).service_user,
        )

    def _lineage(self, parents: Sequence[str], columns: Sequence[Column]) -> dict[str, list[tuple[str, str]]]:
        """Each column's parent columns: those of a parent with the same name (files keep their columns' names).

        A file copy carries no plan, so this is what the lineage can be: a column named as a
        parent's column inherits that column's tags; any other inherits the parents' table tags.
        """
        snapshot = self.catalog.snapshot()
        lineage: dict[str, list[tuple[str, str]]] = {}
        for column in columns:
            pairs = []
            for parent in parents:
                source = snapshot.sources.get(parent)
                for known in source.dictionary if source is not None else ():
                    if known.name.lower() == column.name.lower():
                        pairs.append((parent, known.name))
            lineage[column.name] = pairs
        return lineage

    # --- checks ---------------------------------------------------------------------------

    def _workspace(self, project: str, name: str | None, directory: str) -> WorkspaceRecord:
        if project not in self.catalog.snapshot().projects:
            self._refuse(
                project,
                name,
                directory,
                f"there is no project '{project}'; list projects with `immuta-spark project list`",
            )
        record = self.catalog.workspace(project)
        if record is None:
            self._refuse(
                project,
                name,
                directory,
                f"project '{project}' has no workspace; its owner enables one with `hdfs-workspace enable '{project}'`",
            )
        if record.state != "enabled":
            self._refuse(
                project,
                name,
                directory,
                f"the workspace of '{project}' is {record.state}: sources are made from a workspace while it is "
                f"enabled; its owner enables it again with `hdfs-workspace enable '{project}'`",
            )
        return record

    def _acting_under(self, record: WorkspaceRecord, name: str | None, directory: str) -> None:
        project = record.project
        current = self.catalog.current_project()
        if current != project:
            self._refuse(
                project,
                name,
                directory,
                f"'{self.catalog.actor}' acts under {repr(current) if current else 'no project'}, not '{project}': "
                f"a workspace's files are exposed while acting under its project; switch first "
                f"(`hdfs-workspace switch '{project}'`)",
            )
        snapshot = self.catalog.snapshot()
        problem = project_access_problem(snapshot, snapshot.projects[project], self.catalog.actor)
        if problem is not None:
            self._refuse(project, name, directory, problem)

    def _path(self, record: WorkspaceRecord, directory: str, name: str | None) -> str:
        """The absolute HDFS path of ``directory`` (a URI, an absolute path, or relative to the workspace)."""
        text = directory.strip()
        parts = urlsplit(text)
        if parts.scheme:
            base = urlsplit(record.uri)
            if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
                self._refuse(
                    record.project,
                    name,
                    directory,
                    f"{directory} is not on the workspace's file system ({base.scheme}://{base.netloc}): name a "
                    f"directory beneath {record.uri}",
                )
            text = parts.path
        raw = text if text.startswith("/") else f"{record.path}/{text}"
        if not text or any(part in (".", "..") for part in raw.split("/")):
            self._refuse(
                record.project,
                name,
                directory,
                f"{directory!r} is not a plain directory path ('.' and '..' are not allowed): name a directory "
                f"beneath {record.path} as it is",
            )
        path = posixpath.normpath(raw)
        if not path.startswith(record.path.rstrip("/") + "/"):
            self._refuse(
                record.project,
                name,
                directory,
                f"{path} is not beneath the workspace of '{record.project}' ({record.path}): a workspace source is "
                f"made from a directory inside its project's workspace, such as {record.path}/DIR",
            )
        try:
            status = self.manager.access(record.cluster).status(path)
        except NotFound:
            self._refuse(record.project, name, directory, f"there is no directory {path}: write the data there first")
        if not status.is_dir:
            self._refuse(
                record.project, name, directory, f"{path} is a file: name the directory that holds the source's files"
            )
        return path

    def _refuse_overlap(self, record: WorkspaceRecord, name: str, uri: str) -> None:
        """Refuse when any source's storage is ``uri``, lies beneath it or holds it (the HDFS/Hive rule)."""
        snapshot = self.catalog.snapshot()
        stored = [(s.name, s.location) for s in snapshot.sources.values() if s.location]
        living = self.catalog.workspace_sources(record.project)
        unplaced = {n: t for n, t in living.items() if not snapshot.sources[n].location}
        if unplaced:
            with self.manager.metastore(record) as hms:
                for source, table in sorted(unplaced.items()):
                    found = hms.table(record.hive_database, table)
                    if found is not None and found.location:
                        stored.append((source, found.location))
        fs_uri = self.manager.clusters.get(record.cluster).fs_uri
        clash = overlapping(uri, stored, default_fs=fs_uri)
        if clash:
            other, where = clash[0]
            self._refuse(
                record.project,
                name,
                uri,
                f"{uri} overlaps the storage of source '{other}' (stored at {where}): a hdfs "
                f"source and a hive source may never be backed by the same location, nor one by a location beneath "
                f"the other's, so '{name}' is refused; choose a directory that no source's storage holds or lies in",
            )

    # --- helpers --------------------------------------------------------------------------

    def _infer(
        self, record: WorkspaceRecord, path: str, name: str | None, *, columnar_only: bool
    ) -> DirectoryInference:
        """:func:`infer_directory` as the service identity; a refusal of the files is audited, then raised as it is."""
        try:
            return infer_directory(
                self.manager.access(record.cluster), path, threads=self.threads, columnar_only=columnar_only
            )
        except (InferenceError, FooterError) as exc:
            detail = {"source": name, "directory": path, "project": record.project, "error": str(exc)}
            self.catalog.record(action=self._doing, outcome="denied", project=record.project, detail=detail)
            raise

    def _table(self, record: WorkspaceRecord, table: str | None, name: str) -> str:
        if table is None:
            word = _WORD.sub("_", name.lower()).strip("_") or "source"
            return word if not word[0].isdigit() else "_" + word
        parts = table.split(".")
        if len(parts) == 2 and parts[0].lower() == record.hive_database.lower():
            parts = parts[1:]
        if len(parts) != 1 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts[0]):
            self._refuse(
                record.project,
                name,
                table,
                f"table {table!r} is not a plain name in the workspace's database {record.hive_database} "
                "(letters, digits, underscores): choose another --table",
            )
        return parts[0].lower()

    @staticmethod
    def _uri(record: WorkspaceRecord, path: str) -> str:
        """The full URI of ``path`` (beneath the workspace), on the workspace's file system."""
        base = urlsplit(record.uri)
        return f"{base.scheme}://{base.netloc}{path}"

    def _refuse(self, project: str, name: str | None, directory: str, why: str) -> NoReturn:
        detail = {"source": name, "directory": directory, "project": project}
        self.catalog.refuse(self._doing, why, project=project, detail=detail, error=DirectorySourceError)
