"""The one error hierarchy of ``hdfs_workspace``.

Every error derives from :class:`HdfsWorkspaceError`; every message says what to do next. Errors
that come from the NameNode keep the original ``hdfs.util.HdfsError`` (or the ``requests``
exception) as ``__cause__``, and carry the Java exception's short class name in
``remote_exception`` so a caller never has to string-match messages.
"""

from __future__ import annotations

__all__ = [
    "AclLimitExceeded",
    "AclSpecError",
    "AlreadyExists",
    "ConfigError",
    "HdfsWorkspaceError",
    "ImpersonationDenied",
    "InvalidAcl",
    "InvalidRequest",
    "MissingDependency",
    "NotADirectory",
    "NotEmpty",
    "NotFound",
    "PermissionDenied",
    "RemoteError",
    "ToolMissing",
    "Unavailable",
    "WorkspaceError",
]


class HdfsWorkspaceError(Exception):
    """Root of every error raised by hdfs_workspace."""


class AclSpecError(HdfsWorkspaceError):
    """An ACL spec string (``user:alice:rwx,...``) is malformed; nothing was sent to HDFS."""


class ConfigError(HdfsWorkspaceError):
    """A cluster configuration file is invalid; ``path`` names the offending element."""

    def __init__(self, path: str, message: str, *, file: str | None = None) -> None:
        self.path = path
        self.file = file
        self.reason = message
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{path}: {message}")


class MissingDependency(HdfsWorkspaceError):
    """An optional Python dependency is not installed; the message names the extra."""


class ToolMissing(HdfsWorkspaceError):
    """An external program (java, javac, mvn) that the test cluster needs is not installed."""


class Unavailable(HdfsWorkspaceError):
    """WebHDFS could not be reached, or the NameNode is not serving (safe mode, standby)."""


class RemoteError(HdfsWorkspaceError):
    """The NameNode refused an operation. ``remote_exception`` is the Java class's short name."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        remote_exception: str | None = None,
        user: str | None = None,
    ) -> None:
        self.path = path
        self.remote_exception = remote_exception
        self.user = user
        super().__init__(message)


class NotFound(RemoteError):
    """The path does not exist."""


class AlreadyExists(RemoteError):
    """The path exists and the operation would not overwrite it."""


class NotEmpty(RemoteError):
    """A non-recursive delete of a directory that has children."""


class PermissionDenied(RemoteError):
    """HDFS permission checks denied the acting user (mode bits, ACL entries or traversal)."""


class ImpersonationDenied(PermissionDenied):
    """The service identity has no proxy-user right to act as the requested user."""


class InvalidAcl(RemoteError):
    """The NameNode rejected an ACL change as invalid; the ACL is unchanged."""


class AclLimitExceeded(InvalidAcl):
    """The change would give a scope more than 32 entries (28 named); the ACL is unchanged."""


class InvalidRequest(RemoteError):
    """The NameNode rejected the request's parameters (bad name, bad mode, bad operation)."""


class NotADirectory(InvalidRequest):
    """A directory operation named a file (or a path through a file)."""


class WorkspaceError(HdfsWorkspaceError):
    """A workspace operation was refused or could not finish (the message says what to do)."""
