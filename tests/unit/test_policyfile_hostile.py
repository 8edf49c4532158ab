"""Hostile policy files: refused quickly with a clear error naming the place, and nothing changed."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from bench.hostile_bench import HOSTILE_DOCUMENTS, bomb
from immuta_spark import cli, policyfile
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile import strict
from tests.unit.conftest import CONF
from tests.unit.support import applied_catalog, catalog_state

# How fast hostile input is refused is measured by bench/hostile_bench.py (hostile_document_s)
# and bench/policyfile_bench.py (policy_file_10mb_s), not by timed assertions here.
HEAD = "version: 1\nusers: [{name: gov, permissions: [GOVERNANCE]}]\n"


def _big_filler(size: int) -> str:
    """A valid document padded with a comment to ``size`` bytes."""
    return HEAD + "#" + "x" * (size - len(HEAD) - 2) + "\n"


# (id, text, the error's path, a fragment of its message)
YAML_CASES: list[tuple[str, str, str, str]] = [
    (
        "duplicate-key-in-flow-mapping",
        HEAD + "policies:\n  - {name: p, type: masking, columns: {names: [ssn]}, mask: hash, mask: none}\n",
        "policies[0].mask (line 4, column 67)",
        "duplicate key 'mask': at line 4, column 67 and first at line 4, column 55",
    ),
    (
        "duplicate-key-in-block-mapping",
        HEAD + "sources:\n  - name: A\n    table: db.a\n    table: db.b\n",
        "sources[0].table (line 6, column 5)",
        "first at line 5, column 5",
    ),
    (
        "duplicate-top-level-section",
        HEAD + "policies: []\npurposes: []\npolicies: []\n",
        "policies (line 5, column 1)",
        "duplicate section 'policies': at line 5, column 1 and first at line 3, column 1",
    ),
    ("duplicate-version", "version: 1\nversion: 1\n", "version (line 2, column 1)", "duplicate section 'version'"),
    (
        "duplicate-null-keys",
        HEAD + "settings: {~: 1, null: 2}\n",
        "settings.None (line 3, column 18)",
        "duplicate key None",
    ),
    ("billion-laughs", HEAD + bomb(), "a5[0] (line 8, column 10)", "aliases expand to more than 100,000 values"),
    ("wide-alias-bomb", HEAD + "a: &a [" + "x," * 5000 + "x]\nb: [" + "*a," * 50 + "*a]\n", "b[19]", "alias bomb"),
    ("recursive-alias", HEAD + "purposes: &u [{name: x}, *u]\n", "purposes[1] (line 3, column 26)", "(recursive)"),
    ("recursive-alias-in-mapping", HEAD + "settings: &s {x: *s}\n", "settings.x (line 3, column 18)", "recursive"),
    ("undefined-alias", HEAD + "purposes: *nowhere\n", "purposes (line 3, column 11)", "names no anchor"),
    ("deep-flow-lists", HEAD + "purposes: " + "[" * 5000 + "]" * 5000 + "\n", "line 3", "nest"),
    ("deep-flow-lists-64", HEAD + "purposes: " + "[" * 70 + "]" * 70 + "\n", "purposes", "nested more than 64 deep"),
    ("deep-flow-mappings", HEAD + "settings: " + "{a: " * 200 + "1" + "}" * 200 + "\n", "settings", "nested"),
    (
        "deep-block-lists",
        HEAD + "purposes:\n" + "".join("  " * i + "-\n" for i in range(1, 3000)),
        "purposes",
        "nested",
    ),
    ("merge-key", HEAD + "base: &b {type: row}\npolicies: [{<<: *b, name: p}]\n", "policies[0]", "merge keys"),
    ("python-tag", HEAD + "settings: !!python/object/apply:os.system [id]\n", "settings (line 3", "tag"),
    ("set-tag", HEAD + "settings: !!set {a, b}\n", "settings (line 3, column 11)", "not supported"),
    ("two-documents", HEAD + "---\nversion: 1\n", "line 3, column 1", "a second YAML document"),
    ("complex-key", HEAD + "? [a, b]\n: 1\n", "line 3, column 3", "a mapping key must be a plain value"),
    (
        "huge-integer",
        HEAD + "settings: {k_anonymization_cardinality_cutoff: " + "9" * 5000 + "}\n",
        "settings.k_",
        "4300",
    ),
    ("impossible-date", HEAD + "settings: {workspace_root: 2020-13-45}\n", "settings.workspace_root", "month"),
    ("unclosed-quote", HEAD + "purposes: ['x\n", "line 4, column 1", "not valid YAML"),
]
BYTE_CASES: list[tuple[str, bytes, str, str]] = [
    ("invalid-utf8", HEAD.encode() + b"purposes: [{name: caf\xe9}]\n", "line 3, column 22", "not UTF-8: byte 0xe9"),
    ("invalid-utf8-late", HEAD.encode() * 3 + b"# \xff\n", "line 7, column 3", "not UTF-8: byte 0xff"),
    ("truncated-utf8", HEAD.encode() + b"# \xe2\x82\n", "line 3, column 3", "not UTF-8"),
    ("utf16-with-bom", HEAD.encode("utf-16"), "line 1", "the file is UTF-16"),
    ("utf16-big-endian", codecs.BOM_UTF16_BE + HEAD.encode("utf-16-be"), "line 1", "UTF-16"),
    ("utf16-without-bom", HEAD.encode("utf-16-le"), "line 1", "NUL bytes"),
    ("utf32", HEAD.encode("utf-32"), "line 1", "the file is UTF-32"),
    ("nul-byte", HEAD.encode() + b"# \x00\n", "line 3", "NUL bytes"),
    ("over-10-mib", _big_filler(strict.MAX_FILE_BYTES + 1).encode(), "<document>", "at most 10,485,760 bytes"),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[GovernanceCatalog, str]:
    """One catalog holding conf/governance.yaml: every case checks that it is left unchanged."""
    return applied_catalog(tmp_path_factory.mktemp("hostile"), CONF)


def _refused(shared: tuple[GovernanceCatalog, str], file: Path, path: str, fragment: str) -> PolicyFileError:
    catalog, url = shared
    before = catalog_state(catalog, url)
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(file, sql_checker=None)
    assert info.value.path.startswith(path), info.value.path
    assert fragment in info.value.reason
    assert str(info.value).startswith(f"{file}: ")
    assert catalog_state(catalog, url) == before
    return info.value


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_hostile_yaml_is_refused_quickly_naming_the_place_and_changes_nothing(
    shared: tuple[GovernanceCatalog, str], tmp_path: Path, text: str, path: str, fragment: str
) -> None:
    file = tmp_path / "hostile.yaml"
    file.write_text(text, encoding="utf-8")
    _refused(shared, file, path, fragment)


@pytest.mark.parametrize(("data", "path", "fragment"), [c[1:] for c in BYTE_CASES], ids=[c[0] for c in BYTE_CASES])
def test_bytes_that_are_not_utf8_or_too_many_are_refused_with_the_line(
    shared: tuple[GovernanceCatalog, str], tmp_path: Path, data: bytes, path: str, fragment: str
) -> None:
    file = tmp_path / "hostile.yaml"
    file.write_bytes(data)
    error = _refused(shared, file, path, fragment)
    assert "UTF-8" in error.reason or "10 MiB" in error.reason


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert policyfile.strict.decode(codecs.BOM_UTF8 + HEAD.encode()) == HEAD


def test_a_file_of_exactly_10_mib_is_read(tmp_path: Path) -> None:
    file = tmp_path / "big.yaml"
    file.write_text(_big_filler(strict.MAX_FILE_BYTES), encoding="utf-8")
    assert [u.name for u in policyfile.load_file(file).users] == ["gov"]


def test_text_over_10_mib_is_refused_by_load_text() -> None:
    with pytest.raises(PolicyFileError, match="at most 10,485,760 bytes"):
        policyfile.load_text(_big_filler(strict.MAX_FILE_BYTES) + "é")


@pytest.mark.parametrize("text", HOSTILE_DOCUMENTS.values(), ids=HOSTILE_DOCUMENTS.keys())
def test_megabytes_of_hostile_input_are_refused(text: str) -> None:
    with pytest.raises(PolicyFileError):
        policyfile.load_text(text)


def test_an_alias_used_a_reasonable_number_of_times_is_fine() -> None:
    text = HEAD.replace("users: [", "users: [{name: a, groups: &g [A, B, C]}, {name: b, groups: *g}, ")
    gov = policyfile.load_text(text)
    assert [sorted(u.groups) for u in gov.users][:2] == [["A", "B", "C"], ["A", "B", "C"]]


def test_cli_apply_of_a_duplicate_key_exits_1_and_changes_nothing(
    shared: tuple[GovernanceCatalog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, url = shared
    before = catalog_state(catalog, url)
    file = tmp_path / "dup.yaml"
    file.write_text(YAML_CASES[0][1], encoding="utf-8")
    assert cli.main(["apply", str(file)], catalog=catalog, out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "duplicate key 'mask'" in err and "line 4" in err and "nothing was changed" in err
    assert catalog_state(catalog, url) == before


def _nested(depth: int) -> str:
    cond = "{groups: [Legal]}"
    for i in range(depth - 1):
        cond = f"{{{'any' if i % 2 else 'all'}: [{cond}, {{users: [u{i}]}}]}}"
    return cond


MODEL_CASES: list[tuple[str, str, str, str]] = [
    (
        "regex-pattern-of-10-mb",
        HEAD
        + "policies: [{name: r, type: masking, columns: {names: [a]}, mask: {regex: {pattern: '"
        + "a" * 9_000_000
        + "', replacement: X}}}]\n",
        "policies[0].mask.regex.pattern",
        "may have at most 1,000",
    ),
    (
        "regex-replacement-too-long",
        HEAD + "policies: [{name: r, type: masking, columns: {names: [a]}, mask: {regex: {pattern: 'a', "
        "replacement: '" + "X" * 2000 + "'}}}]\n",
        "policies[0].mask.regex.replacement",
        "at most 1,000",
    ),
    (
        "conditions-17-deep",
        HEAD + f"policies: [{{name: p, type: row, where: 'a > 0', except: {_nested(17)}}}]\n",
        "policies[0].except" + ".any[0].all[0]" * 8,
        "more than 16 deep",
    ),
    (
        "conditions-200-deep",
        HEAD + f"policies: [{{name: p, type: row, where: 'a > 0', except: {_nested(200)}}}]\n",
        "policies[0].except",
        "nested more than 64 deep",
    ),
    (
        "where-with-5000-or-terms",
        HEAD + "policies: [{name: p, type: row, where: '" + " OR ".join(f"a = {i}" for i in range(5000)) + "'}]\n",
        "policies[0].where",
        "at most 10,000",
    ),
    (
        "where-nested-400-deep",
        HEAD + "policies: [{name: p, type: row, where: '" + "(" * 400 + "a = 1" + ")" * 400 + "'}]\n",
        "policies[0].where",
        "more than 32 deep",
    ),
]


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_oversized_patterns_predicates_and_conditions_are_refused_quickly(
    shared: tuple[GovernanceCatalog, str], tmp_path: Path, text: str, path: str, fragment: str
) -> None:
    file = tmp_path / "hostile.yaml"
    file.write_text(text, encoding="utf-8")
    _refused(shared, file, path, fragment)


def test_the_deepest_conditions_allowed_apply_export_and_reapply_unchanged(tmp_path: Path, catalog_url: str) -> None:
    text = HEAD + f"policies: [{{name: p, type: row, where: 'a > 0', except: {_nested(16)}}}]\n"
    file = tmp_path / "deep.yaml"
    file.write_text(text, encoding="utf-8")
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    assert not cat.apply(file, sql_checker=None).is_noop
    exported = cat.export()
    again = tmp_path / "export.yaml"
    again.write_text(exported, encoding="utf-8")
    assert cat.apply(again, sql_checker=None).is_noop
    assert cat.export() == exported
