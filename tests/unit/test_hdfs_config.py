"""Cluster configuration: the YAML file and Hadoop's *-site.xml (no JVM, no HDFS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hdfs_workspace.config import (
    ClusterConfig,
    cluster_from_hadoop_conf,
    load_clusters,
    parse_clusters,
    read_hadoop_conf,
)
from hdfs_workspace.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

_LOCAL = {
    "name": "local",
    "webhdfs_url": "http://127.0.0.1:9870",
    "fs_uri": "hdfs://127.0.0.1:8020",
    "auth": "insecure",
    "service_user": "svc_workspace",
}


def _site(path: Path, props: dict[str, str]) -> Path:
    body = "".join(f"  <property><name>{k}</name><value>{v}</value></property>\n" for k, v in props.items())
    path.write_text(f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n')
    return path


def test_the_shipped_clusters_file_loads() -> None:
    clusters = load_clusters(REPO / "conf" / "clusters.yaml")
    assert clusters.get() == ClusterConfig(**_LOCAL)  # type: ignore[arg-type]
    prod = clusters.get("prod-example")
    assert prod.auth == "kerberos"
    assert prod.webhdfs_urls == ("https://nn1.example.internal:9871", "https://nn2.example.internal:9871")


def test_a_single_cluster_is_the_default_without_saying_so() -> None:
    assert parse_clusters({"clusters": [_LOCAL]}).get().name == "local"


def test_several_clusters_without_default_need_a_name() -> None:
    clusters = parse_clusters({"clusters": [_LOCAL, {**_LOCAL, "name": "b"}]}, file="c.yaml")
    with pytest.raises(ConfigError, match="pass --cluster NAME"):
        clusters.get()
    with pytest.raises(ConfigError, match="known clusters are local, b"):
        clusters.get("zzz")


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ([], "<document>", "expected a mapping"),
        ({"clusterz": []}, "clusterz", "unknown top-level key"),
        ({"clusters": {}}, "clusters", "expected a list"),
        ({"clusters": []}, "clusters", "empty"),
        ({"clusters": ["local"]}, "clusters[0]", "expected a mapping"),
        ({"clusters": [{**_LOCAL, "port": 1}]}, "clusters[0].port", "unknown field"),
        (
            {"clusters": [{k: v for k, v in _LOCAL.items() if k != "fs_uri"}]},
            "clusters[0].fs_uri",
            "missing required field",
        ),
        ({"clusters": [{**_LOCAL, "webhdfs_url": "127.0.0.1:9870"}]}, "clusters[0].webhdfs_url", "not a WebHDFS URL"),
        ({"clusters": [{**_LOCAL, "webhdfs_url": "http://h:1/webhdfs/v1"}]}, "clusters[0].webhdfs_url", "has a path"),
        ({"clusters": [{**_LOCAL, "fs_uri": "file:///tmp"}]}, "clusters[0].fs_uri", "not an hdfs:// URI"),
        ({"clusters": [{**_LOCAL, "auth": "token"}]}, "clusters[0].auth", "not one of insecure, kerberos"),
        (
            {"clusters": [{**_LOCAL, "service_user": "svc workspace"}]},
            "clusters[0].service_user",
            "not a valid HDFS user name",
        ),
        ({"clusters": [{**_LOCAL, "name": "a b"}]}, "clusters[0].name", "invalid cluster name"),
        ({"clusters": [_LOCAL, _LOCAL]}, "clusters[1].name", "duplicate cluster name"),
        ({"clusters": [_LOCAL], "default": "prod"}, "default", "names no cluster"),
        ({"clusters": [{**_LOCAL, "auth": 3}]}, "clusters[0].auth", "expected a non-empty"),
    ],
)
def test_errors_name_the_bad_element(data: object, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_clusters(data, file="clusters.yaml")
    assert info.value.path == path
    assert message in info.value.reason
    assert str(info.value).startswith(f"clusters.yaml: {path}: ")


def test_invalid_yaml_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_clusters(bad)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_clusters(tmp_path / "absent.yaml")


def test_hadoop_site_files_give_uri_webhdfs_url_and_auth(tmp_path: Path) -> None:
    _site(
        tmp_path / "core-site.xml",
        {"fs.defaultFS": "hdfs://nn.example:8020", "hadoop.security.authentication": "kerberos"},
    )
    _site(tmp_path / "hdfs-site.xml", {"dfs.namenode.http-address": "0.0.0.0:50070"})

    cluster = cluster_from_hadoop_conf("c", tmp_path, service_user="svc")

    assert cluster.fs_uri == "hdfs://nn.example:8020"
    # Bound to every interface, so it is reached by the host fs.defaultFS names.
    assert cluster.webhdfs_url == "http://nn.example:50070"
    assert cluster.auth == "kerberos"


def test_hadoop_defaults_apply_when_hdfs_site_is_absent(tmp_path: Path) -> None:
    _site(tmp_path / "core-site.xml", {"fs.defaultFS": "hdfs://nn:8020"})
    cluster = cluster_from_hadoop_conf("c", tmp_path, service_user="svc")
    assert (cluster.webhdfs_url, cluster.auth) == ("http://nn:9870", "insecure")


def test_an_ha_nameservice_lists_every_namenode(tmp_path: Path) -> None:
    _site(tmp_path / "core-site.xml", {"fs.defaultFS": "hdfs://prodns"})
    _site(
        tmp_path / "hdfs-site.xml",
        {
            "dfs.nameservices": "prodns,otherns",
            "dfs.ha.namenodes.prodns": "nn1, nn2",
            "dfs.http.policy": "HTTPS_ONLY",
            "dfs.namenode.https-address.prodns.nn1": "a.example:9871",
            "dfs.namenode.https-address.prodns.nn2": "b.example:9871",
        },
    )
    cluster = cluster_from_hadoop_conf("p", tmp_path, service_user="svc")
    assert cluster.webhdfs_url == "https://a.example:9871;https://b.example:9871"


def test_variables_are_expanded_and_later_files_win(tmp_path: Path) -> None:
    one = _site(tmp_path / "one.xml", {"nn.host": "h1", "x": "1"})
    two = _site(tmp_path / "two.xml", {"x": "2", "fs.defaultFS": "hdfs://${nn.host}:8020", "y": "${undefined.var}"})
    props = read_hadoop_conf(one, two)
    assert (props["x"], props["fs.defaultFS"], props["y"]) == ("2", "hdfs://h1:8020", "${undefined.var}")


@pytest.mark.parametrize(
    ("core", "hdfs", "message"),
    [
        ({}, None, "fs.defaultFS: missing"),
        ({"fs.defaultFS": "hdfs://ns"}, {"dfs.nameservices": "ns"}, "dfs.ha.namenodes.ns"),
        ({"fs.defaultFS": "hdfs://h:1", "hadoop.security.authentication": "token"}, None, "only simple and kerberos"),
        ({"fs.defaultFS": "hdfs://h:1"}, {"dfs.namenode.http-address": "nohostport"}, "is not HOST:PORT"),
    ],
)
def test_bad_hadoop_configuration_names_the_property(
    tmp_path: Path, core: dict[str, str], hdfs: dict[str, str] | None, message: str
) -> None:
    _site(tmp_path / "core-site.xml", core)
    if hdfs is not None:
        _site(tmp_path / "hdfs-site.xml", hdfs)
    with pytest.raises(ConfigError) as info:
        cluster_from_hadoop_conf("c", tmp_path, service_user="svc")
    assert message in str(info.value)


def test_malformed_xml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "core-site.xml").write_text("<configuration><property>")
    with pytest.raises(ConfigError, match=r"core-site\.xml: <document>: not well-formed XML"):
        cluster_from_hadoop_conf("c", tmp_path, service_user="svc")
    with pytest.raises(ConfigError, match=r"core-site\.xml: not found"):
        cluster_from_hadoop_conf("c", tmp_path / "nowhere", service_user="svc")


def test_a_yaml_entry_can_read_hadoop_conf_relative_to_the_file_and_override_it(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "hadoop"
    conf.mkdir()
    _site(conf / "core-site.xml", {"fs.defaultFS": "hdfs://nn:8020"})
    (tmp_path / "clusters.yaml").write_text(
        "clusters:\n"
        "  - name: fromxml\n"
        "    hadoop_conf_dir: hadoop\n"
        "    service_user: svc\n"
        "    auth: kerberos\n"
        "  - name: broken\n"
        "    hadoop_conf_dir: missing\n"
        "    service_user: svc\n"
    )
    with pytest.raises(ConfigError) as info:
        load_clusters(tmp_path / "clusters.yaml")
    assert info.value.path == "clusters[1].hadoop_conf_dir"

    (tmp_path / "clusters.yaml").write_text(
        "clusters:\n  - name: fromxml\n    hadoop_conf_dir: hadoop\n    service_user: svc\n    auth: kerberos\n"
    )
    cluster = load_clusters(tmp_path / "clusters.yaml").get()
    assert (cluster.fs_uri, cluster.webhdfs_url, cluster.auth) == ("hdfs://nn:8020", "http://nn:9870", "kerberos")
