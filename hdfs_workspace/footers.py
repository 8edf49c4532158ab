"""What a data file is, and its schema from its footer alone: Parquet and ORC tails, parsed by pyarrow.

Both formats keep their schema at the end of the file: Parquet in a Thrift footer followed by its
length and ``PAR1``; ORC in a footer and a postscript whose length is the file's last byte. So the
schema needs the file's tail only, never its data: :data:`TAIL_BYTES` read once (enough for
nearly every file), and, only when :func:`tail_needed` says the footer is longer, one more read
of exactly what is missing. pyarrow parses the footer from a small buffer that holds it behind
the format's magic (it reads nothing else to learn a schema); the data pages are never fetched.

Arrow types become Hive column types by :func:`hive_type`; a type Hive cannot hold is refused,
naming the column and the file. Pure: bytes in, columns out (tested without HDFS).
"""

from __future__ import annotations

import enum
import posixpath
import struct
from dataclasses import dataclass
from typing import Any

from hdfs_workspace.errors import HdfsWorkspaceError, MissingDependency

__all__ = [
    "TAIL_BYTES",
    "Column",
    "FileKind",
    "FooterError",
    "hive_type",
    "schema_from_tail",
    "sniff",
    "tail_needed",
]

#: How much of a file's end the first read fetches: the footer of almost every Parquet or ORC file.
TAIL_BYTES = 16 * 1024

_PARQUET_MAGIC = b"PAR1"
_ORC_MAGIC = b"ORC"
_COMPRESSED = (".gz", ".bz2", ".zst", ".snappy", ".lz4", ".deflate", ".xz")


class FooterError(HdfsWorkspaceError):
    """A file's footer could not be read as its format says, or holds a type Hive cannot hold."""


class FileKind(enum.Enum):
    """What a data file holds: Parquet and ORC are self-describing; the others are not."""

    PARQUET = "parquet"
    ORC = "orc"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    AVRO = "avro"
    TEXT = "text"
    OTHER = "other"

    @property
    def columnar(self) -> bool:
        """Whether the schema is in the file (Parquet, ORC): only those can back a Hive source here."""
        return self in (FileKind.PARQUET, FileKind.ORC)


@dataclass(frozen=True, slots=True)
class Column:
    """A column as Hive declares it: its name and its Hive type (``bigint``, ``array<string>``, ...)."""

    name: str
    type: str


_EXTENSIONS = {
    ".parquet": FileKind.PARQUET,
    ".orc": FileKind.ORC,
    ".csv": FileKind.CSV,
    ".tsv": FileKind.TSV,
    ".json": FileKind.JSON,
    ".jsonl": FileKind.JSON,
    ".ndjson": FileKind.JSON,
    ".avro": FileKind.AVRO,
    ".txt": FileKind.TEXT,
}


def sniff(name: str, tail: bytes, size: int) -> FileKind:
    """The kind of a file from its magic (Parquet, ORC) or else its extension (``part-0.csv.gz``: CSV).

    The magic decides for the columnar formats, whatever the name (Hive writes ``000000_0``); a
    file that is too short to hold a footer is never taken for one.
    """
    if size >= 12 and tail.endswith(_PARQUET_MAGIC) and len(tail) >= 8:
        return FileKind.PARQUET
    if size >= 8 and len(tail) >= 5 and tail[-4:-1] == _ORC_MAGIC and 0 < tail[-1] < len(tail):
        return FileKind.ORC
    base = name.lower()
    for ext in _COMPRESSED:
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    return _EXTENSIONS.get(posixpath.splitext(base)[1], FileKind.OTHER)


def tail_needed(kind: FileKind, tail: bytes, size: int, *, where: str) -> int:
    """How many bytes from the end of the file hold the whole footer (at most ``size``)."""
    if kind is FileKind.PARQUET:
        (length,) = struct.unpack("<I", tail[-8:-4])
        need = length + 8
    elif kind is FileKind.ORC:
        ps_len = tail[-1]
        fields = _protobuf_fields(tail[-1 - ps_len : -1], where=where)
        need = 1 + ps_len + int(fields.get(1, 0)) + int(fields.get(5, 0))
    else:
        raise FooterError(f"{where}: a {kind.value} file has no footer to read; only Parquet and ORC do")
    if need > size:
        raise FooterError(
            f"{where}: its {kind.value} footer claims {need} bytes but the file holds {size}: the file is damaged "
            "or still being written; replace it or move it out of the directory"
        )
    return need


def schema_from_tail(kind: FileKind, tail: bytes, *, where: str) -> tuple[Column, ...]:
    """The columns of a Parquet or ORC file, from a ``tail`` holding at least :func:`tail_needed` bytes."""
    pa, pq, orc = _arrow()
    need = tail_needed(kind, tail, len(tail), where=where)
    footer = tail[-need:]
    try:
        if kind is FileKind.PARQUET:
            # The footer behind the leading magic is a whole file to the reader: it only reads the metadata.
            schema = pq.read_metadata(pa.BufferReader(_PARQUET_MAGIC + footer)).schema.to_arrow_schema()
        else:
            schema = orc.ORCFile(pa.BufferReader(_ORC_MAGIC + footer)).schema
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise FooterError(
            f"{where}: its {kind.value} footer cannot be read ({exc}); replace the file or move it out of the directory"
        ) from exc
    return tuple(Column(name=f.name, type=hive_type(f.type, where=f"{where}, column {f.name!r}")) for f in schema)


def hive_type(t: Any, *, where: str) -> str:
    """The Hive type of an Arrow type; :class:`FooterError` for one Hive has no type for."""
    pa, _, _ = _arrow()
    types = pa.types
    if types.is_dictionary(t):
        return hive_type(t.value_type, where=where)
    simple = [
        (types.is_boolean, "boolean"),
        (types.is_int8, "tinyint"),
        (types.is_int16, "smallint"),
        (types.is_int32, "int"),
        (types.is_int64, "bigint"),
        (types.is_uint8, "smallint"),
        (types.is_uint16, "int"),
        (types.is_uint32, "bigint"),
        (types.is_uint64, "decimal(20,0)"),
        (types.is_float32, "float"),
        (types.is_float64, "double"),
        (types.is_string, "string"),
        (types.is_large_string, "string"),
        (types.is_binary, "binary"),
        (types.is_large_binary, "binary"),
        (types.is_fixed_size_binary, "binary"),
        (types.is_date32, "date"),
        (types.is_timestamp, "timestamp"),
    ]
    for test, name in simple:
        if test(t):
            return name
    if types.is_decimal(t) and t.precision <= 38:
        return f"decimal({t.precision},{t.scale})"
    if types.is_list(t) or types.is_large_list(t):
        return f"array<{hive_type(t.value_type, where=where)}>"
    if types.is_map(t):
        return f"map<{hive_type(t.key_type, where=where)},{hive_type(t.item_type, where=where)}>"
    if types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        bad = [f.name for f in fields if not _plain(f.name)]
        if bad:
            raise FooterError(f"{where}: the struct field {bad[0]!r} is not a plain name (letters, digits, _)")
        return "struct<" + ",".join(f"{f.name}:{hive_type(f.type, where=where)}" for f in fields) + ">"
    raise FooterError(
        f"{where}: its type {t} has no Hive type; rewrite the files with a supported type (cast it), "
        "or register the directory as an hdfs source"
    )


def _plain(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c == "_" for c in name)


def _protobuf_fields(data: bytes, *, where: str) -> dict[int, int | bytes]:
    """The top-level fields of a protobuf message (ORC's postscript): varints and length-delimited bytes."""
    fields: dict[int, int | bytes] = {}
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _varint(data, i)
                fields[number] = value
            elif wire == 2:
                size, i = _varint(data, i)
                fields[number] = data[i : i + size]
                i += size
            else:
                raise ValueError(f"wire type {wire}")
    except (IndexError, ValueError) as exc:
        raise FooterError(f"{where}: its ORC postscript cannot be read ({exc}); the file is damaged") from exc
    return fields


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i
        if shift > 63:
            raise ValueError("varint too long")


def _arrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow
        import pyarrow.orc
        import pyarrow.parquet
    except ImportError as err:
        raise MissingDependency(
            "reading Parquet and ORC footers needs pyarrow, which is not installed: pip install 'immuta-spark[spark]'"
        ) from err
    return pyarrow, pyarrow.parquet, pyarrow.orc
