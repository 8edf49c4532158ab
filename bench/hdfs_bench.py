"""HDFS benchmark: granting and revoking one user on a 10,000-file tree, gate versus walk.

Two identical trees of ``dirs`` x ``files_per_dir`` empty files, owned by alice, are built in a
throw-away MiniDFSCluster (the same launcher as the test suite, ``hdfs_workspace.testing``):

* **gate**: the top directory is 750 and everything beneath it is 755/644. Granting bob is one
  MODIFYACLENTRIES on the top directory (``user:bob:r-x``); revoking is one REMOVEACLENTRIES,
  which cuts access to everything beneath at once because every path component needs execute.
* **walk**: everything is 750/640, so bob needs an entry on every inode. Granting walks the tree
  (one GETFILESTATUS, one LISTSTATUS per directory) and adds ``user:bob`` to each inode;
  revoking walks again and removes it.

Each step is checked (bob can read a deep file after the grant and cannot after the revoke);
the checks are not counted or timed. Calls are WebHDFS operations as counted by
:class:`hdfs_workspace.access.CallCounter`; times are wall-clock seconds, sequential calls.

Keys of :func:`run`'s result: ``gate_calls``, ``walk_calls``, ``gate_s`` and ``walk_s`` are
grant + revoke **combined**; ``*_grant_*`` and ``*_revoke_*`` give each half. ``hdfs_start_s``
is JVM start to cluster ready (the one-off Maven/javac build is ``hdfs_build_s``).
"""

from __future__ import annotations

import json
import tempfile
import time
from typing import Any

from hdfs_workspace.access import CallCounter
from hdfs_workspace.acl import AclEntry, FsAction
from hdfs_workspace.testing import build_launcher, start_minihdfs
from hdfs_workspace.webhdfs import WebHdfsAccess

__all__ = ["run"]

_OWNER = "alice"
_GRANTEE = "bob"


def _grant_by_walking(access: WebHdfsAccess, root: str) -> None:
    for status in access.walk(root):
        perms = "r-x" if status.is_dir else "r--"
        access.modify_acl_entries(status.path, [AclEntry.user(_GRANTEE, perms)])


def _revoke_by_walking(access: WebHdfsAccess, root: str) -> None:
    for status in access.walk(root):
        access.remove_acl_entries(status.path, [AclEntry.user(_GRANTEE)])


def _measure(counter: CallCounter, action: Any) -> tuple[int, float, dict[str, int]]:
    before = counter.snapshot()
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    by_op = counter.since(before)
    return sum(by_op.values()), elapsed, by_op


def _expect(bob: WebHdfsAccess, path: str, readable: bool, step: str) -> None:
    if bob.check_access(path, FsAction.READ) is not readable:
        raise AssertionError(f"after {step}, bob {'cannot' if readable else 'can'} read {path}")


def run(*, dirs: int = 100, files_per_dir: int = 100) -> dict[str, Any]:
    """Run the benchmark on a fresh cluster and return its figures (see the module docstring)."""
    started = time.perf_counter()
    build_launcher()
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="hdfs-bench-") as tmp:
        cluster = start_minihdfs(tmp)
        try:
            admin = cluster.admin()
            admin.makedirs("/bench", mode=0o755)
            admin.set_owner("/bench", owner=_OWNER)
            gate, walk = "/bench/gate", "/bench/walk"
            tree_started = time.perf_counter()
            created = cluster.make_tree(
                gate, user=_OWNER, dirs=dirs, files_per_dir=files_per_dir, dir_mode=0o755, file_mode=0o644
            )
            created += cluster.make_tree(
                walk, user=_OWNER, dirs=dirs, files_per_dir=files_per_dir, dir_mode=0o750, file_mode=0o640
            )
            tree_s = time.perf_counter() - tree_started
            owner = cluster.access(_OWNER)
            owner.set_mode(gate, 0o750)
            bob = cluster.access(_GRANTEE)
            deep = f"d{dirs - 1:05d}/f{files_per_dir - 1:05d}"
            _expect(bob, f"{gate}/{deep}", False, "setup")
            _expect(bob, f"{walk}/{deep}", False, "setup")

            counter = CallCounter()
            alice = cluster.access(_OWNER, counter=counter)
            grant = [AclEntry.user(_GRANTEE, "r-x")]
            gate_grant = _measure(counter, lambda: alice.modify_acl_entries(gate, grant))
            _expect(bob, f"{gate}/{deep}", True, "gate grant")
            gate_revoke = _measure(counter, lambda: alice.remove_acl_entries(gate, [AclEntry.user(_GRANTEE)]))
            _expect(bob, f"{gate}/{deep}", False, "gate revoke")
            walk_grant = _measure(counter, lambda: _grant_by_walking(alice, walk))
            _expect(bob, f"{walk}/{deep}", True, "walk grant")
            walk_revoke = _measure(counter, lambda: _revoke_by_walking(alice, walk))
            _expect(bob, f"{walk}/{deep}", False, "walk revoke")
            start_s = cluster.start_seconds
        finally:
            cluster.stop()
    return {
        "hdfs_start_s": round(start_s, 2),
        "hdfs_build_s": round(build_s, 2),
        "tree_files": created // 2,
        "tree_inodes": dirs * files_per_dir + dirs + 1,
        "tree_create_s": round(tree_s / 2, 2),
        "gate_calls": gate_grant[0] + gate_revoke[0],
        "walk_calls": walk_grant[0] + walk_revoke[0],
        "gate_s": round(gate_grant[1] + gate_revoke[1], 4),
        "walk_s": round(walk_grant[1] + walk_revoke[1], 2),
        "gate_grant_calls": gate_grant[0],
        "gate_revoke_calls": gate_revoke[0],
        "walk_grant_calls": walk_grant[0],
        "walk_revoke_calls": walk_revoke[0],
        "gate_grant_s": round(gate_grant[1], 4),
        "gate_revoke_s": round(gate_revoke[1], 4),
        "walk_grant_s": round(walk_grant[1], 2),
        "walk_revoke_s": round(walk_revoke[1], 2),
        "walk_calls_by_op": {
            op: walk_grant[2].get(op, 0) + walk_revoke[2].get(op, 0)
            for op in sorted(set(walk_grant[2]) | set(walk_revoke[2]))
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
