"""The checks a workspace directory passes before it becomes a source (used by :mod:`hdfs_workspace.sources`).

The project exists and has an enabled workspace; the caller acts under it with its purposes
accepted; the directory is a plain path beneath the workspace, on its file system, and exists;
no source's storage is the directory, lies beneath it or holds it; a table name is a plain
name in the workspace's database; the files' footers describe one source. Each refusal is
audited under the action of the call under way (:attr:`DirectoryChecks.doing`) and raised as
:class:`DirectorySourceError`.
"""

from __future__ import annotations

import posixpath
import re
from typing import NoReturn
from urllib.parse import urlsplit

from hdfs_workspace.errors import NotFound, WorkspaceError
from hdfs_workspace.footers import FooterError
from hdfs_workspace.infer import DirectoryInference, InferenceError, infer_directory
from hdfs_workspace.manager import WorkspaceManager
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.engine import project_access_problem
from immuta_spark.locations import overlapping

__all__ = ["DirectoryChecks", "DirectorySourceError"]

_WORD = re.compile(r"[^a-z0-9_]+")


class DirectorySourceError(WorkspaceError):
    """A source cannot be made from the directory as asked (the message says why and what to do)."""


class DirectoryChecks:
    """The checks of one :class:`~hdfs_workspace.sources.WorkspaceSources`; ``doing`` names the audited action."""

    def __init__(self, manager: WorkspaceManager, *, threads: int, doing: str) -> None:
        self.manager = manager
        self.catalog = manager.catalog
        self.threads = threads
        self.doing = doing

    def workspace(self, project: str, name: str | None, directory: str) -> WorkspaceRecord:
        """The workspace of ``project``, refused unless the project exists and its workspace is enabled."""
        if project not in self.catalog.snapshot().projects:
            self.refuse(
                project,
                name,
                directory,
                f"there is no project '{project}'; list projects with `immuta-spark project list`",
            )
        record = self.catalog.workspace(project)
        if record is None:
            self.refuse(
                project,
                name,
                directory,
                f"project '{project}' has no workspace; its owner enables one with `hdfs-workspace enable '{project}'`",
            )
        if record.state != "enabled":
            self.refuse(
                project,
                name,
                directory,
                f"the workspace of '{project}' is {record.state}: sources are made from a workspace while it is "
                f"enabled; its owner enables it again with `hdfs-workspace enable '{project}'`",
            )
        return record

    def acting_under(self, record: WorkspaceRecord, name: str | None, directory: str) -> None:
        """Refuse unless the caller acts under the workspace's project and may (purposes accepted)."""
        project = record.project
        current = self.catalog.current_project()
        if current != project:
            self.refuse(
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
            self.refuse(project, name, directory, problem)

    def path(self, record: WorkspaceRecord, directory: str, name: str | None) -> str:
        """The absolute HDFS path of ``directory`` (a URI, an absolute path, or relative to the workspace)."""
        text = directory.strip()
        parts = urlsplit(text)
        if parts.scheme:
            base = urlsplit(record.uri)
            if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
                self.refuse(
                    record.project,
                    name,
                    directory,
                    f"{directory} is not on the workspace's file system ({base.scheme}://{base.netloc}): name a "
                    f"directory beneath {record.uri}",
                )
            text = parts.path
        raw = text if text.startswith("/") else f"{record.path}/{text}"
        if not text or any(part in (".", "..") for part in raw.split("/")):
            self.refuse(
                record.project,
                name,
                directory,
                f"{directory!r} is not a plain directory path ('.' and '..' are not allowed): name a directory "
                f"beneath {record.path} as it is",
            )
        path = posixpath.normpath(raw)
        if not path.startswith(record.path.rstrip("/") + "/"):
            self.refuse(
                record.project,
                name,
                directory,
                f"{path} is not beneath the workspace of '{record.project}' ({record.path}): a workspace source is "
                f"made from a directory inside its project's workspace, such as {record.path}/DIR",
            )
        try:
            status = self.manager.access(record.cluster).status(path)
        except NotFound:
            self.refuse(record.project, name, directory, f"there is no directory {path}: write the data there first")
        if not status.is_dir:
            self.refuse(
                record.project, name, directory, f"{path} is a file: name the directory that holds the source's files"
            )
        return path

    def refuse_overlap(self, record: WorkspaceRecord, name: str, uri: str) -> None:
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
            self.refuse(
                record.project,
                name,
                uri,
                f"{uri} overlaps the storage of source '{other}' (stored at {where}): a hdfs "
                f"source and a hive source may never be backed by the same location, nor one by a location beneath "
                f"the other's, so '{name}' is refused; choose a directory that no source's storage holds or lies in",
            )

    def infer(self, record: WorkspaceRecord, path: str, name: str | None, *, columnar_only: bool) -> DirectoryInference:
        """:func:`infer_directory` as the service identity; a refusal of the files is audited, then raised as it is."""
        try:
            return infer_directory(
                self.manager.access(record.cluster), path, threads=self.threads, columnar_only=columnar_only
            )
        except (InferenceError, FooterError) as exc:
            detail = {"source": name, "directory": path, "project": record.project, "error": str(exc)}
            self.catalog.record(action=self.doing, outcome="denied", project=record.project, detail=detail)
            raise

    def table(self, record: WorkspaceRecord, table: str | None, name: str) -> str:
        """The plain table name in the workspace's database: ``table`` checked, or one made from ``name``."""
        if table is None:
            word = _WORD.sub("_", name.lower()).strip("_") or "source"
            return word if not word[0].isdigit() else "_" + word
        parts = table.split(".")
        if len(parts) == 2 and parts[0].lower() == record.hive_database.lower():
            parts = parts[1:]
        if len(parts) != 1 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts[0]):
            self.refuse(
                record.project,
                name,
                table,
                f"table {table!r} is not a plain name in the workspace's database {record.hive_database} "
                "(letters, digits, underscores): choose another --table",
            )
        return parts[0].lower()

    @staticmethod
    def uri(record: WorkspaceRecord, path: str) -> str:
        """The full URI of ``path`` (beneath the workspace), on the workspace's file system."""
        base = urlsplit(record.uri)
        return f"{base.scheme}://{base.netloc}{path}"

    def refuse(self, project: str, name: str | None, directory: str, why: str) -> NoReturn:
        """Audit a refusal under :attr:`doing` and raise :class:`DirectorySourceError` saying ``why``."""
        detail = {"source": name, "directory": directory, "project": project}
        self.catalog.refuse(self.doing, why, project=project, detail=detail, error=DirectorySourceError)
