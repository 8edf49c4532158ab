"""Several policy files, or a directory of them, applied as one document (issue 10, deliverable 1)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import load_files
from tests.unit.conftest import CONF
from tests.unit.support import catalog_state

WHOLE = yaml.safe_load(CONF.read_text())


def split(directory: Path) -> list[Path]:
    """conf/governance.yaml as three team files: people, sources, global policies and projects."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = {
        "10-people.yaml": ("settings", "users", "purposes"),
        "20-sources.yaml": ("sources",),
        "30-policies.yaml": ("policies", "projects"),
    }
    files = []
    for name, keys in parts.items():
        doc = {"version": 1, **{k: WHOLE[k] for k in keys if k in WHOLE}}
        (directory / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        files.append(directory / name)
    return files


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def fresh(tmp_path: Path, name: str = "c.db") -> GovernanceCatalog:
    return GovernanceCatalog.open(f"sqlite:///{tmp_path / name}", identity="alice", create=True)


def test_split_files_apply_to_exactly_the_state_of_the_whole_file(tmp_path: Path) -> None:
    whole, parts = fresh(tmp_path, "whole.db"), fresh(tmp_path, "parts.db")
    whole.apply(CONF, sql_checker=None)
    result = parts.apply(split(tmp_path / "team"), sql_checker=None)
    assert parts.export() == whole.export()
    assert result.added and not result.removed
    assert parts.apply(split(tmp_path / "team"), sql_checker=None).is_noop


def test_a_directory_is_its_yaml_files_in_path_order_subdirectories_included(tmp_path: Path) -> None:
    files = split(tmp_path / "conf")
    (tmp_path / "conf" / "sub").mkdir()
    files[2].rename(tmp_path / "conf" / "sub" / "30-policies.yml")
    (tmp_path / "conf" / "README.md").write_text("not a policy file")
    whole = fresh(tmp_path, "whole.db")
    whole.apply(CONF, sql_checker=None)
    cat = fresh(tmp_path)
    cat.apply(tmp_path / "conf", sql_checker=None)
    assert cat.export() == whole.export()
    (record,) = cat.audit(action="apply")
    assert record.detail["file"] == str(tmp_path / "conf")


def test_a_name_defined_in_two_files_is_an_error_naming_both_and_changes_nothing(tmp_path: Path) -> None:
    cat = fresh(tmp_path)
    cat.apply(CONF, sql_checker=None)
    before = catalog_state(cat, cat.store.url)
    a, b, c = split(tmp_path / "team")
    extra = write(
        tmp_path / "team" / "40-more.yaml",
        "version: 1\nsources:\n  - {name: Other, table: x.other, owners: [alice]}\n"
        "  - {name: Payroll, table: hr.payroll2, owners: [alice]}\n",
    )
    with pytest.raises(PolicyFileError) as info:
        cat.apply([a, b, c, extra], sql_checker=None)
    error = info.value
    assert error.file == str(extra) and error.path == "sources[1].name"
    position = [s["name"] for s in WHOLE["sources"]].index("Payroll")
    assert f"also defined in {b} at sources[{position}]" in error.reason
    assert catalog_state(cat, cat.store.url) == before


@pytest.mark.parametrize("section", ["users", "purposes", "policies", "projects"])
def test_every_list_refuses_a_name_defined_in_two_files(tmp_path: Path, section: str) -> None:
    files = split(tmp_path / "team")
    first = WHOLE[section][0]
    again = write(tmp_path / "team" / "99-again.yaml", yaml.safe_dump({"version": 1, section: [first]}))
    with pytest.raises(PolicyFileError, match=f"{first['name']!r} is also defined in") as info:
        load_files([*files, again])
    assert info.value.file == str(again) and info.value.path == f"{section}[0].name"


def test_settings_in_two_files_is_an_error_naming_both(tmp_path: Path) -> None:
    files = split(tmp_path / "team")
    again = write(
        tmp_path / "team" / "00-settings.yaml", "version: 1\nsettings: {k_anonymization_cardinality_cutoff: 9}\n"
    )
    with pytest.raises(PolicyFileError) as info:
        load_files([again, *files])
    assert info.value.file == str(files[0]) and info.value.path == "settings"
    assert f"also given in {again}" in info.value.reason


def test_an_error_names_the_file_and_the_path_in_that_file(tmp_path: Path) -> None:
    a, b, c = split(tmp_path / "team")
    text = b.read_text()
    assert "mask: hash" in c.read_text()
    broken = write(tmp_path / "team" / "30-policies.yaml", c.read_text().replace("mask: hash", "mask: hashh", 1))
    with pytest.raises(PolicyFileError) as info:
        load_files([a, b, broken])
    assert info.value.file == str(broken)
    assert info.value.path.startswith("policies[") and ".mask" in info.value.path
    assert b.read_text() == text


def test_references_across_files_resolve_and_an_unknown_one_is_reported_where_it_is(tmp_path: Path) -> None:
    people = write(tmp_path / "a.yaml", "version: 1\nusers:\n  - {name: gov, permissions: [GOVERNANCE]}\n")
    ok = write(tmp_path / "b.yaml", "version: 1\nsources:\n  - {name: S1, table: d.s1, owners: [gov]}\n")
    bad = write(
        tmp_path / "c.yaml",
        "version: 1\nsources:\n  - {name: S2, table: d.s2, owners: [gov]}\n"
        "  - {name: S3, table: d.s3, owners: [nobody]}\n",
    )
    assert [s.name for s in load_files([people, ok]).sources] == ["S1"]
    with pytest.raises(PolicyFileError) as info:
        load_files([people, ok, bad])
    assert (info.value.file, info.value.path) == (str(bad), "sources[1].owners[0]")


def test_one_table_governed_from_two_files_names_the_other_file(tmp_path: Path) -> None:
    people = write(tmp_path / "a.yaml", "version: 1\nusers:\n  - {name: gov, permissions: [GOVERNANCE]}\n")
    one = write(tmp_path / "b.yaml", "version: 1\nsources:\n  - {name: S1, table: d.same, owners: [gov]}\n")
    two = write(tmp_path / "c.yaml", "version: 1\nsources:\n  - {name: S2, table: d.same, owners: [gov]}\n")
    with pytest.raises(PolicyFileError) as info:
        load_files([people, one, two])
    assert (info.value.file, info.value.path) == (str(two), "sources[0].table")
    assert f"sources[0] of {one}" in info.value.reason


def test_an_empty_directory_and_a_file_named_twice_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyFileError, match=r"holds no \.yaml or \.yml file"):
        load_files([tmp_path / "empty"])
    files = split(tmp_path / "team")
    with pytest.raises(PolicyFileError, match="named twice"):
        load_files([tmp_path / "team", files[0]])
    with pytest.raises(PolicyFileError, match="no policy file given"):
        load_files([])


def test_every_file_must_be_a_whole_strict_document(tmp_path: Path) -> None:
    files = split(tmp_path / "team")
    no_version = write(tmp_path / "team" / "50-x.yaml", "users:\n  - {name: zed}\n")
    with pytest.raises(PolicyFileError, match="version") as info:
        load_files([*files, no_version])
    assert info.value.file == str(no_version)
    dup_key = write(tmp_path / "team" / "50-x.yaml", "version: 1\nusers: []\nusers: []\n")
    with pytest.raises(PolicyFileError, match="duplicate") as info:
        load_files([*files, dup_key])
    assert info.value.file == str(dup_key)


def test_the_cli_applies_several_files_and_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")  # a governor of conf/governance.yaml
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    files = split(tmp_path / "team")
    out = io.StringIO()
    assert cli.main(["--catalog", url, "apply", *map(str, files[:2]), str(files[2])], out=out) == 0
    whole = fresh(tmp_path, "whole.db")
    whole.apply(CONF, sql_checker=None)
    assert GovernanceCatalog.open(url).export() == whole.export()
    assert cli.main(["--catalog", url, "apply", str(tmp_path / "team")], out=io.StringIO()) == 0
