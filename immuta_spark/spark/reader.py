"""``session.read``: Spark's reader, where a path read of a governed table's storage is the table.

A governed table's files read by path would be raw rows. So a read of exactly a table's
location gives that table's enforced DataFrame (as ``session.table`` does); a read of a path
beneath or above governed storage is refused (it would read some governed files raw); a read of
an invisible table's location fails as a path that does not exist. Everything else is read as
Spark reads it and guarded like any plan. Every read is audited.
"""

from __future__ import annotations

import secrets
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.invisible import missing_like_spark
from immuta_spark.spark.names import MISSING_PREFIX

__all__ = ["GovernedReader"]


class GovernedReader:
    """``session.read`` whose path reads of a governed table's storage get that table's enforcement."""

    def __init__(self, session: SessionInternals) -> None:
        self._session = session
        self._reader = session._spark.read
        self._format: str | None = None
        self._options: dict[str, Any] = {}

    def format(self, source: str) -> GovernedReader:
        """As ``DataFrameReader.format``."""
        self._format = source
        self._reader = self._reader.format(source)
        return self

    def option(self, key: str, value: Any) -> GovernedReader:
        """As ``DataFrameReader.option``."""
        self._options[key.lower()] = value
        self._reader = self._reader.option(key, value)
        return self

    def options(self, **options: Any) -> GovernedReader:
        """As ``DataFrameReader.options``."""
        for k, v in options.items():
            self.option(k, v)
        return self

    def schema(self, schema: StructType | str) -> GovernedReader:
        """As ``DataFrameReader.schema``."""
        self._reader = self._reader.schema(schema)
        return self

    def table(self, tableName: str) -> DataFrame:
        """As ``session.table``."""
        return self._session.table(tableName)

    def load(
        self, path: str | list[str] | None = None, format: str | None = None, schema: Any = None, **options: Any
    ) -> DataFrame:
        """Load files; a governed table's storage gives that table's enforced DataFrame."""
        if format:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        if options:
            self.options(**options)
        paths = [path] if isinstance(path, str) else list(path or [])
        for key in ("path", "paths"):
            if key in self._options:
                value = self._options[key]
                paths.extend(value.split(",") if isinstance(value, str) and key == "paths" else [value])
        session = self._session
        with session._lock:
            enforcer = session._enforcer
            enforcer.snapshot()
            governed = [(p, enforcer.source_for_storage(p)) for p in paths]
            hits = [(p, s) for p, s in governed if s is not None]
            if hits:
                first, source = hits[0]
                exact = len(paths) == 1 and enforcer.qualify(first) == enforcer.locations().get(source.name)
                if exact and session._plan(source).visible:
                    return session._enforced_source(source)

                location = enforcer.locations().get(source.name) or ""
                inside = bool(location) and enforcer.qualify(first).startswith(location.rstrip("/") + "/")

                def refuse(sources: list[str], policies: list[str]) -> DataFrame:
                    sources.append(source.name)
                    if exact or (inside and not session._plan(source).visible):
                        # an invisible table's storage, and anything in it, reads as a path that does not exist
                        placeholder = f"{MISSING_PREFIX}{secrets.token_hex(4)}"
                        return missing_like_spark(
                            enforcer,
                            lambda: self._reader.load(first.rstrip("/") + "/" + placeholder),
                            {"/" + placeholder: ("", None, None)},
                            tuple(source.table.split(".")),
                        )
                    what = (
                        f"governed data source '{source.name}'" if session._plan(source).visible else "a governed table"
                    )
                    raise UnenforcedPathError(
                        f"{first} lies in (or above) the storage of {what}; read the whole table "
                        "(session.table) so its policies apply"
                    )

                return session._audited(f"read {', '.join(paths)}", refuse)

            def run(sources: list[str], policies: list[str]) -> DataFrame:
                df = self._reader.load(path) if path is not None else self._reader.load()
                session._guard(df)
                return df

            return session._audited(f"read {', '.join(paths) or self._format or ''}", run)

    def jdbc(self, url: str, table: str, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``DataFrameReader.jdbc``: only a database under ``spark.immuta.jdbcRoots`` (the analyzer checks).

        The metastore's and the governance catalog's databases are never reachable.
        """
        session = self._session

        def run(sources: list[str], policies: list[str]) -> DataFrame:
            df = self._reader.jdbc(url, table, *args, **kwargs)
            session._guard(df)
            return df

        return session._audited(f"read jdbc table {table}", run)  # not the URL: it may carry a password

    def parquet(self, *paths: str, **options: Any) -> DataFrame:
        """As ``DataFrameReader.parquet``."""
        return self.format("parquet").load(list(paths), **options)

    def orc(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.orc``."""
        return self.format("orc").load(path, **options)

    def json(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.json``."""
        return self.format("json").load(path, **options)

    def csv(self, path: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.csv``."""
        return self.format("csv").load(path, **options)

    def text(self, paths: str | list[str], **options: Any) -> DataFrame:
        """As ``DataFrameReader.text``."""
        return self.format("text").load(paths, **options)
