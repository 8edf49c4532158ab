"""The WebHDFS layer without a cluster: error mapping, client-side checks, Kerberos selection."""

from __future__ import annotations

import socket
import sys
import types
from typing import Any

import pytest
import requests
from hdfs.util import HdfsError

from hdfs_workspace.access import CallCounter
from hdfs_workspace.acl import AclEntry
from hdfs_workspace.config import ClusterConfig
from hdfs_workspace.errors import (
    AclLimitExceeded,
    AlreadyExists,
    HdfsWorkspaceError,
    ImpersonationDenied,
    InvalidAcl,
    InvalidRequest,
    MissingDependency,
    NotADirectory,
    NotEmpty,
    NotFound,
    PermissionDenied,
    RemoteError,
    Unavailable,
)
from hdfs_workspace.status import FileType, format_mode, parse_mode
from hdfs_workspace.webhdfs import WebHdfsAccess, connect, map_hdfs_error

_KERBEROS = ClusterConfig(
    name="k",
    webhdfs_url="http://127.0.0.1:9",
    fs_uri="hdfs://127.0.0.1:8",
    auth="kerberos",
    service_user="svc",
)


@pytest.mark.parametrize(
    ("exception", "message", "expected", "hint"),
    [
        ("FileNotFoundException", "File does not exist: /x", NotFound, "create it first"),
        ("AccessControlException", "Permission denied: user=bob", PermissionDenied, "ACL entry"),
        (
            "SecurityException",
            "User: bob is not allowed to impersonate alice",
            ImpersonationDenied,
            "proxy-user rights",
        ),
        (
            "AclException",
            "Invalid ACL: ACL has 33 access entries, which exceeds maximum of 32.",
            AclLimitExceeded,
            "grant a group",
        ),
        ("AclException", "Invalid ACL: only directories may have a default ACL.", InvalidAcl, "nothing was changed"),
        ("FileAlreadyExistsException", "/x already exists", AlreadyExists, "overwrite=True"),
        ("PathIsNotEmptyDirectoryException", "`/x is non empty'", NotEmpty, "recursive=True"),
        ("ParentNotDirectoryException", "/x (is not a directory)", NotADirectory, "directory was expected"),
        ("IllegalArgumentException", "Invalid value", InvalidRequest, "Fix the arguments"),
        ("SafeModeException", "Name node is in safe mode", Unavailable, "retry later"),
        ("NoSuchMethodException", "weird", RemoteError, "NameNode log"),
    ],
)
def test_hdfs_errors_map_to_our_classes_with_a_next_step(
    exception: str, message: str, expected: type[HdfsWorkspaceError], hint: str
) -> None:
    err = map_hdfs_error(HdfsError(message, exception=exception), op="OP", path="/x", user="bob", url="http://h:1")
    assert type(err) is expected
    assert hint in str(err)
    if isinstance(err, RemoteError):
        assert (err.path, err.user, err.remote_exception) == ("/x", "bob", exception)


def test_an_acl_limit_error_is_also_an_invalid_acl_and_a_workspace_error() -> None:
    assert issubclass(AclLimitExceeded, InvalidAcl)
    assert issubclass(ImpersonationDenied, PermissionDenied)
    for cls in (AclLimitExceeded, Unavailable, MissingDependency, NotADirectory):
        assert issubclass(cls, HdfsWorkspaceError)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_namenode_is_unavailable_with_the_connection_error_as_cause() -> None:
    access = WebHdfsAccess.insecure(f"http://127.0.0.1:{_closed_port()}", user="alice", timeout=(1.0, 1.0))
    with pytest.raises(Unavailable, match="check that the NameNode is running") as info:
        access.status("/")
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert access.counter.snapshot() == {"GETFILESTATUS": 1}


def test_relative_paths_and_empty_entry_lists_fail_before_any_call() -> None:
    access = WebHdfsAccess.insecure("http://127.0.0.1:9", user="alice")
    with pytest.raises(InvalidRequest, match="not absolute"):
        access.status("relative/path")
    with pytest.raises(InvalidRequest, match="at least one entry"):
        access.modify_acl_entries("/x", [])
    with pytest.raises(InvalidRequest, match="name no permissions"):
        access.modify_acl_entries("/x", [AclEntry.user("bob")])
    with pytest.raises(InvalidRequest, match="refusing to delete the root"):
        access.delete("/", recursive=True)
    with pytest.raises(ValueError, match="invalid mode"):
        access.makedirs("/x", mode=0o2000)
    assert access.counter.total == 0


def test_as_user_shares_the_counter_and_reuses_peers() -> None:
    admin = WebHdfsAccess.insecure("http://127.0.0.1:9", user="admin")
    bob = admin.as_user("bob")
    assert bob.user == "bob" and bob.counter is admin.counter
    assert admin.as_user("bob") is bob
    proxied = WebHdfsAccess.insecure("http://127.0.0.1:9", user="svc", proxy="alice")
    assert proxied.user == "alice"
    assert proxied.as_user("bob").user == "bob"


def test_kerberos_without_its_extra_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "hdfs.ext.kerberos", None)  # makes the import fail
    with pytest.raises(MissingDependency, match=r"pip install 'immuta-spark\[kerberos\]'"):
        connect(_KERBEROS)


def test_kerberos_is_selected_by_configuration_and_imported_lazily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []

    class FakeKerberosClient:
        def __init__(self, url: str, **kwargs: Any) -> None:
            made.append({"url": url, **kwargs})

    fake = types.ModuleType("hdfs.ext.kerberos")
    fake.KerberosClient = FakeKerberosClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hdfs.ext.kerberos", fake)

    access = connect(_KERBEROS, as_user="alice")

    assert made and made[0]["url"] == "http://127.0.0.1:9" and made[0]["proxy"] == "alice"
    assert access.user == "alice"
    access.as_user("bob")
    assert made[-1]["proxy"] == "bob"  # Kerberos impersonates through doas only


def test_call_counter_reports_differences() -> None:
    counter = CallCounter()
    counter.add("LISTSTATUS", 3)
    before = counter.snapshot()
    counter.add("LISTSTATUS")
    counter.add("MODIFYACLENTRIES", 2)
    assert counter.since(before) == {"LISTSTATUS": 1, "MODIFYACLENTRIES": 2}
    assert counter.total == 6
    counter.reset()
    assert counter.total == 0


@pytest.mark.parametrize(
    ("mode", "kind", "acl", "text"),
    [
        (0o750, FileType.DIRECTORY, True, "drwxr-x---+"),
        (0o640, FileType.FILE, False, "-rw-r-----"),
        (0o1777, FileType.DIRECTORY, False, "drwxrwxrwt"),
        (0o1770, FileType.DIRECTORY, False, "drwxrwx--T"),
    ],
)
def test_modes_print_like_ls(mode: int, kind: FileType, acl: bool, text: str) -> None:
    assert format_mode(mode, kind=kind, has_acl=acl) == text


def test_modes_parse_from_octal_text_or_int() -> None:
    assert parse_mode("750") == parse_mode(0o750) == 0o750
    for bad in ("", "8", "12345", -1, 0o2000, True):
        with pytest.raises(ValueError):
            parse_mode(bad)  # type: ignore[arg-type]
