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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hdfs_workspace.footers import Column
from hdfs_workspace.hive_tables import DEFAULT_PARTITION, HiveTableSpec, create_table_ddl
from hdfs_workspace.infer import DirectoryInference
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.source_checks import DirectoryChecks, DirectorySourceError
from immuta_spark.catalog.derived import DerivedRecord
from immuta_spark.catalog.workspaces import WorkspaceRecord
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
        # The audit action of the call under way is the checks' ``doing``: refusals are recorded as that.
        self._checks = DirectoryChecks(manager, threads=threads, doing=_ACTION)

    def inspect(
        self, project: str, directory: str, *, name: str | None = None, table: str | None = None
    ) -> DirectoryReport:
        """What the files beneath ``directory`` are, what they offer, and the DDL a hive source would run.

        Changes nothing. The caller must act under ``project`` (its files are its members' only).
        """
        self._checks.doing = "workspace.source_inspect"
        record = self._checks.workspace(project, name, directory)
        self._checks.acting_under(record, name, directory)
        path = self._checks.path(record, directory, name)
        inference = self._checks.infer(record, path, name, columnar_only=False)
        spec = None
        if "hive" in inference.offered_types:
            spec = self._spec(
                record, path, inference, self._checks.table(record, table, name or posixpath.basename(path))
            )
        return DirectoryReport(
            project=project, path=path, uri=self._checks.uri(record, path), inference=inference, table=spec
        )

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
        self._checks.doing = _ACTION
        if type not in SOURCE_TYPES:
            self._checks.refuse(
                project, name, directory, f"unknown source type {type!r}: use --type hive or --type hdfs"
            )
        record = self._checks.workspace(project, name, directory)
        self._checks.acting_under(record, name, directory)
        qualified = f"{record.hive_database}.{self._checks.table(record, table, name)}"
        # The catalog's own checks first (permission, project, parents, name, table): audited, nothing touched.
        self.catalog.check_derived_source(name, table=qualified, parents=parents, read=parents, certify=certify)
        path = self._checks.path(record, directory, name)
        uri = self._checks.uri(record, path)
        self._checks.refuse_overlap(record, name, uri)
        if type == "hdfs":
            inference = self._checks.infer(record, path, name, columnar_only=False)
            return self._create_hdfs(
                record, uri, inference, name=name, table=qualified, parents=parents, certify=certify, options=options
            )
        if options:
            self._checks.refuse(
                project, name, directory, "reader options are for --type hdfs: a hive table's files describe themselves"
            )
        inference = self._checks.infer(record, path, name, columnar_only=True)
        spec = self._spec(record, path, inference, qualified.split(".", 1)[1])
        return self._create_hive(record, spec, inference, name=name, parents=parents, certify=certify)

    def refresh(self, project: str, name: str) -> list[tuple[str | None, ...]]:
        """Register the ``key=value/`` partitions of hive source ``name`` that appeared since it was made.

        The caller acts under ``project`` and holds ``CREATE_DATA_SOURCE_IN_PROJECT``. Footers are
        read again; files whose columns no longer match the source's dictionary are refused
        (make a new source: its lineage would change). The new partitions' values, in order.
        """
        self._checks.doing = _REFRESH
        record = self._checks.workspace(project, name, name)
        self._checks.acting_under(record, name, name)
        source = self.catalog.snapshot().sources.get(name)
        living = self.catalog.workspace_sources(project)
        if source is None or name not in living or source.derived is None or not source.location:
            self._checks.refuse(
                project,
                name,
                name,
                f"'{name}' is not a source made from a directory of '{project}'s "
                "workspace: list them with `immuta-spark source derived`",
            )
        if source.object is not None:
            self._checks.refuse(
                project,
                name,
                name,
                f"'{name}' is an hdfs source: its files are listed at every query, so there is nothing to refresh",
            )
        if not self.catalog.subject(self.catalog.actor).has(Permission.CREATE_DATA_SOURCE_IN_PROJECT):
            self._checks.refuse(
                project,
                name,
                name,
                "refreshing a project's source needs CREATE_DATA_SOURCE_IN_PROJECT; ask a user admin for it",
            )
        path = urlsplit(source.location).path
        inference = self._checks.infer(record, path, name, columnar_only=True)
        now = [(c.name, c.type) for c in (*inference.columns, *inference.partition_keys)]
        known = [(c.name, c.type) for c in source.dictionary]
        if now != known:
            changed = ", ".join(f"{n} {t}" for n, t in now if (n, t) not in known) or "columns removed"
            self._checks.refuse(
                project,
                name,
                source.location,
                f"the files' columns changed since '{name}' was made ({changed}): make a new source from the directory",
            )
        spec = self._spec(record, path, inference, living[name])
        with self.manager.metastore(record) as hms:
            have = {tuple(v) for v, _ in hms.partitions(spec.database, spec.name)}
            new = [
                (v, self._checks.uri(record, w))
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
            self._checks.refuse(
                record.project,
                name,
                uri,
                f"{uri} holds {found} files: an hdfs source reads files of one format of "
                f"{', '.join(OBJECT_FORMATS)}; keep one kind in the directory (or name the files by their format)",
            )
        columns = [*inference.columns, *inference.partition_keys]  # known for Parquet/ORC only
        self.manager.progress(f"registering {uri} as the {kind.value} files of '{name}'")
        store = ObjectStore(format=kind.value, options=dict(options or {}))
        return self._register(name, table, parents, columns, certify=certify, location=uri, object_store=store)

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
                self._checks.refuse(
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
                    partitions = [(values, self._checks.uri(record, where)) for values, where in inference.partitions]
                    hms.add_partitions(spec, partitions)
                columns = [*spec.columns, *spec.partition_keys]
                return self._register(name, qualified, parents, columns, certify=certify, location=spec.location)
            except BaseException:
                hms.drop_table(spec.database, spec.name)  # metadata only: the files stay the members'
                raise

    def _spec(self, record: WorkspaceRecord, path: str, inference: DirectoryInference, table: str) -> HiveTableSpec:
        kind = inference.kind
        assert kind is not None and kind.columnar
        return HiveTableSpec(
            database=record.hive_database,
            name=table,
            location=self._checks.uri(record, path),
            kind=kind,
            columns=inference.columns,
            partition_keys=inference.partition_keys,
            owner=self.manager.clusters.get(record.cluster).service_user,
        )

    def _register(
        self,
        name: str,
        table: str,
        parents: Sequence[str],
        columns: Sequence[Column],
        *,
        certify: bool,
        location: str,
        object_store: ObjectStore | None = None,
    ) -> DerivedRecord:
        """The catalog's derived-source registration of a directory's columns (a hive or an hdfs source)."""
        return self.catalog.create_derived_source(
            name,
            table=table,
            parents=parents,
            read=parents,
            lineage=self._lineage(parents, columns),
            columns=[(c.name, c.type) for c in columns],
            certify=certify,
            location=location,
            object_store=object_store,
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
