"""ACL spec parser and printer, FsAction and AclStatus (no JVM, no HDFS)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdfs_workspace.acl import (
    AclEntry,
    AclEntryType,
    AclScope,
    AclStatus,
    FsAction,
    format_acl_spec,
    parse_acl_entry,
    parse_acl_spec,
    validate_acl_name,
)
from hdfs_workspace.errors import AclSpecError, HdfsWorkspaceError


def test_parses_the_documented_example() -> None:
    entries = parse_acl_spec("user:alice:rwx,default:group:g:r-x")
    assert entries == (
        AclEntry(kind=AclEntryType.USER, name="alice", permissions=FsAction.ALL),
        AclEntry(
            kind=AclEntryType.GROUP,
            name="g",
            permissions=FsAction.READ | FsAction.EXECUTE,
            scope=AclScope.DEFAULT,
        ),
    )
    assert format_acl_spec(entries) == "user:alice:rwx,default:group:g:r-x"


def test_unnamed_entries_are_the_owner_owning_group_mask_and_other() -> None:
    entries = parse_acl_spec("user::rwx,group::r-x,mask::r--,other::---")
    assert [(e.kind, e.name) for e in entries] == [
        (AclEntryType.USER, None),
        (AclEntryType.GROUP, None),
        (AclEntryType.MASK, None),
        (AclEntryType.OTHER, None),
    ]
    assert format_acl_spec(entries) == "user::rwx,group::r-x,mask::r--,other::---"


def test_spaces_around_entries_and_upper_case_keywords_are_accepted() -> None:
    assert format_acl_spec(parse_acl_spec(" USER:alice:r-x , Default:Group:g:--x ")) == (
        "user:alice:r-x,default:group:g:--x"
    )


def test_removal_specs_name_entries_without_permissions() -> None:
    entries = parse_acl_spec("user:alice,default:group:g,mask", permissions=False)
    assert all(e.permissions is None for e in entries)
    assert format_acl_spec(entries) == "user:alice,default:group:g,mask:"
    # WebHDFS's own form, with an empty permissions field, means the same.
    assert parse_acl_spec("user:alice:", permissions=False) == entries[:1]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty ACL spec"),
        ("user:alice:rwx,", "empty ACL entry"),
        ("user:alice", "expected [default:]TYPE:NAME:PERMS"),
        ("user:alice:rwx:extra", "expected [default:]TYPE:NAME:PERMS"),
        ("owner:alice:rwx", "type 'owner' is not one of"),
        ("user:alice:rw", "invalid permissions 'rw'"),
        ("user:alice:wrx", "invalid permissions 'wrx'"),
        ("user:9alice:rwx", "invalid user or group name '9alice'"),
        ("user:al ice:rwx", "invalid user or group name 'al ice'"),
        ("group:proj/x:r-x", "invalid user or group name 'proj/x'"),
        ("mask:m:r-x", "the mask entry takes no name"),
        ("other:o:r--", "the other entry takes no name"),
        ("user:alice:r--,user:alice:rwx", "names 'user:alice' twice"),
        ("default", "expected [default:]TYPE:NAME:PERMS"),
    ],
)
def test_malformed_specs_are_rejected_with_a_fix(spec: str, message: str) -> None:
    with pytest.raises(AclSpecError) as info:
        parse_acl_spec(spec)
    assert message in str(info.value)
    assert isinstance(info.value, HdfsWorkspaceError)


def test_the_same_name_may_appear_once_per_scope_and_type() -> None:
    entries = parse_acl_spec("user:x:r--,group:x:r--,default:user:x:r--")
    assert len(entries) == 3


def test_removal_specs_reject_permissions() -> None:
    with pytest.raises(AclSpecError, match="without permissions"):
        parse_acl_entry("user:alice:rwx:x", permissions=False)


@pytest.mark.parametrize("name", ["alice", "_svc", "a.b-c_d", "Proj_X1", "x"])
def test_valid_names(name: str) -> None:
    assert validate_acl_name(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "-a", ".a", "a b", "a:b", "a,b", "ä"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(AclSpecError):
        validate_acl_name(name)


def test_fsaction_symbolic_round_trip_over_all_eight_values() -> None:
    for bits in range(8):
        action = FsAction(bits)
        assert FsAction.parse(action.symbolic) == action
    assert FsAction.ALL.implies(FsAction.READ | FsAction.WRITE)
    assert not FsAction.READ.implies(FsAction.READ | FsAction.EXECUTE)


def test_entry_constructors_accept_symbolic_permissions() -> None:
    assert AclEntry.user("bob", "r-x", default=True).spec() == "default:user:bob:r-x"
    assert AclEntry.group(None, "---").spec() == "group::---"
    assert AclEntry.user("bob").spec() == "user:bob"


def test_acl_status_rebuilds_what_getfacl_prints() -> None:
    # GETACLSTATUS omits user::, mask:: and other::; the mode's group bits are the mask.
    status = AclStatus(
        path="/p",
        owner="alice",
        group="proj_x",
        mode=0o750,
        sticky=False,
        entries=parse_acl_spec("user:bob:rwx,group::r-x,default:user::rwx,default:group::r-x,default:other::---"),
    )
    assert format_acl_spec(status.full_entries()) == (
        "user::rwx,user:bob:rwx,group::r-x,mask::r-x,other::---,default:user::rwx,default:group::r-x,default:other::---"
    )
    assert status.find(AclEntryType.MASK, None) == AclEntry(
        kind=AclEntryType.MASK, permissions=FsAction.READ | FsAction.EXECUTE
    )
    assert [e.spec() for e in status.named()] == ["user:bob:rwx"]


def test_acl_status_without_extended_entries_is_just_the_mode() -> None:
    status = AclStatus(path="/p", owner="a", group="g", mode=0o640, sticky=False, entries=())
    assert format_acl_spec(status.full_entries()) == "user::rw-,group::r--,other::---"
    assert not status.is_extended


_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9._-]{0,8}", fullmatch=True)
_perms = st.sampled_from([FsAction(bits) for bits in range(8)])


@st.composite
def _entries(draw: st.DrawFn) -> AclEntry:
    kind = draw(st.sampled_from(list(AclEntryType)))
    named = kind in (AclEntryType.USER, AclEntryType.GROUP) and draw(st.booleans())
    return AclEntry(
        kind=kind,
        name=draw(_names) if named else None,
        permissions=draw(_perms),
        scope=draw(st.sampled_from(list(AclScope))),
    )


@given(st.lists(_entries(), min_size=1, max_size=12, unique_by=lambda e: e.key))
def test_printing_then_parsing_gives_back_the_same_entries(entries: list[AclEntry]) -> None:
    assert parse_acl_spec(format_acl_spec(entries)) == tuple(entries)


@given(st.lists(_entries(), min_size=1, max_size=12, unique_by=lambda e: e.key))
def test_removal_form_round_trips_too(entries: list[AclEntry]) -> None:
    removal = [e.without_permissions() for e in entries]
    assert parse_acl_spec(format_acl_spec(removal), permissions=False) == tuple(removal)
