"""HDFS ACL behaviour, checked against the real NameNode as ordinary users.

Users and groups (static mapping of the test cluster): alice = proj_x, analysts; bob = analysts;
carol = auditors; dave = no group at all. ``workdir`` is alice:proj_x, mode 755.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hdfs_workspace.acl import AclEntry, AclScope, FsAction
from hdfs_workspace.errors import AclLimitExceeded, PermissionDenied
from hdfs_workspace.webhdfs import WebHdfsAccess

AsUser = Callable[[str], WebHdfsAccess]


# -- named users and groups -------------------------------------------------------------------


def test_named_user_entry_lets_bob_read_a_file_the_mode_bits_deny(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    path = f"{workdir}/secret.csv"
    alice.write_bytes(path, b"a,b\n", mode=0o600)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(path)

    alice.modify_acl_entries(path, [AclEntry.user("bob", "r--")])

    assert bob.read_bytes(path) == b"a,b\n"
    assert not bob.check_access(path, FsAction.WRITE)
    assert not as_user("carol").check_access(path, FsAction.READ)


def test_named_user_entry_denies_bob_even_when_his_group_would_grant(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    path = f"{workdir}/report.csv"
    alice.write_bytes(path, b"x", mode=0o640)
    alice.set_owner(path, group="analysts")
    assert bob.check_access(path, FsAction.READ)

    alice.modify_acl_entries(path, [AclEntry.user("bob", "---")])

    # A matching named-user entry is final: group entries are never consulted for bob.
    assert not bob.check_access(path, FsAction.READ)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(path)


def test_mask_caps_named_entries_and_chmod_moves_the_mask(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    path = f"{workdir}/capped.csv"
    alice.write_bytes(path, b"x", mode=0o600)
    alice.modify_acl_entries(path, [AclEntry.user("bob", "rw-")])
    assert bob.check_access(path, FsAction.WRITE)

    alice.set_mode(path, 0o640)  # group bits of a file with an ACL are the mask

    acl = alice.get_acl(path)
    assert AclEntry.user("bob", "rw-") in acl.entries  # the entry itself is unchanged
    assert acl.mode == 0o640
    assert bob.check_access(path, FsAction.READ)
    assert not bob.check_access(path, FsAction.WRITE)


def test_named_group_entry_grants_its_members_and_nobody_else(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/audit.log"
    alice.write_bytes(path, b"log", mode=0o600)

    alice.modify_acl_entries(path, [AclEntry.group("auditors", "r--")])

    assert as_user("carol").read_bytes(path) == b"log"
    for outsider in ("bob", "dave"):
        with pytest.raises(PermissionDenied):
            as_user(outsider).read_bytes(path)


def test_any_matching_group_that_grants_is_enough(workdir: str, as_user: AsUser, hdfs_admin: WebHdfsAccess) -> None:
    path = f"{workdir}/carols.csv"
    hdfs_admin.write_bytes(path, b"c", mode=0o600)
    hdfs_admin.set_owner(path, owner="carol", group="proj_x")
    hdfs_admin.modify_acl_entries(path, [AclEntry.group("analysts", "r--")])

    # alice is in proj_x (which grants nothing) and in analysts (which grants read).
    assert as_user("alice").read_bytes(path) == b"c"
    assert as_user("bob").read_bytes(path) == b"c"
    assert not as_user("dave").check_access(path, FsAction.READ)


def test_a_matching_group_that_denies_hides_the_other_entry(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/odd.csv"
    alice.write_bytes(path, b"o", mode=0o604)
    alice.set_owner(path, group="analysts")

    # bob matches the owning group (---), so 'other' (r--) is never reached for him;
    # carol and dave match no group and fall through to 'other'.
    assert not as_user("bob").check_access(path, FsAction.READ)
    assert as_user("carol").read_bytes(path) == b"o"
    assert as_user("dave").read_bytes(path) == b"o"


def test_the_owner_entry_decides_for_the_owner(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/locked.csv"
    alice.write_bytes(path, b"l", mode=0o600)
    alice.set_mode(path, 0o070)  # alice is in the owning group proj_x, which may read

    assert not alice.check_access(path, FsAction.READ)


# -- default ACLs -----------------------------------------------------------------------------


def test_default_acl_reaches_new_files_and_directories(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    shared = f"{workdir}/shared"
    alice.makedirs(shared, mode=0o750)
    alice.write_bytes(f"{shared}/before.csv", b"old", mode=0o640)
    alice.modify_acl_entries(
        shared,
        [AclEntry.user("bob", "r-x", default=True), AclEntry.group("auditors", "r-x", default=True)],
    )

    alice.makedirs(f"{shared}/sub", mode=0o750)
    alice.write_bytes(f"{shared}/sub/new.csv", b"new", mode=0o640)

    sub = alice.get_acl(f"{shared}/sub")
    assert AclEntry.user("bob", "r-x") in sub.entries
    assert AclEntry.group("auditors", "r-x") in sub.entries
    # A new directory also inherits the default ACL itself, so grandchildren get it too.
    assert AclEntry.user("bob", "r-x", default=True) in sub.entries
    new_file = alice.get_acl(f"{shared}/sub/new.csv")
    assert AclEntry.user("bob", "r-x") in new_file.entries
    assert not new_file.default_entries()
    # The requested mode still caps the copy: its group bits (r--) become the file's mask.
    assert new_file.mode == 0o640
    # Existing children are never touched by a later default ACL.
    assert alice.get_acl(f"{shared}/before.csv").entries == ()

    # The default scope grants nothing on the directory itself: bob can't traverse it yet.
    assert not bob.check_access(f"{shared}/sub/new.csv", FsAction.READ)
    alice.modify_acl_entries(shared, [AclEntry.user("bob", "r-x")])
    assert bob.read_bytes(f"{shared}/sub/new.csv") == b"new"
    assert not bob.check_access(f"{shared}/sub/new.csv", FsAction.EXECUTE)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{shared}/before.csv")


# -- traversal ----------------------------------------------------------------------------------


def test_revoking_the_entry_on_a_parent_cuts_access_to_everything_beneath(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    gate = f"{workdir}/gate"
    deep = f"{gate}/a/b/data.csv"
    alice.makedirs(gate, mode=0o750)
    alice.makedirs(f"{gate}/a/b", mode=0o755)
    alice.write_bytes(deep, b"1", mode=0o644)  # world-readable: only the gate stands in the way
    with pytest.raises(PermissionDenied):
        bob.read_bytes(deep)

    alice.modify_acl_entries(gate, [AclEntry.user("bob", "r-x")])
    assert bob.read_bytes(deep) == b"1"
    assert [s.name for s in bob.list_dir(f"{gate}/a/b")] == ["data.csv"]

    alice.remove_acl_entries(gate, [AclEntry.user("bob")])

    for path in (gate, f"{gate}/a", f"{gate}/a/b", deep):
        assert not bob.check_access(path, FsAction.READ), path
    with pytest.raises(PermissionDenied):
        bob.read_bytes(deep)
    with pytest.raises(PermissionDenied):
        bob.list_dir(f"{gate}/a/b")
    # Nothing beneath the gate was changed to achieve that.
    assert alice.get_acl(deep).entries == ()
    assert alice.status(deep).mode == 0o644


def test_read_without_execute_on_a_parent_does_not_reach_beneath(workdir: str, as_user: AsUser) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    gate = f"{workdir}/noexec"
    alice.makedirs(f"{gate}/inner", mode=0o755)
    alice.set_mode(gate, 0o750)
    alice.write_bytes(f"{gate}/inner/f.csv", b"f", mode=0o644)

    alice.modify_acl_entries(gate, [AclEntry.user("bob", "r--")])

    assert bob.check_access(gate, FsAction.READ)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{gate}/inner/f.csv")


# -- the 32-entry limit -------------------------------------------------------------------------


def _named(n: int, *, default: bool = False) -> list[AclEntry]:
    users = [AclEntry.user(f"user{i:02d}", "r-x", default=default) for i in range(n // 2)]
    groups = [AclEntry.group(f"group{i:02d}", "r-x", default=default) for i in range(n - n // 2)]
    return users + groups


def test_twenty_eight_named_entries_fit_and_the_twenty_ninth_fails_changing_nothing(
    workdir: str, as_user: AsUser
) -> None:
    alice = as_user("alice")
    path = f"{workdir}/crowded"
    alice.makedirs(path, mode=0o750)
    alice.modify_acl_entries(path, _named(28))  # + user::, group::, mask::, other:: = 32
    before = alice.get_acl(path)
    assert len(before.named()) == 28

    with pytest.raises(AclLimitExceeded) as info:
        alice.modify_acl_entries(path, [AclEntry.user("one_too_many", "r--")])

    assert "grant a group" in str(info.value)
    assert info.value.__cause__ is not None
    assert alice.get_acl(path) == before
    # The default scope is counted separately: 28 more named entries fit there.
    alice.modify_acl_entries(path, _named(28, default=True))
    assert len(alice.get_acl(path).named(AclScope.DEFAULT)) == 28


def test_a_spec_with_twenty_nine_named_entries_is_rejected_whole(workdir: str, as_user: AsUser) -> None:
    alice = as_user("alice")
    path = f"{workdir}/too_many"
    alice.makedirs(path, mode=0o750)

    with pytest.raises(AclLimitExceeded):
        alice.modify_acl_entries(path, _named(29))

    assert alice.get_acl(path).entries == ()
    assert not alice.status(path).has_acl
    assert alice.status(path).mode == 0o750


# -- users outside every group ------------------------------------------------------------------


def test_a_user_outside_every_group_gets_permission_denied_not_an_empty_listing(workdir: str, as_user: AsUser) -> None:
    alice, dave = as_user("alice"), as_user("dave")
    team = f"{workdir}/team"
    alice.makedirs(team, mode=0o770)
    alice.write_bytes(f"{team}/plan.txt", b"p", mode=0o660)

    with pytest.raises(PermissionDenied) as info:
        dave.list_dir(team)
    assert info.value.user == "dave"
    assert "ACL entry" in str(info.value)
    with pytest.raises(PermissionDenied):
        dave.exists(f"{team}/plan.txt")  # denied is not "absent"
    assert [s.name for s in alice.list_dir(team)] == ["plan.txt"]
