"""The governance model: users, purposes, data sources, policies, projects, settings.

Every class is a frozen dataclass; the policy-as-code reader (:mod:`immuta_spark.policyfile`)
is the only place that builds them from untrusted input.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from immuta_spark.actions import (
    DEFAULT_DELTA,
    MASK_RESTRICTIVENESS,
    ConstantMask,
    DifferentialPrivacy,
    FormatPreservingMask,
    HashMask,
    KAnonymizeMask,
    Mask,
    MatchAttribute,
    MatchGroups,
    Minimize,
    NullMask,
    PrivacyBudget,
    PurposeLimit,
    RegexMask,
    ReversibleMask,
    RoundMask,
    RowFilter,
    TimeWindow,
    WhereFilter,
)
from immuta_spark.conditions import AllOf, Condition, HasAttribute, InGroups
from immuta_spark.identity_providers import IdentityProvider

__all__ = [
    "DEFAULT_ACKNOWLEDGEMENT",
    "DEFAULT_DELTA",
    "MASKABLE_FORMATS",
    "MASK_RESTRICTIVENESS",
    "OBJECT_FORMATS",
    "Approver",
    "ColumnDef",
    "ColumnTarget",
    "ConstantMask",
    "Derivation",
    "DifferentialPrivacy",
    "Entitlement",
    "FormatPreservingMask",
    "Governance",
    "GovernanceSettings",
    "HashMask",
    "IdentityProvider",
    "KAnonymizeMask",
    "Mask",
    "MatchAttribute",
    "MatchGroups",
    "Minimize",
    "NullMask",
    "ObjectStore",
    "OwnerRef",
    "Permission",
    "Policy",
    "PolicyType",
    "PrivacyBudget",
    "Project",
    "Purpose",
    "PurposeLimit",
    "RegexMask",
    "ReversibleMask",
    "RoundMask",
    "RowFilter",
    "Rule",
    "Settings",
    "Source",
    "SourceScope",
    "Subscription",
    "SubscriptionKind",
    "TimeWindow",
    "User",
    "WhereFilter",
]


class Permission(str, enum.Enum):
    """Catalog permissions (section 1)."""

    GOVERNANCE = "GOVERNANCE"
    USER_ADMIN = "USER_ADMIN"
    CREATE_DATA_SOURCE = "CREATE_DATA_SOURCE"
    CREATE_PROJECT = "CREATE_PROJECT"
    CREATE_DATA_SOURCE_IN_PROJECT = "CREATE_DATA_SOURCE_IN_PROJECT"
    IMPERSONATE = "IMPERSONATE"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A user known to the catalog."""

    name: str
    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    permissions: frozenset[Permission] = frozenset()


#: The statement of a purpose that sets none (seed: "Immuta provides default acknowledgement statements").
DEFAULT_ACKNOWLEDGEMENT = (
    "I will use the data I access in this project only for the purpose '{purpose}', and I understand "
    "that my access is audited with that purpose."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Purpose:
    """A dotted hierarchical purpose and the statement members acknowledge."""

    name: str
    acknowledgement: str = ""

    @property
    def statement(self) -> str:
        """The statement a project's members accept for this purpose (the default when none is set)."""
        return self.acknowledgement or DEFAULT_ACKNOWLEDGEMENT.format(purpose=self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerRef:
    """An owner: a user by name, or every member of a group."""

    user: str | None = None
    group: str | None = None

    def covers(self, user: str, groups: frozenset[str]) -> bool:
        """Whether ``user`` (with ``groups``) is this owner."""
        return (self.user is not None and self.user == user) or (self.group is not None and self.group in groups)


# --- subscriptions ----------------------------------------------------------------------


class SubscriptionKind(str, enum.Enum):
    """The four subscription policy kinds (section 4)."""

    ANYONE = "anyone"
    APPROVAL = "approval"
    WHEN = "when"
    INDIVIDUALS = "individuals"


@dataclass(frozen=True, slots=True, kw_only=True)
class Approver:
    """One approver role: ``owner``, ``governance`` or a group."""

    role: str  # "owner" | "governance" | "group"
    group: str | None = None
    #: For ``owner``: the source whose owners approve (a derived source's parent); None: the source asked for.
    source: str | None = None

    @property
    def key(self) -> str:
        """A stable name for the role, used to record which approvals were given."""
        if self.role == "group":
            return f"group:{self.group}"
        if self.role == "owner" and self.source is not None:
            return f"owner:{self.source}"
        return self.role


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A subscription policy body.

    ``approval`` may carry a ``condition`` as well: both must hold (seed: an equalized
    project's "satisfy all of: is a member of group Accounting and is approved by ...").
    """

    kind: SubscriptionKind
    approvers: tuple[Approver, ...] = ()
    condition: Condition | None = None
    users: frozenset[str] = frozenset()


# --- policies ---------------------------------------------------------------------------


class PolicyType(str, enum.Enum):
    """Policy types of the policy language."""

    MASKING = "masking"
    ROW = "row"
    PURPOSE = "purpose"
    DIFFERENTIAL_PRIVACY = "differential_privacy"
    SUBSCRIPTION = "subscription"


Action = Mask | RowFilter | PurposeLimit | DifferentialPrivacy | Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One branch of a policy: if ``who`` holds, ``action`` applies (None: the policy exempts)."""

    who: Condition
    action: Action | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceScope:
    """Which sources a global policy covers: by tag, by name, or all (both None)."""

    tagged: str | None = None
    names: frozenset[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnTarget:
    """Which columns a masking policy covers: by tag or by name."""

    tagged: str | None = None
    names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A global, restricted global or local policy.

    ``rules`` is the normal form of ``for``/``except``/``rules``: the first rule whose
    condition holds decides; ``form`` remembers which was written so export gives it back.
    """

    name: str
    type: PolicyType
    rules: tuple[Rule, ...]
    form: str = "everyone"  # "everyone" | "except" | "rules"
    scope: SourceScope = SourceScope()
    owners: tuple[OwnerRef, ...] = ()
    columns: ColumnTarget | None = None
    where: str | None = None  # conditional masking
    priority: int = 0
    source: str | None = None  # set for local policies
    description: str = ""

    @property
    def is_local(self) -> bool:
        """Whether the policy sits inside one source."""
        return self.source is not None

    @property
    def is_restricted(self) -> bool:
        """Whether this is a restricted global policy (applies to named owners' sources)."""
        return bool(self.owners)

    def actions(self) -> tuple[Action, ...]:
        """Every action the policy can take, for ranking and validation."""
        return tuple(r.action for r in self.rules if r.action is not None)

    def action_for(self, who: object) -> Action | None:
        """The action for a subject: the first matching rule's, or None (exempt)."""
        for rule in self.rules:
            if rule.who.holds(who):  # type: ignore[arg-type]
                return rule.action
        return None


# --- sources, projects, settings --------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnDef:
    """A data-dictionary entry."""

    name: str
    type: str | None = None
    description: str = ""


#: The file formats an object-backed source may hold (tsv: csv separated by tabs).
OBJECT_FORMATS = ("csv", "tsv", "json", "parquet", "orc")
#: Formats whose object-backed sources take masking policies (seed: "csv, tsv, or json", with a data dictionary).
MASKABLE_FORMATS = ("csv", "tsv", "json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectStore:
    """How an object-backed source's files (the directory ``Source.location``) are read.

    ``event_time`` is where a time window finds a file's time: ``modified`` (its modification
    time) or ``xattr:NAME`` (its extended attribute ``user.NAME``, an ISO date or timestamp).
    """

    format: str
    options: Mapping[str, str] = field(default_factory=dict)
    event_time: str | None = None

    @property
    def spark_format(self) -> str:
        """The format Spark reads it with."""
        return "csv" if self.format == "tsv" else self.format

    @property
    def spark_options(self) -> dict[str, str]:
        """The reader options (a tsv's separator set unless given)."""
        if self.format == "tsv":
            return {"sep": "\t", **self.options}
        return dict(self.options)


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A governed data source: a virtual view of one table (data is never copied)."""

    name: str
    table: str
    location: str | None = None
    owners: tuple[OwnerRef, ...] = ()
    experts: tuple[str, ...] = ()
    subscribers: frozenset[str] = frozenset()
    ingest_users: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    column_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    event_time: str | None = None
    high_cardinality_column: str | None = None
    latency_tolerance: int | None = None
    subscription: Subscription | None = None
    policies: tuple[Policy, ...] = ()
    dictionary: tuple[ColumnDef, ...] = ()
    #: Set for a derived data source: what it derives from (created at run time, never in a file).
    derived: Derivation | None = None
    #: Set for an object-backed source: ``location`` is a directory of files, read as this says.
    object: ObjectStore | None = None

    @property
    def table_key(self) -> str:
        """The table name as Spark resolves it (case-insensitive)."""
        return self.table.lower()

    def is_owner(self, user: str, groups: frozenset[str]) -> bool:
        """Whether ``user`` owns this source, directly or through a group."""
        return any(o.covers(user, groups) for o in self.owners)


@dataclass(frozen=True, slots=True, kw_only=True)
class Derivation:
    """How a derived data source was made: its parents, the access it was written with, column lineage.

    Its subscription, purpose restrictions and tags are inherited from the parents whenever the
    catalog is read (:mod:`immuta_spark.engine.derived`), so a change to a parent's policy
    reaches it at once. ``entitlement`` is the access the data was written at (an equalized
    project's entitlement, or the writer's own as the parents' policies saw it): every reader
    must hold it. ``lineage`` maps each column to the parent columns its values are computed from.
    """

    parents: tuple[str, ...]
    created_by: str
    project: str | None = None
    entitlement: Entitlement = field(default_factory=lambda: Entitlement())
    lineage: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: Readers must act under one of these purposes (the writer's, when the parents' policies test purposes).
    purposes: tuple[str, ...] = ()
    #: Only these users may read it (None: no such limit): the parents' policies singled the writer out.
    readers: frozenset[str] | None = None
    certified: bool = True
    #: Why it answers no query (its data is gone: its workspace was purged); None while in use.
    disabled: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A project: members acting under its purposes over its sources."""

    name: str
    owner: str
    members: frozenset[str] = frozenset()
    purposes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    equalization: bool = False
    masked_joins: bool = False
    validation_frequency: int | None = None
    workspace: bool = False
    description: str = ""
    #: Who may become a member (section 4's four kinds; None: individuals the owners add).
    subscription: Subscription | None = None
    #: The equalized entitlement (groups and attributes every member is evaluated as holding).
    entitlement: Entitlement | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entitlement:
    """Groups and attribute values (seed: "Equalized Entitlements"): what equalized members are evaluated as."""

    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Whether it asks for nothing (seed: "No Entitlement")."""
        return not self.groups and not any(self.attributes.values())

    def condition(self) -> Condition:
        """The condition "holds every group and every attribute value of this entitlement"."""
        parts: list[Condition] = [InGroups(frozenset({g})) for g in sorted(self.groups)]
        for name, values in sorted(self.attributes.items()):
            parts += [HasAttribute(name, frozenset({v})) for v in sorted(values)]
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def missing(self, groups: frozenset[str], attributes: Mapping[str, frozenset[str]]) -> list[str]:
        """What of this entitlement someone with ``groups`` and ``attributes`` lacks, for people."""
        out = [f"group {g}" for g in sorted(self.groups - groups)]
        for name, values in sorted(self.attributes.items()):
            out += [f"attribute {name}={v}" for v in sorted(values - attributes.get(name, frozenset()))]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceSettings:
    """The seed's project governance settings."""

    purpose_required: bool = False
    all_sources_require_purpose: bool = False
    multiple_purposes: bool = True
    purpose_can_change: bool = False
    custom_purposes: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Catalog-wide settings."""

    k_anonymization_cardinality_cutoff: int = 500
    workspace_root: str = "/user/immuta/workspace"
    #: The longest lease a workspace grant gets, whatever a session asks for (a dead session's grant ends by then).
    workspace_lease_max_seconds: int = 3600
    governance: GovernanceSettings = GovernanceSettings()


@dataclass(frozen=True, slots=True, kw_only=True)
class Governance:
    """A whole policy-as-code document: everything ``apply`` sets and ``export`` writes."""

    settings: Settings = Settings()
    users: tuple[User, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    sources: tuple[Source, ...] = ()
    policies: tuple[Policy, ...] = ()
    projects: tuple[Project, ...] = ()
    #: Directories whose users, groups and attributes ``immuta-spark idp sync`` brings in (never their passwords).
    identity_providers: tuple[IdentityProvider, ...] = ()
