"""The :class:`~hdfs_workspace.access.HdfsAccess` implementation on WebHDFS (HdfsCLI).

The ``hdfs`` package (HdfsCLI) does the HTTP; this module adds what it lacks: typed results,
our own error classes (the original error kept as ``__cause__``), explicit modes, a call counter,
CHECKACCESS, and acting as another user.

Identities: an insecure client sends ``user.name`` (simple auth trusts it); a client configured
with a proxy user sends ``doas`` and the NameNode checks the caller's proxy-user rights
(``hadoop.proxyuser.<svc>.hosts`` / ``.groups``). A Kerberos client authenticates with the
process's ticket and can only act as someone else through ``doas``.
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeVar

import requests
from hdfs import InsecureClient
from hdfs.client import Client, _Request
from hdfs.util import HdfsError

from hdfs_workspace.access import CallCounter, HdfsAccess
from hdfs_workspace.acl import AclEntry, AclStatus, FsAction, format_acl_spec, parse_acl_entry
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
from hdfs_workspace.status import FileStatus, parse_mode

if TYPE_CHECKING:
    from hdfs_workspace.config import ClusterConfig

__all__ = ["DEFAULT_TIMEOUT", "WebHdfsAccess", "connect", "map_hdfs_error"]

T = TypeVar("T")

#: (connect, read) seconds for every WebHDFS request.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 120.0)

# HdfsCLI 2.7.3 has no CHECKACCESS; its own request factory builds the handler the same way as
# its public methods (retries across HA URLs, doas, error conversion). hdfs is pinned (==2.7.3).
_check_access_handler = _Request("GET").to_method("CHECKACCESS")
_set_xattr_handler = _Request("PUT").to_method("SETXATTR")  # nor extended attributes
_get_xattrs_handler = _Request("GET").to_method("GETXATTRS")

_UNAVAILABLE_EXCEPTIONS = frozenset({"SafeModeException", "RetriableException", "StandbyException"})
_INVALID_REQUEST_EXCEPTIONS = frozenset(
    {
        "IllegalArgumentException",
        "InvalidPathException",
        "UnsupportedOperationException",
        "UnresolvedPathException",
        "HadoopIllegalArgumentException",
    }
)


def _mode_param(mode: int) -> str:
    return f"{parse_mode(mode):03o}"


def _kerberos_client_class() -> type[Client]:
    try:
        from hdfs.ext.kerberos import KerberosClient
    except ImportError as err:
        raise MissingDependency(
            "Kerberos authentication needs requests-kerberos, which is not installed: "
            "pip install 'immuta-spark[kerberos]' (building it needs MIT Kerberos headers, "
            "Debian: apt-get install libkrb5-dev), or set auth: insecure for a cluster "
            "without Kerberos"
        ) from err
    client_class: type[Client] = KerberosClient
    return client_class


@dataclass(frozen=True, slots=True)
class _Identity:
    """How to build a client: the transport settings plus who acts."""

    url: str
    auth: Literal["insecure", "kerberos"]
    user: str | None
    proxy: str | None
    timeout: tuple[float, float]

    @property
    def effective_user(self) -> str | None:
        return self.proxy if self.proxy is not None else self.user

    def acting_as(self, user: str) -> _Identity:
        # A caller that authenticates as itself (Kerberos, or an insecure service identity
        # that already impersonates) keeps doing so and impersonates with doas; a plain
        # insecure identity just names the user, which is all simple auth checks.
        if self.auth == "kerberos" or self.proxy is not None:
            return replace(self, proxy=user)
        return replace(self, user=user)

    def build(self, session: requests.Session) -> Client:
        """A fresh HdfsCLI client; it takes over ``session``."""
        if self.auth == "kerberos":
            kerberos_client = _kerberos_client_class()
            return kerberos_client(self.url, proxy=self.proxy, timeout=self.timeout, session=session)
        return InsecureClient(self.url, user=self.user, proxy=self.proxy, timeout=self.timeout, session=session)


def _denied_hint(op: str) -> str:
    if op == "SETOWNER":
        return (
            "Changing the owner needs an HDFS superuser; changing the group needs the "
            "owner to be a member of the new group"
        )
    if op in ("SETACL", "MODIFYACLENTRIES", "REMOVEACLENTRIES", "REMOVEDEFAULTACL", "REMOVEACL", "SETPERMISSION"):
        return "Only the path's owner or an HDFS superuser may change its mode or ACL"
    return (
        "Ask the path's owner or an HDFS superuser for an ACL entry (every parent "
        "directory needs execute, x), or act as a user who has access"
    )


def map_hdfs_error(err: Exception, *, op: str, path: str, user: str | None, url: str) -> HdfsWorkspaceError:
    """Translate an HdfsCLI or requests error into ours; the caller raises it ``from err``."""
    who = user or "the authenticated user"
    if isinstance(err, requests.RequestException):
        return Unavailable(
            f"cannot reach WebHDFS at {url} ({type(err).__name__}) during {op} {path}: "
            "check that the NameNode is running and that webhdfs_url in the cluster config "
            "matches dfs.namenode.http-address"
        )
    if not isinstance(err, HdfsError):
        return HdfsWorkspaceError(f"{op} {path} failed unexpectedly: {err}")
    exc = err.exception
    msg = str(err.message) if not isinstance(err.message, bytes) else err.message.decode("utf-8", "replace")
    # The NameNode ends some messages with '.' and appends 'Path: ...' to others.
    msg = msg.strip().rstrip(".")
    kwargs = {"path": path, "remote_exception": exc, "user": user}
    if exc == "FileNotFoundException":
        return NotFound(
            f"{path} does not exist (looked up as {who}): check the path, or create it first",
            **kwargs,
        )
    if "impersonate" in msg:
        return ImpersonationDenied(
            f"{op} {path}: {msg}. Give the service identity proxy-user rights on the NameNode "
            "(hadoop.proxyuser.<service>.hosts and .groups in core-site.xml, then "
            "'hdfs dfsadmin -refreshSuperUserGroupsConfiguration'), or act as the user directly",
            **kwargs,
        )
    if exc in ("AccessControlException", "SecurityException", "AuthorizationException"):
        return PermissionDenied(f"HDFS denied {who} {op} on {path}: {msg}. {_denied_hint(op)}", **kwargs)
    if exc == "AclException":
        if "exceeds maximum" in msg:
            return AclLimitExceeded(
                f"ACL change on {path} rejected, nothing was changed: {msg}. HDFS allows 32 "
                "entries per scope, so at most 28 named users and groups: grant a group "
                "instead of individual users, or remove entries no longer needed",
                **kwargs,
            )
        return InvalidAcl(
            f"ACL change on {path} rejected, nothing was changed: {msg}. Fix the ACL spec "
            "(SETACL needs user::, group:: and other:: entries; default entries only on "
            "directories)",
            **kwargs,
        )
    if exc == "FileAlreadyExistsException":
        return AlreadyExists(f"{path} already exists: choose another path, or pass overwrite=True", **kwargs)
    if exc == "PathIsNotEmptyDirectoryException":
        return NotEmpty(f"{path} is a non-empty directory: delete it with recursive=True", **kwargs)
    if exc == "ParentNotDirectoryException" or (exc is None and "is not a directory" in msg):
        return NotADirectory(f"{op} {path}: {msg}: a directory was expected there; check the path", **kwargs)
    if exc in _UNAVAILABLE_EXCEPTIONS:
        return Unavailable(
            f"the NameNode behind {url} is not serving {op} {path} ({exc}: {msg}): retry later, "
            "or list every NameNode of an HA pair in webhdfs_url separated by ';'"
        )
    if exc in _INVALID_REQUEST_EXCEPTIONS:
        return InvalidRequest(
            f"HDFS rejected {op} {path}: {msg}. Fix the arguments (absolute paths, valid names, modes 000-1777)",
            **kwargs,
        )
    if exc is None and "Authentication failure" in msg:
        return PermissionDenied(
            f"WebHDFS at {url} refused to authenticate {who} for {op} {path}: with Kerberos, "
            "run kinit (or check the keytab) and retry",
            **kwargs,
        )
    return RemoteError(
        f"HDFS {op} {path} failed as {who}: {exc or 'error'}: {msg}. See the NameNode log for details",
        **kwargs,
    )


class WebHdfsAccess(HdfsAccess):
    """WebHDFS implementation of :class:`HdfsAccess` (see the module docstring for identities).

    Build it with :meth:`insecure`, :meth:`kerberos` or :func:`connect` (from a cluster config).
    """

    def __init__(
        self,
        identity: _Identity,
        *,
        counter: CallCounter | None = None,
        _peers: dict[_Identity, WebHdfsAccess] | None = None,
        _peers_lock: threading.Lock | None = None,
    ) -> None:
        self._identity = identity
        self._counter = counter if counter is not None else CallCounter()
        # HdfsCLI writes the identity (user.name, Kerberos auth) into the requests session,
        # so every identity needs its own session; peers made by as_user() are cached and
        # shared by the whole family so their connections are reused.
        self._client = identity.build(requests.Session())
        self._peers = _peers if _peers is not None else {}
        self._peers_lock = _peers_lock if _peers_lock is not None else threading.Lock()
        self._peers.setdefault(identity, self)

    @classmethod
    def insecure(
        cls,
        url: str,
        *,
        user: str,
        proxy: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        counter: CallCounter | None = None,
    ) -> WebHdfsAccess:
        """Simple auth: act as ``user`` (``user.name``), or as ``proxy`` through ``user``."""
        return cls(_Identity(url, "insecure", user, proxy, timeout), counter=counter)

    @classmethod
    def kerberos(
        cls,
        url: str,
        *,
        proxy: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        counter: CallCounter | None = None,
    ) -> WebHdfsAccess:
        """SPNEGO with the process's Kerberos ticket (needs the ``kerberos`` extra)."""
        return cls(_Identity(url, "kerberos", None, proxy, timeout), counter=counter)

    @property
    def url(self) -> str:
        """The WebHDFS URL(s), ``;``-separated for HA."""
        return self._identity.url

    @property
    def user(self) -> str | None:
        """The effective user HDFS sees (the proxied user if any)."""
        return self._identity.effective_user

    @property
    def counter(self) -> CallCounter:
        """Counts every remote call, shared with objects made by :meth:`as_user`."""
        return self._counter

    def __repr__(self) -> str:
        return f"WebHdfsAccess(url={self.url!r}, user={self.user!r}, auth={self._identity.auth!r})"

    def as_user(self, user: str) -> WebHdfsAccess:
        """Act as ``user``: by ``user.name`` on simple auth, by ``doas`` through a proxy."""
        identity = self._identity.acting_as(user)
        with self._peers_lock:
            peer = self._peers.get(identity)
            if peer is None:
                peer = WebHdfsAccess(
                    identity,
                    counter=self._counter,
                    _peers=self._peers,
                    _peers_lock=self._peers_lock,
                )
            return peer

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, op: str, path: str, fn: Callable[[], T]) -> T:
        self._counter.add(op)
        try:
            return fn()
        except (HdfsError, requests.RequestException) as err:
            raise map_hdfs_error(err, op=op, path=path, user=self.user, url=self.url) from err

    @staticmethod
    def _check_path(path: str) -> str:
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidRequest(
                f"HDFS path {path!r} is not absolute: write it from the root, like /proj/x",
                path=str(path),
            )
        return posixpath.normpath(path) if path != "/" else path

    # -- files and directories --------------------------------------------------------------

    def makedirs(self, path: str, *, mode: int) -> None:
        """Create ``path`` and missing parents with ``mode`` (parents also get u+wx)."""
        path = self._check_path(path)
        perm = _mode_param(mode)
        self._call("MKDIRS", path, lambda: self._client.makedirs(path, permission=perm))

    def write_bytes(self, path: str, data: bytes, *, mode: int, overwrite: bool = False) -> None:
        """Create a file holding ``data`` with ``mode`` (two HTTP round trips, counted once)."""
        path = self._check_path(path)
        perm = _mode_param(mode)
        self._call(
            "CREATE",
            path,
            lambda: self._client.write(path, data=data, overwrite=overwrite, permission=perm),
        )

    def read_bytes(self, path: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The content of a file: the whole of it, or ``length`` bytes from ``offset`` (one ranged OPEN)."""
        path = self._check_path(path)

        def read() -> bytes:
            with self._client.read(path, offset=offset, length=length) as reader:
                return bytes(reader.read())

        return self._call("OPEN", path, read)

    def status(self, path: str) -> FileStatus:
        """The status of one path."""
        path = self._check_path(path)
        data = self._call("GETFILESTATUS", path, lambda: self._client.status(path))
        return FileStatus.from_webhdfs(data, path=path)

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists; a permission denial on the way raises, it is not 'no'."""
        try:
            self.status(path)
        except NotFound:
            return False
        return True

    def list_dir(self, path: str) -> list[FileStatus]:
        """Children of a directory, sorted by name; NotADirectory for a file."""
        path = self._check_path(path)
        pairs = self._call("LISTSTATUS", path, lambda: self._client.list(path, status=True))
        return [
            FileStatus.from_webhdfs(data, path=posixpath.join(path, name) if name else path)
            for name, data in sorted(pairs, key=lambda pair: pair[0])
        ]

    def walk(self, path: str) -> Iterator[FileStatus]:
        """``path`` and everything beneath it, parents first; one LISTSTATUS per directory."""
        top = self.status(path)
        yield top
        if not top.is_dir:
            return
        stack = [top.path]
        while stack:
            directory = stack.pop()
            children = self.list_dir(directory)
            yield from children
            stack.extend(child.path for child in reversed(children) if child.is_dir)

    def set_owner(self, path: str, *, owner: str | None = None, group: str | None = None) -> None:
        """Change owner and/or group (owner needs a superuser; group needs membership)."""
        path = self._check_path(path)
        if owner is None and group is None:
            raise InvalidRequest(f"set_owner on {path}: pass owner, group or both", path=path)
        self._call("SETOWNER", path, lambda: self._client.set_owner(path, owner=owner, group=group))

    def set_mode(self, path: str, mode: int) -> None:
        """Set the permission bits (on an inode with an ACL the group bits set the mask)."""
        path = self._check_path(path)
        perm = _mode_param(mode)
        self._call("SETPERMISSION", path, lambda: self._client.set_permission(path, perm))

    def delete(self, path: str, *, recursive: bool = False) -> bool:
        """Delete ``path`` (skipping the trash); False if it did not exist."""
        path = self._check_path(path)
        if path == "/":
            raise InvalidRequest("refusing to delete the root directory /", path=path)
        return bool(self._call("DELETE", path, lambda: self._client.delete(path, recursive=recursive)))

    # -- ACLs -------------------------------------------------------------------------------

    def get_acl(self, path: str) -> AclStatus:
        """The ACL of ``path`` as GETACLSTATUS reports it."""
        path = self._check_path(path)
        data = self._call("GETACLSTATUS", path, lambda: self._client.acl_status(path))
        return AclStatus(
            path=path,
            owner=str(data["owner"]),
            group=str(data["group"]),
            mode=int(str(data.get("permission", "0")), 8),
            sticky=bool(data.get("stickyBit", False)),
            entries=tuple(parse_acl_entry(text) for text in data.get("entries", [])),
        )

    @staticmethod
    def _spec(entries: Sequence[AclEntry], *, permissions: bool) -> str:
        if not entries:
            raise InvalidRequest("empty ACL entry list: pass at least one entry")
        if permissions:
            missing = [e.spec() for e in entries if e.permissions is None]
            if missing:
                raise InvalidRequest(
                    f"ACL entries {missing} name no permissions: write them as "
                    "'user:alice:r-x' (only removals omit permissions)"
                )
            return format_acl_spec(entries)
        # WebHDFS's aclspec pattern wants the permissions field present, even if empty.
        return ",".join(e.without_permissions().spec() + ":" for e in entries)

    def set_acl(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Replace the whole ACL (SETACL); must include user::, group:: and other:: entries."""
        path = self._check_path(path)
        spec = self._spec(entries, permissions=True)
        self._call("SETACL", path, lambda: self._client.set_acl(path, spec, clear=True))

    def modify_acl_entries(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Add or update entries, keeping the others (MODIFYACLENTRIES)."""
        path = self._check_path(path)
        spec = self._spec(entries, permissions=True)
        self._call("MODIFYACLENTRIES", path, lambda: self._client.set_acl(path, spec, clear=False))

    def remove_acl_entries(self, path: str, entries: Sequence[AclEntry]) -> None:
        """Remove the given entries; their permissions are ignored (REMOVEACLENTRIES)."""
        path = self._check_path(path)
        spec = self._spec(entries, permissions=False)
        self._call("REMOVEACLENTRIES", path, lambda: self._client.remove_acl_entries(path, spec))

    def remove_default_acl(self, path: str) -> None:
        """Remove every default entry (REMOVEDEFAULTACL)."""
        path = self._check_path(path)
        self._call("REMOVEDEFAULTACL", path, lambda: self._client.remove_default_acl(path))

    def remove_acl(self, path: str) -> None:
        """Remove every extended entry, access and default (REMOVEACL)."""
        path = self._check_path(path)
        self._call("REMOVEACL", path, lambda: self._client.remove_acl(path))

    def set_xattr(self, path: str, name: str, value: str) -> None:
        """Set extended attribute ``name`` (``user.state``) of ``path`` to text ``value`` (SETXATTR)."""
        path = self._check_path(path)
        params = {"xattr.name": name, "xattr.value": json.dumps(value), "flag": "CREATE,REPLACE"}
        self._call("SETXATTR", path, lambda: _set_xattr_handler(self._client, path, **params))

    def get_xattrs(self, path: str) -> dict[str, str]:
        """The extended attributes of ``path`` the user may read, by name, as text (GETXATTRS)."""
        path = self._check_path(path)
        found = self._call("GETXATTRS", path, lambda: _get_xattrs_handler(self._client, path, encoding="text"))
        return {x["name"]: json.loads(x["value"]) if x.get("value") else "" for x in found.json().get("XAttrs", [])}

    def check_access(self, path: str, action: FsAction, *, user: str | None = None) -> bool:
        """Whether ``user`` may do ``action`` on ``path``, per the NameNode (CHECKACCESS)."""
        path = self._check_path(path)
        actor = self if user is None or user == self.user else self.as_user(user)
        try:
            actor._call(
                "CHECKACCESS",
                path,
                lambda: _check_access_handler(actor._client, path, fsaction=action.symbolic),
            )
        except ImpersonationDenied:
            raise
        except PermissionDenied:
            return False
        return True


def connect(
    cluster: ClusterConfig,
    *,
    as_user: str | None = None,
    counter: CallCounter | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> WebHdfsAccess:
    """An access object for a configured cluster, acting as its service user.

    With ``as_user`` the service user impersonates that user through ``doas`` (the NameNode
    must grant the service user proxy-user rights).
    """
    if cluster.auth == "kerberos":
        return WebHdfsAccess.kerberos(cluster.webhdfs_url, proxy=as_user, timeout=timeout, counter=counter)
    return WebHdfsAccess.insecure(
        cluster.webhdfs_url,
        user=cluster.service_user,
        proxy=as_user,
        timeout=timeout,
        counter=counter,
    )
