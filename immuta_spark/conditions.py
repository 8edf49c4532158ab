"""Who a rule is for: conditions over a subject (section 3 of the contract).

Conditions are evaluated in Python when a plan is compiled, never in the data engine: the
subject is known at compile time, so a rule's branch is chosen before any SQL exists and no
user value ever reaches SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "Everyone",
    "HasAttribute",
    "InGroups",
    "IsUser",
    "Principal",
    "UnderPurpose",
    "purpose_satisfies",
    "tag_matches",
]


class Principal(Protocol):
    """What a condition may ask about the subject."""

    @property
    def user(self) -> str: ...
    @property
    def groups(self) -> frozenset[str]: ...
    @property
    def attributes(self) -> Mapping[str, frozenset[str]]: ...
    @property
    def purposes(self) -> frozenset[str]: ...


def _descends(name: str, ancestor: str) -> bool:
    return name == ancestor or name.startswith(ancestor + ".")


def purpose_satisfies(held: str, required: str) -> bool:
    """Acting under ``held`` satisfies ``required`` when it is that purpose or a sub-purpose.

    >>> purpose_satisfies("Research.Onboarding.Customer", "Research")
    True
    >>> purpose_satisfies("ResearchX", "Research")
    False
    """
    return _descends(held, required)


def tag_matches(tag: str, target: str) -> bool:
    """A policy targeting ``target`` hits ``tag`` when it is that tag or a descendant.

    >>> tag_matches("PII.SSN", "PII"), tag_matches("PII", "PII.SSN")
    (True, False)
    """
    return _descends(tag, target)


class Condition:
    """Base of every condition; immutable and comparable."""

    __slots__ = ()

    def holds(self, who: Principal) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_data(self) -> Any:  # pragma: no cover - abstract
        """The policy-as-code form (what ``export`` writes)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Everyone(Condition):
    """The always-true condition (``everyone``)."""

    def holds(self, who: Principal) -> bool:
        return True

    def to_data(self) -> Any:
        return "everyone"


@dataclass(frozen=True, slots=True)
class InGroups(Condition):
    """Member of any of ``groups``."""

    groups: frozenset[str]

    def holds(self, who: Principal) -> bool:
        return not self.groups.isdisjoint(who.groups)

    def to_data(self) -> Any:
        return {"groups": sorted(self.groups)}


@dataclass(frozen=True, slots=True)
class HasAttribute(Condition):
    """Holds any listed value of attribute ``name``."""

    name: str
    values: frozenset[str]

    def holds(self, who: Principal) -> bool:
        return not self.values.isdisjoint(who.attributes.get(self.name, ()))

    def to_data(self) -> Any:
        return {"attributes": {self.name: sorted(self.values)}}


@dataclass(frozen=True, slots=True)
class UnderPurpose(Condition):
    """Acting under one of ``purposes`` or a sub-purpose of one."""

    purposes: frozenset[str]

    def holds(self, who: Principal) -> bool:
        return any(purpose_satisfies(h, r) for h in who.purposes for r in self.purposes)

    def to_data(self) -> Any:
        return {"purposes": sorted(self.purposes)}


@dataclass(frozen=True, slots=True)
class IsUser(Condition):
    """The subject is one of ``users``."""

    users: frozenset[str]

    def holds(self, who: Principal) -> bool:
        # Under an equalized project no one is anyone in particular: all members see the same data.
        return who.user in self.users and not getattr(who, "equalized", False)

    def to_data(self) -> Any:
        return {"users": sorted(self.users)}


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """Every part holds (also the meaning of several keys in one mapping)."""

    parts: tuple[Condition, ...] = field(default=())

    def holds(self, who: Principal) -> bool:
        return all(p.holds(who) for p in self.parts)

    def to_data(self) -> Any:
        return {"all": [p.to_data() for p in self.parts]}


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """At least one part holds."""

    parts: tuple[Condition, ...] = field(default=())

    def holds(self, who: Principal) -> bool:
        return any(p.holds(who) for p in self.parts)

    def to_data(self) -> Any:
        return {"any": [p.to_data() for p in self.parts]}
