"""The storage wall's desired state and drift, without HDFS (hdfs_workspace.wall_state)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hdfs_workspace.acl import AclEntry, AclEntryType, AclScope, AclStatus, format_acl_spec, parse_acl_spec
from hdfs_workspace.config import ClusterConfig, ClustersFile
from hdfs_workspace.drift import Drift
from hdfs_workspace.status import FileStatus, FileType
from hdfs_workspace.wall_state import WallError, WallTarget, desired_acl, inode_drift, place, workspace_holding

SERVICE = "svc_workspace"
PLAIN = WallTarget(source="Claims", cluster="test", path="/data/claims", service_user=SERVICE)
SHARED = WallTarget(
    source="Claims", cluster="test", path="/data/claims", service_user=SERVICE, readers=("alice",), writers=("ingest",)
)
IN_WORKSPACE = WallTarget(
    source="Copy", cluster="test", path="/ws/p/copy", service_user=SERVICE, workspace_group="immuta_ws_p", project="p"
)
_WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _status(path: str, *, directory: bool, owner: str = SERVICE, mode: int = 0o700) -> FileStatus:
    return FileStatus(
        path=path,
        kind=FileType.DIRECTORY if directory else FileType.FILE,
        owner=owner,
        group="supergroup",
        mode=mode,
        size=0,
        replication=1,
        block_size=0,
        modified=_WHEN,
        accessed=_WHEN,
        has_acl=False,
        children=0,
        file_id=1,
    )


def _stored(path: str, entries: tuple[AclEntry, ...] | str, *, owner: str = SERVICE) -> AclStatus:
    """What the NameNode reports after SETACL ``entries``: mode bits for owner/mask/other, the rest as entries."""
    full = parse_acl_spec(entries) if isinstance(entries, str) else entries
    access = [e for e in full if not e.is_default]
    named = [e for e in access if e.is_named]

    def bits(kind: AclEntryType) -> int:
        entry = next(e for e in access if e.kind is kind and e.name is None)
        return int(entry.permissions or 0)

    group_kind = AclEntryType.MASK if named else AclEntryType.GROUP
    mode = bits(AclEntryType.USER) << 6 | bits(group_kind) << 3 | bits(AclEntryType.OTHER)
    kept = [e for e in access if e.is_named or (named and e.kind is AclEntryType.GROUP)]
    kept += [e for e in full if e.is_default]
    return AclStatus(path=path, owner=owner, group="supergroup", mode=mode, sticky=False, entries=tuple(kept))


def _walled(target: WallTarget, path: str, *, directory: bool) -> tuple[FileStatus, AclStatus]:
    acl = _stored(path, desired_acl(target, directory=directory))
    return _status(path, directory=directory, mode=acl.mode), acl


def test_a_plain_source_is_readable_by_the_service_only_and_new_files_inherit_that() -> None:
    assert format_acl_spec(desired_acl(PLAIN, directory=True)) == (
        "user::rwx,user:svc_workspace:rwx,group::---,mask::rwx,other::---,"
        "default:user::rwx,default:user:svc_workspace:rwx,default:group::---,default:mask::rwx,default:other::---"
    )
    assert format_acl_spec(desired_acl(PLAIN, directory=False)) == (
        "user::rw-,user:svc_workspace:rwx,group::---,mask::rwx,other::---"
    )


def test_owners_the_policy_leaves_unrestricted_read_and_ingest_users_may_only_write() -> None:
    spec = format_acl_spec(desired_acl(SHARED, directory=True))
    assert spec.startswith("user::rwx,user:alice:r-x,user:ingest:-wx,user:svc_workspace:rwx,group::---,mask::rwx,")
    assert "default:user:alice:r-x" in spec and "default:user:ingest:-wx" in spec


def test_a_workspace_source_keeps_the_projects_group_so_members_read_it_natively() -> None:
    entries = {e.spec() for e in desired_acl(IN_WORKSPACE, directory=True)}
    assert {"group:immuta_ws_p:rwx", "default:group:immuta_ws_p:rwx", f"user:{SERVICE}:rwx", "other::---"} <= entries


def test_a_walled_tree_has_no_drift() -> None:
    for target in (PLAIN, SHARED, IN_WORKSPACE):
        for directory in (True, False):
            status, acl = _walled(target, "/data/claims/x", directory=directory)
            assert inode_drift(target, status, acl) == []


def test_a_file_with_a_wide_mode_is_drift_in_the_group_and_other_bits() -> None:
    path = "/data/claims/part-0.parquet"
    acl = _stored(path, "user::rw-,group::r--,other::r--")
    found = inode_drift(PLAIN, _status(path, directory=False, mode=0o644), acl)
    wide = [(d.kind, d.found) for d in found if d.kind == "wall-mode"]
    assert wide == [("wall-mode", "group::r--"), ("wall-mode", "other::r--")]
    assert found[0].expected == "group::--- (mode 644)"
    assert ("wall-acl", "missing user:svc_workspace") in {(d.kind, d.found) for d in found}  # never walled yet


def test_an_added_acl_entry_is_drift_even_when_the_mask_hides_it() -> None:
    path = "/data/claims/part-0.parquet"
    wide = inode_drift(
        PLAIN,
        _status(path, directory=False),
        _stored(path, "user::rw-,user:erin:r--,user:svc_workspace:rwx,group::---,mask::r--,other::---"),
    )
    assert [(d.kind, d.found) for d in wide] == [("wall-acl", "extra user:erin:r--")]
    hidden = _stored(path, "user::rw-,user:erin:r--,user:svc_workspace:rwx,group::---,mask::---,other::---")
    assert [d.kind for d in inode_drift(PLAIN, _status(path, directory=False), hidden)] == ["wall-acl"]


def test_a_reader_given_more_than_read_is_drift() -> None:
    spec = format_acl_spec(desired_acl(SHARED, directory=False)).replace("user:alice:r-x", "user:alice:rw-")
    path = "/data/claims/f"
    found = inode_drift(SHARED, _status(path, directory=False), _stored(path, spec))
    assert [(d.kind, d.expected, d.found) for d in found] == [("wall-acl", "user:alice:r-x", "user:alice:rw-")]


def test_a_wrong_owner_is_drift_and_narrower_bits_or_a_files_execute_bit_are_not() -> None:
    path = "/data/claims/f"
    owned = inode_drift(
        PLAIN,
        _status(path, directory=False, owner="alice", mode=0o600),
        _stored(path, "user::rw-,group::---,other::---"),
    )
    assert (owned[0].kind, owned[0].expected, owned[0].found) == ("wall-owner", SERVICE, "alice")
    assert [d.kind for d in owned] == ["wall-owner", "wall-acl", "wall-service"]  # nor can the service read it
    narrow = _stored(path, "user::r--,user:svc_workspace:r--,group::---,mask::r--,other::---")
    assert inode_drift(PLAIN, _status(path, directory=False, mode=0o440), narrow) == []
    executable = _stored(path, "user::rwx,user:svc_workspace:rwx,group::--x,mask::rwx,other::--x")
    assert inode_drift(PLAIN, _status(path, directory=False, mode=0o771), executable) == []


def test_a_directory_without_the_default_acl_is_drift_because_new_files_would_not_inherit_the_wall() -> None:
    path = "/data/claims/day=1"
    access_only = "user::rwx,user:svc_workspace:rwx,group::---,mask::rwx,other::---"
    found = inode_drift(PLAIN, _status(path, directory=True, mode=0o770), _stored(path, access_only))
    assert [d.kind for d in found] == ["wall-default-acl"]
    assert found[0].expected.startswith("missing: default:group::---")
    assert found[0].found == "extra: -"


def test_a_directory_whose_execute_bit_is_open_to_others_is_drift() -> None:
    path = "/data/claims"
    spec = format_acl_spec(desired_acl(PLAIN, directory=True)).replace("other::---,default", "other::--x,default", 1)
    found = inode_drift(PLAIN, _status(path, directory=True, mode=0o701), _stored(path, spec))
    assert [(d.kind, d.found) for d in found] == [("wall-mode", "other::--x")]
    assert all(e.scope is AclScope.DEFAULT for e in _stored(path, spec).default_entries())


def _clusters(*uris: str, default: str | None = None) -> ClustersFile:
    made = tuple(
        ClusterConfig(
            name=f"c{i}", webhdfs_url="http://127.0.0.1:9870", fs_uri=u, auth="insecure", service_user=SERVICE
        )
        for i, u in enumerate(uris)
    )
    return ClustersFile(clusters=made, default=default)


def test_a_location_is_placed_on_the_cluster_its_uri_names_or_on_the_default_one() -> None:
    clusters = _clusters("hdfs://127.0.0.1:8020", "hdfs://nn2.example:8020")
    assert place("S", "hdfs://NN2.example:8020/data/s/", clusters, strict=True) == ("c1", "/data/s")
    assert place("S", "/data/s", _clusters("hdfs://127.0.0.1:8020"), strict=True) == ("c0", "/data/s")
    assert place("S", "s3a://bucket/s", clusters, strict=False) is None  # other storage: not walled


@pytest.mark.parametrize(
    ("location", "strict", "message"),
    [
        ("hdfs://elsewhere:8020/data/s", False, "on no configured cluster"),
        ("s3a://bucket/s", True, "not on HDFS"),
        ("/data/s", True, "write the location as a full hdfs:// URI"),
    ],
)
def test_a_location_the_wall_cannot_place_is_refused_naming_the_source(
    location: str, strict: bool, message: str
) -> None:
    clusters = _clusters("hdfs://127.0.0.1:8020", "hdfs://nn2.example:8020")
    with pytest.raises(WallError, match=message) as err:
        place("Claims", location, clusters, strict=strict)
    assert "'Claims'" in str(err.value)


def test_a_file_the_service_cannot_read_is_drift_because_governed_reads_of_it_would_fail() -> None:
    path = "/data/claims/f"
    # Written with mode 600 under the default ACL: the mask (the create mode's group bits) hides the service's entry.
    masked = _stored(path, "user::rw-,user:svc_workspace:rwx,group::---,mask::---,other::---")
    found = inode_drift(PLAIN, _status(path, directory=False, owner="alice", mode=0o600), masked)
    assert [d.kind for d in found] == ["wall-owner", "wall-service"]
    unreadable = _stored(path, "user::-w-,user:svc_workspace:rwx,group::---,mask::rwx,other::---")
    found = inode_drift(PLAIN, _status(path, directory=False, mode=0o270), unreadable)
    assert [(d.kind, d.found) for d in found] == [("wall-service", "svc_workspace may not (mode 270)")]


def test_an_entry_the_wall_names_that_is_missing_is_drift_so_protect_adds_a_newly_allowed_reader() -> None:
    path = "/data/claims/f"
    before = _stored(path, desired_acl(PLAIN, directory=False))  # walled while alice's view was still masked
    found = inode_drift(SHARED, _status(path, directory=False, mode=before.mode), before)
    assert [(d.kind, d.expected, d.found) for d in found] == [
        ("wall-acl", "user:alice:r-x", "missing user:alice"),
        ("wall-acl", "user:ingest:-wx", "missing user:ingest"),
    ]


def test_a_location_in_a_workspace_is_that_projects_and_one_holding_a_workspace_is_refused() -> None:
    spaces = [("p", "/user/immuta/workspace/p"), ("q", "/user/immuta/workspace/q")]
    assert workspace_holding("Copy", "/user/immuta/workspace/q/copy", spaces) == "q"
    assert workspace_holding("Claims", "/user/immuta/workspace/pq", spaces) is None  # a sibling, not beneath
    assert workspace_holding("Claims", "/data/claims", spaces) is None
    with pytest.raises(WallError, match="holds the workspace of project 'p'"):
        workspace_holding("Everything", "/user/immuta", spaces)


def test_one_drift_record_serves_workspaces_and_the_wall_and_keeps_check_json_as_it_was() -> None:
    workspace = Drift(scope="project", name="ws_a", kind="mode", path="/ws/a", expected="770", found="777")
    wall = Drift(scope="source", name="Cl", kind="wall-owner", path="/data/c", expected="svc", found="a")
    rest = {"kind": "mode", "path": "/ws/a", "expected": "770", "found": "777"}
    assert workspace.to_json() == {"project": "ws_a", **rest}
    assert wall.to_json() == {"source": "Cl", "kind": "wall-owner", "path": "/data/c", "expected": "svc", "found": "a"}
    status = _status("/data/c/f", directory=False, owner="alice", mode=0o644)
    found = inode_drift(IN_WORKSPACE, status, _stored("/data/c/f", "user::rw-,group::r--,other::r--", owner="alice"))
    assert found and all((d.scope, d.name) == ("source", "Copy") for d in found)
