"""``hdfs-workspace`` workspace commands: text and JSON, exit codes, the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hdfs_workspace.cli import main
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark import cli as immuta_cli
from tests.hdfs.workspace_support import acting


def test_the_console_script_enables_and_prints_the_full_uri(
    ws_catalog_url: str, ws_clusters: object, minihdfs: MiniHdfs, tmp_path: Path
) -> None:
    config = tmp_path / "clusters.yaml"
    config.write_text(
        "clusters:\n"
        f"  - {{name: test, webhdfs_url: '{minihdfs.webhdfs_url}', fs_uri: '{minihdfs.fs_uri}', "
        "auth: insecure, service_user: svc_workspace}\n"
    )
    script = shutil.which("hdfs-workspace", path=str(Path(os.sys.executable).parent))  # type: ignore[attr-defined]
    assert script is not None, "the hdfs-workspace console script is not installed: run make setup"
    env = {**os.environ, "HADOOP_USER_NAME": "olivia"}
    done = subprocess.run(
        [script, "enable", "ws_cli", "--config", str(config), "--catalog", ws_catalog_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"uri:      {minihdfs.fs_uri}/user/immuta/workspace/ws_cli" in done.stdout
    assert "hdfs-workspace: creating /user/immuta/workspace/ws_cli" in done.stderr  # progress on stderr
    refused = subprocess.run(
        [script, "enable", "ws_cli", "--config", str(config), "--catalog", ws_catalog_url],
        env={**env, "HADOOP_USER_NAME": "bob"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "only an owner of project 'ws_cli'" in refused.stderr


def test_show_and_project_show_give_the_uri_and_hive_connection(
    ws_manager: WorkspaceManager, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws_manager.enable("ws_cli")
    monkeypatch.setenv("HADOOP_USER_NAME", "olivia")  # the owner: insiders see the workspace
    assert main(["show", "ws_cli", "--json"], manager=ws_manager) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "enabled" and shown["uri"].endswith("/user/immuta/workspace/ws_cli")
    assert immuta_cli.main(["--catalog", ws_manager.catalog.store.url, "project", "show", "ws_cli"]) == 0
    text = capsys.readouterr().out
    assert f"workspace: {shown['uri']} (enabled)" in text


def test_check_exits_1_on_drift_and_0_after_repair(
    ws_manager: WorkspaceManager, hdfs_admin: WebHdfsAccess, capsys: pytest.CaptureFixture[str]
) -> None:
    record = ws_manager.enable("ws_cli")
    capsys.readouterr()
    hdfs_admin.set_mode(record.path, 0o775)
    assert main(["check", "ws_cli", "--json"], manager=ws_manager) == 1
    drift = json.loads(capsys.readouterr().out)["drift"]
    assert [(d["kind"], d["expected"], d["found"]) for d in drift] == [("mode", "770", "775")]
    assert main(["check", "ws_cli"], manager=ws_manager) == 1
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["PROJECT", "KIND", "PATH", "EXPECTED", "FOUND"] and "mode" in table[1]
    assert main(["check", "ws_cli", "--repair"], manager=ws_manager) == 0
    assert capsys.readouterr().out.splitlines() == ["repaired 1", "no drift"]
    assert hdfs_admin.status(record.path).mode & 0o7777 == 0o770


def test_switch_opens_the_workspace_and_grants_lists_it(
    ws_manager: WorkspaceManager, capsys: pytest.CaptureFixture[str]
) -> None:
    ws_manager.enable("ws_cli")
    bob = WorkspaceManager(acting(ws_manager.catalog, "bob"), ws_manager.clusters, access=ws_manager.access)
    try:
        assert main(["switch", "ws_cli"], manager=bob) == 0
        assert "workspace open: hdfs://" in capsys.readouterr().out
        assert ws_manager.member_access("ws_cli", "bob")
        assert main(["grants", "ws_cli", "--json"], manager=ws_manager) == 0
        assert [g["user"] for g in json.loads(capsys.readouterr().out)] == ["bob"]
    finally:
        assert main(["switch", "--none"], manager=bob) == 0
    assert not ws_manager.member_access("ws_cli", "bob")


def test_purge_without_disable_is_an_error_that_says_what_to_do(
    ws_manager: WorkspaceManager, capsys: pytest.CaptureFixture[str]
) -> None:
    ws_manager.enable("ws_cli")
    assert main(["purge", "ws_cli", "--non-source-data"], manager=ws_manager) == 1
    assert "purge only after disabling it (`hdfs-workspace disable 'ws_cli'`)" in capsys.readouterr().err
