"""The fast reader of plain block YAML against the strict reader, its reference.

Differential properties: on any text, the fast reader either declines, or reads exactly the
strict reader's value (same types, same key order), or refuses with exactly the strict
reader's error. Texts are drawn near the edge of what it reads: lines of plain block YAML
with odd keys, values, indentation, comments and markers mixed in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import dump_document, dump_yaml, load_file
from immuta_spark.policyfile.fastyaml import DECLINED, fast_load
from immuta_spark.policyfile.strict import _Composer, load_yaml

CONF = Path(__file__).resolve().parents[2] / "conf" / "governance.yaml"
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = ["a", "b", "name", "a b", "yes", "on", "1", "1.0", "0x1", "null", "~", "'q'", "'a'", '"a"', "<<", "=", "-x"]
KEYS += [
    "a:b",
    "a#b",
    "a:b:c",
    "h://x",
    "a#",
    "1:20",
    "a ",
    "é",
    "True",
    "2024-01-01",
    "'it''s'",
    "x" * 1100,
    "[k]",
    "&k a",
    "?k",
    ".inf",
    ".nan",
]
VALUES = ["x", "a b", "a  b", "yes", "No", "ON", "1", "-1", "+1", "0x1f", "0o17", "012", "1_000", "1:20", "3.5", "1e3"]
VALUES += ["2024-01-01", "2024-13-45", "2024-01-01 10:00:00", ".inf", "-.inf", ".nan", "~", "null", "''", "'it''s'"]
VALUES += ['"x"', '"a\\n"', '""', "{}", "[]", "[1]", "{a: 1}", "&a x", "*a", "!!str x", "!!int 1", "a # c", "a#c", "|"]
VALUES += [">", "- x", "x: y", "é", "x\ty", "a\x85b", "@x", "`x", "%x", "=", "<<", "x ", "'a' b", "\\d+$", "a'b", 'a"b']
VALUES += ["9" * 5000, "a,b", "a]", "a}", "#", "'", '"']
VALUES += ["hdfs://nn:8020/p", "a:", "a::b", ":a", "a :b", "a:#b", "a#", "#a", "a# b", "a:  b", "x:y:z", "1:2:3", "a:,"]
INDENTS = ["", " ", "  ", "   ", "    ", "      "]


def _line() -> st.SearchStrategy[str]:
    key_line = st.builds(
        lambda k, v: f"{k}:" + (f" {v}" if v is not None else ""),
        st.sampled_from(KEYS),
        st.none() | st.sampled_from(VALUES),
    )
    item = st.builds(
        lambda d, rest: d + rest, st.sampled_from(["- ", "-  ", "-", "- - "]), key_line | st.sampled_from(VALUES)
    )
    other = st.sampled_from(["", "# comment", "  # indented comment", "---", "...", "--- x", "   ", "%YAML 1.1"])
    body = st.one_of(key_line, key_line, item, other)
    return st.builds(lambda i, b: i + b, st.sampled_from(INDENTS), body)


texts = st.lists(_line(), min_size=1, max_size=12).map("\n".join)


def _strict(text: str) -> Any:
    try:
        return ("value", _Composer(text, "f.yaml").document())
    except PolicyFileError as exc:
        return ("error", str(exc))
    except yaml.YAMLError:
        return ("yaml error", None)


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, with mapping keys in the same order (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (
            list(a) == list(b)
            and all(_same(k, j) for k, j in zip(a, b, strict=True))
            and all(_same(a[k], b[j]) for k, j in zip(a, b, strict=True))
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _check(text: str) -> bool:
    """The differential property; whether the fast reader read (or refused) ``text`` itself."""
    try:
        fast = fast_load(text, "f.yaml")
    except PolicyFileError as exc:
        kind, found = _strict(text)
        assert kind == "error" and found == str(exc), (text, str(exc), found)
        return True
    if fast is DECLINED:
        return False
    kind, found = _strict(text)
    assert kind == "value", (text, fast, kind, found)
    assert _same(fast, found), (text, fast, found)
    return True


@SETTINGS
@given(texts)
@example("a:\n- x: 1\n  y:\n  - 2\n  x: 3\n")
@example("a:\n  b: 1\n  c:\n    d: 2\n    d: 3\n")
@example("---\na: 1\na: 2\n")
@example("1: x\n1.0: y\n")
@example(".nan:\n.nan:")
def test_fast_reader_agrees_with_the_strict_one(text: str) -> None:
    _check(text)


plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
documents = st.dictionaries(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6) | st.integers(0, 9),
    st.recursive(
        plain, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(documents, st.sampled_from([None, 2, 4]))
def test_fast_reader_agrees_on_what_yaml_writes(document: dict[Any, Any], indent: int | None) -> None:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, indent=indent)
    _check(text)


def test_fast_reader_reads_what_export_writes() -> None:
    governance = load_file(CONF)
    text = dump_yaml(dump_document(governance))
    assert fast_load(text) is not DECLINED
    assert _same(fast_load(text), _Composer(text, None).document())


def test_a_late_duplicate_key_is_refused_by_the_fast_reader_as_the_strict_one_words_it() -> None:
    users = "".join(f"- name: u{i}\n  groups:\n  - g{i}\n" for i in range(2000))
    text = f"version: 1\nusers:\n{users}- name: last\n  groups: []\n  name: again\n"
    with pytest.raises(PolicyFileError) as fast:
        fast_load(text, "f.yaml")
    assert "users[2000].name (line 6005, column 3): duplicate key 'name'" in str(fast.value)
    assert ("error", str(fast.value)) == _strict(text)


def test_text_outside_the_plain_part_goes_to_the_strict_reader() -> None:
    assert fast_load("a: &x 1\nb: *x\n") is DECLINED
    assert load_yaml("a: &x 1\nb: *x\n") == {"a": 1, "b": 1}
    with pytest.raises(PolicyFileError, match="merge keys"):
        load_yaml("a: 1\n<<: {b: 2}\n")
