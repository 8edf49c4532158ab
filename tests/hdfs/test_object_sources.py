"""Object-backed HDFS sources (issue 12 item 2): directories of files governed file by file.

Files are written to the real MiniDFSCluster through the access layer, with real extended
attributes (SETXATTR); governed sessions read them through Spark's own HDFS client, and the row
policies decide whole files by their ``user.*`` xattr, their ``key=value`` folder, or their time.
"""

from __future__ import annotations

import io
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality

from hdfs_workspace.acl import parse_acl_entry
from hdfs_workspace.errors import PermissionDenied
from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImmutaSparkError, PolicyFileError
from immuta_spark.spark import ImmutaSparkSession
from immuta_spark.spark.errors import GovernedAccessDenied, UnenforcedPathError
from tests.conftest import SPARK_IDENTITY
from tests.hdfs.readers import Readers

USERS = """\
users:
  - {name: svc_notebook, permissions: [GOVERNANCE, IMPERSONATE]}
  - {name: olga, permissions: [CREATE_DATA_SOURCE]}
  - {name: bob, attributes: {state: [Ohio]}}
  - {name: mia, attributes: {state: [Missouri]}}
  - {name: ivan}
"""


def _parquet(rows: list[tuple[int, str]]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [r[0] for r in rows], "note": [r[1] for r in rows]}), out)
    return out.getvalue()


def _path(uri: str) -> str:
    """The path of an hdfs:// URI (what the access layer takes)."""
    return "/" + uri.split("/", 3)[3]


def _put(admin: WebHdfsAccess, path: str, data: bytes, **xattrs: str) -> None:
    admin.write_bytes(path, data, mode=0o644, overwrite=True)
    for name, value in xattrs.items():
        admin.set_xattr(path, f"user.{name}", value)


@pytest.fixture
def objects_dir(request: pytest.FixtureRequest, hdfs_admin: WebHdfsAccess, minihdfs: MiniHdfs) -> str:
    """A fresh directory of this test's object-backed sources (a qualified hdfs:// URI)."""
    path = f"/objects/{request.node.name[:80]}"
    hdfs_admin.delete(path, recursive=True)
    hdfs_admin.makedirs(path, mode=0o755)
    return f"{minihdfs.fs_uri}{path}"


@pytest.fixture
def catalog_of(tmp_path: Path) -> Callable[[str], GovernanceCatalog]:
    """A catalog applied from YAML text (users prepended)."""

    def make(sources: str) -> GovernanceCatalog:
        path = tmp_path / "governance.yaml"
        path.write_text("version: 1\n" + USERS + textwrap.dedent(sources))
        catalog = GovernanceCatalog.open(f"sqlite:///{tmp_path / 'catalog.db'}", identity=SPARK_IDENTITY, create=True)
        catalog.apply(path)
        return catalog

    return make


def _rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in df.collect())


def _session(spark: Any, catalog: GovernanceCatalog, user: str) -> Any:
    return ImmutaSparkSession.wrap(spark, catalog=catalog, user=user)


def test_csv_files_are_shown_by_their_xattr_and_a_file_without_one_is_hidden(
    hdfs_spark: Any, hdfs_admin: WebHdfsAccess, objects_dir: str, catalog_of: Callable[[str], GovernanceCatalog]
) -> None:
    loc = f"{objects_dir}/csv"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/ohio.csv", b"id,state,ssn\n1,Ohio,111\n2,Ohio,222\n", state="Ohio")
    _put(hdfs_admin, f"{base}/missouri.csv", b"id,state,ssn\n3,Missouri,333\n", state="Missouri")
    _put(hdfs_admin, f"{base}/untagged.csv", b"id,state,ssn\n4,Ohio,444\n")
    catalog = catalog_of(f"""
        sources:
          - name: Claim Files
            table: objects.claim_files
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: csv, location: "{loc}", options: {{header: true, inferSchema: true}}}}
            dictionary: [{{name: id, type: int}}, {{name: state, type: string}}, {{name: ssn, type: string}}]
            policies:
              - {{name: files-by-state, type: row, match: {{attribute: state, xattr: state}}}}
              - {{name: no-ssn, type: masking, columns: {{names: [ssn]}}, mask: "null"}}
        """)
    bob = _session(hdfs_spark, catalog, "bob")
    mia = _session(hdfs_spark, catalog, "mia")
    assert _rows(bob.read.csv(loc)) == [(1, "Ohio", None), (2, "Ohio", None)]  # masked, and file 4 hidden
    assert _rows(mia.table("objects.claim_files")) == [(3, "Missouri", None)]
    assert _rows(mia.read.option("header", "true").csv(loc).where("id > 0")) == [(3, "Missouri", None)]
    assert bob.read.csv(loc).count() == 2  # count(*) sees only enforced rows too
    with pytest.raises(UnenforcedPathError):  # one file of it, read by path, would be raw
        bob.read.csv(f"{loc}/missouri.csv").collect()
    with pytest.raises(ImmutaSparkError):  # SQL on a csv path would infer its schema from the files raw
        bob.sql(f"SELECT * FROM csv.`{loc}`").collect()
    with pytest.raises(UnenforcedPathError, match="input_file_name"):  # nor may a query name the files
        bob.read.csv(loc).selectExpr("input_file_name()").collect()

    # A new file, or a changed xattr, counts from the next statement on (the files are listed per statement).
    _put(hdfs_admin, f"{base}/ohio2.csv", b"id,state,ssn\n5,Ohio,555\n", state="Ohio")
    hdfs_admin.set_xattr(f"{base}/missouri.csv", "user.state", "Ohio")
    assert [r[0] for r in _rows(bob.table("objects.claim_files"))] == [1, 2, 3, 5]
    assert _rows(mia.table("objects.claim_files")) == []


def test_json_files_are_shown_by_their_folder_name(
    hdfs_spark: Any, hdfs_admin: WebHdfsAccess, objects_dir: str, catalog_of: Callable[[str], GovernanceCatalog]
) -> None:
    loc = f"{objects_dir}/json"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/state=Ohio/a.json", b'{"id": 1, "amount": 10}\n{"id": 2, "amount": 20}\n')
    _put(hdfs_admin, f"{base}/state=Missouri/b.json", b'{"id": 3, "amount": 30}\n')
    _put(hdfs_admin, f"{base}/other/c.json", b'{"id": 4, "amount": 40}\n')  # no state= folder: hidden
    catalog = catalog_of(f"""
        sources:
          - name: Claim Events
            table: objects.claim_events
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: json, location: "{loc}", options: {{recursiveFileLookup: true}}}}
            policies:
              - {{name: events-by-folder, type: row, match: {{attribute: state, folder: state}}}}
        """)
    bob = _session(hdfs_spark, catalog, "bob")
    mia = _session(hdfs_spark, catalog, "mia")
    assert _rows(bob.read.json(loc).select("id", "amount")) == [(1, 10), (2, 20)]
    assert _rows(mia.table("objects.claim_events").select("id", "amount")) == [(3, 30)]
    olga = _session(hdfs_spark, catalog, "olga")  # the owner has no state: every file fails closed for her
    assert olga.table("objects.claim_events").count() == 0


def test_parquet_files_by_xattr_and_a_time_window_by_modification_time(
    hdfs_spark: Any, hdfs_admin: WebHdfsAccess, objects_dir: str, catalog_of: Callable[[str], GovernanceCatalog]
) -> None:
    loc = f"{objects_dir}/parquet"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/new-ohio.parquet", _parquet([(1, "new")]), state="Ohio")
    _put(hdfs_admin, f"{base}/old-ohio.parquet", _parquet([(2, "old")]), state="Ohio")
    _put(hdfs_admin, f"{base}/new-missouri.parquet", _parquet([(3, "new")]), state="Missouri")
    jvm = hdfs_spark.sparkContext._jvm
    old = jvm.org.apache.hadoop.fs.Path(f"{loc}/old-ohio.parquet")
    fs = old.getFileSystem(hdfs_spark._jsparkSession.sessionState().newHadoopConf())
    hdfs_admin.set_owner(f"{base}/old-ohio.parquet", owner=SPARK_IDENTITY)
    fs.setTimes(old, int((time.time() - 40 * 86400) * 1000), -1)  # modified 40 days ago
    catalog = catalog_of(f"""
        sources:
          - name: Notes
            table: objects.notes
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: parquet, location: "{loc}", event_time: modified}}
            policies:
              - {{name: notes-by-state, type: row, match: {{attribute: state, xattr: state}}}}
              - {{name: notes-30-days, type: row, time_window: 30d, except: {{users: [mia]}}}}
        """)
    bob = _session(hdfs_spark, catalog, "bob")
    expected = hdfs_spark.createDataFrame([(1, "new")], "id LONG, note STRING")
    assert_df_equality(bob.read.parquet(loc), expected, ignore_nullable=True, ignore_metadata=True)
    assert _rows(bob.sql(f"SELECT id FROM parquet.`{loc}`")) == [(1,)]  # SQL on the path: the same files
    assert _rows(_session(hdfs_spark, catalog, "mia").table("objects.notes")) == [(3, "new")]


def test_a_time_window_by_an_xattr_hides_old_files_and_files_without_the_time(
    hdfs_spark: Any, hdfs_admin: WebHdfsAccess, objects_dir: str, catalog_of: Callable[[str], GovernanceCatalog]
) -> None:
    loc = f"{objects_dir}/tsv"
    base = _path(loc)
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    _put(hdfs_admin, f"{base}/recent.tsv", b"1\trecent\n", ingested=recent)
    _put(hdfs_admin, f"{base}/old.tsv", b"2\told\n", ingested="2001-01-01")
    _put(hdfs_admin, f"{base}/untimed.tsv", b"3\tuntimed\n")
    catalog = catalog_of(f"""
        sources:
          - name: Lines
            table: objects.lines
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: tsv, location: "{loc}", event_time: "xattr:ingested"}}
            policies:
              - {{name: lines-7-days, type: row, time_window: 7d}}
        """)
    assert _rows(_session(hdfs_spark, catalog, "bob").table("objects.lines")) == [("1", "recent")]


def test_k_anonymization_over_a_csv_object_source_nulls_the_rare_combinations_of_the_files(
    hdfs_spark: Any, hdfs_admin: WebHdfsAccess, objects_dir: str, catalog_of: Callable[[str], GovernanceCatalog]
) -> None:
    loc = f"{objects_dir}/kanon"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/a.csv", b"id,zip,age\n1,44101,30\n2,44101,30\n3,44101,41\n", state="Ohio")
    _put(hdfs_admin, f"{base}/b.csv", b"id,zip,age\n4,44101,30\n5,63101,30\n", state="Ohio")
    catalog = catalog_of(f"""
        sources:
          - name: Patient Files
            table: objects.patient_files
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: csv, location: "{loc}", options: {{header: true, inferSchema: true}}}}
            dictionary: [{{name: id, type: int}}, {{name: zip, type: int}}, {{name: age, type: int}}]
            policies:
              - {{name: files-by-state, type: row, match: {{attribute: state, xattr: state}}}}
              - {{name: k-zip-age, type: masking, columns: {{names: [zip, age]}}, mask: {{k_anonymize: 2}}}}
        """)
    bob = _session(hdfs_spark, catalog, "bob")
    # (44101, 30) occurs three times across the two files: kept; (44101, 41) and (63101, 30) once: both NULL.
    assert _rows(bob.table("objects.patient_files")) == [
        (1, 44101, 30),
        (2, 44101, 30),
        (3, None, None),
        (4, 44101, 30),
        (5, None, None),
    ]


def test_masking_is_refused_at_apply_on_parquet_or_without_a_dictionary_and_the_catalog_is_unchanged(
    tmp_path: Path, objects_dir: str
) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    catalog = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\n" + USERS)
    catalog.apply(good)
    before = catalog.snapshot().revision
    cases = {
        "parquet": f'{{format: parquet, location: "{objects_dir}/p"}}\n    dictionary: [{{name: ssn, type: string}}]',
        "no dictionary": f'{{format: csv, location: "{objects_dir}/c"}}',
    }
    for why, block in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(
            "version: 1\n" + USERS + "sources:\n  - name: S\n    table: objects.s\n    owners: [olga]\n"
            f"    object: {block}\n"
            "    policies: [{name: hide-ssn, type: masking, columns: {names: [ssn]}, mask: hash}]\n"
        )
        with pytest.raises(PolicyFileError) as err:
            catalog.apply(bad)
        assert err.value.path == "sources[0].policies[0]", why
        assert "masking policy 'hide-ssn'" in str(err.value) and "csv, tsv or json" in str(err.value), why
        assert catalog.snapshot().revision == before


def test_bad_yaml_names_the_location_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    catalog = GovernanceCatalog.open(url, identity=SPARK_IDENTITY, create=True)
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\n" + USERS)
    catalog.apply(good)
    before = catalog.snapshot().revision
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\n" + USERS + "sources:\n  - name: S\n    table: objects.s\n    owners: [olga]\n"
        "    object: {format: csv, location: claims/2020}\n"
    )
    with pytest.raises(PolicyFileError) as err:
        catalog.apply(bad)
    assert err.value.path == "sources[0].object.location"
    assert "claims/2020" in str(err.value) and str(bad) in str(err.value)
    assert catalog.snapshot().revision == before


def test_an_ingest_user_writes_a_file_sees_its_status_and_reads_no_data(
    hdfs_spark: Any,
    hdfs_admin: WebHdfsAccess,
    as_user: Callable[[str], WebHdfsAccess],
    objects_dir: str,
    catalog_of: Callable[[str], GovernanceCatalog],
) -> None:
    loc = f"{objects_dir}/ingest"
    base = _path(loc)
    hdfs_admin.makedirs(base, mode=0o755)
    hdfs_admin.modify_acl_entries(base, [parse_acl_entry("user:ivan:rwx")])
    catalog = catalog_of(f"""
        sources:
          - name: Drops
            table: objects.drops
            owners: [olga]
            ingest_users: [ivan]
            subscription: {{anyone: {{}}}}
            object: {{format: csv, location: "{loc}"}}
        """)
    as_user("ivan").write_bytes(f"{base}/drop1.csv", b"1,a\n2,b\n", mode=0o644)  # as ivan, at the NameNode
    ivan = _session(hdfs_spark, catalog, "ivan")
    status = ivan.ingest_status("Drops")
    assert (status.files, status.bytes) == (1, 8) and status.last_modified is not None
    for read in (lambda: ivan.table("objects.drops").collect(), lambda: ivan.read.csv(loc).collect()):
        with pytest.raises(GovernedAccessDenied, match="ingest user"):
            read()
    with pytest.raises(GovernedAccessDenied, match="owners and ingest users"):
        _session(hdfs_spark, catalog, "bob").ingest_status("Drops")
    assert _rows(_session(hdfs_spark, catalog, "olga").table("objects.drops")) == [("1", "a"), ("2", "b")]


def test_an_object_source_registered_at_run_time_is_read_governed_and_survives_apply(
    hdfs_spark: Any,
    hdfs_admin: WebHdfsAccess,
    objects_dir: str,
    catalog_of: Callable[[str], GovernanceCatalog],
    tmp_path: Path,
) -> None:
    loc = f"{objects_dir}/runtime"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/a.csv", b"1,x\n", state="Ohio")
    _put(hdfs_admin, f"{base}/b.csv", b"2,y\n", state="Missouri")
    catalog = catalog_of("sources: []\n")
    olga = GovernanceCatalog(catalog.store, identity=SPARK_IDENTITY, act_as="olga")
    policy = {"name": "rt-by-state", "type": "row", "match": {"attribute": "state", "xattr": "state"}}
    olga.create_object_source(
        "Runtime Files", location=loc, format="csv", subscription={"anyone": {}}, policies=[policy]
    )
    catalog.apply(tmp_path / "governance.yaml")  # the file does not name it: kept
    bob = _session(hdfs_spark, catalog, "bob")
    assert _rows(bob.table("objects.runtime_files")) == [("1", "x")]
    with pytest.raises(Exception, match="CREATE_DATA_SOURCE"):
        GovernanceCatalog(catalog.store, identity=SPARK_IDENTITY, act_as="bob").create_object_source(
            "Bobs", location=f"{objects_dir}/other", format="csv"
        )


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str | None, Readers]]:
    """The module's reader processes by service identity (none, or the workspace service's): one JVM per user each."""
    work = tmp_path_factory.mktemp("object-readers")
    pools = {s: Readers(catalog=None, hive_uri=None, service=s, work=work / str(s)) for s in (None, "svc_workspace")}
    try:
        yield pools
    finally:
        for pool in pools.values():
            pool.close()


def _own_process(
    readers: dict[str | None, Readers],
    user: str,
    catalog: GovernanceCatalog,
    loc: str,
    source: str,
    table: str,
    service: str | None = None,
) -> dict[str, dict[str, Any]]:
    """``object_reader.py``'s steps as ``user`` (their own Spark JVM, their own HDFS identity); its steps by name."""
    spec = {"catalog": catalog.store.url, "location": loc, "table": table, "source": source}
    return {s["step"]: s for s in readers[service].read(user, "object_reader", spec)}


def test_two_users_in_their_own_processes_see_their_own_files_as_their_own_hdfs_identity(
    hdfs_admin: WebHdfsAccess,
    objects_dir: str,
    catalog_of: Callable[[str], GovernanceCatalog],
    readers: dict[str | None, Readers],
) -> None:
    loc = f"{objects_dir}/own"
    base = _path(loc)
    _put(hdfs_admin, f"{base}/ohio.csv", b"1,Ohio\n", state="Ohio")
    _put(hdfs_admin, f"{base}/missouri.csv", b"2,Missouri\n", state="Missouri")
    _put(hdfs_admin, f"{base}/untagged.csv", b"3,Ohio\n")
    catalog = catalog_of(f"""
        sources:
          - name: Own Files
            table: objects.own_files
            owners: [olga]
            ingest_users: [mia]
            subscription: {{anyone: {{}}}}
            object: {{format: csv, location: "{loc}"}}
            policies:
              - {{name: own-by-state, type: row, match: {{attribute: state, xattr: state}}}}
        """)
    bob, mia = (_own_process(readers, user, catalog, loc, "Own Files", "objects.own_files") for user in ("bob", "mia"))
    assert bob["governed-path"]["rows"] == [["1", "Ohio"]] and bob["governed-table"]["rows"] == [["1", "Ohio"]]
    assert bob["ingest-status"]["outcome"] == "refused"  # not an ingest user
    assert mia["ingest-status"]["rows"] == [[3]]  # an ingest user: the files, no data
    assert mia["governed-path"]["outcome"] == "refused" and "ingest user" in mia["governed-path"]["error"]


def test_files_only_the_service_identity_may_read_are_listed_and_read_as_it_and_refused_without_it(
    hdfs_admin: WebHdfsAccess,
    objects_dir: str,
    catalog_of: Callable[[str], GovernanceCatalog],
    readers: dict[str | None, Readers],
) -> None:
    loc = f"{objects_dir}/walled"
    base = _path(loc)
    hdfs_admin.makedirs(base, mode=0o700)
    _put(hdfs_admin, f"{base}/ohio.csv", b"1,Ohio\n", state="Ohio")
    _put(hdfs_admin, f"{base}/missouri.csv", b"2,Missouri\n", state="Missouri")
    hdfs_admin.set_owner(base, owner="svc_workspace")
    catalog = catalog_of(f"""
        sources:
          - name: Walled Files
            table: objects.walled_files
            owners: [olga]
            subscription: {{anyone: {{}}}}
            object: {{format: csv, location: "{loc}"}}
            policies:
              - {{name: walled-by-state, type: row, match: {{attribute: state, xattr: state}}}}
        """)
    served = _own_process(readers, "bob", catalog, loc, "Walled Files", "objects.walled_files", "svc_workspace")
    assert served["governed-path"].get("rows") == [["1", "Ohio"]], served["governed-path"]
    plain = _own_process(readers, "bob", catalog, loc, "Walled Files", "objects.walled_files")
    assert plain["governed-path"]["outcome"] == "refused"  # the NameNode refuses bob: no data, never raw


def test_the_access_layer_sets_and_reads_extended_attributes_as_the_namenode_allows(
    hdfs_admin: WebHdfsAccess, as_user: Callable[[str], WebHdfsAccess], objects_dir: str
) -> None:
    base = _path(objects_dir)
    _put(hdfs_admin, f"{base}/open.csv", b"1\n", state="Ohio", note='a "quoted" value')
    assert as_user("bob").get_xattrs(f"{base}/open.csv") == {"user.state": "Ohio", "user.note": 'a "quoted" value'}
    hdfs_admin.set_mode(f"{base}/open.csv", 0o600)
    with pytest.raises(PermissionDenied):
        as_user("bob").get_xattrs(f"{base}/open.csv")
    with pytest.raises(PermissionDenied):
        as_user("bob").set_xattr(f"{base}/open.csv", "user.state", "Missouri")
