"""Writers of governed DataFrames: enforced rows may go anywhere except over governed data.

What a governed DataFrame holds is already enforced (its plan was guarded), so writing it to a
new table or a directory is allowed: that is how derived data is made. What a writer may not
do without owning the source is change a governed table: ``insertInto``, ``saveAsTable`` or
``writeTo(...).append/overwrite/replace`` naming it, or a path write on, beneath or above its
storage (``save``, ``parquet``, ..., an ungoverned table laid over it). A condition handed to
``writeTo(...).overwrite`` is guarded like any plan, so it cannot read raw data through a
subquery. Refusals and writes are audited.

Every method pyspark's writers offer is listed here; anything else is absent (fail closed).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column
from pyspark.sql.readwriter import DataFrameWriter, DataFrameWriterV2

from immuta_spark.errors import ImmutaSparkError
from immuta_spark.spark import registration
from immuta_spark.spark.commands import refuse_hidden_in, require_owner
from immuta_spark.spark.errors import rules_errors
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.lineage import plan_lineage
from immuta_spark.spark.names import name_parts, table_storage

__all__ = ["GovernedWriter", "GovernedWriterV2"]

_PATH_WRITES = ("save", "json", "parquet", "text", "csv", "xml", "orc")


class _Governed:
    _session: SessionInternals
    _what: str
    #: The governed DataFrame written (None: a write the caller registers itself, as create_derived_source).
    _frame: Any = None
    #: The format named with ``format`` (lower case), if any.
    _format: str | None = None

    def option(self, key: str, value: Any) -> Any:  # pragma: no cover - each writer has its own
        raise NotImplementedError

    def options(self, **options: Any) -> Any:
        """As pyspark's ``options``: each one as ``option`` (a path among them is checked)."""
        for key, value in options.items():
            self.option(key, value)
        return self

    def _absent(self, name: str) -> AttributeError:
        return AttributeError(f"'{name}' is not available on a governed {self._what}")

    def _audited_write(
        self,
        target: str,
        check: Any,
        run: Any,
        *,
        table: str | None = None,
        append: bool = False,
        keep_existing: bool = False,
        path: str | None = None,
    ) -> Any:
        """Check, then run, auditing the outcome as a ``write`` with its target (``path``: a path write's).

        With the DataFrame written known (``_frame``), a write of governed data is registered as a
        derived source of ``table`` (None: not a metastore table), or refused
        (:mod:`immuta_spark.spark.registration`).
        """
        session = self._session
        pending = None
        sources: list[str] = []
        read: list[str] = []
        # One pinned snapshot from the check to the registration: a registration that widens a
        # governed target's inheritance before the write bumps the catalog's revision, and the
        # write must run under the rules its DataFrame was enforced with.
        with session._lock, session._enforcer.statement():
            try:
                check(sources)
                frame = self._frame
                if frame is not None and self._format == "noop":
                    # Spark's "noop" sink writes nothing anywhere (a benchmark's or a warm-up's sink):
                    # no copy to register; what it read is still audited.
                    read = sorted(plan_lineage(session._enforcer, frame._jdf).sources)
                elif frame is not None:
                    pending = registration.before(
                        session,
                        frame._jdf,
                        frame.schema,
                        table=table,
                        append=append,
                        governed_targets=sources,
                        keep_existing=keep_existing,
                        path=path,
                    )
                try:
                    with rules_errors(session._enforcer.names_governed):  # the analyzer's refusals, made ours
                        result = run()
                except Exception:
                    registration.failed(session._enforcer, pending)
                    raise
                derived = registration.after(session._enforcer, pending)
            except ImmutaSparkError as exc:
                session._audit("write", "denied", sources=sources, detail={"target": target, "error": str(exc)})
                raise
        detail = {"target": target, **({"derived_source": derived} if derived else {})}
        if pending is not None:
            read = sorted(pending.lineage.sources)
        session._audit("write", "ok", sources=[*sources, *read], detail=detail)
        return result

    def _check_table(self, name: str, sources: list[str], verb_root: str, *, creates: bool = False) -> None:
        """A governed table named as a write target: owners only (invisible: not found).

        A write that ``creates`` the table when it is missing refuses a hidden name as it refuses a
        free one in that database (:func:`~immuta_spark.spark.commands.refuse_hidden_in`).
        """
        session = self._session
        source = session._source_by_name(name)
        if creates and (source is None or not session._plan(source).visible):
            parts = name_parts(name)
            exists = source is None and session._spark.catalog.tableExists(name)
            if not exists:
                database = parts[-2] if len(parts) >= 2 else session._spark.catalog.currentDatabase()
                refuse_hidden_in(session._enforcer, database, "create tables or views in")
        if source is not None:
            sources.append(source.name)
            require_owner(session._enforcer, source, name_parts(name), verb_root)
            return
        location = table_storage(session._enforcer, name_parts(name))  # an ungoverned table over governed storage?
        if location is not None:
            self._check_path(location, sources, verb_root)

    def _check_path(self, path: str, sources: list[str], verb_root: str) -> None:
        """A path write on, beneath or above governed storage: owners only."""
        session = self._session
        source = session._enforcer.source_for_storage(path)
        if source is not None:
            sources.append(source.name)
            require_owner(session._enforcer, source, (), verb_root, storage=True)


class GovernedWriter(_Governed):
    """``DataFrame.write`` of a governed DataFrame (see the module docstring)."""

    _what = "DataFrameWriter"

    def __init__(self, writer: DataFrameWriter, session: SessionInternals, frame: Any = None) -> None:
        self._writer = writer
        self._session = session
        self._path: str | None = None
        self._frame = frame
        self._mode: str | None = None

    def __getattr__(self, name: str) -> Any:
        raise self._absent(name)

    # --- building (each returns this writer) ---------------------------------------------

    def mode(self, saveMode: str | None) -> GovernedWriter:
        """As ``DataFrameWriter.mode``."""
        self._writer.mode(saveMode)
        self._mode = saveMode
        return self

    def format(self, source: str) -> GovernedWriter:
        """As ``DataFrameWriter.format``."""
        self._writer.format(source)
        self._format = source.lower()
        return self

    def option(self, key: str, value: Any) -> GovernedWriter:
        """As ``DataFrameWriter.option`` (a ``path`` option is checked like a path)."""
        if key.lower() == "path":
            self._path = str(value)
        self._writer.option(key, value)
        return self

    def partitionBy(self, *cols: Any) -> GovernedWriter:
        """As ``DataFrameWriter.partitionBy``."""
        self._writer.partitionBy(*cols)
        return self

    def bucketBy(self, numBuckets: int, col: Any, *cols: Any) -> GovernedWriter:
        """As ``DataFrameWriter.bucketBy``."""
        self._writer.bucketBy(numBuckets, col, *cols)
        return self

    def sortBy(self, col: Any, *cols: Any) -> GovernedWriter:
        """As ``DataFrameWriter.sortBy``."""
        self._writer.sortBy(col, *cols)
        return self

    def clusterBy(self, *cols: Any) -> GovernedWriter:
        """As ``DataFrameWriter.clusterBy``."""
        self._writer.clusterBy(*cols)
        return self

    # --- writing -------------------------------------------------------------------------

    def insertInto(self, tableName: str, overwrite: bool | None = None) -> None:
        """As ``DataFrameWriter.insertInto``; a governed table: owners only."""
        self._audited_write(
            tableName,
            lambda sources: self._check_table(tableName, sources, "InsertIntoStatement"),
            lambda: self._writer.insertInto(tableName, overwrite),
            table=tableName,
            append=not overwrite,
        )

    def saveAsTable(self, name: str, format: str | None = None, mode: str | None = None, **kwargs: Any) -> None:
        """As ``DataFrameWriter.saveAsTable``; a governed table or storage: owners only."""
        path = kwargs.get("path", self._path)

        def check(sources: list[str]) -> None:
            self._check_table(name, sources, "ReplaceTableAsSelect", creates=True)
            if path is not None:
                self._check_path(str(path), sources, "ReplaceTableAsSelect")

        chosen = str(mode or self._mode or "").lower()
        self._audited_write(
            name,
            check,
            lambda: self._writer.saveAsTable(name, format, mode, **kwargs),
            table=name,
            append=chosen == "append",
            keep_existing=chosen == "ignore",
        )

    def jdbc(self, *args: Any, **kwargs: Any) -> None:
        """As ``DataFrameWriter.jdbc`` (another system's table: not governed here)."""
        url = str(args[0] if args else kwargs.get("url", ""))
        self._audited_write(url.split("?")[0], lambda sources: None, lambda: self._writer.jdbc(*args, **kwargs))

    def _path_write(self, method: str, path: str | None, *args: Any, **kwargs: Any) -> None:
        target = path if path is not None else kwargs.get("path", self._path)

        def check(sources: list[str]) -> None:
            if target is not None:
                self._check_path(str(target), sources, "InsertIntoDir")

        run = lambda: getattr(self._writer, method)(path, *args, **kwargs)  # noqa: E731
        self._audited_write(str(target), check, run, path=str(target) if target is not None else None)


def _path_method(method: str) -> Any:
    def write(self: GovernedWriter, path: str | None = None, *args: Any, **kwargs: Any) -> None:
        self._path_write(method, path, *args, **kwargs)

    write.__name__ = method
    write.__doc__ = f"As ``DataFrameWriter.{method}``; governed storage: owners only."
    return write


for _name in _PATH_WRITES:
    setattr(GovernedWriter, _name, _path_method(_name))


class GovernedWriterV2(_Governed):
    """``DataFrame.writeTo(table)`` of a governed DataFrame (see the module docstring)."""

    _what = "DataFrameWriterV2"

    def __init__(self, writer: DataFrameWriterV2, session: SessionInternals, table: str, frame: Any = None) -> None:
        self._writer = writer
        self._session = session
        self._table = table
        self._location: str | None = None
        self._frame = frame

    def __getattr__(self, name: str) -> Any:
        raise self._absent(name)

    def using(self, provider: str) -> GovernedWriterV2:
        """As ``DataFrameWriterV2.using``."""
        self._writer.using(provider)
        return self

    def option(self, key: str, value: Any) -> GovernedWriterV2:
        """As ``DataFrameWriterV2.option`` (a ``path`` option is checked like a location)."""
        if key.lower() == "path":
            self._location = str(value)
        self._writer.option(key, value)
        return self

    def tableProperty(self, property: str, value: str) -> GovernedWriterV2:
        """As ``DataFrameWriterV2.tableProperty`` (a ``location`` is checked like a path)."""
        if property.lower() in ("location", "path"):
            self._location = str(value)
        self._writer.tableProperty(property, value)
        return self

    def partitionedBy(self, col: Any, *cols: Any) -> GovernedWriterV2:
        """As ``DataFrameWriterV2.partitionedBy``."""
        self._writer.partitionedBy(col, *cols)
        return self

    def clusterBy(self, col: Any, *cols: Any) -> GovernedWriterV2:
        """As ``DataFrameWriterV2.clusterBy``."""
        self._writer.clusterBy(col, *cols)
        return self

    def _write(self, root: str, run: Any, condition: Column | None = None) -> None:
        def check(sources: list[str]) -> None:
            self._check_table(self._table, sources, root, creates=root != "InsertIntoStatement")
            if self._location is not None:
                self._check_path(self._location, sources, root)
            if condition is not None:
                # The condition is analyzed against the target: guard that plan like any other.
                session = self._session
                probe = session._spark.table(self._table).filter(condition)
                session._check_frame(probe._jdf, f"DataFrameWriterV2.overwrite({self._table})")

        # overwrite(condition) and overwritePartitions keep the rest of the table: merged like an append.
        self._audited_write(self._table, check, run, table=self._table, append=root == "InsertIntoStatement")

    def create(self) -> None:
        """As ``DataFrameWriterV2.create``."""
        self._write("CreateTableAsSelect", self._writer.create)

    def replace(self) -> None:
        """As ``DataFrameWriterV2.replace``; a governed table: owners only."""
        self._write("ReplaceTableAsSelect", self._writer.replace)

    def createOrReplace(self) -> None:
        """As ``DataFrameWriterV2.createOrReplace``; a governed table: owners only."""
        self._write("ReplaceTableAsSelect", self._writer.createOrReplace)

    def append(self) -> None:
        """As ``DataFrameWriterV2.append``; a governed table: owners only."""
        self._write("InsertIntoStatement", self._writer.append)

    def overwrite(self, condition: Column) -> None:
        """As ``DataFrameWriterV2.overwrite``; the condition is guarded, a governed table: owners only."""
        self._write("InsertIntoStatement", lambda: self._writer.overwrite(condition), condition)

    def overwritePartitions(self) -> None:
        """As ``DataFrameWriterV2.overwritePartitions``; a governed table: owners only."""
        self._write("InsertIntoStatement", self._writer.overwritePartitions)
