"""``hdfs-workspace`` driven through main() against the real HDFS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hdfs_workspace.access import CallCounter
from hdfs_workspace.acl import FsAction
from hdfs_workspace.cli import main
from hdfs_workspace.testing import SERVICE_USER, MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess

AsUser = Callable[[str], WebHdfsAccess]


def test_ls_lists_children_like_hdfs_dfs(workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]) -> None:
    alice = as_user("alice")
    alice.makedirs(f"{workdir}/sub", mode=0o750)
    alice.write_bytes(f"{workdir}/a.csv", b"abc", mode=0o640)

    assert main(["ls", workdir], client=alice) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("-rw-r-----")
    assert lines[0].endswith(f"{workdir}/a.csv")
    assert " alice " in lines[0] and " proj_x " in lines[0]
    assert lines[1].startswith("drwxr-x---")


def test_ls_recursive_as_json_walks_the_tree(workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]) -> None:
    alice = as_user("alice")
    alice.write_bytes(f"{workdir}/x/y/z.csv", b"", mode=0o600)

    assert main(["ls", "-R", "--json", workdir], client=alice) == 0

    paths = [entry["path"] for entry in json.loads(capsys.readouterr().out)]
    assert paths == [f"{workdir}/x", f"{workdir}/x/y", f"{workdir}/x/y/z.csv"]


def test_stat_prints_the_typed_status(workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stat", "--json", workdir], client=as_user("alice")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["type"] == "DIRECTORY"
    assert (data["owner"], data["group"], data["mode"]) == ("alice", "proj_x", "0755")


def test_setfacl_then_getfacl_round_trip(workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]) -> None:
    alice = as_user("alice")
    path = f"{workdir}/shared"
    alice.makedirs(path, mode=0o750)

    assert main(["setfacl", "-m", "user:bob:rwx,default:group:auditors:r-x", path], client=alice) == 0
    assert main(["setfacl", "-m", "mask::r-x", path], client=alice) == 0
    assert main(["getfacl", path], client=alice) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"# file: {path}",
        "# owner: alice",
        "# group: proj_x",
        "user::rwx",
        "user:bob:rwx\t#effective:r-x",
        "group::r-x",
        "mask::r-x",
        "other::---",
        "default:user::rwx",
        "default:group::r-x",
        "default:group:auditors:r-x",
        "default:mask::r-x",
        "default:other::---",
    ]
    bob = as_user("bob")
    assert bob.check_access(path, FsAction.READ | FsAction.EXECUTE)
    assert not bob.check_access(path, FsAction.WRITE)


def test_setfacl_removes_entries_and_acls(workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]) -> None:
    alice = as_user("alice")
    path = f"{workdir}/d"
    alice.makedirs(path, mode=0o750)
    main(["setfacl", "-m", "user:bob:r-x,user:carol:r-x,default:user:bob:r-x", path], client=alice)

    assert main(["setfacl", "-x", "user:carol", path], client=alice) == 0
    assert main(["getfacl", "--json", path], client=alice) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert "user:bob:r-x" in entries and "user:carol:r-x" not in entries

    assert main(["setfacl", "-k", path], client=alice) == 0
    assert alice.get_acl(path).default_entries() == ()
    assert main(["setfacl", "-b", path], client=alice) == 0
    assert alice.get_acl(path).entries == ()
    assert main(["setfacl", "--set", "user::rwx,group::r-x,other::---,user:carol:r--", path], client=alice) == 0
    assert [e.spec() for e in alice.get_acl(path).entries] == ["user:carol:r--", "group::r-x"]


def test_a_bad_acl_spec_fails_before_any_call(
    workdir: str, minihdfs: MiniHdfs, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = CallCounter()
    alice = minihdfs.access("alice", counter=counter)

    assert main(["setfacl", "-m", "user:9bob:rwx", workdir], client=alice) == 1

    assert "invalid user or group name '9bob'" in capsys.readouterr().err
    assert counter.total == 0


def test_an_hdfs_error_exits_1_with_what_to_do_next(
    workdir: str, as_user: AsUser, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user("alice").makedirs(f"{workdir}/private", mode=0o700)

    assert main(["ls", f"{workdir}/private"], client=as_user("dave")) == 1
    err = capsys.readouterr().err
    assert err.startswith("hdfs-workspace: error: HDFS denied dave")
    assert "ACL entry" in err

    assert main(["stat", f"{workdir}/missing"], client=as_user("alice")) == 1
    assert "does not exist" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], as_user: AsUser) -> None:
    assert main(["setfacl", "/x"], client=as_user("alice")) == 2
    assert "one of the arguments" in capsys.readouterr().err


def test_cluster_and_config_options_connect_through_the_service_user(
    workdir: str,
    minihdfs: MiniHdfs,
    as_user: AsUser,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "clusters.yaml"
    config.write_text(
        "clusters:\n"
        "  - name: other\n"
        "    webhdfs_url: http://127.0.0.1:1\n"
        "    fs_uri: hdfs://127.0.0.1:2\n"
        "    auth: insecure\n"
        f"    service_user: {SERVICE_USER}\n"
        "  - name: mini\n"
        f"    webhdfs_url: {minihdfs.webhdfs_url}\n"
        f"    fs_uri: {minihdfs.fs_uri}\n"
        "    auth: insecure\n"
        f"    service_user: {SERVICE_USER}\n"
    )
    as_user("alice").makedirs(f"{workdir}/mine", mode=0o700)

    argv = ["--config", str(config), "--cluster", "mini", "--as", "alice", "ls", workdir]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip().endswith(f"{workdir}/mine")
    # Options may also follow the subcommand.
    assert main(["ls", f"{workdir}/mine", "--config", str(config), "--cluster", "mini", "--as", "bob"]) == 1
    assert "HDFS denied bob" in capsys.readouterr().err
    assert main(["--config", str(config), "--cluster", "nope", "ls", "/"]) == 1
    assert "no cluster named 'nope'" in capsys.readouterr().err
