"""Fixtures for tests against a real HDFS: one MiniDFSCluster per run, always stopped.

The cluster runs in its own JVM (see ``hdfs_workspace.testing``); the Spark fixture reuses the
run's one Spark session through ``newSession()`` with ``fs.defaultFS`` set for that session only.
Nothing here skips: a missing java/javac/mvn fails the run and says which.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hdfs_workspace.errors import ToolMissing
from hdfs_workspace.grants_testing import GrantsDb
from hdfs_workspace.jvmproc import JvmChildError
from hdfs_workspace.testing import SUPERUSER, MiniHdfs, MiniHdfsError, start_minihdfs
from hdfs_workspace.webhdfs import WebHdfsAccess

_START_TIMES: list[tuple[str, float]] = []


@pytest.fixture(scope="session")
def minihdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniHdfs]:
    """The run's MiniDFSCluster, data under a pytest temp dir; stopped even when tests fail.

    Its NameNode polls the workspace grants tables in ``cluster.grants_db`` for workspace
    groups: a governance catalog created here (its tables are the grants contract), which the
    workspace tests use as their catalog and the NameNode-side tests write directly.
    """
    from immuta_spark.store import Store

    base = tmp_path_factory.mktemp("minihdfs")
    Store(f"sqlite:///{base / 'workspace-grants.db'}", create=True).engine.dispose()
    grants = GrantsDb(base / "workspace-grants.db").create()
    try:
        cluster = start_minihdfs(base, grants_url=grants.url)
    except ToolMissing as err:
        pytest.fail(f"cannot start the test HDFS: {err}", pytrace=False)
    except MiniHdfsError as err:
        pytest.fail(f"the test HDFS did not start: {err}", pytrace=False)
    _START_TIMES.append(("MiniDFSCluster", cluster.start_seconds))
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the servers' start times once per run."""
    for name, seconds in _START_TIMES:
        terminalreporter.write_line(f"{name} started in {seconds:.1f}s")


@pytest.fixture(scope="session")
def hive_metastore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The run's standalone Hive metastore (Thrift on 127.0.0.1, Derby), shared by every process.

    It acts on HDFS as each client's user (``set_ugi``), as the service identity otherwise.
    """
    from hdfs_workspace.metastore_testing import start_hive_metastore

    try:
        server = start_hive_metastore(tmp_path_factory.mktemp("metastore"))
    except (ToolMissing, JvmChildError) as err:
        pytest.fail(f"the test Hive metastore did not start: {err}", pytrace=False)
    _START_TIMES.append(("Hive metastore", server.start_seconds))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def hdfs_admin(minihdfs: MiniHdfs) -> WebHdfsAccess:
    """Acts as the superuser (member of supergroup): bypasses permission checks."""
    return minihdfs.access(SUPERUSER)


@pytest.fixture(scope="session")
def as_user(minihdfs: MiniHdfs) -> Callable[[str], WebHdfsAccess]:
    """``as_user("bob")``: access as an ordinary user (simple auth, ``user.name``)."""
    cache: dict[str, WebHdfsAccess] = {}

    def make(user: str) -> WebHdfsAccess:
        if user not in cache:
            cache[user] = minihdfs.access(user)
        return cache[user]

    return make


@pytest.fixture
def workdir(request: pytest.FixtureRequest, hdfs_admin: WebHdfsAccess) -> str:
    """A fresh directory per test, owned by alice:proj_x, mode 755, under /tests."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)[:120]
    path = f"/tests/{name}"
    hdfs_admin.makedirs("/tests", mode=0o755)
    hdfs_admin.delete(path, recursive=True)
    hdfs_admin.makedirs(path, mode=0o755)
    hdfs_admin.set_owner(path, owner="alice", group="proj_x")
    return path


@pytest.fixture(scope="session")
def hdfs_spark(spark: Any, minihdfs: MiniHdfs, hdfs_admin: WebHdfsAccess) -> Any:
    """A Spark session (sharing the run's SparkContext) whose default FS is the test HDFS.

    Spark copies a session's SQL conf into the Hadoop conf of that session's reads and writes,
    so only this session resolves scheme-less paths against HDFS; the shared one is untouched.
    HDFS checks Spark as the JVM's Hadoop identity (an ordinary user, chosen by the shared
    ``spark`` fixture); it owns ``/spark`` and its home directory.
    """
    session = spark.newSession()
    session.conf.set("fs.defaultFS", minihdfs.fs_uri)
    ugi = spark.sparkContext._jvm.org.apache.hadoop.security.UserGroupInformation
    identity = str(ugi.getCurrentUser().getShortUserName())
    for path in (f"/user/{identity}", "/spark"):
        hdfs_admin.makedirs(path, mode=0o755)
        hdfs_admin.set_owner(path, owner=identity)
    return session


# --- workspaces ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ws_catalog_url(minihdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The catalog the NameNode's group mapping reads, holding the workspace tests' governance.

    A URL, not a handle: the NameNode-side tests damage and restore that file, which a handle
    opened before would rightly refuse ever after (fail closed); each test opens its own.
    """
    from immuta_spark.catalog import GovernanceCatalog
    from tests.hdfs.workspace_support import MEMBERS, PROJECTS, acting, governance_yaml

    url = f"sqlite:///{minihdfs.grants_db}"
    catalog = GovernanceCatalog.open(url, identity="gov")
    doc = tmp_path_factory.mktemp("ws-governance") / "governance.yaml"
    doc.write_text(governance_yaml())
    catalog.apply(doc, sql_checker=None, regex_checker=None)
    for user in ("olivia", *MEMBERS):
        for project in PROJECTS:
            if user != "dave":  # out of compliance: he never acknowledges
                acting(catalog, user).acknowledge_project(project)
    catalog.store.engine.dispose()
    return url


@pytest.fixture(scope="session")
def ws_clusters(minihdfs: MiniHdfs, hdfs_admin: WebHdfsAccess, hive_metastore: Any) -> Any:
    """The clusters file of the workspace tests: the test cluster, the root owned by the service identity."""
    from hdfs_workspace.config import ClusterConfig, ClustersFile

    hdfs_admin.makedirs("/user/immuta/workspace", mode=0o755)
    hdfs_admin.set_owner("/user/immuta/workspace", owner="svc_workspace", group="services")
    cluster = ClusterConfig(
        name="test",
        webhdfs_url=minihdfs.webhdfs_url,
        fs_uri=minihdfs.fs_uri,
        auth="insecure",
        service_user="svc_workspace",
        hive_metastore_uri=hive_metastore.uri,
    )
    return ClustersFile(clusters=(cluster,))


@pytest.fixture(scope="module")
def readers(ws_catalog_url: str, hive_metastore: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A module's reader processes: one governed Spark per user (its JVM as that user), service reads on."""
    from tests.hdfs.readers import Readers

    work = tmp_path_factory.mktemp("readers")
    pool = Readers(catalog=ws_catalog_url, hive_uri=hive_metastore.uri, service="svc_workspace", work=work)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def ws_manager(ws_catalog_url: str, ws_clusters: Any, minihdfs: MiniHdfs) -> Iterator[Any]:
    """A workspace manager acting for the projects' owner olivia, HDFS as the service identity."""
    from hdfs_workspace.manager import WorkspaceManager
    from immuta_spark.catalog import GovernanceCatalog

    service = minihdfs.access("svc_workspace")
    catalog = GovernanceCatalog.open(ws_catalog_url, identity="olivia")
    try:
        yield WorkspaceManager(catalog, ws_clusters, access=lambda _: service)
    finally:
        catalog.store.engine.dispose()
