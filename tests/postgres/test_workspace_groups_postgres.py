"""The NameNode's workspace group mapping over PostgreSQL (the catalog's production database).

A MiniDFSCluster of its own whose ``io.immuta.hdfs.WorkspaceGroupsMapping`` polls the grants
tables in a database of the throwaway PostgreSQL server, with the JDBC user and a password
file configured as in production (the server trusts 127.0.0.1, so the password is only read).
The SQLite path and the behaviour in detail are covered by ``tests/hdfs/test_workspace_groups.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from hdfs_workspace.acl import FsAction, parse_acl_spec
from hdfs_workspace.errors import PermissionDenied
from hdfs_workspace.grants_testing import GRANTS_SCHEMA, AckTimeout
from hdfs_workspace.testing import SERVICE_USER, MiniHdfs, minihdfs
from tests.postgres.conftest import PostgresServer, libpq_url

NODE = "nn-pg"


def _schema_for_postgres() -> str:
    return GRANTS_SCHEMA.replace(
        "INSERT OR IGNORE INTO workspace_grant_generation (id, generation) VALUES (1, 0);",
        "INSERT INTO workspace_grant_generation (id, generation) VALUES (1, 0) ON CONFLICT DO NOTHING;",
    )


@pytest.fixture(scope="module")
def grants_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with the grants tables; its libpq URL."""
    url = postgres_server.create_database()
    dsn = libpq_url(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_schema_for_postgres())
    yield dsn
    postgres_server.drop_database(url)


@pytest.fixture(scope="module")
def pg_cluster(grants_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniHdfs]:
    """A MiniDFSCluster whose group mapping reads the PostgreSQL grants tables."""
    url = make_url(grants_dsn)
    base = tmp_path_factory.mktemp("minihdfs-pg")
    password_file = Path(base) / "grants.password"
    password_file.write_text("not-a-real-secret\n")
    password_file.chmod(0o600)
    jdbc = f"jdbc:postgresql://{url.host}:{url.port}/{url.database}"
    extra = {
        "immuta.workspace.grants.jdbc.user": str(url.username),
        "immuta.workspace.grants.jdbc.password.file": str(password_file),
        "immuta.workspace.node.id": NODE,
    }
    with minihdfs(base, grants_url=jdbc, extra_properties=extra) as cluster:
        yield cluster


def _change(dsn: str, sql: str, params: tuple[object, ...]) -> int:
    """One transaction: the change and the generation bump; returns the new generation."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute(sql, params)
        row = conn.execute(
            "UPDATE workspace_grant_generation SET generation = generation + 1 WHERE id = 1 RETURNING generation"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_acked(dsn: str, generation: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SELECT generation FROM workspace_grant_acks WHERE node = %s", (NODE,)).fetchone()
        seen = None if row is None else int(row[0])
        if seen is not None and seen >= generation:
            return
        if time.monotonic() > deadline:
            raise AckTimeout(f"{NODE} did not acknowledge generation {generation} (last: {seen})")
        time.sleep(0.02)


def test_grant_and_revoke_through_postgresql(pg_cluster: MiniHdfs, grants_dsn: str) -> None:
    admin, bob = pg_cluster.admin(), pg_cluster.access("bob")
    path = "/pg/ws"
    admin.makedirs("/pg", mode=0o755)
    admin.makedirs(path, mode=0o770)
    admin.set_owner(path, owner=SERVICE_USER, group="services")
    admin.set_acl(
        path,
        parse_acl_spec("user::rwx,group::rwx,group:ws_pg:rwx,mask::rwx,other::---,default:group:ws_pg:rwx"),
    )
    assert not bob.check_access(path, FsAction.WRITE)

    _wait_acked(
        grants_dsn,
        _change(
            grants_dsn,
            "INSERT INTO workspace_grants (project, user_name, hadoop_group, holder, expires_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            ("pg", "bob", "ws_pg", "s1", time.time() + 60),
        ),
    )
    bob.write_bytes(f"{path}/bob.csv", b"b", mode=0o660)

    _wait_acked(
        grants_dsn,
        _change(grants_dsn, "DELETE FROM workspace_grants WHERE user_name = %s", ("bob",)),
    )
    with pytest.raises(PermissionDenied):
        bob.read_bytes(f"{path}/bob.csv")
    # Static groups are unaffected by the database: alice is in proj_x by configuration.
    admin.makedirs("/pg/px", mode=0o750)
    admin.set_owner("/pg/px", owner=SERVICE_USER, group="proj_x")
    assert pg_cluster.access("alice").list_dir("/pg/px") == []
