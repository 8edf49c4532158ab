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
    assert props["hadoop.security.group.mapping"] == "io.immuta.hdfs.WorkspaceGroupsMapping"
    assert props["immuta.workspace.groups.base.class"] == "org.apache.hadoop.security.NullGroupsMapping"
    mapping = props["immuta.workspace.groups.static"]
    assert "alice=proj_x,analysts;" in mapping and "dave=;" in mapping
    assert "hdfs_admin=supergroup;" in mapping
    # Hadoop answers users listed in its own overrides without asking the provider.
    assert props["hadoop.user.group.static.mapping.overrides"] == "dr.who=;"
    assert props["hadoop.security.groups.cache.secs"] == "300"
    assert "immuta.workspace.grants.jdbc.url" not in props  # no grants database: fail closed
    assert props[f"hadoop.proxyuser.{testing.SERVICE_USER}.hosts"] == "127.0.0.1,localhost"


def test_a_grants_url_reaches_the_provider_and_names_its_file() -> None:
    props = testing.cluster_properties(grants_url="jdbc:sqlite:/tmp/g.db")
    assert props["immuta.workspace.grants.jdbc.url"] == "jdbc:sqlite:/tmp/g.db"
    assert testing.sqlite_path("jdbc:sqlite:/tmp/g.db") == Path("/tmp/g.db")
    assert testing.sqlite_path("jdbc:sqlite:file:/tmp/g.db?busy_timeout=1") == Path("/tmp/g.db")
    assert testing.sqlite_path("jdbc:postgresql://127.0.0.1/db") is None
    assert testing.sqlite_path(None) is None


def test_the_provider_source_is_shipped_and_compiled_with_the_launcher() -> None:
    assert [p.name for p in testing.provider_sources()] == ["WorkspaceGroupsMapping.java"]


def test_the_launcher_cache_key_follows_pom_and_source(tmp_path: Path) -> None:
    (tmp_path / "pom.xml").write_text("<project/>")
    (tmp_path / "A.java").write_text("class A {}")
    key = testing._launcher_key(tmp_path)
    assert testing._launcher_key(tmp_path) == key
    (tmp_path / "A.java").write_text("class A { }")
    assert testing._launcher_key(tmp_path) != key


def test_the_launcher_cache_key_follows_the_provider_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    (launcher / "pom.xml").write_text("<project/>")
    provider = tmp_path / "jvm" / "P.java"
    provider.parent.mkdir()
    provider.write_text("class P {}")
    monkeypatch.setattr(testing, "provider_sources", lambda: [provider])
    key = testing._launcher_key(launcher)
    provider.write_text("class P { }")
    assert testing._launcher_key(launcher) != key
