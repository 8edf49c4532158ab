"""K-anonymization's group counts as an aggregate joined back onto the rows (plan-level, no lowering).

A ``k_anonymize`` mask nulls its columns in every row whose combination of the group's columns
occurs fewer than K times. Counting each row's group with a window (``count(1) OVER (PARTITION
BY ...)``) shuffles and sorts every whole row of the table; here each group is counted once
instead (``GROUP BY`` the group's columns: partial aggregation shuffles only keys and counts) and
the counts are joined back onto the rows on the group's columns with null-safe equality (``<=>``:
rows whose keys are NULL form one group, as in a window partition). The join is inner: every row
finds its own group, and a row that somehow did not would be dropped, not shown unmasked.

Counts are taken of the rows the row filter keeps (as the window saw them), so a user sees a
value only if K of the rows *they may see* share it. The group table gets a broadcast hint when
the table's fingerprint bounds it to at most :data:`BROADCAST_GROUPS` groups (the product of the
key columns' distinct counts, plus one for NULL); otherwise Spark picks the join from its own
statistics. :mod:`immuta_spark.spark.lower` turns each ``GroupSmallerThan`` into ``count < K`` over
the joined count column, which the enforced projection never outputs.

**Counts taken once** (:func:`with_rare_groups`). When no row filter applies, the groups smaller
than the largest K any policy uses are counted once, when the template is built, and kept in the
JVM as a local relation (never in the catalog, never printed by a plan); the rows are then joined,
left outer and broadcast (where the session broadcasts joins at all), to that small set only, so a
query reads the table once. Such a template is valid only over the very files it counted: the JVM
rule uses it for a relation whose file index lists exactly those files (paths, lengths,
modification times; see ``Relations.listing``) and the joined form above for any other, so a
table that changed is never masked by stale counts (that query also lets the session's decision
go, so the next builds the template again). More than :data:`RARE_LIMIT` small groups, or a table
that is not a plain file listing, keep the joined form only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.classic.dataframe import DataFrame as ClassicDataFrame

from immuta_spark.expr import Expr, GroupSmallerThan, nodes
from immuta_spark.spark.lower import quote_identifier

__all__ = [
    "BROADCAST_GROUPS",
    "RARE_LIMIT",
    "broadcastable",
    "group_columns",
    "largest_k",
    "with_group_counts",
    "with_rare_groups",
]

#: At most this many groups (by the fingerprint's bound), the group table is broadcast to every task.
BROADCAST_GROUPS = 1_000_000
#: At most this many groups smaller than K are kept as a local relation (more: counted in each query).
RARE_LIMIT = 100_000
#: The count a row not in any small group is given: never below any K.
_COMMON = 2**62


def group_columns(terms: Iterable[Expr]) -> list[tuple[str, ...]]:
    """The distinct column groups that ``terms`` count rows of (``GroupSmallerThan``), first seen first."""
    return list(largest_k(terms))


def largest_k(terms: Iterable[Expr]) -> dict[tuple[str, ...], int]:
    """For each column group that ``terms`` count rows of, the largest K they compare its count with."""
    out: dict[tuple[str, ...], int] = {}
    for n in nodes(*terms):
        if isinstance(n, GroupSmallerThan):
            out[n.columns] = max(out.get(n.columns, 0), int(n.k))
    return out


def with_rare_groups(
    rows: DataFrame, ks: Mapping[tuple[str, ...], int], prefix: str
) -> tuple[DataFrame, dict[tuple[str, ...], str]] | None:
    """``rows`` with each group's count joined on from groups counted now (None: too many small groups).

    ``ks`` gives each column group's largest K; a row whose group has K rows or more gets a count
    no K reaches. The small groups are collected into the JVM only (a local relation), never into
    Python, and are broadcast (unless the session broadcasts no joins: an administrator's
    ``spark.sql.autoBroadcastJoinThreshold`` of -1 is kept). ``rows`` is the unfiltered scan (with
    a row filter, counts would depend on what the filter keeps at each query: use
    :func:`with_group_counts`).
    """
    spark = rows.sparkSession
    counts: dict[tuple[str, ...], str] = {}
    out = rows
    broadcast_ok = _broadcast_enabled(rows)
    for i, (group, k) in enumerate(ks.items()):
        count = f"{prefix}c{i}"
        raw_count = f"{prefix}r{i}"
        keys = [f"{prefix}k{i}_{j}" for j in range(len(group))]
        small = _group_table(rows, group, keys, raw_count).filter(F.col(raw_count) < F.lit(k)).limit(RARE_LIMIT + 1)
        jdf = small._jdf
        found = jdf.collectAsList()
        if found.size() > RARE_LIMIT:
            return None
        local = ClassicDataFrame(spark._jsparkSession.createDataFrame(found, jdf.schema()), spark)
        joined = out.join(local.hint("broadcast") if broadcast_ok else local, _same_keys(group, keys), "left_outer")
        kept = [F.col(quote_identifier(c)) for c in out.columns]
        out = joined.select(*kept, F.coalesce(F.col(raw_count), F.lit(_COMMON)).alias(count))
        counts[group] = count
    return out, counts


def with_group_counts(
    rows: DataFrame,
    groups: list[tuple[str, ...]],
    prefix: str,
    fingerprint: Mapping[str, Any] | None = None,
) -> tuple[DataFrame, dict[tuple[str, ...], str]]:
    """``rows`` with one count column per group joined on, and each group's count column name.

    ``rows`` is the scan after the row filter; ``prefix`` makes the names of the joined columns
    (keys and counts), which no table column has.
    """
    counts: dict[tuple[str, ...], str] = {}
    out = rows
    broadcast_ok = _broadcast_enabled(rows)
    for i, group in enumerate(groups):
        count = f"{prefix}c{i}"
        keys = [f"{prefix}k{i}_{j}" for j in range(len(group))]
        table = _group_table(rows, group, keys, count)
        if broadcast_ok and broadcastable(fingerprint, group):
            table = table.hint("broadcast")
        out = out.join(table, _same_keys(group, keys), "inner")
        counts[group] = count
    return out, counts


def _group_table(rows: DataFrame, group: tuple[str, ...], keys: list[str], count: str) -> DataFrame:
    """Each combination of ``group``'s columns in ``rows`` (as columns ``keys``) with its row count."""
    columns = [F.col(quote_identifier(c)).alias(k) for c, k in zip(group, keys, strict=True)]
    return rows.groupBy(*columns).agg(F.count(F.lit(1)).alias(count))


def _same_keys(group: tuple[str, ...], keys: list[str]) -> Any:
    """Each of ``group``'s columns null-safe equal (``<=>``) to its key column: NULL keys form one group."""
    on = [F.col(quote_identifier(c)).eqNullSafe(F.col(quote_identifier(k))) for c, k in zip(group, keys, strict=True)]
    condition = on[0]
    for term in on[1:]:
        condition = condition & term
    return condition


def _broadcast_enabled(frame: DataFrame) -> bool:
    """Whether the session broadcasts joins at all (an administrator may have turned it off: -1)."""
    value = str(frame.sparkSession.conf.get("spark.sql.autoBroadcastJoinThreshold", "10485760") or "")
    return not value.strip().startswith("-")


def broadcastable(fingerprint: Mapping[str, Any] | None, group: tuple[str, ...]) -> bool:
    """Whether the fingerprint bounds ``group``'s number of groups to :data:`BROADCAST_GROUPS` or fewer."""
    if not fingerprint:
        return False
    columns = fingerprint.get("columns") or {}
    bound = 1
    for name in group:
        stats = columns.get(name)
        if not isinstance(stats, Mapping) or not isinstance(stats.get("distinct"), int):
            return False  # no distinct count for a key: leave the choice to Spark
        # An approximate count may be 1% low (HyperLogLog++ at 1%): allow for it.
        distinct = stats["distinct"] if stats.get("exact") else int(stats["distinct"] * 1.02) + 1
        bound *= distinct + (1 if stats.get("nulls") else 0)
    rows = fingerprint.get("rows")
    if isinstance(rows, int):
        bound = min(bound, rows)
    return bound <= BROADCAST_GROUPS
