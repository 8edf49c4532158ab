"""Small helpers shared by the unit tests: build a snapshot or a catalog from YAML text."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from immuta_spark import policyfile
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.engine import Acknowledgement, Plan, Snapshot, compile_plan, make_subject
from immuta_spark.model import Governance


def load(text: str) -> Governance:
    """Validate policy-as-code text (no SQL parser: that is Spark's, tested in tests/spark)."""
    return policyfile.load_text(textwrap.dedent(text), sql_checker=None)


def snapshot(text: str, *, acknowledged: bool = True, **kwargs: object) -> Snapshot:
    """An in-memory catalog snapshot of a policy-as-code document.

    ``acknowledged``: every project member has accepted its purposes' statements (as members
    must before acting under a project), so that tests of what a project shows need not.
    """
    governance = load(text)
    if acknowledged and "acknowledgements" not in kwargs:
        bare = Snapshot(governance)
        kwargs["acknowledgements"] = {
            (p.name, user, purpose): Acknowledgement("accepted", bare.statement(purpose))
            for p in governance.projects
            for user in bare.project_members(p)
            for purpose in p.purposes
        }
    return Snapshot(governance, **kwargs)  # type: ignore[arg-type]


def acknowledge(catalog: GovernanceCatalog, user: str, project: str) -> None:
    """``user`` accepts every purpose statement of ``project`` (acting through ``catalog``'s identity)."""
    GovernanceCatalog(catalog.store, identity=user).acknowledge_project(project)


def plan(
    snap: Snapshot,
    user: str,
    source: str,
    *,
    project: str | None = None,
    schema: Sequence[tuple[str, str]] | None = None,
) -> Plan:
    """What ``user`` sees of ``source`` (the engine alone, no database)."""
    return compile_plan(snap, make_subject(snap, user, project=project), source, schema)


def write(directory: Path, text: str, name: str = "governance.yaml") -> Path:
    """Write a policy file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def open_catalog(url: str, directory: Path, text: str, *, identity: str = "gov") -> GovernanceCatalog:
    """A catalog at ``url`` bootstrapped from ``text`` by ``identity``."""
    cat = GovernanceCatalog.open(url, identity=identity, create=True)
    cat.apply(write(directory, text, "bootstrap.yaml"), sql_checker=None)
    return cat


def db_path(url: str) -> str:
    """The file behind a ``sqlite:///`` URL."""
    assert url.startswith("sqlite:///")
    return url[len("sqlite:///") :]


def raw_rows(url: str, table: str) -> list[tuple[object, ...]]:
    """Every row of a catalog table, read with the sqlite3 module (not through our code)."""
    with sqlite3.connect(db_path(url)) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


#: Every table an apply could change.
CATALOG_TABLES = (
    "entities",
    "meta",
    "secrets",
    "subscriptions",
    "audit",
    "fingerprints",
    "current_projects",
    "project_members",
    "acknowledgements",
    "project_validations",
    "dp_answers",
    "dp_spends",
)


def catalog_state(cat: GovernanceCatalog, url: str) -> dict[str, object]:
    """Everything an apply could change: the export and the raw rows of every catalog table."""
    return {"export": cat.export(), **{t: raw_rows(url, t) for t in CATALOG_TABLES}}


def applied_catalog(directory: Path, conf: Path) -> tuple[GovernanceCatalog, str]:
    """A catalog in ``directory`` holding ``conf`` (SQL unchecked), and its URL."""
    url = f"sqlite:///{directory / 'catalog.db'}"
    cat = GovernanceCatalog.open(url, identity="alice", create=True)
    cat.apply(conf, sql_checker=None)
    return cat, url


_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    """
)


@contextmanager
def write_lock_held(url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holds a SQLite catalog's write lock (``BEGIN IMMEDIATE``) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, db_path(url)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if holder.poll() is None:
            holder.communicate("\n", timeout=30)
