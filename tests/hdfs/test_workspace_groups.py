"""Workspace groups in the NameNode: the product's group mapping reads the grants table.

The test cluster's NameNode runs ``io.immuta.hdfs.WorkspaceGroupsMapping`` against the SQLite
file ``minihdfs.grants_db``. A test writes grant rows as the catalog does (generation bumped in
the same transaction), waits for the NameNode's acknowledgement of that generation, and then
checks, as ordinary users over WebHDFS, what the NameNode lets them do in a directory whose
ACL names the project group ``ws_t``. Hadoop caches groups for 300 s here, so every change seen
below is the provider's cache invalidation at work.

No assertion is about durations: waits are bounded and fail with a message.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing

import pytest

from hdfs_workspace.access import CallCounter
from hdfs_workspace.acl import FsAction, parse_acl_spec
from hdfs_workspace.errors import PermissionDenied
from hdfs_workspace.grants_testing import Grant, GrantsDb
from hdfs_workspace.testing import SERVICE_USER, MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess

AsUser = Callable[[str], WebHdfsAccess]

GROUP = "ws_t"
PROJECT = "t"
#: Longer than the provider's 5 s staleness limit, with room for a slow machine.
FAIL_CLOSED_WAIT = 60.0


@pytest.fixture
def grants(minihdfs: MiniHdfs) -> Iterator[GrantsDb]:
    """The cluster's grants tables, emptied (and acknowledged) after each test."""
    assert minihdfs.grants_db is not None, "the minihdfs fixture must configure a grants database"
    db = GrantsDb(minihdfs.grants_db)
    yield db
    db.create()  # a test may have dropped or replaced the tables
    db.wait_acked(db.clear())


@pytest.fixture
def ws_dir(workdir: str, hdfs_admin: WebHdfsAccess) -> str:
    """A workspace directory: svc_workspace:services, 0770, ACL and default ACL for ``ws_t``."""
    path = f"{workdir}/ws"
    hdfs_admin.makedirs(path, mode=0o770)
    hdfs_admin.set_owner(path, owner=SERVICE_USER, group="services")
    hdfs_admin.set_acl(
        path,
        parse_acl_spec(
            f"user::rwx,group::rwx,group:{GROUP}:rwx,mask::rwx,other::---,"
            f"default:user::rwx,default:group::rwx,default:group:{GROUP}:rwx,default:mask::rwx,default:other::---"
        ),
    )
    return path


def lease(user: str, *, seconds: float = 60.0, holder: str = "s1", project: str = PROJECT) -> Grant:
    """A grant of the workspace group to ``user`` for ``seconds`` from now."""
    return Grant(project=project, user=user, group=GROUP, holder=holder, expires_at=time.time() + seconds)


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:.0f}s")
        time.sleep(0.05)


def test_a_grant_gives_write_and_its_revocation_takes_it_away(ws_dir: str, grants: GrantsDb, as_user: AsUser) -> None:
    bob, carol = as_user("bob"), as_user("carol")
    assert not bob.check_access(ws_dir, FsAction.WRITE)
    with pytest.raises(PermissionDenied):
        bob.write_bytes(f"{ws_dir}/early.csv", b"no", mode=0o660)

    grants.wait_acked(grants.grant([lease("bob"), lease("carol", holder="s2")]))
    bob.write_bytes(f"{ws_dir}/bob.csv", b"b", mode=0o660)
    carol.write_bytes(f"{ws_dir}/carol.csv", b"c", mode=0o660)
    assert bob.read_bytes(f"{ws_dir}/carol.csv") == b"c"
    assert {s.name for s in bob.list_dir(ws_dir)} == {"bob.csv", "carol.csv"}

    grants.wait_acked(grants.revoke(PROJECT, "bob", "s1"))
    assert not bob.check_access(ws_dir, FsAction.WRITE)
    with pytest.raises(PermissionDenied):
        bob.write_bytes(f"{ws_dir}/late.csv", b"no", mode=0o660)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{ws_dir}/carol.csv")
    with pytest.raises(PermissionDenied):
        bob.list_dir(ws_dir)
    # carol's own lease is untouched.
    assert carol.read_bytes(f"{ws_dir}/bob.csv") == b"b"


def test_grant_and_revoke_cost_no_namenode_call_beyond_the_check(
    minihdfs: MiniHdfs, ws_dir: str, grants: GrantsDb
) -> None:
    counter = CallCounter()
    bob = minihdfs.access("bob", counter=counter)
    assert not bob.check_access(ws_dir, FsAction.WRITE)

    before = counter.snapshot()
    grants.wait_acked(grants.grant([lease("bob")]))
    assert bob.check_access(ws_dir, FsAction.WRITE)
    grants.wait_acked(grants.revoke(PROJECT, "bob", "s1"))
    assert not bob.check_access(ws_dir, FsAction.WRITE)
    assert counter.since(before) == {"CHECKACCESS": 2}


def test_an_expired_lease_stops_working_without_any_other_change(
    ws_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    bob = as_user("bob")
    expires_at = time.time() + 1.5
    generation = grants.grant([Grant(project=PROJECT, user="bob", group=GROUP, holder="s1", expires_at=expires_at)])
    grants.wait_acked(generation)
    assert bob.check_access(ws_dir, FsAction.WRITE), "granted for 1.5 s, but bob could not write right away"

    wait_until(lambda: not bob.check_access(ws_dir, FsAction.WRITE), timeout=30.0, what="bob losing an expired lease")
    assert time.time() >= expires_at
    assert grants.acked() == generation  # nothing else changed in the table


def test_a_user_without_any_group_is_not_stuck_in_the_negative_cache(
    ws_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    newcomer = as_user("m07")  # in no static group: Hadoop caches "no groups" for 30 s
    assert not newcomer.check_access(ws_dir, FsAction.WRITE)
    with pytest.raises(PermissionDenied):
        newcomer.list_dir(ws_dir)

    grants.wait_acked(grants.grant([lease("m07")]))
    newcomer.write_bytes(f"{ws_dir}/m07.csv", b"m", mode=0o660)
    assert newcomer.read_bytes(f"{ws_dir}/m07.csv") == b"m"


def test_forty_users_granted_at_once_all_write_and_one_revoked_cannot(
    ws_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    users = [f"w{i:02d}" for i in range(40)]
    assert not any(as_user(u).check_access(ws_dir, FsAction.WRITE) for u in users)

    grants.wait_acked(grants.grant([lease(u) for u in users]))
    for user in users:
        as_user(user).write_bytes(f"{ws_dir}/{user}.csv", user.encode(), mode=0o660)

    grants.wait_acked(grants.revoke(PROJECT, "w17", "s1"))
    with pytest.raises(PermissionDenied):
        as_user("w17").write_bytes(f"{ws_dir}/w17-again.csv", b"no", mode=0o660)
    with pytest.raises(PermissionDenied):
        as_user("w17").read_bytes(f"{ws_dir}/w16.csv")
    assert all(as_user(u).check_access(ws_dir, FsAction.WRITE) for u in users if u != "w17")


def test_a_second_holder_keeps_the_group_when_the_first_releases(
    ws_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    bob = as_user("bob")
    grants.wait_acked(grants.grant([lease("bob", holder="s1"), lease("bob", holder="s2")]))
    grants.wait_acked(grants.revoke(PROJECT, "bob", "s1"))
    assert bob.check_access(ws_dir, FsAction.WRITE)
    grants.wait_acked(grants.revoke(PROJECT, "bob", "s2"))
    assert not bob.check_access(ws_dir, FsAction.WRITE)


@pytest.fixture
def proj_x_dir(workdir: str, hdfs_admin: WebHdfsAccess) -> str:
    """A directory only the static group proj_x may read (alice is in it, bob is not)."""
    path = f"{workdir}/px"
    hdfs_admin.makedirs(path, mode=0o750)
    hdfs_admin.set_owner(path, owner=SERVICE_USER, group="proj_x")
    return path


def assert_fails_closed(ws_dir: str, proj_x_dir: str, as_user: AsUser) -> None:
    """Every workspace group is gone; static groups still answer."""
    bob = as_user("bob")
    wait_until(
        lambda: not bob.check_access(ws_dir, FsAction.WRITE),
        timeout=FAIL_CLOSED_WAIT,
        what="bob's workspace group disappearing (fail closed)",
    )
    with pytest.raises(PermissionDenied):
        bob.write_bytes(f"{ws_dir}/closed.csv", b"no", mode=0o660)
    assert as_user("alice").list_dir(proj_x_dir) == []
    assert not bob.check_access(proj_x_dir, FsAction.READ)


def test_dropped_tables_fail_closed_and_static_groups_still_work(
    ws_dir: str, proj_x_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    grants.wait_acked(grants.grant([lease("bob")]))
    assert as_user("bob").check_access(ws_dir, FsAction.WRITE)

    grants.drop_tables()
    assert_fails_closed(ws_dir, proj_x_dir, as_user)

    grants.create()
    grants.wait_acked(grants.grant([lease("bob")]))
    assert as_user("bob").check_access(ws_dir, FsAction.WRITE)


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_an_unreadable_database_fails_closed_and_recovers(
    damage: str, ws_dir: str, proj_x_dir: str, grants: GrantsDb, as_user: AsUser
) -> None:
    grants.wait_acked(grants.grant([lease("bob")]))
    assert as_user("bob").check_access(ws_dir, FsAction.WRITE)

    db = grants.path
    saved = db.with_name(db.name + ".saved")
    # The file is a catalog in WAL mode: fold the WAL into it, so the copy holds bob's lease.
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(db, saved)
    try:
        if damage == "missing":
            db.unlink()
        else:
            with db.open("r+b") as f:  # the same file, so an open connection sees the damage
                f.write(b"this is not a database" * 200)
                f.flush()
                os.fsync(f.fileno())
        assert_fails_closed(ws_dir, proj_x_dir, as_user)
    finally:
        shutil.copyfile(saved, db)
        saved.unlink()

    # The restored file holds the same generation: the provider reloads after an outage anyway.
    wait_until(
        lambda: as_user("bob").check_access(ws_dir, FsAction.WRITE),
        timeout=FAIL_CLOSED_WAIT,
        what="bob's lease back once the database is readable again",
    )
