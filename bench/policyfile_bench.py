"""Reading 10 MB policy files: the worst time to accept a valid one or refuse one that fails late.

Issue 9: any policy file up to 10 MB is accepted or refused within 2 s. For each kind of big
file (``users``, ``sources``, ``policies``) this writes a valid file just under the 10 MiB limit,
the same written as one JSON document, variants refused only at their end (a duplicate key,
an unknown key, a duplicate name on the last entry), the file in YAML's flow style just under
the full reader's 4 MiB (accepted) and at 10 MiB (refused), and the file with an anchor on its
last line (refused), and reads each as ``apply`` does without
the ``spark`` extra: with the pure checkers (sqlglot for SQL, Python's ``re`` for patterns; no
JVM is started here). Each figure is the best of ``repeats`` runs (the machine has two shared cores; the best run is the
one least disturbed by others). Part of ``python -m bench policyfile``;
``python -m bench.policyfile_bench`` prints every case.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import load_files
from immuta_spark.policyfile.strict import MAX_FILE_BYTES, MAX_FULL_YAML_BYTES, load_yaml
from immuta_spark.sqlpredicate import check_predicate

__all__ = ["CASES", "big_file", "json_file", "measure", "run"]

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: What each file is sized to: just under the limit (the biggest file that is read at all).
TARGET_BYTES = MAX_FILE_BYTES - 4096

_HEAD = "version: 1\nusers:\n- name: admin\n  permissions:\n  - GOVERNANCE\n"
_STATES = ("Ohio", "Florida", "Texas", "Maine")
_TAGS = ("PII", "PII.SSN", "PII.Email", "Network", "Location", "Financial", "Dates", "Free")
_COLUMNS = ("id", "ssn", "email", "ip", "state", "amount", "event_date", "note")
_TYPES = ("bigint", "string", "string", "string", "string", "double", "date", "string")


def _user(i: int) -> str:
    return (
        f"- name: user{i}\n  groups:\n  - g{i % 200}\n  - g{(i * 7) % 200 + 200}\n  - team{i % 31}\n"
        f"  attributes:\n    State:\n    - {_STATES[i % 4]}\n    Region:\n    - r{i % 9}\n    - r{i % 9 + 10}\n"
        f"  permissions:\n  - {'CREATE_DATA_SOURCE' if i % 2 else 'CREATE_PROJECT'}\n"
    )


def _source(i: int) -> str:
    cols = "".join(f"    {c}:\n    - {_TAGS[j]}\n    - Domain{i % 20}.{c}\n" for j, c in enumerate(_COLUMNS))
    dictionary = "".join(
        f"  - name: {c}\n    type: {t}\n    description: the {c} column\n"
        for c, t in zip(_COLUMNS, _TYPES, strict=True)
    )
    return (
        f"- name: source{i}\n  table: db{i % 50}.t{i}\n  owners:\n  - admin\n  - group: g{i % 200}\n"
        f"  tags:\n  - Domain{i % 20}\n  - PHI\n  columns:\n{cols}  subscription:\n    anyone: {{}}\n"
        f"  dictionary:\n{dictionary}"
    )


def _policy(i: int) -> str:
    head = f"- name: policy{i}\n"
    scope = f"  sources:\n    tagged: Domain{i % 20}\n" if i % 2 else f"  sources:\n    names:\n    - source{i % 20}\n"
    exempt = f"  except:\n    groups:\n    - g{i % 200}\n    - x{(i * 3) % 200}\n"
    kind = i % 5
    if kind == 4:
        return f"{head}  type: row\n{scope}{exempt}  match:\n    attribute: State\n    column: state\n"
    mask = ("hash", "'null'", "\n    regex:\n      pattern: \\d+$\n      replacement: XXX", "\n    round: 100")
    column = "  columns:\n    names:\n    - ssn\n" if i % 3 == 0 else f"  columns:\n    tagged: {_TAGS[i % 7]}\n"
    return f"{head}  type: masking\n  priority: {i % 3}\n{scope}{column}{exempt}  mask: {mask[kind]}\n"


#: Each kind of file: its section header and how its i-th entry reads.
KINDS: dict[str, tuple[str, Callable[[int], str]]] = {
    "users": ("", _user),
    "sources": ("sources:\n", _source),
    "policies": ("sources:\n" + "".join(_source(i) for i in range(20)) + "policies:\n", _policy),
}


def big_file(kind: str, target: int = TARGET_BYTES) -> tuple[str, int]:
    """A valid file of ``kind`` of at most ``target`` bytes (as close as whole entries allow), and its entry count."""
    section, entry = KINDS[kind]
    parts = [_HEAD, section]
    size = len(_HEAD) + len(section)
    i = 0
    while True:
        text = entry(i)
        if size + len(text) > target:
            break
        parts.append(text)
        size += len(text)
        i += 1
    return "".join(parts), i


#: Ways to spoil a valid file at its very end: (name, how the last entry's text changes).
_LATE: dict[str, Callable[[str, str], str]] = {
    # a duplicate key: the YAML reader refuses it
    "duplicate_key": lambda kind, last: (
        last + {"users": "  groups:\n  - x\n", "sources": "  tags:\n  - x\n"}.get(kind, "  type: row\n")
    ),
    # an unknown key: the model's validation refuses it
    "unknown_key": lambda kind, last: last + "  colour: blue\n",
    # the first entry's name again: refused after every entry was validated
    "duplicate_name": lambda kind, last: last.replace(
        last.split("\n", 1)[0], {"users": "- name: admin", "sources": "- name: source0"}.get(kind, "- name: policy0"), 1
    ),
}


def json_file(kind: str, target: int = TARGET_BYTES) -> str:
    """The valid file of ``kind`` written as one JSON document (YAML's subset) of at most ``target`` bytes."""
    size = target
    while True:
        text, _ = big_file(kind, size)
        data = json.dumps(load_yaml(text), indent=1)
        if len(data.encode()) <= target:
            return data
        size = int(size * target / len(data.encode()) * 0.99)


def flow_file(kind: str, target: int) -> str:
    """The valid file of ``kind`` written in YAML's flow style, of at most ``target`` bytes."""
    size = target
    while True:
        text, _ = big_file(kind, size)
        data = yaml.dump(load_yaml(text), Dumper=_DUMPER, default_flow_style=True, width=100, sort_keys=False)
        if len(data.encode()) <= target:
            return data
        size = int(size * target / len(data.encode()) * 0.99)


def _cases(kind: str) -> Iterator[tuple[str, str, bool]]:
    text, _ = big_file(kind)
    yield f"{kind}_accept", text, True
    yield f"{kind}_json", json_file(kind), True
    cut = text.rfind("\n- name: ") + 1
    for name, spoil in _LATE.items():
        yield f"{kind}_{name}", text[:cut] + spoil(kind, text[cut:]), False
    # Outside the fast readers' part: read in full up to its size, refused beyond it.
    yield f"{kind}_flow", flow_file(kind, MAX_FULL_YAML_BYTES - 4096), True
    yield f"{kind}_flow_10mb", flow_file(kind, TARGET_BYTES), False
    yield f"{kind}_anchor_last", text[:cut] + "x-last: &a 1\n", False


#: Every case measured: ``<kind>_accept`` and ``<kind>_<late refusal>``.
CASES = [(kind, name) for kind in KINDS for name in ("accept", "json", *_LATE, "flow", "flow_10mb", "anchor_last")]


def measure(repeats: int = 3) -> Iterator[tuple[str, float, float, int, bool]]:
    """Each case's name, best wall and CPU times in seconds, file size in bytes and whether it was accepted.

    The CPU time (this process's) says what the work costs when other processes share the cores.
    """
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            for case, text, valid in _cases(kind):
                path = Path(tmp) / f"{case}.yaml"
                path.write_text(text, encoding="utf-8")
                times, cpu = [], []
                accepted = False
                for _ in range(repeats):
                    t0, c0 = time.perf_counter(), time.process_time()
                    try:
                        load_files([path], sql_checker=check_predicate, regex_checker=None)
                        accepted = True
                    except PolicyFileError:
                        accepted = False
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                if accepted != valid:
                    raise AssertionError(f"{case}: {'accepted' if accepted else 'refused'}, expected otherwise")
                yield case, min(times), min(cpu), path.stat().st_size, accepted
                path.unlink()


def run(repeats: int = 3) -> dict[str, float]:
    """The benchmark figure: the worst case's time (see ``bench/__main__.py``)."""
    return {"policy_file_10mb_s": round(max(seconds for _, seconds, _, _, _ in measure(repeats)), 2)}


def main() -> int:
    """Print every case's figure."""
    worst = 0.0
    for case, seconds, cpu, size, accepted in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        verdict = "accepted" if accepted else "refused"
        print(f"{case:<26} {seconds:6.2f} s (cpu {cpu:5.2f} s)  {size:>11,} bytes  {verdict}", flush=True)
        worst = max(worst, seconds)
    print(f"policy_file_10mb_s {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
