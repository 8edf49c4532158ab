"""Opening never creates (issue 9, deliverable 1): missing, mistyped, empty, deleted and replaced catalogs.

Only an explicit creation (``open(url, create=True)``, ``immuta-spark init``, the first
``immuta-spark apply``) makes a catalog; a running catalog whose database was deleted, replaced
or re-created fails closed until it is opened again.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from immuta_spark.store import Store
from tests.unit.conftest import CONF
from tests.unit.support import db_path, write

SMALL = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
sources:
  - {name: Claims, table: db.claims, owners: [gov], subscription: {anyone: {}}}
"""


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def main(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


def remove(url: str) -> None:
    """Delete a SQLite catalog with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(db_path(url) + suffix).unlink(missing_ok=True)


@pytest.fixture
def governed(catalog_url: str, tmp_path: Path) -> GovernanceCatalog:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, SMALL), sql_checker=None)
    return cat


# --- opening a missing or empty database -----------------------------------------------------


def test_opening_a_missing_file_is_an_error_naming_the_url_and_creates_nothing(
    catalog_url: str, tmp_path: Path
) -> None:
    with pytest.raises(CatalogError) as info:
        GovernanceCatalog.open(catalog_url)
    message = str(info.value)
    assert catalog_url in message and "does not exist" in message
    assert f"immuta-spark init {catalog_url}" in message and "apply" in message
    assert files(tmp_path) == []
    with pytest.raises(CatalogError, match="does not exist"):
        Store(catalog_url)
    assert files(tmp_path) == []


def test_a_mistyped_path_opens_nothing_and_creates_nothing(governed: GovernanceCatalog, tmp_path: Path) -> None:
    typo = f"sqlite:///{tmp_path / 'catalgo.db'}"
    with pytest.raises(CatalogError, match="mistyped"):
        GovernanceCatalog.open(typo)
    deeper = tmp_path / "no-such-dir" / "catalog.db"
    with pytest.raises(CatalogError, match="does not exist"):
        GovernanceCatalog.open(f"sqlite:///{deeper}")
    with pytest.raises(CatalogError, match=f"the directory {deeper.parent} does not exist"):
        GovernanceCatalog.open(f"sqlite:///{deeper}", create=True)
    assert files(tmp_path) == ["catalog.db", "catalog.db-shm", "catalog.db-wal", "governance.yaml"]


def test_a_relative_url_is_checked_where_it_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CatalogError, match=str(tmp_path / "rel.db")):
        GovernanceCatalog.open("sqlite:///rel.db")
    assert GovernanceCatalog.open("sqlite:///rel.db", create=True).store.created
    assert not GovernanceCatalog.open("sqlite:///rel.db").store.created


@pytest.mark.parametrize("kind", ["zero-bytes", "another-application"])
def test_a_database_without_the_catalog_is_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "other.db"
    if kind == "zero-bytes":
        path.touch()
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(CatalogError, match="holds no catalog") as info:
        GovernanceCatalog.open(f"sqlite:///{path}")
    assert "immuta-spark init" in str(info.value)
    assert path.read_bytes() == before
    created = GovernanceCatalog.open(f"sqlite:///{path}", create=True)  # explicitly: yes
    assert created.store.created and created.store.catalog_id


def test_a_file_that_is_not_a_database_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, just some notes\n" * 20)
    with pytest.raises(CatalogError, match="could not be read"):
        GovernanceCatalog.open(f"sqlite:///{path}")


def test_create_opens_an_existing_catalog_as_it_is(governed: GovernanceCatalog, catalog_url: str) -> None:
    again = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    assert not again.store.created
    assert again.store.catalog_id == governed.store.catalog_id
    assert again.export() == governed.export()


# --- a running catalog whose database changes under it --------------------------------------


def test_a_file_deleted_under_a_running_catalog_fails_closed_and_is_never_recreated(
    governed: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    assert governed.snapshot().sources
    remove(catalog_url)
    with pytest.raises(CatalogError, match="deleted or moved") as info:
        governed.snapshot()
    assert "open it again" in str(info.value)
    for attempt in (governed.snapshot, lambda: governed.record(action="query", outcome="ok"), governed.audit):
        with pytest.raises(CatalogError, match="no longer the one this process opened"):
            attempt()
    assert "catalog.db" not in files(tmp_path)


def test_a_new_pooled_connection_never_creates_the_file(governed: GovernanceCatalog, catalog_url: str) -> None:
    remove(catalog_url)
    governed.store.engine.dispose()  # whatever connection comes next is a new one
    with pytest.raises(Exception, match="unable to open database file"), governed.store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            governed.snapshot()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert [type(e) for e in errors] == [CatalogError]
    assert not Path(db_path(catalog_url)).exists()


def test_a_different_catalog_moved_over_the_file_fails_closed(
    governed: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    GovernanceCatalog.open(f"sqlite:///{other}", identity="gov", create=True).store.engine.dispose()
    os.replace(other, db_path(catalog_url))
    with pytest.raises(CatalogError, match="replaced by another"):
        governed.snapshot()
    with pytest.raises(CatalogError, match="no longer the one this process opened"):
        governed.record(action="query", outcome="ok")


def test_a_different_catalog_copied_over_the_file_in_place_fails_closed(
    governed: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    governed.record(action="query", outcome="ok")  # pages in the WAL, the connection kept open
    other = tmp_path / "other.db"
    GovernanceCatalog.open(f"sqlite:///{other}", identity="gov", create=True).store.engine.dispose()
    inode = os.stat(db_path(catalog_url)).st_ino
    shutil.copyfile(other, db_path(catalog_url))
    assert os.stat(db_path(catalog_url)).st_ino == inode  # same file, new content
    with pytest.raises(CatalogError, match="overwritten by another database"):
        governed.snapshot()


def test_a_catalog_recreated_at_the_same_url_is_noticed(
    governed: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    remove(catalog_url)
    assert main("init", catalog_url)[0] == 0
    with pytest.raises(CatalogError, match="no longer the one this process opened"):
        governed.snapshot()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE meta SET value = 'someone-else' WHERE key = 'catalog_id'", "DELETE FROM meta WHERE key = 'catalog_id'"],
    ids=["changed", "vanished"],
)
def test_a_changed_or_vanished_catalog_id_fails_closed(
    governed: GovernanceCatalog, catalog_url: str, statement: str
) -> None:
    with sqlite3.connect(db_path(catalog_url)) as conn:
        conn.execute(statement)
    with pytest.raises(CatalogError, match="replaced or re-created") as info:
        governed.snapshot()
    assert governed.store.catalog_id in str(info.value)
    with pytest.raises(CatalogError):
        governed.snapshot()  # and stays closed


def test_a_database_emptied_under_a_running_catalog_fails_closed(governed: GovernanceCatalog, catalog_url: str) -> None:
    with sqlite3.connect(db_path(catalog_url)) as conn:
        conn.execute("DROP TABLE meta")
    with pytest.raises(CatalogError, match="no longer holds a catalog"):
        governed.snapshot()


def test_a_catalog_untouched_keeps_working(governed: GovernanceCatalog, catalog_url: str) -> None:
    other = GovernanceCatalog.open(catalog_url, identity="gov")
    other.apply(CONF, sql_checker=None)  # another process's changes are not a replacement
    assert "Medical Claims" in governed.snapshot().sources


# --- the CLI -----------------------------------------------------------------------------------


def test_watching_the_file_keeps_this_process_locks_so_no_other_process_removes_the_wal(
    governed: GovernanceCatalog, catalog_url: str
) -> None:
    # Closing a descriptor of the database file would drop this process's POSIX locks: another
    # process's last close would then think it was alone and delete the WAL under our connection.
    governed.snapshot()  # a pooled connection, idle, holding its shared lock
    for _ in range(3):
        governed.export()  # each read checks the file behind the URL
    child = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('SELECT count(*) FROM meta').fetchall(); c.close()"
    )
    subprocess.run([sys.executable, "-c", child, db_path(catalog_url)], check=True, timeout=60)
    assert Path(db_path(catalog_url) + "-wal").exists()
    assert governed.export() == GovernanceCatalog.open(catalog_url).export()


def test_init_creates_once_and_a_second_init_changes_nothing(
    catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = main("init", catalog_url)
    assert code == 0
    assert out.startswith(f"created an empty catalog at {catalog_url} (id ")
    assert "apply FILE" in out
    catalog_id = GovernanceCatalog.open(catalog_url).store.catalog_id
    assert catalog_id is not None and catalog_id in out
    GovernanceCatalog.open(catalog_url, identity="gov").apply(write(tmp_path, SMALL), sql_checker=None)
    before = GovernanceCatalog.open(catalog_url).export()
    assert main("init", catalog_url) == (1, "")
    err = capsys.readouterr().err
    assert f"error: {catalog_url} already holds a catalog (id {catalog_id}); nothing was changed" in err
    assert GovernanceCatalog.open(catalog_url).export() == before
    assert main("--catalog", catalog_url, "init")[0] == 1  # the URL may come from --catalog as well


def test_init_refuses_two_different_urls(catalog_url: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert main("--catalog", other, "init", catalog_url) == (1, "")
    assert files(tmp_path) == []


def test_the_first_apply_creates_the_catalog(catalog_url: str, tmp_path: Path) -> None:
    file = write(tmp_path, SMALL)
    code, out = main("--catalog", catalog_url, "apply", str(file))
    assert code == 0 and out.startswith("changed: 3 added")
    cat = GovernanceCatalog.open(catalog_url)
    assert list(cat.snapshot().sources) == ["Claims"]
    (record,) = cat.store.audit_records(action="apply")
    assert record.detail["bootstrap"] is True


def test_apply_of_an_invalid_file_creates_nothing(
    catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, SMALL.replace("owners: [gov]", "owners: gov"), "bad.yaml")
    assert main("--catalog", catalog_url, "apply", str(bad))[0] == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert files(tmp_path) == ["bad.yaml"]


def test_a_dry_run_apply_creates_nothing(catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, SMALL)
    assert main("--catalog", catalog_url, "apply", str(file), "--dry-run")[0] == 1
    assert "immuta-spark init" in capsys.readouterr().err
    assert files(tmp_path) == ["governance.yaml"]


@pytest.mark.parametrize(
    "argv",
    [
        ["audit"],
        ["export"],
        ["explain", "--source", "Claims"],
        ["subscription", "list"],
        ["subscription", "request", "--source", "Claims"],
    ],
    ids=lambda argv: "-".join(argv[:2]),
)
def test_no_other_command_creates_a_catalog(
    catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main("--catalog", catalog_url, *argv) == (1, "")
    err = capsys.readouterr().err
    assert err.startswith(f"error: no governance catalog at {catalog_url}: the file")
    assert f"immuta-spark init {catalog_url}" in err
    assert files(tmp_path) == []


def test_audit_limit_0_prints_no_record_and_a_negative_limit_is_bad_usage(
    governed: GovernanceCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    assert cli.main(["audit", "--limit", "0", "--format", "json"], catalog=governed, out=out) == 0
    assert out.getvalue() == "[]\n"
    out = io.StringIO()
    assert cli.main(["audit", "--limit", "1", "--format", "json"], catalog=governed, out=out) == 0
    assert len(__import__("json").loads(out.getvalue())) == 1
    with pytest.raises(SystemExit) as info:
        cli.main(["audit", "--limit", "-1"], catalog=governed)
    assert info.value.code == 2
    assert "expected a whole number >= 0, got '-1'" in capsys.readouterr().err
    assert governed.store.audit_records(limit=0) == []
    with pytest.raises(CatalogError, match="0 or more"):
        governed.store.audit_records(limit=-1)
