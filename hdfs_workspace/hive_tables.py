"""An external Hive table over a workspace directory: its description, and the DDL shown for it.

The table is created through the metastore's Thrift API (:meth:`hdfs_workspace.hive.HiveMetastore.create_table`),
never by running SQL text, so no identifier or value is ever spliced into a statement. The
``CREATE EXTERNAL TABLE`` text of :func:`create_table_ddl` is what ``source inspect`` shows
(and what one would run by hand): every identifier quoted with backticks (a backtick doubled),
the location a string literal with its quote and backslashes escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from hdfs_workspace.footers import Column, FileKind

__all__ = ["DEFAULT_PARTITION", "FORMATS", "HiveFormat", "HiveTableSpec", "create_table_ddl", "quote_identifier"]

#: Hive's name for a NULL partition value (its directory and its metastore value).
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True, slots=True)
class HiveFormat:
    """How Hive reads and writes one file format."""

    stored_as: str
    serde: str
    input_format: str
    output_format: str


FORMATS = {
    FileKind.PARQUET: HiveFormat(
        "PARQUET",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    ),
    FileKind.ORC: HiveFormat(
        "ORC",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HiveTableSpec:
    """An external table: where it is, its columns, partition keys and format, and who owns it."""

    database: str
    name: str
    location: str
    kind: FileKind
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...] = ()
    owner: str | None = None

    @property
    def format(self) -> HiveFormat:
        """The Hive format of the files."""
        return FORMATS[self.kind]


def quote_identifier(name: str) -> str:
    """A Hive identifier in backticks, a backtick inside doubled."""
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_table_ddl(spec: HiveTableSpec) -> str:
    """The ``CREATE EXTERNAL TABLE`` statement equivalent to what the metastore is asked to create."""
    q = quote_identifier
    cols = ",\n".join(f"  {q(c.name)} {c.type}" for c in spec.columns)
    lines = [f"CREATE EXTERNAL TABLE {q(spec.database)}.{q(spec.name)} (\n{cols}\n)"]
    if spec.partition_keys:
        lines.append("PARTITIONED BY (" + ", ".join(f"{q(c.name)} {c.type}" for c in spec.partition_keys) + ")")
    lines.append(f"STORED AS {spec.format.stored_as}")
    lines.append(f"LOCATION {_literal(spec.location)}")
    return "\n".join(lines)
