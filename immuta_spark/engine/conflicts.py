"""Masking conflicts: which policy masks a column when several target it (section 5.1), and why
each other one lost.

Who wins a column does not depend on who asks, so a conflict is decided once per snapshot. The
policies a source gets through tags and "every source" are shared by every source alike (an
:class:`immuta_spark.engine.index.PolicyBlock`): their conflict is decided once for all of
them (:func:`decide`), and a source's own policies (global ones naming it, local ones) are
merged in (:func:`with_own`). That gives exactly the ranking of all candidates together: the
order is a total one on a key, and candidates with equal keys keep the catalog's order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from immuta_spark.engine.plan import Override
from immuta_spark.model import MASK_RESTRICTIVENESS, Policy

__all__ = ["Conflict", "decide", "rank_masking_policies", "with_own"]

#: (priority, specificity, local, restrictiveness): higher wins, in this order.
RankKey = tuple[int, int, int, int]
#: What candidates are sorted by: the negated rank key, then the name (the lower name wins).
SortKey = tuple[int, int, int, int, str]
Candidates = Sequence[tuple[Policy, int]]

_RANK = {kind: i for i, kind in enumerate(MASK_RESTRICTIVENESS)}


def _restrictiveness(p: Policy) -> int:
    """How restrictive the policy's strictest mask is (higher: stricter; 0: it has none)."""
    strictest = len(MASK_RESTRICTIVENESS)
    for rule in p.rules:
        if rule.action is not None:
            strictest = min(strictest, _RANK.get(rule.action.kind, strictest))
    return len(MASK_RESTRICTIVENESS) - strictest


def _kind_of(restrictiveness: int) -> str:
    """The strictest mask kind behind a restrictiveness (``none`` for 0)."""
    return MASK_RESTRICTIVENESS[len(MASK_RESTRICTIVENESS) - restrictiveness] if restrictiveness else "none"


def _keyed(candidates: Candidates) -> list[tuple[SortKey, RankKey, Policy]]:
    """Each candidate with its keys, computed once (a column may have hundreds of candidates)."""
    out = []
    for p, spec in candidates:
        key = (p.priority, spec, int(p.is_local), _restrictiveness(p))
        out.append(((-key[0], -spec, -key[2], -key[3], p.name), key, p))
    return out


class _Reasons:
    """Why a loser lost to one winner (the first key that differs says it)."""

    def __init__(self, wkey: RankKey, winner: Policy) -> None:
        self.wkey = wkey
        self.winner = winner
        self.than = f" than '{winner.name}'"
        # The reasons that do not name the loser are the same for every loser of this winner.
        self.less_specific = "less specific target" + self.than
        self.global_loses = "global policy loses to local" + self.than
        self.same = f"same rank as '{winner.name}'; the name decides"

    def __call__(self, lkey: RankKey, p: Policy) -> str:
        wkey = self.wkey
        if lkey[0] != wkey[0]:
            return f"lower priority ({p.priority} < {self.winner.priority}){self.than}"
        if lkey[1] != wkey[1]:
            return self.less_specific
        if lkey[2] != wkey[2]:
            return self.global_loses
        if lkey[3] != wkey[3]:
            return f"less restrictive mask ({_kind_of(lkey[3])} < {_kind_of(wkey[3])}){self.than}"
        return self.same


def rank_masking_policies(candidates: Candidates) -> tuple[Policy, tuple[Override, ...]]:
    """Pick the one masking policy for a column (section 5.1) and say why each other lost.

    ``candidates`` pairs each policy with its target specificity (a named column beats every
    tag; a deeper tag beats a shallower one). The order: priority, specificity, local over
    global, restrictiveness of the mask, and last the policy name so the choice is stable.
    """
    conflict = decide(candidates)
    if conflict is None:
        raise IndexError("no candidates to rank")
    return conflict.winner, conflict.losers


@dataclass(frozen=True, slots=True)
class Conflict:
    """A decided conflict: the candidates as given, their sort keys ranked, the winner, the losers."""

    candidates: tuple[tuple[Policy, int], ...]
    order: tuple[SortKey, ...]
    wkey: RankKey
    winner: Policy
    losers: tuple[Override, ...]


def decide(candidates: Candidates) -> Conflict | None:
    """Rank the candidates of one column (None when there are none)."""
    if not candidates:
        return None
    keyed = _keyed(candidates)
    keyed.sort(key=itemgetter(0))  # stable: candidates equal in key and name keep their order
    _, wkey, winner = keyed[0]
    reason = _Reasons(wkey, winner)
    losers = tuple(Override(policy=p.name, reason=reason(lkey, p)) for _, lkey, p in keyed[1:])
    return Conflict(tuple(candidates), tuple(k for k, _, _ in keyed), wkey, winner, losers)


def with_own(
    shared: Conflict | None, before: Candidates, after: Candidates
) -> tuple[Policy, tuple[Override, ...]] | None:
    """The ranking of ``[*before, *shared candidates, *after]``, reusing the shared decision.

    ``before`` are the source's own candidates that come before the shared ones in the catalog's
    order (global policies naming the source), ``after`` those after them (local policies).
    While the shared winner still wins, its losers and their reasons stand and only the own
    candidates are placed among them; an own candidate that wins changes every reason.
    """
    if not before and not after:
        return None if shared is None else (shared.winner, shared.losers)
    if shared is None:
        return rank_masking_policies([*before, *after])
    # Own candidates in their final order: by key, then before ones ahead of after ones, then as given.
    own = sorted(
        [(sk, 0, key, p) for sk, key, p in _keyed(before)] + [(sk, 1, key, p) for sk, key, p in _keyed(after)],
        key=itemgetter(0, 1),
    )
    # Where each goes among the shared ones: ahead of equal keys when it comes before them in
    # the catalog, behind them when after (a stable sort of everything would do the same).
    places = [bisect_left(shared.order, sk) if part == 0 else bisect_right(shared.order, sk) for sk, part, _, _ in own]
    if places[0] == 0:  # an own candidate outranks the shared winner
        return rank_masking_policies([*before, *shared.candidates, *after])
    reason = _Reasons(shared.wkey, shared.winner)
    losers: list[Override] = []
    done = 0  # shared losers placed so far; shared.losers[i] is shared.order[i + 1]
    for place, (_, _, key, p) in zip(places, own, strict=True):
        losers.extend(shared.losers[done : place - 1])
        losers.append(Override(policy=p.name, reason=reason(key, p)))
        done = place - 1
    losers.extend(shared.losers[done:])
    return shared.winner, tuple(losers)
