"""The test cluster itself: loopback only, self-describing, with the configured identities."""

from __future__ import annotations

from hdfs_workspace.config import cluster_from_hadoop_conf
from hdfs_workspace.testing import SERVICE_USER, MiniHdfs, listening_addresses
from hdfs_workspace.webhdfs import WebHdfsAccess


def test_every_listener_of_the_cluster_is_on_loopback(minihdfs: MiniHdfs) -> None:
    addresses = listening_addresses(minihdfs.pid)
    # NameNode RPC and HTTP; DataNode transfer, HTTP and IPC; the DataNode's internal HTTP.
    assert len(addresses) >= 5
    assert {host for host, _ in addresses} == {"127.0.0.1"}, addresses
    ports = {port for _, port in addresses}
    assert int(minihdfs.fs_uri.rsplit(":", 1)[1]) in ports
    assert int(minihdfs.webhdfs_url.rsplit(":", 1)[1]) in ports


def test_the_client_configuration_it_writes_describes_it(minihdfs: MiniHdfs) -> None:
    cluster = cluster_from_hadoop_conf("mini", minihdfs.conf_dir, service_user=SERVICE_USER)
    assert cluster.fs_uri == minihdfs.fs_uri
    assert cluster.webhdfs_url == minihdfs.webhdfs_url
    assert cluster.auth == "insecure"


def test_make_tree_creates_files_as_the_given_user_with_the_given_modes(
    minihdfs: MiniHdfs, workdir: str, hdfs_admin: WebHdfsAccess
) -> None:
    created = minihdfs.make_tree(
        f"{workdir}/tree",
        user="alice",
        dirs=2,
        files_per_dir=3,
        dir_mode=0o750,
        file_mode=0o640,
    )
    assert created == 6
    statuses = list(hdfs_admin.walk(f"{workdir}/tree"))
    assert len(statuses) == 1 + 2 + 6
    assert {s.owner for s in statuses} == {"alice"}
    assert {(s.kind.value, s.mode) for s in statuses} == {("DIRECTORY", 0o750), ("FILE", 0o640)}
