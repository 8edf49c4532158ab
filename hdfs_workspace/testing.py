"""A real, throw-away HDFS for tests and benchmarks (MiniDFSCluster in a child JVM).

The Java launcher lives in ``tests/hdfs/minicluster/`` (``pom.xml`` + one source file). This
module resolves its Maven classpath, compiles it with ``javac`` into a cache directory outside
the repository (``$HDFS_WORKSPACE_CACHE``, default ``~/.cache/hdfs-workspace``), starts it, waits
for its ready line and stops it. Once the cache is built, later runs start without Maven and
without network; if the cache is gone but ``~/.m2`` is complete, Maven runs offline (``-o``).

The cluster: one NameNode and one DataNode, permissions and ACLs on, WebHDFS on, replication 1,
every listener on 127.0.0.1, proxy-user rights for :data:`SERVICE_USER`, and :data:`SUPERUSER` in the
superuser group. Groups come from the product's NameNode group mapping,
``io.immuta.hdfs.WorkspaceGroupsMapping`` (``hdfs_workspace/jvm``, compiled with the launcher):
static base groups (:data:`DEFAULT_GROUPS`) plus workspace groups read from a grants database
when ``grants_url`` is given. The JVM reads
commands on stdin and stops when stdin closes, so it cannot outlive a parent that dies.

This module is for tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hdfs_workspace.access import CallCounter
from hdfs_workspace.jvmproc import (
    JAVA_OPTIONS,
    JDK_HINT,
    JvmChild,
    JvmChildError,
    JvmServer,
    build_lock,
    log_tail,
    require_tool,
    run_logged,
    start_jvm,
)
from hdfs_workspace.procnet import listening_addresses
from hdfs_workspace.webhdfs import WebHdfsAccess

__all__ = [
    "DEFAULT_GROUPS",
    "SERVICE_USER",
    "SUPERUSER",
    "LauncherBuild",
    "MiniHdfs",
    "MiniHdfsError",
    "build_launcher",
    "cluster_properties",
    "default_cache_dir",
    "default_launcher_dir",
    "listening_addresses",
    "minihdfs",
    "provider_sources",
    "sqlite_path",
    "start_minihdfs",
]

#: Test users and their groups. ``dave`` belongs to no group at all.
DEFAULT_GROUPS: Mapping[str, tuple[str, ...]] = {
    "alice": ("proj_x", "analysts"),
    "bob": ("analysts",),
    "carol": ("auditors",),
    "dave": (),
    "svc_workspace": ("services",),
    "hdfs_admin": ("supergroup",),
}
#: The service identity with proxy-user rights (may act as anyone through ``doas``).
SERVICE_USER = "svc_workspace"
#: A superuser by group membership (``dfs.permissions.superusergroup``), independent of which
#: OS user runs the JVM.
SUPERUSER = "hdfs_admin"

_LAUNCHER_CLASS = "io.immuta.hdfs.MiniHdfsLauncher"
_GROUP_MAPPING_CLASS = "io.immuta.hdfs.WorkspaceGroupsMapping"
_PROTOCOL_PREFIX = "MINIHDFS "
_JAVA_OPTIONS = (*JAVA_OPTIONS, "-Xmx1g")


class MiniHdfsError(JvmChildError):
    """The test cluster could not be built, started or commanded."""


def default_launcher_dir() -> Path:
    """``tests/hdfs/minicluster`` of this source tree."""
    return Path(__file__).resolve().parent.parent / "tests" / "hdfs" / "minicluster"


def provider_sources() -> list[Path]:
    """The product's NameNode-side Java sources (``hdfs_workspace/jvm``), compiled with the launcher."""
    return sorted((Path(__file__).resolve().parent / "jvm").glob("*.java"))


def sqlite_path(jdbc_url: str | None) -> Path | None:
    """The file of a ``jdbc:sqlite:/path`` URL; None for any other URL (or none)."""
    prefix = "jdbc:sqlite:"
    if not jdbc_url or not jdbc_url.startswith(prefix):
        return None
    return Path(jdbc_url[len(prefix) :].split("?", 1)[0].removeprefix("file:"))


def default_cache_dir() -> Path:
    """Where the compiled launcher and its classpath are kept between runs."""
    env = os.environ.get("HDFS_WORKSPACE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hdfs-workspace"


_MAVEN_HINT = "install Maven 3.8+ (Debian: apt-get install maven)"


@dataclass(frozen=True, slots=True, kw_only=True)
class LauncherBuild:
    """A compiled launcher: its classes directory and the dependency classpath."""

    classes: Path
    classpath: tuple[Path, ...]
    built_now: bool

    def java_classpath(self) -> str:
        """The ``-cp`` argument."""
        return os.pathsep.join([str(self.classes), *map(str, self.classpath)])


def _launcher_key(launcher_dir: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted([launcher_dir / "pom.xml", *launcher_dir.rglob("*.java")]):
        digest.update(file.relative_to(launcher_dir).as_posix().encode())
        digest.update(file.read_bytes())
    for file in provider_sources():
        digest.update(b"provider:" + file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def build_launcher(launcher_dir: Path | None = None, cache_dir: Path | None = None) -> LauncherBuild:
    """Resolve and compile the launcher once; reuse the cache while pom and source are unchanged.

    Raises :class:`ToolMissing` naming java/javac/mvn when one is needed and absent.
    """
    launcher_dir = launcher_dir or default_launcher_dir()
    if not (launcher_dir / "pom.xml").is_file():
        raise MiniHdfsError(f"no launcher pom.xml in {launcher_dir}: run from a source checkout, or pass launcher_dir")
    require_tool("java", JDK_HINT)
    cache_root = cache_dir or default_cache_dir()
    target = cache_root / f"launcher-{_launcher_key(launcher_dir)}"
    with build_lock(target):
        manifest = target / "build.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text())
            classpath = tuple(Path(p) for p in data["classpath"])
            if all(p.is_file() for p in classpath):
                return LauncherBuild(classes=target / "classes", classpath=classpath, built_now=False)
        javac = require_tool("javac", JDK_HINT)
        mvn = require_tool("mvn", _MAVEN_HINT)
        log = target / "build.log"
        cp_file = target / "classpath.txt"
        base = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(launcher_dir / "pom.xml"),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={cp_file}",
        ]
        # Offline first: when ~/.m2 already holds everything this needs no network at all.
        if not run_logged([*base[:2], "-o", *base[2:]], log, launcher_dir) and not run_logged(base, log, launcher_dir):
            raise MiniHdfsError(
                f"Maven could not resolve the launcher's dependencies (log: {log}):\n"
                f"{log_tail(log)}\nCheck that Maven Central is reachable, or pre-fill ~/.m2"
            )
        classpath = tuple(Path(p) for p in cp_file.read_text().strip().split(os.pathsep) if p)
        classes = target / "classes"
        shutil.rmtree(classes, ignore_errors=True)
        sources = [str(p) for p in [*sorted(launcher_dir.rglob("*.java")), *provider_sources()]]
        if not run_logged(
            [
                javac,
                "--release",
                "17",
                "-nowarn",
                "-d",
                str(classes),
                "-cp",
                os.pathsep.join(map(str, classpath)),
                *sources,
            ],
            log,
            launcher_dir,
        ):
            raise MiniHdfsError(f"javac failed on the launcher (log: {log}):\n{log_tail(log)}")
        manifest.write_text(json.dumps({"classpath": [str(p) for p in classpath]}, indent=1))
        return LauncherBuild(classes=classes, classpath=classpath, built_now=True)


def _site_xml(properties: Mapping[str, str]) -> bytes:
    root = ET.Element("configuration")
    for name, value in properties.items():
        prop = ET.SubElement(root, "property")
        ET.SubElement(prop, "name").text = name
        ET.SubElement(prop, "value").text = value
    ET.indent(root)
    return b'<?xml version="1.0"?>\n' + ET.tostring(root) + b"\n"


def cluster_properties(
    groups: Mapping[str, tuple[str, ...]] = DEFAULT_GROUPS,
    service_user: str = SERVICE_USER,
    grants_url: str | None = None,
) -> dict[str, str]:
    """The Hadoop settings of the test cluster (the launcher adds the loopback bindings).

    ``grants_url`` is the JDBC URL of the workspace grants tables; without it nobody has
    workspace groups (the provider fails closed) and only ``groups`` count.
    """
    mapping = ";".join(f"{user}={','.join(gs)}" for user, gs in groups.items())
    grants = {"immuta.workspace.grants.jdbc.url": grants_url} if grants_url else {}
    return {
        "dfs.permissions.enabled": "true",
        "dfs.namenode.acls.enabled": "true",
        "dfs.webhdfs.enabled": "true",
        "dfs.replication": "1",
        "dfs.permissions.superusergroup": "supergroup",
        # The product's provider: static base groups (never the machine's /etc/group; unlisted
        # users have none) plus workspace groups from the grants tables. Hadoop's own static
        # overrides would bypass the provider, so they keep only WebHDFS's anonymous user.
        "hadoop.security.group.mapping": _GROUP_MAPPING_CLASS,
        "immuta.workspace.groups.base.class": "org.apache.hadoop.security.NullGroupsMapping",
        "immuta.workspace.groups.static": f"{mapping};",
        "hadoop.user.group.static.mapping.overrides": "dr.who=;",
        **grants,
        # A realistic cache: the provider's invalidation, not a short cache, makes grant changes
        # visible. The negative cache keeps Hadoop's default; invalidation clears it too.
        "hadoop.security.groups.cache.secs": "300",
        "hadoop.security.groups.negative-cache.secs": "30",
        f"hadoop.proxyuser.{service_user}.hosts": "127.0.0.1,localhost",
        f"hadoop.proxyuser.{service_user}.groups": "*",
        f"hadoop.proxyuser.{service_user}.users": "*",
        "hadoop.security.authentication": "simple",
        # Trash would turn deletes into renames under /user/<name>/.Trash.
        "fs.trash.interval": "0",
        "dfs.namenode.safemode.extension": "0",
        "dfs.namenode.fs-limits.min-block-size": "0",
    }


@dataclass(slots=True, kw_only=True)
class MiniHdfs(JvmServer):
    """A running test cluster. Use as a context manager, or call :meth:`stop`."""

    fs_uri: str
    webhdfs_url: str
    conf_dir: Path
    base_dir: Path
    #: JDBC URL of the workspace grants tables the NameNode polls, and its file for SQLite.
    grants_url: str | None = None
    grants_db: Path | None = None
    _jvm: JvmChild = field(repr=False)

    def access(self, user: str, *, proxy: str | None = None, counter: CallCounter | None = None) -> WebHdfsAccess:
        """A WebHDFS access object acting as ``user`` (simple auth), optionally through doas."""
        return WebHdfsAccess.insecure(self.webhdfs_url, user=user, proxy=proxy, counter=counter)

    def admin(self, counter: CallCounter | None = None) -> WebHdfsAccess:
        """Access as :data:`SUPERUSER`, which bypasses permission checks."""
        return self.access(SUPERUSER, counter=counter)

    def command(self, line: str, *, timeout: float = 300.0) -> str:
        """Send one launcher command; return its ``OK`` payload or raise MiniHdfsError."""
        try:
            return self._jvm.command(line, timeout=timeout)
        except JvmChildError as exc:
            raise MiniHdfsError(str(exc)) from exc

    def groups(self, user: str) -> tuple[str, ...]:
        """The NameNode's groups for ``user``, asked over RPC as ``hdfs groups USER`` does (sorted)."""
        if not user or any(c.isspace() for c in user):
            raise MiniHdfsError(f"{user!r}: a user name must be non-empty, no spaces")
        reply = self.command(f"groups {user}")
        return tuple(sorted(json.loads(reply.removeprefix("groups "))))

    def refresh_user_groups(self) -> None:
        """``hdfs dfsadmin -refreshUserToGroupsMappings``: the NameNode forgets its cached groups."""
        self.command("refresh-user-groups")

    @contextlib.contextmanager
    def datanode_stopped(self) -> Iterator[None]:
        """Stop the cluster's DataNode (known dead to the NameNode at once) for the block; restart it after.

        The restarted DataNode keeps its ports and its blocks, so what was written before is
        readable again once the block ends.
        """
        self.command("datanode-stop")
        try:
            yield
        finally:
            self.command("datanode-start")

    def make_tree(
        self,
        root: str,
        *,
        user: str,
        dirs: int,
        files_per_dir: int,
        dir_mode: int = 0o755,
        file_mode: int = 0o644,
    ) -> int:
        """Create ``root/dNNNNN/fNNNNN`` empty files as ``user`` over RPC (fast); return count."""
        for value in (user, root):
            if not value or any(c.isspace() for c in value):
                raise MiniHdfsError(f"{value!r}: user and root must be non-empty, no spaces")
        reply = self.command(f"mktree {user} {root} {dirs} {files_per_dir} {dir_mode:o} {file_mode:o}")
        return int(reply.split()[-1])


def start_minihdfs(
    base_dir: str | os.PathLike[str],
    *,
    groups: Mapping[str, tuple[str, ...]] = DEFAULT_GROUPS,
    service_user: str = SERVICE_USER,
    extra_properties: Mapping[str, str] | None = None,
    grants_url: str | None = None,
    timeout: float = 180.0,
    launcher_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> MiniHdfs:
    """Build (if needed) and start the cluster with its data under ``base_dir``.

    ``start_seconds`` on the result covers JVM start to ready, not the one-off Maven build.
    ``grants_url`` (``jdbc:sqlite:/path/grants.db``) names the workspace grants tables the
    NameNode's group mapping polls; the caller creates them.
    """
    build = build_launcher(launcher_dir, cache_dir)
    java = require_tool("java", JDK_HINT)
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    site = base / "minicluster-site.xml"
    site.write_bytes(_site_xml({**cluster_properties(groups, service_user, grants_url), **(extra_properties or {})}))
    data_dir = base / "data"
    cmd = [java, *_JAVA_OPTIONS, "-cp", build.java_classpath(), _LAUNCHER_CLASS, str(site), str(data_dir)]
    # Hadoop takes the login user from HADOOP_USER_NAME; the NameNode's superuser must not
    # change with whatever the calling process (or a Spark fixture) left in the environment.
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_USER_NAME", "HADOOP_PROXY_USER")}
    try:
        jvm = start_jvm(
            "MiniDFSCluster",
            cmd,
            prefix=_PROTOCOL_PREFIX,
            cwd=base,
            log_file=base / "minicluster.log",
            timeout=timeout,
            env=env,
        )
    except JvmChildError as exc:
        raise MiniHdfsError(str(exc)) from exc
    return MiniHdfs(
        fs_uri=jvm.ready["fs_uri"],
        webhdfs_url=jvm.ready["webhdfs_url"],
        conf_dir=Path(jvm.ready["conf_dir"]),
        base_dir=base,
        grants_url=grants_url,
        grants_db=sqlite_path(grants_url),
        _jvm=jvm,
    )


@contextlib.contextmanager
def minihdfs(base_dir: str | os.PathLike[str], **kwargs: object) -> Iterator[MiniHdfs]:
    """``with minihdfs(tmp) as cluster:`` — start, yield, always stop."""
    cluster = start_minihdfs(base_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield cluster
    finally:
        cluster.stop()
