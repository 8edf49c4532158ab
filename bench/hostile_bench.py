"""Hostile input: how long the worst predicate and the worst policy file take to be refused.

Issue 9: a hostile input (a predicate with thousands of terms or nested thousands deep, an alias
bomb, megabytes of nesting) is refused, never hangs, and any input up to 10 MB is accepted or
refused within 2 s. The tests check the verdicts (``tests/unit/test_sqlpredicate.py``,
``tests/unit/test_policyfile_hostile.py`` use the inputs defined here); the times are measured
here, where a busy machine makes a figure noisy instead of a test red. Each figure is the best of
``repeats`` runs of the slowest input. Part of ``python -m bench policyfile``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

from immuta_spark import sqlpredicate
from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import load_text

__all__ = ["HOSTILE_DOCUMENTS", "HOSTILE_PREDICATES", "HOSTILE_WHERE", "bomb", "measure", "run"]

#: Predicates the checker must refuse (too complex, too deep, too big or unterminated).
HOSTILE_PREDICATES: dict[str, str] = {
    "5000-or-terms": " OR ".join(f"amount = {i}" for i in range(5000)),
    "1000-or-terms-short": " OR ".join(f"a={i}" for i in range(1000)),
    "parentheses-4000-deep": "(" * 4000 + "a = 1" + ")" * 4000,
    "not-4000-deep": "NOT " * 2000 + "a",
    "functions-300-deep": "abs(" * 300 + "a" + ")" * 300 + " > 0",
    "minus-chain": "- " * 900 + "a > 0",
    "unclosed-string": "'" + "\\'" * 4000,
    "huge": "a = '" + "x" * 10_000_000 + "'",
}

#: A row policy's ``where`` over the size limit, refused even with the SQL check switched off.
HOSTILE_WHERE = HOSTILE_PREDICATES["5000-or-terms"]

_HEAD = "version: 1\nusers: [{name: gov, permissions: [GOVERNANCE]}]\n"


def bomb(levels: int = 9, width: int = 9) -> str:
    """A billion-laughs document body: ``levels`` anchors, each ``width`` aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


#: Megabytes of hostile YAML the reader must refuse.
HOSTILE_DOCUMENTS: dict[str, str] = {
    "8MB-nested": _HEAD + "x: " + "[" * 2_000_000 + "]" * 2_000_000,
    "4MB-unclosed": _HEAD + "x: " + "{a: " * 1_000_000,
    "alias-fan-out": _HEAD
    + "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i else "x"] * 99) + "]\n" for i in range(1000)),
    "billion-laughs": _HEAD + bomb(),
    "deep-block-lists": _HEAD + "purposes:\n" + "".join("  " * i + "-\n" for i in range(1, 3000)),
}


def _best(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _refuse_document(text: str) -> None:
    try:
        load_text(text)
    except PolicyFileError:
        return
    raise AssertionError("a hostile document was accepted")


def _refuse_predicate(sql: str) -> None:
    if sqlpredicate.check_predicate(sql) is None:
        raise AssertionError("a hostile predicate was accepted")


def measure(repeats: int = 3) -> Iterator[tuple[str, float]]:
    """Each hostile input's name (``predicate:`` or ``document:`` first) and its best refusal time in seconds."""
    for name, sql in HOSTILE_PREDICATES.items():
        yield f"predicate:{name}", _best(repeats, lambda sql=sql: _refuse_predicate(sql))
    for name, text in HOSTILE_DOCUMENTS.items():
        yield f"document:{name}", _best(repeats, lambda text=text: _refuse_document(text))


def run(repeats: int = 3) -> dict[str, float]:
    """The benchmark figures: the slowest predicate's and the slowest document's refusal time."""
    figures = dict(measure(repeats))
    return {
        "hostile_predicate_s": round(max(v for k, v in figures.items() if k.startswith("predicate:")), 3),
        "hostile_document_s": round(max(v for k, v in figures.items() if k.startswith("document:")), 3),
    }


def main() -> int:
    """Print every input's figure."""
    for name, seconds in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(f"{name:<36} {seconds:7.3f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
