"""The test-cluster launcher's Python side, without starting a JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from hdfs_workspace import testing
from hdfs_workspace.config import read_hadoop_conf
from hdfs_workspace.errors import ToolMissing


def test_a_missing_java_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(testing.shutil, "which", lambda tool: None)
    with pytest.raises(ToolMissing, match="java is missing: install a JDK 17"):
        testing.build_launcher(cache_dir=tmp_path)


def test_a_missing_maven_is_named_when_the_cache_is_empty(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(testing.shutil, "which", lambda tool: None if tool == "mvn" else f"/usr/bin/{tool}")
    with pytest.raises(ToolMissing, match="mvn is missing: install Maven"):
        testing.build_launcher(cache_dir=tmp_path)


def test_cluster_settings_turn_on_acls_groups_and_proxy_rights(tmp_path: Path) -> None:
    site = tmp_path / "site.xml"
    site.write_bytes(testing._site_xml(testing.cluster_properties()))

    props = read_hadoop_conf(site)

    assert props["dfs.namenode.acls.enabled"] == "true"
    assert props["dfs.permissions.enabled"] == "true"
    assert props["dfs.replication"] == "1"
    mapping = props["hadoop.user.group.static.mapping.overrides"]
    assert "alice=proj_x,analysts;" in mapping and "dave=;" in mapping
    assert "hdfs_admin=supergroup;" in mapping
    assert props[f"hadoop.proxyuser.{testing.SERVICE_USER}.hosts"] == "127.0.0.1,localhost"


def test_the_launcher_cache_key_follows_pom_and_source(tmp_path: Path) -> None:
    (tmp_path / "pom.xml").write_text("<project/>")
    (tmp_path / "A.java").write_text("class A {}")
    key = testing._launcher_key(tmp_path)
    assert testing._launcher_key(tmp_path) == key
    (tmp_path / "A.java").write_text("class A { }")
    assert testing._launcher_key(tmp_path) != key
