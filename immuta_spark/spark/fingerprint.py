"""Fingerprints of governed tables (POLICY.md 5.2), computed with Spark and kept in the catalog.

A fingerprint holds the table's row count and, per column, its distinct count (exact up to
twice the cardinality cutoff, HyperLogLog++ at 1% above), null count, min and max; for each
k-anonymization policy on the source, the K that ``k_anonymize: fingerprint`` uses (the largest
K from 2 to 10 that suppresses at most 10% of rows, 2 if none); and the table's **version**, a
hash of its files' paths, sizes and modification times. A fingerprint whose version is not the
table's is stale and never used: a governed session recomputes it the first time a query
needs it (:class:`FreshFingerprints`), and ``immuta-spark fingerprint`` computes it ahead.

The statistics take one aggregation over the table; the exact distinct counts of low-cardinality
columns and each k-anonymization group's counts take one more each.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from immuta_spark.engine.masking import k_anonymity_groups
from immuta_spark.model import Source

__all__ = ["FreshFingerprints", "compute_fingerprint", "fingerprint_table", "table_version"]

#: Column types whose min and max are recorded (others: counts only).
_ORDERED = ("string", "int", "bigint", "smallint", "tinyint", "double", "float", "date", "timestamp", "boolean")
#: The fingerprint rule's range of K, and the share of rows it may suppress.
K_RANGE = range(2, 11)
MAX_SUPPRESSED = 0.10


def table_version(frame: DataFrame) -> str:
    """A hash of the files ``frame`` reads: their paths, sizes and modification times."""
    spark = frame.sparkSession
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = spark._jsparkSession.sessionState().newHadoopConf()
    digest = hashlib.sha256()
    for name in sorted(frame.inputFiles()):
        path = jvm.org.apache.hadoop.fs.Path(name)
        status = path.getFileSystem(conf).getFileStatus(path)
        digest.update(f"{name}\0{status.getLen()}\0{status.getModificationTime()}\n".encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def compute_fingerprint(
    frame: DataFrame, *, cutoff: int, groups: Mapping[str, Sequence[str]], progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The fingerprint of ``frame`` (a raw table) for a catalog whose cutoff is ``cutoff``."""
    say = progress or (lambda _: None)
    fields = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
    say("statistics")
    aggs = [F.count(F.lit(1)).alias("__rows")]
    for i, (name, kind) in enumerate(fields):
        col = F.col(f"`{name.replace('`', '``')}`")
        if kind.startswith(("map", "array", "struct")):
            aggs.append(F.count(col).alias(f"n{i}"))
            continue
        aggs += [F.count(col).alias(f"n{i}"), F.approx_count_distinct(col, 0.01).alias(f"d{i}")]
        if kind in _ORDERED or kind.startswith("decimal"):
            aggs += [F.min(col).alias(f"lo{i}"), F.max(col).alias(f"hi{i}")]
    row = frame.agg(*aggs).collect()[0].asDict()
    rows = int(row["__rows"])
    small = [i for i, _ in enumerate(fields) if row.get(f"d{i}") is not None and row[f"d{i}"] <= 2 * cutoff]
    exact: dict[int, int] = {}
    if small:
        say("exact distinct counts")
        cols = [F.count_distinct(F.col(f"`{fields[i][0].replace('`', '``')}`")).alias(f"e{i}") for i in small]
        got = frame.agg(*cols).collect()[0].asDict()
        exact = {i: int(got[f"e{i}"]) for i in small}
    columns = {}
    for i, (name, _) in enumerate(fields):
        entry: dict[str, Any] = {"nulls": rows - int(row[f"n{i}"])}
        if f"d{i}" in row:
            entry["distinct"] = exact.get(i, int(row[f"d{i}"]))
            entry["exact"] = i in exact
        if f"lo{i}" in row:
            entry["min"], entry["max"] = _plain(row[f"lo{i}"]), _plain(row[f"hi{i}"])
        columns[name] = entry
    k_anonymity = {}
    for policy, group in sorted(groups.items()):
        say(f"k for policy {policy}")
        k_anonymity[policy] = _fingerprint_k(frame, group, rows)
    return {"rows": rows, "columns": columns, "k_anonymity": k_anonymity}


def _fingerprint_k(frame: DataFrame, group: Sequence[str], rows: int) -> int:
    """The largest K in 2..10 that suppresses at most 10% of rows when grouping by ``group`` (2 if none)."""
    cols = [F.col(f"`{c.replace('`', '``')}`") for c in group]
    sizes = frame.groupBy(*cols).count().groupBy("count").count().collect()  # group size -> how many groups
    best = 2
    for k in K_RANGE:
        suppressed = sum(int(r[0]) * int(r[1]) for r in sizes if int(r[0]) < k)
        if rows == 0 or suppressed <= MAX_SUPPRESSED * rows:
            best = k
    return best


def fingerprint_table(
    frame: DataFrame,
    snapshot: Any,
    source: Source,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    version: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole fingerprint of ``source`` read from ``frame``, under ``snapshot``'s cutoff and policies."""
    if groups is None:
        groups = k_anonymity_groups(snapshot, source, frame.columns)
    cutoff = snapshot.governance.settings.k_anonymization_cardinality_cutoff
    body = compute_fingerprint(frame, cutoff=cutoff, groups=groups, progress=progress)
    body["version"] = version if version is not None else table_version(frame)
    return body


class FreshFingerprints:
    """The fresh fingerprint of a source whose k-anonymization needs one (recomputed when stale).

    ``raw(table)`` gives the table's raw DataFrame; ``acting()`` the catalog as the session's
    user, which stores what is computed (so the audit names whose query needed it).
    """

    def __init__(self, raw: Callable[[str], DataFrame], acting: Callable[[], Any]) -> None:
        self._raw = raw
        self._acting = acting

    def fresh(self, snapshot: Any, source: Source, columns: Sequence[str]) -> Mapping[str, Any] | None:
        """The source's fingerprint, current with its table; None when no k-anonymization policy needs one."""
        groups = k_anonymity_groups(snapshot, source, columns)
        if not groups:
            return None
        return self._current(snapshot, source, groups)

    def current(self, snapshot: Any, source: Source) -> Mapping[str, Any]:
        """The source's fingerprint, current with its table (computed when missing or stale)."""
        frame = self._raw(source.table)
        return self._current(snapshot, source, k_anonymity_groups(snapshot, source, list(frame.columns)))

    def _current(self, snapshot: Any, source: Source, groups: Mapping[str, Sequence[str]]) -> Mapping[str, Any]:
        frame = self._raw(source.table)
        version = table_version(frame)
        catalog = self._acting()
        stored = catalog.fingerprint(source.name)  # not the snapshot's: stored without a bump
        if stored and stored.get("version") == version and set(groups) <= set(stored.get("k_anonymity", {})):
            return stored
        body = fingerprint_table(frame, snapshot, source, groups=groups, version=version)
        catalog.store_fingerprint(source.name, body, automatic=True)
        return body


def terminal_progress(out: TextIO = sys.stderr) -> Callable[[str], None]:
    """Progress lines with elapsed seconds, only on a terminal."""
    started = time.monotonic()
    if not out.isatty():
        return lambda _: None
    return lambda step: print(f"  [{time.monotonic() - started:6.1f}s] {step}", file=out, flush=True)
