"""The shared Hive metastore the tests start, and the product's client of it (``hdfs_workspace.hive``)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from hdfs_workspace.hive import HiveMetastore, MetastoreError, parse_metastore_uri
from hdfs_workspace.procnet import listening_addresses
from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess


def test_the_metastore_listens_on_loopback_only(hive_metastore: Any) -> None:
    addresses = listening_addresses(hive_metastore.pid)
    assert (("127.0.0.1", hive_metastore.port)) in addresses
    assert {host for host, _ in addresses} == {"127.0.0.1"}, addresses


def test_a_database_is_created_at_its_location_read_back_and_dropped_without_its_data(
    hive_metastore: Any, minihdfs: MiniHdfs, workdir: str, hdfs_admin: WebHdfsAccess
) -> None:
    location = f"{minihdfs.fs_uri}{workdir}/db_dir"
    hdfs_admin.makedirs(f"{workdir}/db_dir", mode=0o755)
    hdfs_admin.write_bytes(f"{workdir}/db_dir/keep.txt", b"source data", mode=0o644)
    hdfs_admin.set_owner(f"{workdir}/db_dir", owner="svc_workspace")
    with HiveMetastore.connect(hive_metastore.uri, user="svc_workspace") as hms:
        hms.create_database("hms_roundtrip", location=location, description="a test", owner="svc_workspace")
        found = hms.database("hms_roundtrip")
        assert found is not None
        assert (found.location.rstrip("/"), found.description, found.owner) == (location, "a test", "svc_workspace")
        assert "hms_roundtrip" in hms.databases()
        assert hms.tables("hms_roundtrip") == []
        hms.drop_database("hms_roundtrip")
        assert hms.database("hms_roundtrip") is None
        hms.drop_database("hms_roundtrip")  # dropping a missing database is no error
    assert hdfs_admin.read_bytes(f"{workdir}/db_dir/keep.txt") == b"source data"  # never CASCADE, never deleteData


def test_the_metastore_creates_a_missing_directory_as_the_client_user_and_hdfs_checks_that_user(
    hive_metastore: Any, minihdfs: MiniHdfs, workdir: str, hdfs_admin: WebHdfsAccess
) -> None:
    # workdir is alice's (mode 755): bob may not create a directory in it, alice may.
    with HiveMetastore.connect(hive_metastore.uri, user="bob") as hms:
        with pytest.raises(MetastoreError, match="refused create_database"):
            hms.create_database("hms_as_bob", location=f"{minihdfs.fs_uri}{workdir}/by_bob")
        assert hms.database("hms_as_bob") is None
    assert not hdfs_admin.exists(f"{workdir}/by_bob")
    with HiveMetastore.connect(hive_metastore.uri, user="alice") as hms:
        hms.create_database("hms_as_alice", location=f"{minihdfs.fs_uri}{workdir}/by_alice")
        hms.drop_database("hms_as_alice")
    assert hdfs_admin.status(f"{workdir}/by_alice").owner == "alice"


def test_creating_a_database_twice_is_refused_with_its_name(hive_metastore: Any, tmp_path: Any) -> None:
    with HiveMetastore.connect(hive_metastore.uri) as hms:
        hms.create_database("hms_twice", location=(tmp_path / "twice").as_uri())
        try:
            with pytest.raises(MetastoreError, match="hms_twice"):
                hms.create_database("hms_twice", location=(tmp_path / "twice").as_uri())
        finally:
            hms.drop_database("hms_twice")


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9083", "thrift://127.0.0.1", "thrift://:9083", "thrift://h:x"])
def test_a_uri_that_is_not_thrift_host_port_is_refused(uri: str) -> None:
    with pytest.raises(MetastoreError, match="thrift://HOST:PORT"):
        parse_metastore_uri(uri)


def test_an_unreachable_metastore_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: nothing answers there
        with pytest.raises(MetastoreError, match="cannot reach the Hive metastore"):
            with HiveMetastore.connect(f"thrift://127.0.0.1:{port}"):
                pass
