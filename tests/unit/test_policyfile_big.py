"""Big policy files outside plain block YAML and plain JSON: read in full up to 4 MiB, refused beyond.

Issue 9: any file up to 10 MiB is accepted or refused within about 2 s. The fast readers take
plain block YAML and plain JSON at that size; the full YAML reader (flow collections, anchors,
tags, multi-line values) takes about a third of a second a MiB, so it reads a file only up to
``MAX_FULL_YAML_BYTES``, and a larger one is refused naming the first line outside the fast
readers' part. What the full reader refuses early (deep nesting, alias bombs) it still words
itself. The times are measured by ``make bench`` (``policy_file_10mb_s``), never asserted here.
"""

from __future__ import annotations

import pytest
import yaml

from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile.strict import MAX_FULL_YAML_BYTES, load_yaml


def users_block(count: int) -> str:
    return "version: 1\nusers:\n" + "".join(f"- name: user{i}\n  groups:\n  - g{i % 50}\n" for i in range(count))


def flow_of(text: str) -> str:
    return yaml.dump(load_yaml(text), Dumper=yaml.CSafeDumper, default_flow_style=True, width=100, sort_keys=False)


def sized(target: int) -> str:
    """A valid block document of users of about ``target`` bytes."""
    per = len(users_block(1000)) / 1000
    return users_block(int(target / per))


def test_a_flow_style_file_within_the_full_readers_size_reads_as_its_block_twin() -> None:
    block = sized(MAX_FULL_YAML_BYTES - 1_000_000)
    flow = flow_of(block)
    assert len(flow.encode()) < MAX_FULL_YAML_BYTES
    assert load_yaml(flow) == load_yaml(block)


def test_a_bigger_flow_style_file_is_refused_naming_the_line_and_the_way_out() -> None:
    flow = flow_of(sized(MAX_FULL_YAML_BYTES + 600_000))
    assert len(flow.encode()) > MAX_FULL_YAML_BYTES
    with pytest.raises(PolicyFileError) as info:
        load_yaml(flow, file="big.yaml")
    assert info.value.path == "line 1"
    message = str(info.value)
    assert (
        message.startswith("big.yaml: line 1: this file is ") and "MiB, and a file over 4 MiB is read only" in message
    )
    assert "plain block YAML (as `immuta-spark export` writes it) or as one plain JSON document" in message
    assert "split it into several files of at most 4 MiB" in message


def test_an_anchor_on_the_last_line_of_a_big_block_file_is_refused_at_that_line() -> None:
    block = sized(MAX_FULL_YAML_BYTES + 300_000)
    lines = block.count("\n")
    text = block + "purposes: &p [{name: Research}]\n"
    with pytest.raises(PolicyFileError, match=r"line .* \('purposes: &p \[\{name: Research\}\]'\) is outside") as info:
        load_yaml(text)
    assert info.value.path == f"line {lines + 1}"
    assert load_yaml(block)["users"][-1]["name"].startswith("user")  # without it, read by the fast reader


def test_a_big_file_that_the_full_reader_refuses_early_keeps_that_precise_error() -> None:
    deep = "version: 1\npurposes: " + "[" * 70 + "]" * 70 + "\n"
    text = deep + "users:\n" + "".join(f"- {{name: u{i}}}\n" for i in range(300_000))
    assert len(text.encode()) > MAX_FULL_YAML_BYTES
    with pytest.raises(PolicyFileError, match="nested more than 64 deep"):
        load_yaml(text)


def test_big_json_that_is_not_plain_json_is_refused_saying_why() -> None:
    body = ", ".join(f'{{"name": "user{i}", "groups": ["g{i % 50}"]}}' for i in range(120_000))
    text = '{"version": 1, "users": [' + body + '], "version": 1}'
    assert len(text.encode()) > MAX_FULL_YAML_BYTES
    with pytest.raises(PolicyFileError, match=r"line 1: .* not plain JSON either \(valid JSON with no duplicate key"):
        load_yaml(text)
    assert len(load_yaml(text.replace(', "version": 1}', "}"))["users"]) == 120_000
