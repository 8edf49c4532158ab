"""Native access follows the project context (issue 11 item 3), as ordinary users against the real NameNode.

A member's switch writes a grant to the catalog; the NameNode's group mapping
(``WorkspaceGroupsMapping``) puts them in the project's group; the workspace's ACL names only
that group. No test sleeps for a fixed time: each waits for the NameNode's acknowledgement.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hdfs_workspace.access import CallCounter
from hdfs_workspace.errors import PermissionDenied
from hdfs_workspace.manager import WorkspaceManager
from hdfs_workspace.webhdfs import WebHdfsAccess
from tests.hdfs.workspace_support import CROWD, acting, governance_yaml

Access = Callable[[str], WebHdfsAccess]


def switch(manager: WorkspaceManager, user: str, project: str | None, **kwargs: object) -> None:
    """``user`` switches, and the NameNode has put the result in force when this returns."""
    acting(manager.catalog, user).switch_project(project, **kwargs)  # type: ignore[arg-type]
    manager.wait_in_force()


@pytest.fixture
def leave_projects(ws_manager: WorkspaceManager) -> object:
    yield None
    for user in ("bob", "carol", *CROWD):
        acting(ws_manager.catalog, user).switch_project(None)


def test_a_member_writes_while_acting_under_the_project_and_is_refused_right_after_switching_out(
    ws_manager: WorkspaceManager, as_user: Access, leave_projects: object
) -> None:
    record = ws_manager.enable("ws_ctx")
    bob, carol = as_user("bob"), as_user("carol")
    switch(ws_manager, "bob", "ws_ctx")
    switch(ws_manager, "carol", "ws_ctx")
    bob.write_bytes(f"{record.path}/bob.csv", b"b\n", mode=0o666)
    carol.write_bytes(f"{record.path}/carol.csv", b"c\n", mode=0o666)
    assert bob.read_bytes(f"{record.path}/carol.csv") == b"c\n"  # members share their files
    switch(ws_manager, "bob", None)
    with pytest.raises(PermissionDenied):
        bob.write_bytes(f"{record.path}/late.csv", b"x\n", mode=0o666)
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{record.path}/carol.csv")  # written by another member
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{record.path}/bob.csv")  # and his own
    assert carol.read_bytes(f"{record.path}/bob.csv") == b"b\n"  # carol still acts under it
    actions = [r.action for r in ws_manager.catalog.store.audit_records(user="bob", project="ws_ctx")]
    assert actions.count("workspace.grant") == 1 and actions.count("workspace.revoke") == 1


def test_forty_members_acting_at_once_all_write_and_one_who_leaves_cannot(
    ws_manager: WorkspaceManager, as_user: Access, leave_projects: object
) -> None:
    record = ws_manager.enable("ws_many")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda u: acting(ws_manager.catalog, u).switch_project("ws_many"), CROWD))
    ws_manager.wait_in_force()
    assert len({g.user for g in ws_manager.catalog.workspace_grants(project="ws_many")}) == 40

    def write(user: str) -> str:
        as_user(user).write_bytes(f"{record.path}/{user}.csv", user.encode(), mode=0o666)
        return user

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(write, CROWD)) == sorted(CROWD)
    switch(ws_manager, "m07", None)
    with pytest.raises(PermissionDenied):
        as_user("m07").read_bytes(f"{record.path}/m08.csv")
    assert as_user("m08").read_bytes(f"{record.path}/m07.csv") == b"m07"
    assert len(ws_manager.catalog.workspace_grants(project="ws_many")) == 39


def test_grant_and_revoke_cost_the_same_namenode_calls_for_ten_and_for_many_files(
    ws_manager: WorkspaceManager, minihdfs: object, hdfs_admin: WebHdfsAccess, leave_projects: object
) -> None:
    record = ws_manager.enable("ws_calls")
    costs = []
    for files in (10, 300):
        for i in range(files):
            hdfs_admin.write_bytes(f"{record.path}/n{files}/f{i}", b"", mode=0o660, overwrite=True)
        counter = CallCounter()
        service = minihdfs.access("svc_workspace", counter=counter)  # type: ignore[attr-defined]
        manager = WorkspaceManager(ws_manager.catalog, ws_manager.clusters, access=lambda _, s=service: s)
        before = counter.snapshot()
        switch(manager, "bob", "ws_calls")
        assert manager.member_access("ws_calls", "bob")
        switch(manager, "bob", None)
        assert not manager.member_access("ws_calls", "bob")
        costs.append(counter.since(before))
    assert costs[0] == costs[1] == {"CHECKACCESS": 2}


def test_a_lease_that_is_not_renewed_ends_access_by_itself(
    ws_manager: WorkspaceManager, as_user: Access, leave_projects: object
) -> None:
    record = ws_manager.enable("ws_lease")
    switch(ws_manager, "bob", "ws_lease", holder="short", lease_seconds=1.5)
    as_user("bob").write_bytes(f"{record.path}/in-time.csv", b"1\n", mode=0o666)
    deadline = time.monotonic() + 30
    while ws_manager.member_access("ws_lease", "bob"):
        assert time.monotonic() < deadline, "the expired lease still opened the workspace after 30 s"
        time.sleep(0.1)
    with pytest.raises(PermissionDenied):
        as_user("bob").read_bytes(f"{record.path}/in-time.csv")


def test_the_grant_of_a_killed_session_expires(
    ws_manager: WorkspaceManager, as_user: Access, leave_projects: object
) -> None:
    ws_manager.enable("ws_lease")
    code = (
        "import os, sys\n"
        "from immuta_spark.catalog import GovernanceCatalog\n"
        "cat = GovernanceCatalog.open(sys.argv[1], identity='carol')\n"
        "cat.switch_project('ws_lease', holder='session-42', lease_seconds=2.0)\n"
        "print('granted', flush=True)\n"
        "sys.stdin.read()\n"
    )
    url = ws_manager.catalog.store.url
    proc = subprocess.Popen(
        [sys.executable, "-c", code, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "granted"
        ws_manager.wait_in_force()
        assert ws_manager.member_access("ws_lease", "carol")
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while ws_manager.member_access("ws_lease", "carol"):
        assert time.monotonic() < deadline, "the dead session's grant outlived its lease"
        time.sleep(0.1)


def test_revocation_wins_over_racing_renewals_at_the_namenode(
    ws_manager: WorkspaceManager, leave_projects: object
) -> None:
    ws_manager.enable("ws_ctx")
    switch(ws_manager, "bob", "ws_ctx")
    stop = threading.Event()

    def renew() -> None:
        while not stop.is_set():
            acting(ws_manager.catalog, "bob").renew_workspace_access()

    threads = [threading.Thread(target=renew) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        switch(ws_manager, "bob", None)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    ws_manager.wait_in_force()
    assert not ws_manager.member_access("ws_ctx", "bob")


def test_falling_out_of_compliance_revokes_without_a_switch(
    ws_manager: WorkspaceManager, leave_projects: object, tmp_path: Path
) -> None:
    ws_manager.enable("ws_ctx")
    switch(ws_manager, "carol", "ws_ctx")
    assert ws_manager.member_access("ws_ctx", "carol")
    doc = tmp_path / "carol-moved.yaml"
    doc.write_text(governance_yaml().replace("{name: carol, groups: [Analysts]}", "{name: carol, groups: [Sales]}"))
    gov = acting(ws_manager.catalog, "gov")
    try:
        gov.apply(doc, sql_checker=None, regex_checker=None)
        ws_manager.wait_in_force()
        assert not ws_manager.member_access("ws_ctx", "carol")
    finally:
        doc.write_text(governance_yaml())
        gov.apply(doc, sql_checker=None, regex_checker=None)


def test_disable_closes_the_workspace_to_members_at_once(
    ws_manager: WorkspaceManager, as_user: Access, leave_projects: object
) -> None:
    record = ws_manager.enable("ws_life")
    switch(ws_manager, "bob", "ws_life")
    as_user("bob").write_bytes(f"{record.path}/kept.csv", b"k\n", mode=0o666)
    ws_manager.disable("ws_life")
    assert not ws_manager.member_access("ws_life", "bob")
    with pytest.raises(PermissionDenied):
        as_user("bob").read_bytes(f"{record.path}/kept.csv")
    switch(ws_manager, "bob", "ws_life")  # acting under it again opens nothing while disabled
    assert not ws_manager.member_access("ws_life", "bob")
    ws_manager.enable("ws_life")  # enabling again grants those acting under it
    ws_manager.wait_in_force()
    assert as_user("bob").read_bytes(f"{record.path}/kept.csv") == b"k\n"
