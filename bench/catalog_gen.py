"""A large synthetic catalog: many sources, global policies and users (for the benchmarks)."""

from __future__ import annotations

import dataclasses
import random

from immuta_spark.conditions import Everyone, InGroups
from immuta_spark.model import (
    ColumnDef,
    ColumnTarget,
    Governance,
    HashMask,
    MatchAttribute,
    NullMask,
    OwnerRef,
    Permission,
    Policy,
    PolicyType,
    Project,
    RegexMask,
    RoundMask,
    Rule,
    Source,
    SourceScope,
    Subscription,
    SubscriptionKind,
    User,
)

__all__ = ["COLUMNS", "project_governance", "synthetic_governance"]

COLUMNS = (
    ("id", "bigint"),
    ("ssn", "string"),
    ("email", "string"),
    ("ip", "string"),
    ("state", "string"),
    ("amount", "double"),
    ("event_date", "date"),
    ("note", "string"),
)
_TAGS = ("PII", "PII.SSN", "PII.Email", "Network", "Location", "Financial", "Dates", "Free")


def synthetic_governance(
    *, sources: int = 1000, policies: int = 1000, users: int = 10000, seed: int = 7, admin: str = "admin"
) -> Governance:
    """A catalog of the given size; every source has the columns of :data:`COLUMNS`."""
    rnd = random.Random(seed)
    user_list = [
        User(
            name=admin,
            groups=frozenset({"g0"}),
            permissions=frozenset({Permission.GOVERNANCE, Permission.IMPERSONATE}),
        )
    ]
    for i in range(users - 1):
        user_list.append(
            User(
                name=f"user{i}",
                groups=frozenset(f"g{rnd.randrange(200)}" for _ in range(3)),
                attributes={"State": frozenset({rnd.choice(["Ohio", "Florida", "Texas", "Maine"])})},
            )
        )
    source_list = []
    for i in range(sources):
        source_list.append(
            Source(
                name=f"source{i}",
                table=f"db{i % 50}.t{i}",
                owners=(OwnerRef(user=admin),),
                tags=(f"Domain{i % 20}", "PHI") if i % 3 == 0 else (f"Domain{i % 20}",),
                column_tags={c: (_TAGS[j],) for j, (c, _) in enumerate(COLUMNS)},
                subscription=Subscription(kind=SubscriptionKind.ANYONE),
                dictionary=tuple(ColumnDef(name=c, type=t) for c, t in COLUMNS),
            )
        )
    masks = [HashMask(), NullMask(), RegexMask(r"\d+$", "XXX"), RoundMask(multiple=100)]
    policy_list = []
    for i in range(policies):
        kind = i % 4
        scope = (
            SourceScope(tagged=f"Domain{i % 20}")
            if i % 2
            else SourceScope(names=frozenset({f"source{rnd.randrange(sources)}"}))
        )
        exempt = InGroups(frozenset({f"g{rnd.randrange(200)}"}))
        if kind == 3:
            action = MatchAttribute("State", "state")
            policy_list.append(
                Policy(
                    name=f"policy{i}",
                    type=PolicyType.ROW,
                    scope=scope,
                    form="except",
                    rules=(Rule(who=exempt, action=None), Rule(who=Everyone(), action=action)),
                )
            )
            continue
        col_target = ColumnTarget(tagged=rnd.choice(_TAGS[:7])) if i % 3 else ColumnTarget(names=("ssn",))
        mask = masks[i % 4] if col_target.tagged not in ("Financial",) else RoundMask(multiple=100)
        if col_target.tagged == "Dates":
            mask = RoundMask(unit="month")
        if col_target.tagged in ("Location", "Network", "PII", "PII.SSN", "PII.Email") and isinstance(mask, RoundMask):
            mask = HashMask()
        policy_list.append(
            Policy(
                name=f"policy{i}",
                type=PolicyType.MASKING,
                scope=scope,
                columns=col_target,
                priority=i % 3,
                form="except",
                rules=(Rule(who=exempt, action=None), Rule(who=Everyone(), action=mask)),
            )
        )
    return Governance(users=tuple(user_list), sources=tuple(source_list), policies=tuple(policy_list))


def project_governance(admin: str = "admin") -> Governance:
    """The 1k x 1k x 10k catalog with an equalized project of 1,000 members (user0..user999) over 50 sources."""
    governance = synthetic_governance(admin=admin)
    project = Project(
        name="Equalized",
        owner=admin,
        members=frozenset(u.name for u in governance.users[1:1001]),
        sources=tuple(s.name for s in governance.sources[:50]),
        equalization=True,
    )
    return dataclasses.replace(governance, projects=(project,))
