"""HDFS side of the workspace: typed ACL model, WebHDFS access layer, cluster configuration.

The model (:mod:`~hdfs_workspace.acl`, :mod:`~hdfs_workspace.status`), the errors and the
configuration need only PyYAML; :class:`WebHdfsAccess` and :func:`connect` need the ``hdfs``
extra and are imported on first use. This package never imports pyspark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdfs_workspace.access import CallCounter, HdfsAccess
from hdfs_workspace.acl import (
    AclEntry,
    AclEntryType,
    AclScope,
    AclStatus,
    FsAction,
    format_acl_spec,
    parse_acl_entry,
    parse_acl_spec,
)
from hdfs_workspace.config import (
    ClusterConfig,
    ClustersFile,
    cluster_from_hadoop_conf,
    load_clusters,
    read_hadoop_conf,
)
from hdfs_workspace.errors import (
    AclLimitExceeded,
    AclSpecError,
    AlreadyExists,
    ConfigError,
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
    ToolMissing,
    Unavailable,
)
from hdfs_workspace.status import FileStatus, FileType

if TYPE_CHECKING:
    from hdfs_workspace.webhdfs import WebHdfsAccess, connect

__all__ = [
    "AclEntry",
    "AclEntryType",
    "AclLimitExceeded",
    "AclScope",
    "AclSpecError",
    "AclStatus",
    "AlreadyExists",
    "CallCounter",
    "ClusterConfig",
    "ClustersFile",
    "ConfigError",
    "FileStatus",
    "FileType",
    "FsAction",
    "HdfsAccess",
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
    "WebHdfsAccess",
    "cluster_from_hadoop_conf",
    "connect",
    "format_acl_spec",
    "load_clusters",
    "parse_acl_entry",
    "parse_acl_spec",
    "read_hadoop_conf",
]

_LAZY = {"WebHdfsAccess", "connect"}


def __getattr__(name: str) -> Any:
    # The WebHDFS layer pulls in the hdfs package; load it only when asked for.
    if name in _LAZY:
        from hdfs_workspace import webhdfs

        return getattr(webhdfs, name)
    raise AttributeError(f"module 'hdfs_workspace' has no attribute {name!r}")
