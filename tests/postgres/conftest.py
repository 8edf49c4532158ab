"""A throwaway PostgreSQL 15 server for the catalog's PostgreSQL path, started by the tests themselves.

One server per test session: ``initdb`` into a temporary directory, ``pg_ctl start`` on 127.0.0.1
and a free port (its unix socket in the same directory), trust authentication, ``fsync`` off (the
data is thrown away). As root the server runs as the ``postgres`` OS user, since PostgreSQL refuses
to run as root. Every test gets a database of its own. A missing server is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

#: Where Debian puts the server binaries; PATH (e.g. /usr/local/bin symlinks) is the fallback.
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"


def _binary(name: str) -> str:
    candidate = PG_BIN / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"the PostgreSQL server binary '{name}' is missing: install PostgreSQL 15 "
            "(Debian: apt-get install postgresql); the PostgreSQL catalog tests need a real server"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` OS user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {done.stdout}{done.stderr}")


def libpq_url(url: str) -> str:
    """The libpq form (``postgresql://...``) of a SQLAlchemy URL, for connecting with psycopg directly."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running throwaway server: create databases on it."""

    host: str
    port: int
    _names: Iterator[int]

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{SERVER_USER}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"catalog_{next(self._names)}"
        with psycopg.connect(libpq_url(self.url("postgres")), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database, ending any connection still open to it."""
        import psycopg

        name = make_url(url).database
        with psycopg.connect(libpq_url(self.url("postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start PostgreSQL 15 on 127.0.0.1 for the session; always stop it and remove its files."""
    try:
        import psycopg  # noqa: F401 - fail early and clearly without the driver
    except ImportError:
        pytest.fail("the PostgreSQL driver is missing: pip install 'psycopg[binary]>=3.1' (the dev extra has it)")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="immuta-pg-"))
    if os.geteuid() == 0:  # the server's files belong to the user it runs as
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"running as root needs the OS user '{SERVER_USER}' (Debian: apt-get install postgresql)")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    started = False
    try:
        _run(
            [initdb, "-D", str(data), "-U", SERVER_USER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            "initdb",
        )
        for _attempt in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            argv = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
            done = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120, check=False)
            if done.returncode == 0:
                started = True
                break
        if not started:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{server_log}")
        yield PostgresServer("127.0.0.1", port, itertools.count(1))
    finally:
        if (data / "postmaster.pid").exists():  # also a server that started too slowly for pg_ctl -w
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def catalog_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(autouse=True)
def _no_jvm(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never start a JVM: the default SQL checker (Spark's parser) is switched off."""
    monkeypatch.setattr("immuta_spark.checkers.default_sql_checker", lambda: None)
    monkeypatch.setattr("immuta_spark.checkers.default_regex_checker", lambda: None)
