"""``session.catalog``: Spark's catalog API, where listings and existence reflect visibility.

A governed table the user may not see is absent from ``listTables``, does not exist for
``tableExists``, and fails in ``listColumns`` exactly as a missing table fails; the columns of a
visible one are listed as the user sees them (masked types). The session's own reserved names
are never listed and may not be dropped. Caching a governed table is for its owners (as
``CACHE TABLE`` in SQL). Anything else of Spark's catalog is absent (fail closed).
"""

from __future__ import annotations

from typing import Any

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.invisible import missing_like_spark
from immuta_spark.spark.names import placeholder_parts, reference_text, split_name
from immuta_spark.spark.templates import mask_comment

__all__ = ["GovernedCatalogAPI"]


class GovernedCatalogAPI:
    """``session.catalog``: Spark's catalog API where listings and existence reflect visibility."""

    def __init__(self, session: SessionInternals) -> None:
        self._session = session
        self._catalog = session._spark.catalog

    def _visible(self, db: str | None, name: str) -> bool:
        if name.lower().startswith(MARKER_ROOT):
            return False
        enforcer = self._session._enforcer
        enforcer.snapshot()
        source = enforcer.source_for_table(db or self._catalog.currentDatabase(), name) if db is not None else None
        return source is None or enforcer.plan(source).visible

    def listTables(self, dbName: str | None = None, pattern: str | None = None) -> list[Any]:
        """Tables and views, without the governed tables the user may not see."""
        with self._session._lock:
            with self._session._enforcer.governor.answering():  # Spark lists through SHOW TABLES
                tables = self._catalog.listTables(dbName, pattern)
            keep = []
            for t in tables:
                if t.isTemporary:
                    if not t.name.lower().startswith(MARKER_ROOT):
                        keep.append(t)
                elif self._visible(t.namespace[0] if t.namespace else None, t.name):
                    keep.append(t)
            return keep

    def tableExists(self, tableName: str, dbName: str | None = None) -> bool:
        """False for a governed table the user may not see, as for one that does not exist."""
        with self._session._lock:
            name = f"{dbName}.{tableName}" if dbName else tableName
            source = self._session._source_by_name(name)
            if source is not None and not self._session._plan(source).visible:
                return False
            return bool(self._catalog.tableExists(tableName, dbName))

    def listColumns(self, tableName: str, dbName: str | None = None) -> list[Any]:
        """Columns as the user sees them (masked types)."""
        from pyspark.sql.catalog import Column as CatalogColumn

        name = f"{dbName}.{tableName}" if dbName else tableName
        source = self._session._source_by_name(name)
        if source is None:
            return self._catalog.listColumns(tableName, dbName)  # as Spark lists it (and fails)
        if not self._session._plan(source).visible:
            parts = tuple(split_name(name))
            placeholder = placeholder_parts(parts, 0)
            return missing_like_spark(
                self._session._enforcer,
                lambda: self._catalog.listColumns(".".join(placeholder)),
                {placeholder[-1]: (parts[-1], None, None)},
                parts,
            )
        df = self._session.table(name)
        return [
            CatalogColumn(
                name=f.name,
                description=mask_comment(f.metadata),
                dataType=f.dataType.simpleString(),
                nullable=f.nullable,
                isPartition=False,
                isBucket=False,
                isCluster=False,
            )
            for f in df.schema.fields
        ]

    def listDatabases(self, pattern: str | None = None) -> list[Any]:
        """As Spark's ``listDatabases``."""
        return self._catalog.listDatabases(pattern)

    def currentDatabase(self) -> str:
        """As Spark's ``currentDatabase``."""
        return self._catalog.currentDatabase()

    def setCurrentDatabase(self, dbName: str) -> None:
        """As Spark's ``setCurrentDatabase``."""
        self._catalog.setCurrentDatabase(dbName)

    def dropTempView(self, viewName: str) -> bool:
        """As Spark's ``dropTempView``; the session's own enforced views are protected."""
        if viewName.lower().startswith(MARKER_ROOT):
            raise UnenforcedPathError(f"names starting with {MARKER_ROOT} are reserved for the governed session")
        return bool(self._catalog.dropTempView(viewName))

    def cacheTable(self, tableName: str) -> None:
        """``CACHE TABLE``: owners only for governed tables."""
        self._session.sql(f"CACHE TABLE {reference_text(tableName)}")

    def uncacheTable(self, tableName: str) -> None:
        """``UNCACHE TABLE``: owners only for governed tables."""
        self._session.sql(f"UNCACHE TABLE {reference_text(tableName)}")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"catalog.{name} is not available in a governed session")
