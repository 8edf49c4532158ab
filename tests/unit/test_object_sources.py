"""Object-backed sources in the core: the YAML block, file rules, deciding files, masking, ingest, registration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from immuta_spark import expr as E
from immuta_spark import policyfile
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import NotAuthorized, PolicyBindError, PolicyFileError, ProjectError
from immuta_spark.model import MatchAttribute, ObjectStore
from immuta_spark.objects import ObjectFile, folders_of, ingest_status, resolve_files, timestamp_of
from tests.unit.support import load, open_catalog, plan, snapshot, write

HEAD = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: olga, permissions: [CREATE_DATA_SOURCE]}
  - {name: bob, attributes: {state: [Ohio]}}
  - {name: ivan}
"""

SOURCE = (
    HEAD
    + """
sources:
  - name: Files
    table: objects.files
    owners: [olga]
    ingest_users: [ivan]
    subscription: {anyone: {}}
    object: {format: csv, location: "hdfs://nn:8020/data/files", options: {header: true}, event_time: modified}
    dictionary: [{name: id, type: int}, {name: ssn, type: string}]
    policies:
      - {name: by-xattr, type: row, match: {attribute: state, xattr: state}}
      - {name: recent, type: row, time_window: 7d}
      - {name: ssn, type: masking, columns: {names: [ssn]}, mask: hash}
"""
)

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _file(name: str, days_old: float = 0, **xattrs: str) -> ObjectFile:
    path = f"/data/files/{name}"
    when = (NOW - timedelta(days=days_old)).timestamp()
    return ObjectFile(
        uri=f"hdfs://nn:8020{path}",
        path=path,
        length=10,
        modified=when,
        xattrs={f"user.{k}": v for k, v in xattrs.items()},
    )


def _fails(text: str) -> PolicyFileError:
    with pytest.raises(PolicyFileError) as err:
        load(text)
    return err.value


# --- the YAML block ---------------------------------------------------------------------


def test_an_object_block_reads_into_the_source_and_dumps_back_the_same() -> None:
    source = load(SOURCE).sources[0]
    assert source.location == "hdfs://nn:8020/data/files"
    assert source.object == ObjectStore(format="csv", options={"header": "true"}, event_time="modified")
    assert source.policies[0].rules[0].action == MatchAttribute("state", "state", "xattr")
    again = policyfile.check_derived_source(policyfile.dump_source(source), users={"olga", "ivan"}, where="x")
    assert again.object == source.object and again.location == source.location
    assert again.policies == source.policies


@pytest.mark.parametrize(
    ("block", "path", "words"),
    [
        ("{format: xml, location: /d}", "sources[0].object.format", "csv, tsv, json, parquet, orc"),
        ("{format: csv}", "sources[0].object", "needs 'location'"),
        ("{format: csv, location: rel/dir}", "sources[0].object.location", "'rel/dir'"),
        ("{format: csv, location: /}", "sources[0].object.location", "expected a directory"),
        ("{format: csv, location: /d, options: {path: /x}}", "sources[0].object.options.path", "location"),
        ('{format: csv, location: /d, event_time: "xattr:"}', "sources[0].object.event_time", "xattr:NAME"),
        ("{format: csv, location: /d, event_time: ctime}", "sources[0].object.event_time", "'modified'"),
        ("{format: csv, location: /d, colour: red}", "sources[0].object.colour", "unknown key"),
    ],
)
def test_a_bad_object_block_is_refused_naming_where(block: str, path: str, words: str) -> None:
    err = _fails(HEAD + f"sources:\n  - {{name: S, table: o.s, owners: [olga], object: {block}}}\n")
    assert err.path == path and words in err.reason


def test_two_sources_over_one_directory_are_refused() -> None:
    text = HEAD + (
        "sources:\n"
        "  - {name: A, table: o.a, owners: [olga], object: {format: csv, location: /data/a}}\n"
        "  - {name: B, table: o.b, owners: [olga], object: {format: json, location: /data/a/sub}}\n"
    )
    err = _fails(text)
    assert err.path == "sources[0].location" and "overlaps" in err.reason and "'B'" in err.reason


def test_matching_a_files_xattr_needs_an_object_backed_source() -> None:
    text = HEAD + (
        "sources:\n  - name: T\n    table: o.t\n    owners: [olga]\n"
        "    policies: [{name: p, type: row, match: {attribute: state, xattr: state}}]\n"
    )
    err = _fails(text)
    assert err.path == "sources[0].policies[0].match.xattr" and "object-backed" in err.reason


def test_a_match_names_exactly_one_of_column_xattr_and_folder() -> None:
    text = SOURCE.replace("match: {attribute: state, xattr: state}", "match: {attribute: state, xattr: a, folder: b}")
    assert "exactly one of 'column: NAME'" in _fails(text).reason


def test_a_time_window_on_an_object_source_needs_its_event_time() -> None:
    err = _fails(SOURCE.replace(", event_time: modified", ""))
    assert err.path == "sources[0].policies[1].time_window" and "object.event_time" in err.reason


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("format: csv", "format: parquet"), "parquet files"),
        (("format: csv", "format: orc"), "orc files"),
        (("    dictionary: [{name: id, type: int}, {name: ssn, type: string}]\n", ""), "data dictionary"),
    ],
)
def test_masking_an_object_source_is_refused_unless_csv_tsv_or_json_with_a_dictionary(
    change: tuple[str, str], words: str
) -> None:
    err = _fails(SOURCE.replace(*change))
    assert err.path == "sources[0].policies[2]" and "masking policy 'ssn'" in err.reason and words in err.reason


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_masking_is_accepted_on_csv_tsv_and_json_with_a_dictionary(fmt: str) -> None:
    assert load(SOURCE.replace("format: csv", f"format: {fmt}")).sources[0].object.format == fmt  # type: ignore[union-attr]


def test_a_global_masking_policy_reaching_a_parquet_sources_dictionary_column_is_refused() -> None:
    text = (
        SOURCE.replace("format: csv", "format: parquet").replace(
            "      - {name: ssn, type: masking, columns: {names: [ssn]}, mask: hash}\n", ""
        )
        + "policies:\n  - {name: g-ssn, type: masking, columns: {names: [ssn]}, mask: hash}\n"
    )
    err = _fails(text)
    assert err.path == "policies[0]" and "g-ssn" in err.reason


# --- the engine -------------------------------------------------------------------------


def test_file_rules_compile_to_file_terms_with_the_users_values() -> None:
    found = plan(snapshot(SOURCE), "bob", "Files", schema=[("id", "int"), ("ssn", "string")])
    assert found.allowed
    assert E.reads_files(found.row_filter)
    text = repr(found.row_filter)
    assert "FileAttribute(name='state')" in text and "'Ohio'" in text and "FileModified()" in text


def test_a_folder_rule_compiles_to_a_folder_term() -> None:
    snap = snapshot(SOURCE.replace("xattr: state", "folder: region"))
    assert "FileFolder(key='region')" in repr(plan(snap, "bob", "Files").row_filter)


def test_a_global_file_rule_on_a_table_closes_the_table() -> None:
    text = HEAD + (
        "sources:\n  - {name: T, table: o.t, owners: [olga], subscription: {anyone: {}}}\n"
        "policies:\n  - {name: g, type: row, match: {attribute: state, xattr: state}}\n"
    )
    with pytest.raises(PolicyBindError, match="is a table, not an object-backed source"):
        plan(snapshot(text), "bob", "T", schema=[("id", "int")])


def test_an_ingest_user_reads_no_data() -> None:
    found = plan(snapshot(SOURCE), "ivan", "Files", schema=[("id", "int"), ("ssn", "string")])
    assert found.visible and not found.allowed and "ingest user" in (found.denied_reason or "")


def test_a_mask_reaching_a_parquet_source_at_query_time_closes_it() -> None:
    text = SOURCE.replace("format: csv", "format: parquet").replace(
        "      - {name: ssn, type: masking, columns: {names: [ssn]}, mask: hash}\n", ""
    )
    text += "policies:\n  - {name: g-note, type: masking, columns: {names: [note]}, mask: hash}\n"
    with pytest.raises(PolicyBindError, match="masking policy 'g-note'"):
        plan(snapshot(text), "bob", "Files", schema=[("id", "int"), ("note", "string")])


# --- deciding files ---------------------------------------------------------------------


def _decide(text: str, files: list[ObjectFile], user: str = "bob") -> set[str]:
    found = plan(snapshot(text), user, "Files", schema=[("id", "int"), ("ssn", "string")])
    resolved = resolve_files(found.row_filter, files, "/data/files", now=NOW)
    assert not E.reads_files(resolved)
    if isinstance(resolved, E.AlwaysFalse):
        return set()
    assert isinstance(resolved, E.In) and resolved.term == E.InputFile()
    return {str(lit.value).rsplit("/", 1)[-1] for lit in resolved.literals}


def test_files_are_decided_by_xattr_and_time_and_a_file_without_the_xattr_is_hidden() -> None:
    files = [
        _file("ohio.csv", state="Ohio"),
        _file("texas.csv", state="Texas"),
        _file("none.csv"),
        _file("old-ohio.csv", days_old=30, state="Ohio"),
    ]
    assert _decide(SOURCE, files) == {"ohio.csv"}


def test_no_file_matching_gives_a_filter_that_is_false() -> None:
    assert _decide(SOURCE, [_file("texas.csv", state="Texas")]) == set()


def test_files_are_decided_by_their_folder() -> None:
    text = SOURCE.replace("xattr: state", "folder: state")
    files = [_file("state=Ohio/a.csv"), _file("state=Texas/b.csv"), _file("c.csv"), _file("x/state=Ohio/d.csv")]
    assert _decide(text, files) == {"a.csv", "d.csv"}


def test_a_time_window_by_xattr_hides_files_whose_time_is_missing_or_unreadable() -> None:
    text = SOURCE.replace("event_time: modified", 'event_time: "xattr:ingested"').replace(
        "      - {name: by-xattr, type: row, match: {attribute: state, xattr: state}}\n", ""
    )
    files = [
        _file("new.csv", ingested="2026-11-30T10:00:00Z"),
        _file("day.csv", ingested="2026-11-28"),
        _file("old.csv", ingested="2020-01-01"),
        _file("junk.csv", ingested="yesterday"),
        _file("none.csv"),
    ]
    assert _decide(text, files) == {"new.csv", "day.csv"}


def test_a_user_without_the_attribute_sees_no_file() -> None:
    assert _decide(SOURCE, [_file("ohio.csv", state="Ohio")], user="olga") == set()


def test_conditions_over_columns_are_kept_beside_the_files() -> None:
    kept = E.IsNull(E.Column("id"))
    pred = E.and_(kept, E.in_(E.FileAttribute("state"), frozenset({"Ohio"})))
    out = resolve_files(pred, [_file("a.csv", state="Ohio")], "/data/files", now=NOW)
    assert out == E.And(kept, E.In(E.InputFile(), (E.Literal("hdfs://nn:8020/data/files/a.csv", "string"),)))


def test_a_condition_mixing_files_and_columns_closes_the_source() -> None:
    mixed = E.or_(E.IsNull(E.Column("id")), E.IsNull(E.FileAttribute("state")))
    with pytest.raises(PolicyBindError, match="mixes"):
        resolve_files(mixed, [], "/data/files", now=NOW)


def test_folders_and_timestamps_are_read_as_spark_writes_them() -> None:
    assert folders_of("/d/state=New%20York/a.csv", "/d") == {"state": "New York"}
    assert timestamp_of("2026-12-01T10:00:00+02:00") == datetime(2026, 12, 1, 8, tzinfo=timezone.utc)
    assert timestamp_of("2026-12-01") == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert timestamp_of("soon") is None


def test_ingest_status_counts_files_and_bytes_and_gives_the_newest_time() -> None:
    status = ingest_status("Files", "/data/files", [_file("a.csv", days_old=2), _file("b.csv")])
    assert (status.files, status.bytes, status.last_modified) == (2, 20, NOW)
    assert ingest_status("Files", "/d", []).to_json()["last_modified"] is None


# --- registering at run time ------------------------------------------------------------


def _catalog(tmp_path: Path) -> GovernanceCatalog:
    return open_catalog(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, HEAD)


def test_an_owner_registers_an_object_source_at_run_time_and_it_survives_apply(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    olga = GovernanceCatalog(catalog.store, identity="olga")
    source = olga.create_object_source(
        "Drops", location="hdfs://nn:8020/drops", format="json", ingest_users=["ivan"], event_time="modified"
    )
    assert source.table == "objects.drops" and source.is_owner("olga", frozenset())
    catalog.apply(write(tmp_path, HEAD, "again.yaml"), sql_checker=None)
    kept = GovernanceCatalog.open(catalog.store.url, identity="gov").snapshot().sources["Drops"]
    assert kept.object == ObjectStore(format="json", event_time="modified") and kept.ingest_users == ("ivan",)
    assert [r.outcome for r in catalog.audit(action="source.object")] == ["ok"]


def test_registration_is_refused_without_the_permission_or_over_a_taken_directory(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    with pytest.raises(NotAuthorized, match="CREATE_DATA_SOURCE"):
        GovernanceCatalog(catalog.store, identity="bob").create_object_source("B", location="/b", format="csv")
    olga = GovernanceCatalog(catalog.store, identity="olga")
    olga.create_object_source("A", location="/data/a", format="csv")
    revision = catalog.snapshot().revision
    with pytest.raises(ProjectError, match="overlaps the location of data source 'A'"):
        olga.create_object_source("A2", location="/data/a/2020", format="csv")
    with pytest.raises(ProjectError, match=r"object\.format"):
        olga.create_object_source("C", location="/data/c", format="xml")
    with pytest.raises(ProjectError, match="masking policy 'm'"):
        olga.create_object_source(
            "D",
            location="/data/d",
            format="parquet",
            dictionary=[("ssn", "string")],
            policies=[{"name": "m", "type": "masking", "columns": {"names": ["ssn"]}, "mask": "hash"}],
        )
    assert catalog.snapshot().revision == revision
