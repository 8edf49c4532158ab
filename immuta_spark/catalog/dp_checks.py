"""Differential privacy's checks on a source (POLICY.md 5.5): a high-cardinality column, and the columns named.

A source under a differential-privacy policy needs a column with at least 90% distinct values
(the seed: "typically the primary key"; below that the noise does not fit the data). It is
checked against the source's fingerprint: ``apply`` checks the fingerprints already stored
(it reads no tables), and the Spark layer checks a fresh one at query time, both through
:func:`dp_cardinality_problem`. Without a fingerprint there is nothing to check yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from immuta_spark.engine import Snapshot
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import DifferentialPrivacy, Governance, Policy, PolicyType, Source

__all__ = ["MIN_DISTINCT_SHARE", "check_dp_at_apply", "dp_cardinality_problem"]

#: The share of a source's rows whose values its high-cardinality column must tell apart.
MIN_DISTINCT_SHARE = 0.9

_ADVICE = "declare a high_cardinality_column with at least 90% distinct values, such as the primary key"


def dp_cardinality_problem(source: Source, fingerprint: Mapping[str, Any] | None) -> str | None:
    """Why ``source`` lacks the high-cardinality column differential privacy needs, or None.

    With a declared ``high_cardinality_column``, that column's distinct values must be at
    least 90% of the fingerprint's rows; without one, some column's must. None also when
    there is nothing to check: no fingerprint, no rows, no column statistics.
    """
    if not fingerprint:
        return None
    rows = fingerprint.get("rows")
    stats: Mapping[str, Mapping[str, Any]] = fingerprint.get("columns") or {}
    if not isinstance(rows, int) or rows <= 0 or not stats:
        return None
    declared = source.high_cardinality_column
    if declared is not None:
        found = next((name for name in stats if name.lower() == declared.lower()), None)
        if found is None:
            return (
                f"'{source.name}' declares high_cardinality_column '{declared}', which its fingerprint does not "
                f"have (its columns: {', '.join(stats)}); {_ADVICE}, or fingerprint the table again if it changed"
            )
        share = _share(stats[found], rows)
        if share is None:
            return (
                f"the high_cardinality_column '{declared}' of '{source.name}' has no distinct count in its "
                f"fingerprint (a map, array or struct column); {_ADVICE}"
            )
        if share < MIN_DISTINCT_SHARE:
            return (
                f"the high_cardinality_column '{declared}' of '{source.name}' has {_percent(stats[found], share)} "
                f"distinct values by its fingerprint ({rows} rows), under the 90% differential privacy needs; "
                f"{_ADVICE}"
            )
        return None
    shares = {name: share for name, entry in stats.items() if (share := _share(entry, rows)) is not None}
    if not shares:
        return f"no column of '{source.name}' has a distinct count in its fingerprint; {_ADVICE}"
    best = max(shares, key=shares.__getitem__)  # the first of equals, in the fingerprint's column order
    if shares[best] >= MIN_DISTINCT_SHARE:
        return None
    return (
        f"'{source.name}' declares no high_cardinality_column and its most distinct column, '{best}', has "
        f"{_percent(stats[best], shares[best])} distinct values by its fingerprint ({rows} rows), under the 90% "
        f"differential privacy needs; {_ADVICE}"
    )


def check_dp_at_apply(governance: Governance, fingerprints: Mapping[str, Mapping[str, Any]], file: str) -> None:
    """Refuse a document whose differential privacy does not fit a source it applies to.

    For every source a DP policy applies to (its own, or a global one through the policies'
    scopes, as the engine finds them): the columns named in ``bounds`` and ``public_keys``
    must be in the source's data dictionary, when it has one; and the source must pass
    :func:`dp_cardinality_problem` against its stored fingerprint.
    """
    dp = PolicyType.DIFFERENTIAL_PRIVACY
    everywhere = any(p.type is dp for p in governance.policies)
    local = {s.name for s in governance.sources if any(p.type is dp for p in s.policies)}
    if not everywhere and not local:
        return
    snapshot = Snapshot(governance)
    # Without a global DP policy only the sources with a local one can be covered.
    for source in [s for s in snapshot.sources.values() if everywhere or s.name in local]:
        policies = snapshot.source_policies(source).of(dp)
        if not policies:
            continue
        for policy in policies:
            _check_columns(policy, source, file)
        problem = dp_cardinality_problem(source, fingerprints.get(source.name))
        if problem is not None:
            raise PolicyFileError(
                f"policy {policies[0].name!r}", f"applies differential privacy, but {problem}", file=file or None
            )


def _check_columns(policy: Policy, source: Source, file: str) -> None:
    """The columns ``policy`` names in ``bounds`` and ``public_keys`` are in ``source``'s data dictionary."""
    if not source.dictionary:
        return  # nothing to check against: the Spark layer binds them to the table's columns
    known = {c.name.lower() for c in source.dictionary}
    for action in policy.actions():
        if not isinstance(action, DifferentialPrivacy):
            continue
        for option, columns in (("bounds", action.bounds), ("public_keys", action.public_keys)):
            for column in columns:
                if column.lower() not in known:
                    raise PolicyFileError(
                        f"policy {policy.name!r}",
                        f"its {option} name column '{column}', which data source '{source.name}' does not have "
                        f"(its data dictionary: {', '.join(c.name for c in source.dictionary)}); correct the "
                        f"column, or scope the policy so that it does not cover '{source.name}'",
                        file=file or None,
                    )


def _share(entry: Mapping[str, Any], rows: int) -> float | None:
    """The column's distinct values as a share of the rows (an estimate above the rows counts as all)."""
    distinct = entry.get("distinct")
    if isinstance(distinct, bool) or not isinstance(distinct, int | float):
        return None
    return min(float(distinct) / rows, 1.0)


def _percent(entry: Mapping[str, Any], share: float) -> str:
    """``share`` in percent, rounded down (89.96% is not shown as 90%), 'about' when the count is estimated."""
    shown = f"{math.floor(share * 1000 + 1e-9) / 10:.1f}%"  # the slack: 0.29 * 1000 is 289.99999999999994
    return shown if entry.get("exact", True) else f"about {shown}"
