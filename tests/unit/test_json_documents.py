"""Policy files written as JSON (YAML's subset) are read by the json module, exactly as YAML reads them."""

from __future__ import annotations

import json

import pytest

from immuta_spark import policyfile
from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import strict
from tests.unit.conftest import CONF


def yaml_reads(text: str) -> object:
    """What the full YAML reader makes of ``text`` (the reference: a leading comment makes it no JSON)."""
    return strict.load_yaml("# read as YAML\n" + text)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(strict.load_yaml(CONF.read_text())),
        json.dumps(strict.load_yaml(CONF.read_text()), indent=2),
        '{"version": 1, "settings": {"k_anonymization_cardinality_cutoff": -0, "x": [1.5, -2.25, true, null]}}',
        '{"version": 1, "s": "caf\\u00e9 \\/ \\" \\n", "empty": {}, "list": [[], [{}]]}',
    ],
    ids=["conf", "conf-indented", "numbers", "escapes"],
)
def test_a_json_document_reads_as_yaml_reads_it(text: str) -> None:
    fast = strict.json_document(text)
    assert fast is not strict.DECLINED
    assert fast == yaml_reads(text)
    assert json.dumps(fast, sort_keys=True) == json.dumps(yaml_reads(text), sort_keys=True)


@pytest.mark.parametrize(
    "text",
    [
        '{"version": 1, "x": 1e5}',  # YAML 1.1 reads 1e5 as a string
        '{"version": 1, "x": NaN}',
        '{"version": 1, "version": 1}',  # a duplicate: the YAML reader names both places
        "{" * 70 + "}" * 70,
        'version: 1\n{"a": 1}',
        '{"version": 1} # a comment',
    ],
    ids=["exponent", "nan", "duplicate", "too-deep", "not-json", "comment"],
)
def test_json_that_yaml_would_read_otherwise_is_left_to_the_yaml_reader(text: str) -> None:
    assert strict.json_document(text) is strict.DECLINED


def test_a_duplicate_key_in_json_is_refused_naming_both_places() -> None:
    with pytest.raises(PolicyFileError, match=r"duplicate section 'version'.*line 1, column 16.*line 1, column 2"):
        policyfile.load_text('{"version": 1, "version": 1}')


def test_the_exponent_keeps_its_yaml_meaning() -> None:
    assert strict.load_yaml('{"x": 1e5}') == {"x": "1e5"}
