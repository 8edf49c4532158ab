"""The WebHDFS access layer against the real NameNode: modes, typed results, errors, counting."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hdfs import InsecureClient
from hdfs.util import HdfsError

from hdfs_workspace.access import CallCounter, HdfsAccess
from hdfs_workspace.acl import AclEntry, FsAction, parse_acl_spec
from hdfs_workspace.errors import (
    AlreadyExists,
    ImpersonationDenied,
    InvalidAcl,
    NotADirectory,
    NotEmpty,
    NotFound,
    PermissionDenied,
)
from hdfs_workspace.status import FileType
from hdfs_workspace.testing import SERVICE_USER, MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess

AsUser = Callable[[str], WebHdfsAccess]


def test_access_object_satisfies_the_protocol(as_user: AsUser) -> None:
    assert isinstance(as_user("alice"), HdfsAccess)


def test_directories_and_files_get_exactly_the_modes_asked_for(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    for mode in (0o700, 0o750, 0o1777):
        alice.makedirs(f"{workdir}/d{mode:o}", mode=mode)
        assert alice.status(f"{workdir}/d{mode:o}").mode == mode
    for mode in (0o600, 0o640, 0o444):
        alice.write_bytes(f"{workdir}/f{mode:o}", b"", mode=mode)
        assert alice.status(f"{workdir}/f{mode:o}").mode == mode
    assert alice.status(f"{workdir}/d1777").mode_string == "drwxrwxrwt"


def test_implicit_parents_get_the_mode_plus_owner_write_and_execute(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    alice.makedirs(f"{workdir}/p/q", mode=0o550)
    assert alice.status(f"{workdir}/p/q").mode == 0o550
    assert alice.status(f"{workdir}/p").mode == 0o750


def test_webhdfs_without_an_explicit_mode_would_make_world_readable_inodes(workdir: str, minihdfs: MiniHdfs) -> None:
    # Why every call of ours passes a mode: the raw API defaults to 755 and 644.
    raw = InsecureClient(minihdfs.webhdfs_url, user="alice")
    raw.makedirs(f"{workdir}/raw")
    raw.write(f"{workdir}/raw/f", data=b"")
    assert raw.status(f"{workdir}/raw")["permission"] == "755"
    assert raw.status(f"{workdir}/raw/f")["permission"] == "644"


def test_status_is_typed_and_reports_the_acl_bit(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/data.bin"
    alice.write_bytes(path, b"12345", mode=0o640)

    status = alice.status(path)
    assert status.kind is FileType.FILE
    assert (status.owner, status.group) == ("alice", "proj_x")
    assert (status.size, status.replication, status.name) == (5, 1, "data.bin")
    assert not status.has_acl
    alice.modify_acl_entries(path, [AclEntry.user("bob", "r--")])
    assert alice.status(path).has_acl
    assert alice.status(path).mode_string == "-rw-r-----+"


def test_list_dir_returns_children_sorted_and_refuses_a_file(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    for name in ("b", "a", "c"):
        alice.write_bytes(f"{workdir}/{name}", b"", mode=0o600)
    alice.makedirs(f"{workdir}/sub", mode=0o700)

    listing = alice.list_dir(workdir)
    assert [s.name for s in listing] == ["a", "b", "c", "sub"]
    assert [s.kind for s in listing][-1] is FileType.DIRECTORY
    with pytest.raises(NotADirectory):
        alice.list_dir(f"{workdir}/a")
    with pytest.raises(NotADirectory):
        alice.makedirs(f"{workdir}/a/below_a_file", mode=0o755)


def test_walk_yields_parents_first_with_one_liststatus_per_directory(workdir: str, minihdfs: MiniHdfs) -> None:
    counter = CallCounter()
    alice = minihdfs.access("alice", counter=counter)
    alice.makedirs(f"{workdir}/t/x/y", mode=0o755)
    alice.makedirs(f"{workdir}/t/z", mode=0o755)
    for path in ("t/f1", "t/x/f2", "t/x/y/f3"):
        alice.write_bytes(f"{workdir}/{path}", b"", mode=0o644)
    before = counter.snapshot()

    paths = [s.path[len(workdir) + 1 :] for s in alice.walk(f"{workdir}/t")]

    assert sorted(paths) == sorted(["t", "t/f1", "t/x", "t/z", "t/x/f2", "t/x/y", "t/x/y/f3"])
    for child in paths[1:]:
        assert paths.index(child.rsplit("/", 1)[0]) < paths.index(child)
    assert counter.since(before) == {"GETFILESTATUS": 1, "LISTSTATUS": 4}


def test_every_call_is_counted_also_for_users_reached_through_as_user(workdir: str, minihdfs: MiniHdfs) -> None:
    counter = CallCounter()
    admin = minihdfs.access("hdfs_admin", counter=counter)
    admin.status(workdir)
    admin.as_user("bob").check_access(workdir, FsAction.READ)
    with pytest.raises(NotFound):
        admin.status(f"{workdir}/missing")
    assert counter.snapshot() == {"GETFILESTATUS": 2, "CHECKACCESS": 1}
    assert counter.total == 3


def test_missing_path_raises_not_found_keeping_the_hdfs_error_as_cause(workdir: str, as_user: AsUser) -> None:
    with pytest.raises(NotFound) as info:
        as_user("alice").status(f"{workdir}/nope")
    assert isinstance(info.value.__cause__, HdfsError)
    assert info.value.remote_exception == "FileNotFoundException"
    assert "create it first" in str(info.value)
    assert not as_user("alice").exists(f"{workdir}/nope")


def test_writing_over_an_existing_file_needs_overwrite(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    alice.write_bytes(f"{workdir}/f", b"1", mode=0o600)
    with pytest.raises(AlreadyExists):
        alice.write_bytes(f"{workdir}/f", b"2", mode=0o600)
    alice.write_bytes(f"{workdir}/f", b"2", mode=0o600, overwrite=True)
    assert alice.read_bytes(f"{workdir}/f") == b"2"


def test_deleting_a_non_empty_directory_needs_recursive(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    alice.write_bytes(f"{workdir}/d/f", b"", mode=0o600)
    with pytest.raises(NotEmpty):
        alice.delete(f"{workdir}/d")
    assert alice.delete(f"{workdir}/d", recursive=True)
    assert not alice.delete(f"{workdir}/d")


def test_only_a_superuser_changes_the_owner_and_only_members_change_the_group(
    workdir: str, as_user: AsUser, hdfs_admin: WebHdfsAccess
) -> None:
    alice = as_user("alice")
    path = f"{workdir}/owned"
    alice.write_bytes(path, b"", mode=0o600)

    alice.set_owner(path, group="analysts")  # alice is a member
    with pytest.raises(PermissionDenied, match="superuser"):
        alice.set_owner(path, owner="bob")
    with pytest.raises(PermissionDenied):
        alice.set_owner(path, group="auditors")  # alice is not a member
    hdfs_admin.set_owner(path, owner="bob", group="auditors")
    assert (alice.status(path).owner, alice.status(path).group) == ("bob", "auditors")


def test_only_the_owner_changes_an_acl(workdir: str, as_user: AsUser) -> None:
    with pytest.raises(PermissionDenied, match="owner"):
        as_user("bob").modify_acl_entries(workdir, [AclEntry.user("bob", "rwx")])
    assert as_user("alice").get_acl(workdir).entries == ()


def test_set_acl_replaces_everything_and_needs_the_base_entries(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/d"
    alice.makedirs(path, mode=0o750)
    alice.modify_acl_entries(path, [AclEntry.user("carol", "r-x")])

    with pytest.raises(InvalidAcl):
        alice.set_acl(path, [AclEntry.user("bob", "r-x")])
    alice.set_acl(path, parse_acl_spec("user::rwx,user:bob:r-x,group::---,other::---"))

    acl = alice.get_acl(path)
    assert [e.spec() for e in acl.full_entries()] == [
        "user::rwx",
        "user:bob:r-x",
        "group::---",
        "mask::r-x",
        "other::---",
    ]


def test_removing_default_and_all_entries(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/d"
    alice.makedirs(path, mode=0o750)
    alice.modify_acl_entries(path, parse_acl_spec("user:bob:r-x,default:user:bob:r-x,default:group:auditors:r-x"))

    alice.remove_default_acl(path)
    assert [e.spec() for e in alice.get_acl(path).entries] == ["user:bob:r-x", "group::r-x"]
    alice.remove_acl(path)
    assert alice.get_acl(path).entries == ()
    assert not alice.status(path).has_acl


def test_service_user_acts_for_users_through_doas(workdir: str, minihdfs: MiniHdfs, as_user: AsUser) -> None:
    alice = as_user("alice")
    private = f"{workdir}/private"
    alice.makedirs(private, mode=0o700)
    service = minihdfs.access(SERVICE_USER)

    as_alice = service.as_user("alice")
    assert as_alice.user == "alice"
    assert as_alice.list_dir(private) == []
    with pytest.raises(PermissionDenied):
        service.as_user("bob").list_dir(private)
    with pytest.raises(PermissionDenied):
        service.list_dir(private)  # and the service user itself has no access
    assert not service.check_access(private, FsAction.READ, user="bob")
    assert service.check_access(private, FsAction.ALL, user="alice")


def test_a_user_without_proxy_rights_cannot_impersonate(workdir: str, minihdfs: MiniHdfs) -> None:
    bob_as_alice = minihdfs.access("bob", proxy="alice")
    with pytest.raises(ImpersonationDenied, match="proxy-user rights"):
        bob_as_alice.status(workdir)
    with pytest.raises(ImpersonationDenied):  # not silently "no access"
        bob_as_alice.check_access(workdir, FsAction.READ, user="carol")
