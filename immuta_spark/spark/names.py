"""Table names as the governed session reads them: their parts, their SQL text, what they name.

A name a user hands to ``table``, ``catalog.*`` or a writer is split as Spark splits it
(backquotes, doubled backquotes inside them), and put back into SQL only as backquoted parts:
the name is data, never spliced raw. What it names is found following Spark's own name
resolution (the current database, temporary views, ``global_temp``, ``spark_catalog``, a
``format.`path``` read of a table's location). An invisible table is asked of Spark under a
*placeholder*, a name with a reserved prefix that cannot exist, so Spark itself produces the
error of a missing table (:mod:`immuta_spark.spark.invisible` puts the names back).

Shared by the session, its statement pipeline, its reader and catalog views and the writers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.jvm import escape, helper, records, unescape
from immuta_spark.spark.lower import quote_identifier
from immuta_spark.spark.refs import FILE_FORMATS

if TYPE_CHECKING:
    from immuta_spark.model import Source
    from immuta_spark.spark.enforce import Enforcer

__all__ = [
    "MISSING_PREFIX",
    "SessionNames",
    "is_path",
    "name_parts",
    "parts_text",
    "placeholder_parts",
    "reference_text",
    "resolve",
    "session_names",
    "source_by_name",
    "split_name",
    "table_storage",
]

#: Prefix of the names that stand in for invisible tables while Spark is asked for its error.
MISSING_PREFIX = f"{MARKER_ROOT}missing_"


def split_name(name: str) -> list[str]:
    """The parts of a multi-part table name as written (backquoted parts keep their backquotes)."""
    parts: list[str] = []
    current = ""
    quoted = False
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "`":
            if quoted and i + 1 < len(name) and name[i + 1] == "`":
                current += "``"
                i += 2
                continue
            quoted = not quoted
            current += ch
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return [p.strip() for p in parts]


def name_parts(name: str) -> tuple[str, ...]:
    """The parts of a (possibly backquoted) multi-part table name, unquoted."""
    return tuple(p[1:-1].replace("``", "`") if p.startswith("`") and p.endswith("`") else p for p in split_name(name))


def parts_text(parts: tuple[str, ...]) -> str:
    """Name parts as SQL text, each part backquoted."""
    return ".".join(quote_identifier(p) for p in parts)


def reference_text(name: str) -> str:
    """A table name as SQL text: each part backquoted (the name is data, never spliced raw)."""
    return parts_text(name_parts(name))


def placeholder_parts(parts: tuple[str, ...], index: int) -> tuple[str, ...]:
    """``parts`` with the table name replaced by a name that cannot exist (reserved prefix)."""
    return (*parts[:-1], f"{MISSING_PREFIX}{secrets.token_hex(4)}_{index}")


def is_path(text: str) -> bool:
    """Whether a name part is a path (the second part of a ``format.`path``` read)."""
    return "/" in text or ":" in text


@dataclass(frozen=True, slots=True)
class SessionNames:
    """What a one-part name means in the session right now: its current database, its temporary views.

    Looked up for all of a statement's one-part names in one JVM call (two or three py4j round
    trips each otherwise), before anything of the statement runs.
    """

    current_database: str
    #: Those of the names asked about that are temporary views (as written).
    temp_views: frozenset[str]


def session_names(enforcer: Enforcer, names: Iterable[str]) -> SessionNames:
    """The current database, and which of ``names`` are temporary views of the session (one JVM call)."""
    text = "".join(escape(name) + "\n" for name in dict.fromkeys(names))
    current, views = "", set()
    for kind, *fields in records(helper(enforcer.spark).session_names_lines(enforcer.jsession, text)):
        if kind == "D":
            current = unescape(fields[0])
        elif kind == "V":
            views.add(unescape(fields[0]))
        else:  # the helper and this reader come from one release: anything else is a bug
            raise ValueError(f"unexpected line from the JVM helper's session names: {kind!r}")
    return SessionNames(current, frozenset(views))


def resolve(
    enforcer: Enforcer,
    parts: tuple[str, ...],
    *,
    identifier_class: str = "UnresolvedRelation",
    names: SessionNames | None = None,
) -> Source | None:
    """The governed source an identifier names, following Spark's own name resolution.

    ``names``: the session's names looked up already for this statement (:func:`session_names`,
    which must have been asked about ``parts[0]`` of a one-part name); else they are asked now.
    """
    lowered = [p.lower() for p in parts]
    if len(lowered) == 1:
        if names is None:
            names = session_names(enforcer, () if identifier_class == "UnresolvedIdentifier" else parts)
        if identifier_class == "UnresolvedIdentifier":
            return enforcer.source_for_table(names.current_database, lowered[0])
        if parts[0] in names.temp_views:
            return None  # a temporary view: its plan is guarded when used
        return enforcer.source_for_table(names.current_database, lowered[0])
    if len(lowered) == 2:
        if lowered[0] == "global_temp":
            return None
        if lowered[0] in FILE_FORMATS and is_path(parts[1]):
            # Only the table's own location reads as the table; a path beneath or above it
            # is left to Spark and refused by the guard (its files would be read raw).
            source = enforcer.source_for_path(parts[1])
            if source is not None and enforcer.qualify(parts[1]) == enforcer.locations().get(source.name):
                return source
            return None
        return enforcer.source_for_table(lowered[0], lowered[1])
    if len(lowered) == 3 and lowered[0] == "spark_catalog":
        return enforcer.source_for_table(lowered[1], lowered[2])
    return None


def source_by_name(enforcer: Enforcer, table: str) -> Source | None:
    """The governed source a user-given table name names, under the current catalog snapshot."""
    enforcer.snapshot()
    return resolve(enforcer, name_parts(table))


def table_storage(enforcer: Enforcer, parts: tuple[str, ...]) -> str | None:
    """The storage location of the existing session-catalog table ``parts`` names, if any."""
    if len(parts) == 1:
        db, table = enforcer.spark.catalog.currentDatabase(), parts[0]
    elif len(parts) == 2 or (len(parts) == 3 and parts[0].lower() == "spark_catalog"):
        db, table = parts[-2], parts[-1]
    else:
        return None
    return enforcer.table_location(db.lower(), table.lower())
