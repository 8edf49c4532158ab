"""Policies indexed by what they target, so that a compile looks only at policies that can apply.

A catalog may hold thousands of global policies while each source is targeted by a few of them,
and each column by fewer still. Scanning every policy for every source, and every masking policy
for every column, made compile time grow with the catalog instead of with the policies that
apply. So:

* global policies are kept by their source scope (:class:`ScopeIndex`): a source name, a tag,
  or every source;
* the policies a source gets through tags and "every source" depend only on which tag buckets
  its tags hit (and, for restricted policies, on its owners), so sources alike share one
  :class:`PolicyBlock` of them, built once: split by type, masking policies by column target (a
  column name or a tag), row policies ready to decide, and each column's masking conflict
  decided once for every source of the block;
* a source's :class:`SourcePolicies` adds what is its own: global policies naming it (before
  the block, as in the catalog's order) and its local policies (after).

Every lookup restores the catalog's order, so the result is exactly what the full scan gives;
``scan=True`` is that full scan, kept as the reference the index is tested against.

A tag target ``T`` hits a tag ``t`` when ``t`` is ``T`` or ``T.<more>``
(:func:`immuta_spark.conditions.tag_matches`), so the targets hitting ``t`` are ``t`` itself and
each prefix of ``t`` that ends before a dot: :func:`tag_prefixes` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from immuta_spark.conditions import Condition, tag_matches
from immuta_spark.engine.plan import RowPolicyApplied
from immuta_spark.model import Action, OwnerRef, Policy, PolicyType, Source

__all__ = [
    "NAMED_COLUMN",
    "PolicyBlock",
    "PreparedRow",
    "ScopeIndex",
    "SourcePolicies",
    "column_specificity",
    "column_tags",
    "tag_prefixes",
]

#: Specificity of a column named by a policy: above any tag depth.
NAMED_COLUMN = 1000

#: A row policy ready to decide for any subject: per rule (condition, action, the action's
#: number, the plan's entry when it applies). Equal actions have equal numbers within a source.
PreparedRow = tuple[Policy, tuple[tuple[Condition, Action | None, int, RowPolicyApplied | None], ...]]


def tag_prefixes(tag: str) -> list[str]:
    """Every tag target that hits ``tag``: the tag and each of its prefixes ending before a dot.

    >>> tag_prefixes("PII.SSN.Last4")
    ['PII.SSN.Last4', 'PII', 'PII.SSN']
    """
    return [tag, *(tag[:i] for i, c in enumerate(tag) if c == ".")]


def column_tags(source: Source, column: str) -> tuple[str, ...]:
    """The tags of a source's column (its exact name first, else ignoring case)."""
    tags = source.column_tags.get(column)
    if tags is None:
        for name, t in source.column_tags.items():
            if name.lower() == column.lower():
                return t
        return ()
    return tags


def column_specificity(policy: Policy, column: str, tags: Iterable[str]) -> int | None:
    """The specificity with which ``policy`` targets a column with ``tags``, or None if it does not.

    A named column beats every tag; a deeper tag beats a shallower one.
    """
    target = policy.columns
    if target is None:
        return None
    if target.names is not None:
        return NAMED_COLUMN if column.lower() in (n.lower() for n in target.names) else None
    wanted = target.tagged or ""
    return wanted.count(".") + 1 if any(tag_matches(t, wanted) for t in tags) else None


def _prepare_rows(policies: Iterable[Policy], numbers: dict[Action, int]) -> list[PreparedRow]:
    """Row policies ready to decide; ``numbers`` numbers their distinct actions (and grows)."""
    out: list[PreparedRow] = []
    for p in policies:
        rules = []
        for rule in p.rules:
            if rule.action is None:
                rules.append((rule.who, None, -1, None))
            else:
                number = numbers.setdefault(rule.action, len(numbers))
                rules.append((rule.who, rule.action, number, RowPolicyApplied(policy=p.name, kind=rule.action.kind)))
        out.append((p, tuple(rules)))
    return out


class ScopeIndex:
    """Global policies by the sources they cover: by source name, by tag, or every source."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = tuple(policies)
        self._by_name: dict[str, list[int]] = {}
        self._by_tag: dict[str, list[int]] = {}
        self._everywhere: list[int] = []
        for i, p in enumerate(self.policies):
            if p.scope.names is not None:
                for n in p.scope.names:
                    self._by_name.setdefault(n, []).append(i)
            elif p.scope.tagged is not None:
                self._by_tag.setdefault(p.scope.tagged, []).append(i)
            else:
                self._everywhere.append(i)
        # Whether a bucket holds a restricted policy: then who owns a source matters to it.
        self._restricted = {k for k, ids in self._by_tag.items() if any(self.policies[i].owners for i in ids)}
        self._restricted_everywhere = any(self.policies[i].owners for i in self._everywhere)

    def named(self, source: Source) -> list[Policy]:
        """The global policies naming ``source`` in their scope, in catalog order."""
        return [self.policies[i] for i in self._by_name.get(source.name, ())]

    def block_key(self, source: Source) -> tuple[frozenset[str], tuple[OwnerRef, ...] | None]:
        """What the source's tagged and "every source" policies depend on: the tag buckets its
        tags hit, and its owners when one of those policies is restricted."""
        keys = frozenset(k for t in source.tags for k in tag_prefixes(t) if k in self._by_tag)
        restricted = self._restricted_everywhere or not self._restricted.isdisjoint(keys)
        return keys, (source.owners if restricted else None)

    def shared(self, keys: Iterable[str]) -> list[Policy]:
        """The "every source" policies, then those scoped to the tag buckets ``keys``, in catalog order."""
        tagged: set[int] = set()
        for k in keys:
            tagged.update(self._by_tag.get(k, ()))
        return [self.policies[i] for i in (*self._everywhere, *sorted(tagged))]

    def scan(self, source: Source) -> list[Policy]:
        """Every global policy covering ``source``, found by testing each (the reference)."""
        named = [p for p in self.policies if p.scope.names is not None and source.name in p.scope.names]
        everywhere = [p for p in self.policies if p.scope.names is None and p.scope.tagged is None]
        tag_scoped = [p for p in self.policies if p.scope.names is None and p.scope.tagged is not None]
        tagged = [p for p in tag_scoped if any(tag_matches(t, p.scope.tagged or "") for t in source.tags)]
        return [*named, *everywhere, *tagged]


class PolicyBlock:
    """Policies in order, split by type, masking ones indexed by column target, row ones prepared.

    ``columns`` memoises per (column name, column tags) whatever the masking step derives from
    the candidates alone (its conflict: who wins does not depend on who asks).
    """

    def __init__(self, policies: Sequence[Policy], *, scan: bool = False) -> None:
        self.all = tuple(policies)
        self.scan = scan
        by_type: dict[PolicyType, list[Policy]] = {}
        for p in self.all:
            by_type.setdefault(p.type, []).append(p)
        self.by_type = {k: tuple(v) for k, v in by_type.items()}
        self.masking = self.by_type.get(PolicyType.MASKING, ())
        self._by_column: dict[str, list[int]] = {}
        self._by_column_tag: dict[str, list[int]] = {}
        for i, p in enumerate(self.masking):
            if p.columns is None:
                continue
            if p.columns.names is not None:
                for n in dict.fromkeys(n.lower() for n in p.columns.names):
                    self._by_column.setdefault(n, []).append(i)
            else:
                self._by_column_tag.setdefault(p.columns.tagged or "", []).append(i)
        self.numbers: dict[Action, int] = {}
        self.rows = tuple(_prepare_rows(self.by_type.get(PolicyType.ROW, ()), self.numbers))
        self.columns: dict[tuple[str, tuple[str, ...]], Any] = {}

    def masking_candidates(self, column: str, tags: Sequence[str]) -> list[tuple[Policy, int]]:
        """The masking policies targeting a column with ``tags``, each with its specificity, in order."""
        if self.scan:
            found = [(p, column_specificity(p, column, tags)) for p in self.masking]
            return [(p, s) for p, s in found if s is not None]
        # A policy sits in one bucket, its target's: the bucket gives its specificity.
        specs = dict.fromkeys(self._by_column.get(column.lower(), ()), NAMED_COLUMN)
        for t in tags:
            for prefix in tag_prefixes(t):
                for i in self._by_column_tag.get(prefix, ()):
                    specs[i] = prefix.count(".") + 1
        return [(self.masking[i], spec) for i, spec in sorted(specs.items())]

    def column(self, column: str, tags: Sequence[str], derive: Callable[[list[tuple[Policy, int]]], Any]) -> Any:
        """``derive(candidates)`` for a column, computed once per block and column signature."""
        key = (column.lower(), tuple(tags))
        if key not in self.columns:
            self.columns[key] = derive(self.masking_candidates(column, tags))
        return self.columns[key]


class SourcePolicies:
    """Every policy that applies to one source: its own global ones (``named``), then the shared
    ``block``, then its local ones (``local``), by type.

    ``rankings`` memoises each column's masking conflict for this source (filled by
    :mod:`immuta_spark.engine.masking`); ``rows`` are the row policies ready to decide.
    """

    def __init__(self, named: Sequence[Policy], block: PolicyBlock, local: Sequence[Policy]) -> None:
        self.named = tuple(named)
        self.block = block
        self.local = tuple(local)
        self.all = (*self.named, *block.all, *self.local)
        self._by_type: dict[PolicyType, tuple[Policy, ...]] = {}
        for kind, shared in block.by_type.items():
            self._by_type[kind] = shared
        if self.named or self.local:
            for kind in PolicyType:
                mine = [p for p in self.named if p.type is kind], [p for p in self.local if p.type is kind]
                if mine[0] or mine[1]:
                    self._by_type[kind] = (*mine[0], *block.by_type.get(kind, ()), *mine[1])
        self.rows = block.rows
        own = [p for p in self.named if p.type is PolicyType.ROW], [p for p in self.local if p.type is PolicyType.ROW]
        if own[0] or own[1]:
            # The block's action numbers go on into the source's own row policies, so that
            # equal actions keep one number across the three parts.
            numbers = dict(block.numbers)
            self.rows = (*_prepare_rows(own[0], numbers), *block.rows, *_prepare_rows(own[1], numbers))
        self.rankings: dict[str, Any] = {}

    @property
    def scan(self) -> bool:
        """Whether this is the full-scan reference (no index, nothing shared)."""
        return self.block.scan

    def of(self, kind: PolicyType) -> tuple[Policy, ...]:
        """The applying policies of one type, in order."""
        return self._by_type.get(kind, ())

    @property
    def masking(self) -> tuple[Policy, ...]:
        """The applying masking policies, in order."""
        return self.of(PolicyType.MASKING)

    def own_masking_candidates(
        self, column: str, tags: Sequence[str]
    ) -> tuple[list[tuple[Policy, int]], list[tuple[Policy, int]]]:
        """The source's own masking policies targeting a column: (named ones, local ones)."""
        found: tuple[list[tuple[Policy, int]], list[tuple[Policy, int]]] = ([], [])
        for part, policies in zip(found, (self.named, self.local), strict=True):
            for p in policies:
                if p.type is PolicyType.MASKING and (spec := column_specificity(p, column, tags)) is not None:
                    part.append((p, spec))
        return found
