"""Cluster configuration: ``conf/clusters.yaml`` and Hadoop's ``core-site.xml``/``hdfs-site.xml``.

The YAML file lists clusters::

    default: local                 # optional; the cluster used when none is named
    clusters:
      - name: local
        webhdfs_url: http://127.0.0.1:9870   # ';'-separate the NameNodes of an HA pair
        fs_uri: hdfs://127.0.0.1:8020
        auth: insecure                        # insecure | kerberos
        service_user: svc_workspace
      - name: prod
        hadoop_conf_dir: /etc/hadoop/conf     # fills webhdfs_url, fs_uri, auth
        service_user: svc_workspace

Fields given explicitly win over what ``hadoop_conf_dir`` yields. Every error names the file and
the element (``clusters[1].webhdfs_url``). Nothing is read at import time.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from hdfs_workspace.acl import ACL_NAME_PATTERN
from hdfs_workspace.errors import ConfigError

__all__ = [
    "WORKSPACE_OPT_OUT_KEY",
    "AuthMode",
    "ClusterConfig",
    "ClustersFile",
    "cluster_from_hadoop_conf",
    "load_clusters",
    "parse_clusters",
    "read_hadoop_conf",
]

AuthMode = Literal["insecure", "kerberos"]
_AUTH_MODES: tuple[AuthMode, ...] = ("insecure", "kerberos")
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TOP_KEYS = frozenset({"clusters", "default"})
_CLUSTER_KEYS = frozenset(
    {"name", "webhdfs_url", "fs_uri", "auth", "service_user", "hadoop_conf_dir", "hive_metastore_uri"}
)
#: The ``core-site.xml`` key that marks a cluster as unavailable for workspaces (seed: "a
#: configuration value in the cluster configuration"); ``true`` opts the cluster out.
WORKSPACE_OPT_OUT_KEY = "immuta.workspace.unavailable"
_VAR = re.compile(r"\$\{([^}$\s]+)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterConfig:
    """How to reach one cluster."""

    name: str
    webhdfs_url: str
    fs_uri: str
    auth: AuthMode
    service_user: str
    #: The client configuration directory the cluster was described from, if any.
    hadoop_conf_dir: str | None = None
    #: The Hive metastore workspaces' databases go to (``thrift://host:port``), if any.
    hive_metastore_uri: str | None = None
    #: Whether its ``core-site.xml`` carries :data:`WORKSPACE_OPT_OUT_KEY` = true.
    workspace_opt_out: bool = False

    @property
    def webhdfs_urls(self) -> tuple[str, ...]:
        """Each NameNode's WebHDFS URL (more than one for HA)."""
        return tuple(u for u in self.webhdfs_url.split(";") if u)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClustersFile:
    """The parsed clusters file."""

    clusters: tuple[ClusterConfig, ...]
    default: str | None = None
    source: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Cluster names in file order."""
        return tuple(c.name for c in self.clusters)

    def get(self, name: str | None = None) -> ClusterConfig:
        """The named cluster; without a name the default, or the only one."""
        where = f" in {self.source}" if self.source else ""
        if name is None:
            if self.default is not None:
                name = self.default
            elif len(self.clusters) == 1:
                return self.clusters[0]
            else:
                raise ConfigError(
                    "default",
                    f"no cluster named and no default{where}: pass --cluster NAME "
                    f"(one of {', '.join(self.names)}) or set 'default:' in the file",
                    file=self.source,
                )
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise ConfigError(
            "clusters",
            f"no cluster named {name!r}{where}: known clusters are {', '.join(self.names)}",
            file=self.source,
        )


def load_clusters(path: str | os.PathLike[str]) -> ClustersFile:
    """Read and validate a clusters YAML file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("<file>", f"cannot read it ({err.strerror}): check --config", file=str(file)) from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError("<document>", f"not valid YAML: {err}", file=str(file)) from err
    return parse_clusters(data, file=str(file), base_dir=file.parent)


def _require_str(value: Any, path: str, file: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, f"expected a non-empty string, got {value!r}", file=file)
    return value.strip()


def _check_webhdfs_url(value: str, path: str, file: str | None) -> str:
    urls = [u.strip() for u in value.split(";") if u.strip()]
    if not urls:
        raise ConfigError(path, "no URL given: write http://HOST:PORT", file=file)
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                path,
                f"{url!r} is not a WebHDFS URL: write http://HOST:PORT (the NameNode's "
                "dfs.namenode.http-address), ';'-separated for HA",
                file=file,
            )
        if parts.path not in ("", "/"):
            raise ConfigError(path, f"{url!r} has a path: give only http://HOST:PORT", file=file)
    return ";".join(u.rstrip("/") for u in urls)


def _check_fs_uri(value: str, path: str, file: str | None) -> str:
    parts = urlsplit(value)
    if parts.scheme != "hdfs" or not parts.netloc:
        raise ConfigError(
            path,
            f"{value!r} is not an hdfs:// URI: write hdfs://HOST:PORT or hdfs://NAMESERVICE "
            "(fs.defaultFS of the cluster)",
            file=file,
        )
    return value.rstrip("/")


def _parse_cluster(raw: Any, index: int, file: str | None, base_dir: Path | None) -> ClusterConfig:
    where = f"clusters[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"expected a mapping of cluster fields, got {raw!r}", file=file)
    unknown = sorted(set(map(str, raw)) - _CLUSTER_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}",
            f"unknown field: allowed fields are {', '.join(sorted(_CLUSTER_KEYS))}",
            file=file,
        )
    name = _require_str(raw.get("name"), f"{where}.name", file)
    if not _CLUSTER_NAME.fullmatch(name):
        raise ConfigError(
            f"{where}.name",
            f"invalid cluster name {name!r}: use letters, digits, '_', '.', '-'",
            file=file,
        )
    fields: dict[str, Any] = {}
    if raw.get("hadoop_conf_dir") is not None:
        conf_dir = Path(_require_str(raw["hadoop_conf_dir"], f"{where}.hadoop_conf_dir", file))
        if not conf_dir.is_absolute() and base_dir is not None:
            conf_dir = base_dir / conf_dir
        try:
            from_xml = cluster_from_hadoop_conf(name, conf_dir, service_user=raw.get("service_user") or "unset")
        except ConfigError as err:
            raise ConfigError(f"{where}.hadoop_conf_dir", err.reason, file=err.file or file) from err
        fields = {
            "webhdfs_url": from_xml.webhdfs_url,
            "fs_uri": from_xml.fs_uri,
            "auth": from_xml.auth,
            "hadoop_conf_dir": from_xml.hadoop_conf_dir,
            "workspace_opt_out": from_xml.workspace_opt_out,
        }
    for key in ("webhdfs_url", "fs_uri", "auth", "service_user"):
        if raw.get(key) is not None:
            fields[key] = raw[key]
        elif key not in fields:
            hint = " (or give hadoop_conf_dir)" if key != "service_user" else ""
            raise ConfigError(f"{where}.{key}", f"missing required field{hint}", file=file)
    webhdfs_url = _check_webhdfs_url(
        _require_str(fields["webhdfs_url"], f"{where}.webhdfs_url", file),
        f"{where}.webhdfs_url",
        file,
    )
    fs_uri = _check_fs_uri(_require_str(fields["fs_uri"], f"{where}.fs_uri", file), f"{where}.fs_uri", file)
    auth = _require_str(fields["auth"], f"{where}.auth", file)
    if auth not in _AUTH_MODES:
        raise ConfigError(f"{where}.auth", f"{auth!r} is not one of {', '.join(_AUTH_MODES)}", file=file)
    service_user = _require_str(fields["service_user"], f"{where}.service_user", file)
    if not ACL_NAME_PATTERN.fullmatch(service_user):
        raise ConfigError(
            f"{where}.service_user",
            f"{service_user!r} is not a valid HDFS user name ({ACL_NAME_PATTERN.pattern})",
            file=file,
        )
    hive = raw.get("hive_metastore_uri")
    if hive is not None:
        hive = _require_str(hive, f"{where}.hive_metastore_uri", file)
        parts = urlsplit(hive)
        if parts.scheme != "thrift" or not parts.hostname or parts.port is None:
            raise ConfigError(f"{where}.hive_metastore_uri", f"{hive!r} is not thrift://HOST:PORT", file=file)
    return ClusterConfig(
        name=name,
        webhdfs_url=webhdfs_url,
        fs_uri=fs_uri,
        auth=auth,
        service_user=service_user,
        hadoop_conf_dir=fields.get("hadoop_conf_dir"),
        hive_metastore_uri=hive,
        workspace_opt_out=bool(fields.get("workspace_opt_out", False)),
    )


def parse_clusters(data: Any, *, file: str | None = None, base_dir: Path | None = None) -> ClustersFile:
    """Validate already-loaded YAML data (``file`` is only used in error messages)."""
    if not isinstance(data, Mapping):
        raise ConfigError("<document>", "expected a mapping with a 'clusters' list at the top", file=file)
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise ConfigError(unknown[0], "unknown top-level key: allowed are 'clusters' and 'default'", file=file)
    raw_clusters = data.get("clusters")
    if not isinstance(raw_clusters, Sequence) or isinstance(raw_clusters, str | bytes):
        raise ConfigError("clusters", "expected a list of clusters", file=file)
    if not raw_clusters:
        raise ConfigError("clusters", "the list is empty: describe at least one", file=file)
    clusters: list[ClusterConfig] = []
    for index, raw in enumerate(raw_clusters):
        cluster = _parse_cluster(raw, index, file, base_dir)
        if any(c.name == cluster.name for c in clusters):
            raise ConfigError(
                f"clusters[{index}].name",
                f"duplicate cluster name {cluster.name!r}: names must be unique",
                file=file,
            )
        clusters.append(cluster)
    default = data.get("default")
    if default is not None:
        default = _require_str(default, "default", file)
        if default not in {c.name for c in clusters}:
            raise ConfigError(
                "default",
                f"{default!r} names no cluster in this file: use one of {', '.join(c.name for c in clusters)}",
                file=file,
            )
    return ClustersFile(clusters=tuple(clusters), default=default, source=file)


# -- Hadoop XML -----------------------------------------------------------------------------


def _read_site_file(file: Path) -> dict[str, str]:
    try:
        root = ET.parse(file).getroot()
    except OSError as err:
        raise ConfigError("<file>", f"cannot read it ({err.strerror})", file=str(file)) from err
    except ET.ParseError as err:
        raise ConfigError("<document>", f"not well-formed XML: {err}", file=str(file)) from err
    if root.tag != "configuration":
        raise ConfigError(f"<{root.tag}>", "the root element must be <configuration>", file=str(file))
    props: dict[str, str] = {}
    for index, prop in enumerate(root.iter("property")):
        name = prop.findtext("name")
        if name is None or not name.strip():
            raise ConfigError(f"configuration/property[{index}]", "a <property> has no <name>", file=str(file))
        props[name.strip()] = (prop.findtext("value") or "").strip()
    return props


def _expand(props: dict[str, str]) -> dict[str, str]:
    # Hadoop expands ${key} from the configuration itself (and Java system properties, which
    # do not exist here); unknown variables stay as written, like Hadoop does.
    def expand(value: str, depth: int = 0) -> str:
        if depth > 20 or "${" not in value:
            return value
        return expand(_VAR.sub(lambda m: props.get(m.group(1), m.group(0)), value), depth + 1)

    return {key: expand(value) for key, value in props.items()}


def read_hadoop_conf(*files: str | os.PathLike[str]) -> dict[str, str]:
    """Merge Hadoop ``*-site.xml`` files, later files winning, with ``${var}`` expansion."""
    merged: dict[str, str] = {}
    for file in files:
        merged.update(_read_site_file(Path(file)))
    return _expand(merged)


def _http_address(props: Mapping[str, str], suffix: str, fs_host: str, file: str) -> str:
    https = props.get("dfs.http.policy", "HTTP_ONLY").upper() == "HTTPS_ONLY"
    key = ("dfs.namenode.https-address" if https else "dfs.namenode.http-address") + suffix
    default = "0.0.0.0:9871" if https else "0.0.0.0:9870"
    address = props.get(key, default if not suffix else "")
    if not address:
        raise ConfigError(key, "missing: the NameNode's WebHDFS address is needed", file=file)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(key, f"{address!r} is not HOST:PORT", file=file)
    if host in ("0.0.0.0", "[::]", "::"):
        # Bound to every interface: reach it by the host that fs.defaultFS names.
        host = fs_host
    return f"{'https' if https else 'http'}://{host}:{port}"


def cluster_from_hadoop_conf(
    name: str,
    conf_dir: str | os.PathLike[str],
    *,
    service_user: str,
    auth: AuthMode | None = None,
) -> ClusterConfig:
    """Describe a cluster from its client configuration directory.

    Reads ``core-site.xml`` and ``hdfs-site.xml``: ``fs.defaultFS`` gives the hdfs:// URI,
    ``dfs.namenode.http(s)-address`` (per NameNode for an HA nameservice) the WebHDFS URL(s),
    ``hadoop.security.authentication`` the auth mode unless ``auth`` overrides it.
    """
    directory = Path(conf_dir)
    core, hdfs_site = directory / "core-site.xml", directory / "hdfs-site.xml"
    if not core.is_file():
        raise ConfigError(
            "core-site.xml",
            f"not found in {directory}: point to the cluster's client configuration directory (HADOOP_CONF_DIR)",
            file=str(directory),
        )
    files = [core] + ([hdfs_site] if hdfs_site.is_file() else [])
    props = read_hadoop_conf(*files)
    label = ", ".join(str(f) for f in files)
    fs_uri = props.get("fs.defaultFS") or props.get("fs.default.name")
    if not fs_uri:
        raise ConfigError("fs.defaultFS", "missing: it names the cluster's hdfs:// URI", file=str(core))
    fs_uri = _check_fs_uri(fs_uri, "fs.defaultFS", str(core))
    fs_host = urlsplit(fs_uri).hostname or ""
    nameservices = [n.strip() for n in props.get("dfs.nameservices", "").split(",") if n.strip()]
    if fs_host in nameservices:
        ids = [n.strip() for n in props.get(f"dfs.ha.namenodes.{fs_host}", "").split(",") if n.strip()]
        if not ids:
            raise ConfigError(
                f"dfs.ha.namenodes.{fs_host}",
                "missing: an HA nameservice needs its NameNode ids",
                file=label,
            )
        webhdfs_url = ";".join(_http_address(props, f".{fs_host}.{nn}", fs_host, label) for nn in ids)
    else:
        webhdfs_url = _http_address(props, "", fs_host, label)
    if auth is None:
        mode = props.get("hadoop.security.authentication", "simple").lower()
        if mode not in ("simple", "kerberos"):
            raise ConfigError(
                "hadoop.security.authentication",
                f"{mode!r} is not supported: only simple and kerberos",
                file=str(core),
            )
        auth = "kerberos" if mode == "kerberos" else "insecure"
    return ClusterConfig(
        name=name,
        webhdfs_url=webhdfs_url,
        fs_uri=fs_uri,
        auth=auth,
        service_user=service_user,
        hadoop_conf_dir=str(directory),
        workspace_opt_out=props.get(WORKSPACE_OPT_OUT_KEY, "false").strip().lower() == "true",
    )
