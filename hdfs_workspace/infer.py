"""A workspace directory's files: their kind, their schema and their ``key=value/`` partitions.

:func:`infer_directory` lists the directory (one LISTSTATUS a directory), reads every data
file's tail with one ranged read of :data:`~hdfs_workspace.footers.TAIL_BYTES` (a second, of
exactly what is missing, only when a footer is longer), a few files at a time, and never a
data page. The pure parts (:func:`plan_files`, :func:`partition_columns`, :func:`merge_columns`)
decide everything else and are tested without HDFS. The rules (docs/workspace-sources.md):

- Entries whose name starts with ``_`` or ``.`` (``_SUCCESS``, ``.crc``, ``_temporary/``) are
  skipped, as Hive and Spark skip them.
- Every directory between the root and a file is ``key=value`` (Hive's escaping undone,
  ``__HIVE_DEFAULT_PARTITION__`` is NULL), with the same keys in the same order for every file;
  anything else is refused, naming the directory.
- A partition column is ``int`` when every value is a 32-bit integer written without leading
  zeros, ``bigint`` when they need 64 bits, else ``string``.
- Files whose schemas differ are **merged** when the difference is compatible widening: a
  column missing from some files (NULL there), an integer column that widens
  (``tinyint`` < ``smallint`` < ``int`` < ``bigint``), ``float`` to ``double``. Any other
  difference is refused, naming the column, both types and a file of each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.errors import HdfsWorkspaceError
from hdfs_workspace.footers import TAIL_BYTES, Column, FileKind, schema_from_tail, sniff, tail_needed
from hdfs_workspace.hive_tables import DEFAULT_PARTITION
from hdfs_workspace.status import FileStatus

__all__ = [
    "DataFile",
    "DirectoryInference",
    "InferenceError",
    "infer_directory",
    "merge_columns",
    "partition_columns",
    "plan_files",
]

#: Footer reads in flight at once.
DEFAULT_THREADS = 8

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^(0|-?[1-9][0-9]*)$")
_INT32 = 2**31
_INT64 = 2**63
_WIDENING = (("tinyint", "smallint", "int", "bigint"), ("float", "double"))


class InferenceError(HdfsWorkspaceError):
    """The directory's files cannot back a Hive table as they are (the message names the file or directory)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFile:
    """One data file beneath the directory: where, how big, and its partition (``((key, value), ...)``)."""

    path: str
    size: int
    partition: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryInference:
    """What a directory holds, as :func:`infer_directory` found it."""

    directory: str
    files: tuple[DataFile, ...]
    kinds: dict[str, int]
    #: The merged columns of the Parquet/ORC files (empty when the files are not columnar).
    columns: tuple[Column, ...] = ()
    partition_keys: tuple[Column, ...] = ()
    #: Each partition's values in key order, with its directory (absolute).
    partitions: tuple[tuple[tuple[str | None, ...], str], ...] = ()
    #: Ranged reads made (one a file, plus one for each footer longer than the first read).
    reads: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> FileKind | None:
        """The one kind every file is, or None when they are of several kinds."""
        return FileKind(next(iter(self.kinds))) if len(self.kinds) == 1 else None

    @property
    def offered_types(self) -> tuple[str, ...]:
        """The source types the files allow: Parquet or ORC (one of them throughout) hive and hdfs; else hdfs."""
        kind = self.kind
        return ("hive", "hdfs") if kind is not None and kind.columnar else ("hdfs",)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "directory": self.directory,
            "files": len(self.files),
            "kinds": dict(self.kinds),
            "offered_types": list(self.offered_types),
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "partition_keys": [{"name": c.name, "type": c.type} for c in self.partition_keys],
            "partitions": len(self.partitions),
            "reads": self.reads,
            "notes": list(self.notes),
        }


def _hidden(name: str) -> bool:
    return name.startswith(("_", "."))


def plan_files(directory: str, entries: Iterable[FileStatus]) -> list[DataFile]:
    """The data files among a walk's ``entries`` beneath ``directory``, each with its partition; refuses bad layouts.

    Pure: the partition of a file comes from the directories between ``directory`` and it.
    """
    root = directory.rstrip("/")
    files: list[DataFile] = []
    keys_seen: tuple[str, ...] | None = None
    first: str | None = None
    for entry in entries:
        if entry.is_dir or entry.path == root or not entry.path.startswith(root + "/"):
            continue
        parts = entry.path[len(root) + 1 :].split("/")
        if any(_hidden(p) for p in parts):
            continue
        partition = []
        for i, part in enumerate(parts[:-1]):
            key, eq, raw = part.partition("=")
            if not eq or not _KEY.match(key) or not raw:
                where = root + "/" + "/".join(parts[: i + 1])
                raise InferenceError(
                    f"{where} is not a partition directory (key=value): a Hive source reads its files only beneath "
                    "key=value directories; move the files up, rename the directory, or choose a directory below it"
                )
            value = unquote(raw)
            partition.append((key.lower(), None if value == DEFAULT_PARTITION else value))
        keys = tuple(k for k, _ in partition)
        if keys_seen is None:
            keys_seen, first = keys, entry.path
        elif keys != keys_seen:
            raise InferenceError(
                f"{entry.path} is partitioned by ({', '.join(keys) or 'nothing'}) but {first} by "
                f"({', '.join(keys_seen) or 'nothing'}): every file must sit beneath the same key=value directories, "
                "in the same order; move the odd files out of the directory"
            )
        if len(set(keys)) != len(keys):
            raise InferenceError(f"{entry.path}: a partition key repeats in its path ({'/'.join(parts[:-1])})")
        files.append(DataFile(path=entry.path, size=entry.size, partition=tuple(partition)))
    return files


def partition_columns(files: Sequence[DataFile]) -> tuple[Column, ...]:
    """The partition columns and their types (int, bigint, string: see the module docstring)."""
    if not files:
        return ()
    keys = [k for k, _ in files[0].partition]
    columns = []
    for i, key in enumerate(keys):
        values = {f.partition[i][1] for f in files} - {None}
        columns.append(Column(name=key, type=_value_type(values)))
    return tuple(columns)


def _value_type(values: set[str | None]) -> str:
    texts = [v for v in values if v is not None]
    if not texts or not all(_INT.match(v) for v in texts):
        return "string"
    numbers = [int(v) for v in texts]
    if all(-_INT32 <= n < _INT32 for n in numbers):
        return "int"
    return "bigint" if all(-_INT64 <= n < _INT64 for n in numbers) else "string"


def merge_columns(schemas: Sequence[tuple[str, Sequence[Column]]]) -> tuple[Column, ...]:
    """One table schema for files of these ``(path, columns)``; widens compatibly, refuses anything else.

    Columns keep the order in which they first appear (files in path order); names are Hive's
    (case-insensitive, so ``ID`` and ``id`` are one column).
    """
    merged: dict[str, tuple[str, str, str]] = {}  # lower name -> (name, type, a file having that type)
    for path, columns in schemas:
        names = [c.name.lower() for c in columns]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InferenceError(f"{path}: the column {dup!r} appears twice (Hive names are case-insensitive)")
        for column in columns:
            key = column.name.lower()
            if not _KEY.match(column.name):
                raise InferenceError(
                    f"{path}: the column {column.name!r} is not a plain name (letters, digits, underscores), so it "
                    "cannot be registered in a derived source's data dictionary; rewrite the files with plain names"
                )
            if key not in merged:
                merged[key] = (column.name, column.type, path)
                continue
            name, have, where = merged[key]
            wider = _wider(have, column.type)
            if wider is None:
                raise InferenceError(
                    f"the column {name!r} is {have} in {where} but {column.type} in {path}: files of one Hive "
                    "source must agree on each column's type (a column may be missing from some files, and "
                    "integers and floats may widen); rewrite the odd files or move them out of the directory"
                )
            merged[key] = (name, wider, where if wider == have else path)
    return tuple(Column(name=n, type=t) for n, t, _ in merged.values())


def _wider(a: str, b: str) -> str | None:
    if a == b:
        return a
    for chain in _WIDENING:
        if a in chain and b in chain:
            return chain[max(chain.index(a), chain.index(b))]
    return None


def infer_directory(
    access: HdfsAccess,
    directory: str,
    *,
    threads: int = DEFAULT_THREADS,
    columnar_only: bool = False,
) -> DirectoryInference:
    """List ``directory``, read every data file's footer, and infer its schema and partitions.

    ``columnar_only``: refuse at once when a file is not Parquet or ORC (a Hive source needs that).
    """
    files = plan_files(directory, access.walk(directory))
    if not files:
        raise InferenceError(
            f"{directory} holds no data files (hidden ones, starting with _ or ., do not count): write the data "
            "there first, then create the source"
        )
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        tails = list(pool.map(lambda f: _tail(access, f), files))
    kinds = Counter(kind.value for kind, _ in tails)
    inference = DirectoryInference(directory=directory, files=tuple(files), kinds=dict(sorted(kinds.items())))
    kind = inference.kind
    if kind is None or not kind.columnar:
        if columnar_only:
            raise InferenceError(_not_columnar(directory, files, tails))
        return replace(inference, reads=len(files))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        read = list(pool.map(lambda pair: _schema(access, pair[0], pair[1]), zip(files, tails, strict=True)))
    columns = merge_columns([(path, cols) for path, cols, _ in read])
    keys = partition_columns(files)
    clash = sorted({k.name for k in keys} & {c.name.lower() for c in columns})
    if clash:
        raise InferenceError(
            f"{directory}: {clash[0]!r} is both a partition directory key and a column in the files; a Hive table "
            "cannot have both: rename the directories or drop the column from the files"
        )
    partitions: dict[tuple[str | None, ...], str] = {}
    for f in files:
        if f.partition:
            values = tuple(v for _, v in f.partition)
            partitions.setdefault(values, f.path.rsplit("/", 1)[0])
    return replace(
        inference,
        columns=columns,
        partition_keys=keys,
        partitions=tuple(sorted(partitions.items(), key=lambda item: item[1])),
        reads=len(files) + sum(extra for _, _, extra in read),
    )


def _tail(access: HdfsAccess, f: DataFile) -> tuple[FileKind, bytes]:
    length = min(f.size, TAIL_BYTES)
    tail = access.read_bytes(f.path, offset=f.size - length, length=length) if length else b""
    return sniff(f.path.rsplit("/", 1)[1], tail, f.size), tail


def _schema(access: HdfsAccess, f: DataFile, tail: tuple[FileKind, bytes]) -> tuple[str, tuple[Column, ...], bool]:
    kind, data = tail
    need = tail_needed(kind, data, f.size, where=f.path)
    if need > len(data):
        # The footer is longer than the first read: fetch exactly the part before it.
        missing = need - len(data)
        data = access.read_bytes(f.path, offset=f.size - need, length=missing) + data
    return f.path, schema_from_tail(kind, data, where=f.path), need > len(tail[1])


def _not_columnar(directory: str, files: Sequence[DataFile], tails: Sequence[tuple[FileKind, bytes]]) -> str:
    kinds = Counter(kind for kind, _ in tails)
    if len(kinds) > 1 and all(k.columnar for k in kinds):
        return f"{directory} mixes Parquet and ORC files: a Hive table has one format; keep one kind in the directory"
    odd = next(f.path for f, (kind, _) in zip(files, tails, strict=True) if not kind.columnar)
    found = ", ".join(f"{n} {k.value}" for k, n in sorted(kinds.items(), key=lambda item: item[0].value))
    return (
        f"{directory} holds files that are not Parquet or ORC (found: {found}; for example {odd}): only Parquet and "
        "ORC files, whose schema is in the file, can back a hive source; register the directory with --type hdfs"
    )
