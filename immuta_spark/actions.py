"""The actions of policies: masks, row filters, purpose limits and differential privacy (part of the model).

Frozen dataclasses, re-exported by :mod:`immuta_spark.model`, which is where callers import them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_DELTA",
    "MASK_RESTRICTIVENESS",
    "ConstantMask",
    "DifferentialPrivacy",
    "FormatPreservingMask",
    "HashMask",
    "KAnonymizeMask",
    "Mask",
    "MatchAttribute",
    "MatchGroups",
    "Minimize",
    "NullMask",
    "PrivacyBudget",
    "PurposeLimit",
    "RegexMask",
    "ReversibleMask",
    "RoundMask",
    "RowFilter",
    "TimeWindow",
    "WhereFilter",
]


# --- masks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashMask:
    """SHA-256 with a per-source (or per-project, for masked joins) secret salt."""

    kind = "hash"


@dataclass(frozen=True, slots=True)
class NullMask:
    """A typed NULL."""

    kind = "null"


@dataclass(frozen=True, slots=True)
class ConstantMask:
    """A constant value (kept in the column's type where it casts)."""

    value: str | int | float | bool
    kind = "constant"


@dataclass(frozen=True, slots=True)
class RegexMask:
    """Regular-expression replacement (Java regex syntax, as Spark evaluates it)."""

    pattern: str
    replacement: str
    kind = "regex"


@dataclass(frozen=True, slots=True)
class RoundMask:
    """Numbers floored to a multiple of ``multiple``; dates truncated to ``unit``."""

    multiple: int | float | None = None
    unit: str | None = None
    kind = "round"


@dataclass(frozen=True, slots=True)
class ReversibleMask:
    """A deterministic, reversible token per value."""

    kind = "reversible"


@dataclass(frozen=True, slots=True)
class FormatPreservingMask:
    """FF3-1 format-preserving encryption: same length and character classes."""

    kind = "format_preserving"


@dataclass(frozen=True, slots=True)
class KAnonymizeMask:
    """k-anonymization; ``k`` of None means "from the fingerprint"."""

    k: int | None = None
    kind = "k_anonymize"


Mask = (
    HashMask | NullMask | ConstantMask | RegexMask | RoundMask | ReversibleMask | FormatPreservingMask | KAnonymizeMask
)

#: Most restrictive first (section 5.1): used to break ties between masking policies.
MASK_RESTRICTIVENESS: tuple[str, ...] = (
    "null",
    "constant",
    "k_anonymize",
    "hash",
    "reversible",
    "format_preserving",
    "regex",
    "round",
)


# --- row filters, purpose limits, differential privacy ----------------------------------


@dataclass(frozen=True, slots=True)
class MatchAttribute:
    """Rows whose ``column`` equals one of the user's values of ``attribute``.

    On an object-backed source ``origin`` may instead be ``xattr`` (``column`` names the file's
    extended attribute ``user.<column>``) or ``folder`` (``column`` is the key of a
    ``key=value/`` directory above the file): whole files are then visible or hidden.
    """

    attribute: str
    column: str
    origin: str = "column"  # "column" | "xattr" | "folder"
    kind = "match_attribute"


@dataclass(frozen=True, slots=True)
class MatchGroups:
    """Rows whose ``column`` equals one of the user's group names."""

    column: str
    kind = "match_groups"


@dataclass(frozen=True, slots=True)
class WhereFilter:
    """Rows where a SQL predicate on the source's own columns is true."""

    sql: str
    kind = "where"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Rows whose event time lies within the last ``seconds``."""

    seconds: int
    text: str
    kind = "time_window"


@dataclass(frozen=True, slots=True)
class Minimize:
    """A stable ``percent`` sample, keyed on the high-cardinality column."""

    percent: float
    kind = "minimize"


RowFilter = MatchAttribute | MatchGroups | WhereFilter | TimeWindow | Minimize


@dataclass(frozen=True, slots=True)
class PurposeLimit:
    """Access only under one of ``purposes`` (or a sub-purpose)."""

    purposes: tuple[str, ...]
    kind = "purpose"


#: The delta of a differential-privacy policy that gives none: the chance, per answer, that
#: its epsilon guarantee does not hold.
DEFAULT_DELTA = 1e-6


@dataclass(frozen=True, slots=True)
class PrivacyBudget:
    """The privacy loss one user may spend on one source within a rolling period.

    ``epsilon`` is the total; ``seconds`` the period, as written in ``text`` (``1d``, ``12h``).
    Cached answers (identical queries within the source's latency tolerance) spend nothing.
    """

    epsilon: float
    seconds: int
    text: str


@dataclass(frozen=True, slots=True)
class DifferentialPrivacy:
    """Aggregate-only access with noise at privacy loss ``epsilon`` (and ``delta``).

    ``bounds`` clamp SUM and AVG inputs; ``public_keys`` are the values GROUP BY on a column
    releases (exactly these, whatever the data holds, so that which groups exist leaks
    nothing); ``budget`` caps what one user spends on the source per period (None: no cap).
    """

    epsilon: float
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    delta: float = DEFAULT_DELTA
    public_keys: Mapping[str, tuple[str | int, ...]] = field(default_factory=dict)
    budget: PrivacyBudget | None = None
    kind = "differential_privacy"
