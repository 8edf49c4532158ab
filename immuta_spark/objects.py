"""Object-backed sources: a directory of files, governed file by file (seed "Data Source Types").

The seed: for HDFS, a row-level policy's value "is retrieved from the xattr on the file or the
folder name", and a time window's event time "from the xattr on the file". Spark has no column
for a file's extended attributes, so such policies are decided per *file*: the row filter
compiled by the engine holds file terms (:class:`~immuta_spark.expr.FileAttribute`,
:class:`~immuta_spark.expr.FileFolder`, :class:`~immuta_spark.expr.FileModified`), the Spark
layer lists the location's files once (path, size, modification time, ``user.*`` xattrs), and
:func:`resolve_files` turns each conjunct over file terms into ``InputFile() IN (the files it
holds for)``, a native filter. A file the conjunct does not hold for (its attribute missing,
unreadable or different) is hidden: an unknown outcome is false (fail closed).

Pure Python: the listing comes in as :class:`ObjectFile` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from immuta_spark import expr as E
from immuta_spark.errors import PolicyBindError
from immuta_spark.model import MASKABLE_FORMATS, Source

__all__ = [
    "IngestStatus",
    "ObjectFile",
    "folders_of",
    "ingest_only",
    "ingest_status",
    "masking_problem",
    "resolve_files",
    "timestamp_of",
]


def masking_problem(source: Source) -> str | None:
    """Why masking policies may not cover ``source`` (None: they may), in the seed's terms.

    The seed: "to create masking policies on object-backed data sources, you must create data
    dictionary entries and the data format must be either csv, tsv, or json".
    """
    if source.object is None:
        return None
    if source.object.format not in MASKABLE_FORMATS:
        return (
            f"'{source.name}' is an object-backed source of {source.object.format} files, and masking needs csv, "
            "tsv or json files"
        )
    if not source.dictionary:
        return f"'{source.name}' is an object-backed source without data dictionary entries, which masking needs"
    return None


def ingest_only(source: Source, user: str, groups: frozenset[str]) -> bool:
    """Whether ``user`` is an ingest user of object-backed ``source`` and not an owner: they read no data."""
    return source.object is not None and user in source.ingest_users and not source.is_owner(user, groups)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectFile:
    """One file of an object-backed source, as the listing found it.

    ``uri`` is the path as Spark's ``input_file_name()`` gives it (qualified, URL-encoded);
    ``path`` the decoded path; ``modified`` seconds since the epoch; ``xattrs`` the file's
    extended attributes by full name (``user.state``).
    """

    uri: str
    path: str
    length: int
    modified: float
    xattrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestStatus:
    """What an owner or ingest user may know of a source's files: how many, how large, how recent (no data)."""

    source: str
    location: str
    files: int
    bytes: int
    last_modified: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The status as JSON-ready data."""
        return {
            "source": self.source,
            "location": self.location,
            "files": self.files,
            "bytes": self.bytes,
            "last_modified": None if self.last_modified is None else self.last_modified.isoformat(),
        }


def ingest_status(source: str, location: str, files: Iterable[ObjectFile]) -> IngestStatus:
    """The :class:`IngestStatus` of ``files``."""
    listed = list(files)
    newest = max((f.modified for f in listed), default=None)
    return IngestStatus(
        source=source,
        location=location,
        files=len(listed),
        bytes=sum(f.length for f in listed),
        last_modified=None if newest is None else datetime.fromtimestamp(newest, timezone.utc),
    )


def folders_of(path: str, location: str) -> dict[str, str]:
    """The ``key=value`` directories between ``location`` and the file at ``path`` (the nearest wins).

    >>> folders_of("/data/claims/state=Missouri/year=2020/a.csv", "/data/claims")
    {'state': 'Missouri', 'year': '2020'}
    """
    root = location.rstrip("/")
    rest = path[len(root) + 1 :] if path.startswith(root + "/") else path.lstrip("/")
    found: dict[str, str] = {}
    for part in rest.split("/")[:-1]:
        key, eq, value = part.partition("=")
        if eq and key:
            found[unquote(key)] = unquote(value)  # Spark escapes partition values with %XX
    return found


def timestamp_of(text: str) -> datetime | None:
    """An xattr's ISO date or timestamp as an aware datetime (UTC unless it says otherwise); None if not one."""
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            return None
        found = datetime(day.year, day.month, day.day)
    return found if found.tzinfo is not None else found.replace(tzinfo=timezone.utc)


def resolve_files(
    predicate: E.Predicate, files: Sequence[ObjectFile], location: str, now: datetime | None = None
) -> E.Predicate:
    """``predicate`` with every conjunct over file terms replaced by ``InputFile() IN (files it holds for)``.

    Conjuncts over columns are kept as they are. A conjunct mixing file terms and columns cannot
    be decided per file: :class:`PolicyBindError` (the source is closed).
    """
    when = now or datetime.now(timezone.utc)
    kept: list[E.Predicate] = []
    per_file: list[E.Predicate] = []
    for part in _conjuncts(predicate):
        if not E.reads_files(part):
            kept.append(part)
        elif E.columns_of(part):
            raise PolicyBindError(
                "a row policy mixes a file's attributes with the table's columns in one condition; "
                "the source is closed until the policy is split"
            )
        else:
            per_file.append(part)
    if not per_file:
        return predicate
    # Every file condition at once, per file: one IN list however many policies look at files.
    both = E.and_(*per_file)
    allowed = tuple(f.uri for f in files if _holds(both, f, folders_of(f.path, location), when) is True)
    return E.and_(*kept, E.in_(E.InputFile(), allowed))


def _conjuncts(predicate: E.Predicate) -> list[E.Predicate]:
    if isinstance(predicate, E.And):
        return _conjuncts(predicate.left) + _conjuncts(predicate.right)
    return [predicate]


def _value(term: E.Term, f: ObjectFile, folders: Mapping[str, str], now: datetime) -> Any:
    if isinstance(term, E.FileAttribute):
        return f.xattrs.get(f"user.{term.name}")
    if isinstance(term, E.FileFolder):
        return folders.get(term.key)
    if isinstance(term, E.FileModified):
        return datetime.fromtimestamp(f.modified, timezone.utc)
    if isinstance(term, E.Literal):
        return term.value
    if isinstance(term, E.NowMinus):
        return now - timedelta(seconds=term.seconds)
    if isinstance(term, E.Cast):
        value = _value(term.child, f, folders, now)
        if value is None:
            return None
        if term.type == "string":
            return value if isinstance(value, str) else str(value)
        if term.type == "timestamp":
            return value if isinstance(value, datetime) else timestamp_of(str(value))
    raise PolicyBindError(f"a file's condition holds {type(term).__name__}, which is decided per row, not per file")


def _holds(p: E.Predicate, f: ObjectFile, folders: Mapping[str, str], now: datetime) -> bool | None:
    """SQL's three-valued outcome of ``p`` for file ``f`` (None: unknown)."""
    if isinstance(p, E.AlwaysTrue):
        return True
    if isinstance(p, E.AlwaysFalse):
        return False
    if isinstance(p, E.And):
        a, b = _holds(p.left, f, folders, now), _holds(p.right, f, folders, now)
        return False if a is False or b is False else (None if a is None or b is None else True)
    if isinstance(p, E.Or):
        a, b = _holds(p.left, f, folders, now), _holds(p.right, f, folders, now)
        return True if a is True or b is True else (None if a is None or b is None else False)
    if isinstance(p, E.Not):
        a = _holds(p.child, f, folders, now)
        return None if a is None else not a
    if isinstance(p, E.NullAs):
        a = _holds(p.child, f, folders, now)
        return p.value if a is None else a
    if isinstance(p, E.IsNull):
        return _value(p.term, f, folders, now) is None
    if isinstance(p, E.EqualTo):
        v = _value(p.term, f, folders, now)
        return None if v is None else v == p.literal.value
    if isinstance(p, E.In):
        v = _value(p.term, f, folders, now)
        return None if v is None else v in {lit.value for lit in p.literals}
    if isinstance(p, E.GreaterOrEqual):
        left, right = _value(p.left, f, folders, now), _value(p.right, f, folders, now)
        if left is None or right is None:
            return None
        try:
            return bool(left >= right)
        except TypeError:
            return None
    raise PolicyBindError(f"a file's condition holds {type(p).__name__}, which is decided per row, not per file")
