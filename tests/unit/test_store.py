"""The catalog store: migrations, two writing processes, secrets that never leave, append-only audit."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError
from immuta_spark.expr import SecretRef
from immuta_spark.store import LATEST_VERSION, Store
from tests.unit.conftest import CONF
from tests.unit.support import acknowledge, db_path, raw_rows, write

ROOT = Path(__file__).resolve().parents[2]


def tables(url: str) -> set[str]:
    with sqlite3.connect(db_path(url)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


# --- migrations ---------------------------------------------------------------------------


def test_a_new_catalog_is_at_the_latest_schema_version(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    assert store.created
    assert store.version() == LATEST_VERSION == 10
    assert raw_rows(catalog_url, "meta") == [
        ("catalog_id", store.catalog_id),
        ("revision", "0"),
        ("schema_version", "10"),
    ]


def test_a_version_1_catalog_is_migrated_forward_keeping_its_data(catalog_url: str) -> None:
    old = Store(catalog_url, create=True, target_version=1)
    assert old.version() == 1
    assert "fingerprints" not in tables(catalog_url)
    with old.write() as conn:
        old.append_audit(conn, user="bob", action="query", outcome="ok")
        old.bump(conn)
    with sqlite3.connect(db_path(catalog_url)) as conn:  # version 1 did not protect the audit yet
        conn.execute("UPDATE audit SET outcome = 'ok'")
    new = Store(catalog_url)
    assert new.version() == LATEST_VERSION
    assert {"fingerprints", "audit_no_update", "audit_no_delete"} <= tables(catalog_url)
    assert new.revision() == 1
    assert not new.created
    assert new.catalog_id is not None and re.fullmatch(r"[0-9a-f]{32}", new.catalog_id)  # migration 3 gave one
    assert [(r.user, r.action) for r in new.audit_records()] == [("bob", "query")]


def test_migrating_twice_is_harmless(catalog_url: str) -> None:
    first = Store(catalog_url, create=True)
    Store(catalog_url).migrate()
    assert Store(catalog_url).version() == LATEST_VERSION
    assert Store(catalog_url).catalog_id == first.catalog_id


def test_a_catalog_from_a_newer_release_is_refused(catalog_url: str) -> None:
    Store(catalog_url, create=True)
    with sqlite3.connect(db_path(catalog_url)) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogError, match="schema version 99, newer than this release understands"):
        Store(catalog_url)


@pytest.mark.parametrize(
    "url",
    ["nonsense://nowhere", "sqlite:////nonexistent-directory/deeper/catalog.db"],
    ids=["unknown-dialect", "missing-directory"],
)
def test_a_catalog_that_cannot_be_opened_is_a_catalog_error(url: str) -> None:
    with pytest.raises(CatalogError, match="catalog"):
        Store(url)
    with pytest.raises(CatalogError, match="catalog"):
        Store(url, create=True)
    assert not Path("/nonexistent-directory").exists()


def test_a_password_in_the_url_is_not_repeated_in_errors() -> None:
    with pytest.raises(CatalogError) as info:
        Store("nonsense://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


def test_a_failed_write_transaction_leaves_nothing(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    with pytest.raises(RuntimeError), store.write() as conn:
        store.append_audit(conn, user="bob", action="query", outcome="ok")
        store.bump(conn)
        raise RuntimeError("boom")
    assert store.revision() == 0
    assert store.audit_records() == []


# --- two processes writing at once --------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from immuta_spark.catalog import GovernanceCatalog

    url, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    cat = GovernanceCatalog.open(url, identity="alice")
    while not go.exists():
        time.sleep(0.005)
    for i in range(40):
        cat.add_subscriber("Payroll", f"{name}-{i}")
        cat.record(action="worker.note", outcome="ok", detail={"worker": name, "i": i})
    """
)


def test_two_processes_writing_at_once_lose_nothing_and_corrupt_nothing(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    revision = catalog.store.revision()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, catalog_url, name, str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    go.touch()
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    users = {r.user for r in catalog.subscriptions(source="Payroll")}
    assert users == {f"{n}-{i}" for n in ("p1", "p2") for i in range(40)}
    notes = catalog.audit(action="worker.note")
    assert sorted((r.detail["worker"], r.detail["i"]) for r in notes) == sorted(
        (n, i) for n in ("p1", "p2") for i in range(40)
    )
    assert len(catalog.audit(action="subscription.add")) == 80
    assert catalog.store.revision() == revision + 80
    with sqlite3.connect(db_path(catalog_url)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_two_processes_opening_a_new_catalog_at_once_both_migrate_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = "import sys; from immuta_spark.store import Store; print(Store(sys.argv[1], create=True).version())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    assert [p.communicate(timeout=60)[0].strip() for p in procs] == [str(LATEST_VERSION)] * 2
    assert Store(url).revision() == 0


# --- secrets --------------------------------------------------------------------------------


def secret_values(url: str) -> dict[tuple[str, str, str], str]:
    return {(s, o, p): v for s, o, p, v in raw_rows(url, "secrets")}


def test_every_source_and_project_gets_its_own_secrets(catalog: GovernanceCatalog, catalog_url: str) -> None:
    found = secret_values(catalog_url)
    sources = ("Medical Claims", "Patients", "Taxi Rides", "Payroll")
    expected = {("source", s, p) for s in sources for p in ("hash_salt", "token_key", "fpe_key")}
    expected.add(("project", "Fraud Prevention", "hash_salt"))
    assert set(found) == expected
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in found.values())
    assert len(set(found.values())) == len(found)


def test_secrets_survive_reapplying_and_removing_then_restoring_a_source(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    before = secret_values(catalog_url)
    catalog.apply(CONF, sql_checker=None)
    assert secret_values(catalog_url) == before
    catalog.apply(write(tmp_path, CONF.read_text().replace("name: Payroll", "name: Payroll2")), sql_checker=None)
    catalog.apply(CONF, sql_checker=None)
    assert {k: v for k, v in secret_values(catalog_url).items() if k[1] != "Payroll2"} == before


def test_the_catalog_resolves_a_secret_reference_to_its_bytes(catalog: GovernanceCatalog, catalog_url: str) -> None:
    value = secret_values(catalog_url)[("project", "Fraud Prevention", "hash_salt")]
    assert catalog.secret(SecretRef("project", "Fraud Prevention", "hash_salt")) == bytes.fromhex(value)


def test_a_secret_used_before_any_apply_is_created_once(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    first = store.secret("source", "Later", "hash_salt")
    assert len(first) == 32
    assert store.secret("source", "Later", "hash_salt") == first


def test_no_command_ever_prints_a_secret(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = list(secret_values(catalog_url).values())
    printed: list[str] = []
    acknowledge(catalog, "bob", "Fraud Prevention")

    def run(*argv: str) -> None:
        out = io.StringIO()
        cli.main(list(argv), catalog=catalog, out=out)
        captured = capsys.readouterr()
        printed.extend([out.getvalue(), captured.out, captured.err])

    run("apply", str(CONF))
    run("apply", str(CONF), "--format", "json", "--dry-run")
    run("export")
    run("export", "-o", str(tmp_path / "export.yaml"))
    printed.append((tmp_path / "export.yaml").read_text())
    snapshot = catalog.snapshot()
    for source in snapshot.sources:
        for user in [*snapshot.users, "nobody"]:
            for fmt in ("json", "text"):
                run("explain", "--source", source, "--user", user, "--format", fmt)
        run("explain", "--source", source, "--user", "bob", "--project", "Fraud Prevention", "--format", "json")
        printed.append(repr(catalog.explain(source, user="bob", project="Fraud Prevention")))
    run("subscription", "add", "--source", "Payroll", "--user", "bob")
    run("subscription", "list", "--format", "json")
    run("audit", "--format", "json")
    run("audit")
    text_out = "\n".join(printed)
    assert "Medical Claims" in text_out  # the commands did print something
    for secret in secrets:
        assert secret[:16] not in text_out
        assert secret.upper()[:16] not in text_out


# --- audit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["UPDATE audit SET outcome = 'ok'", "DELETE FROM audit"])
def test_audit_records_cannot_be_changed_or_deleted(
    catalog: GovernanceCatalog, catalog_url: str, statement: str
) -> None:
    with sqlite3.connect(db_path(catalog_url)) as conn, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(statement)
    with pytest.raises(Exception, match="append-only"), catalog.store.write() as conn:
        conn.execute(text(statement))
    assert len(catalog.audit()) == 1


def test_audit_filters(catalog: GovernanceCatalog) -> None:
    catalog.explain("Medical Claims", user="bob")
    catalog.explain("Taxi Rides", user="carol")
    catalog.record(action="query", outcome="denied", user="bob", sources=["Patients"], project="Fraud Prevention")
    assert [r.action for r in catalog.audit()] == ["apply", "explain", "explain", "query"]
    assert [r.action for r in catalog.audit(user="bob")] == ["query"]
    assert [r.sources for r in catalog.audit(action="explain")] == [("Medical Claims",), ("Taxi Rides",)]
    assert [r.action for r in catalog.audit(action="ex*")] == ["explain", "explain"]
    assert [r.action for r in catalog.audit(outcome="denied")] == ["query"]
    assert [r.action for r in catalog.audit(source="Patients")] == ["query"]
    assert [r.action for r in catalog.audit(project="Fraud Prevention")] == ["query"]
    assert [r.action for r in catalog.audit(limit=2)] == ["explain", "query"]
    first = catalog.audit()[1].time
    assert [r.action for r in catalog.audit(since=first)] == ["explain", "explain", "query"]
    assert [r.action for r in catalog.audit(until=first)] == ["apply"]


def test_a_non_governor_reads_only_their_own_audit_records(catalog: GovernanceCatalog, catalog_url: str) -> None:
    catalog.record(action="query", outcome="ok", user="bob")
    bob = GovernanceCatalog.open(catalog_url, identity="bob")
    bob.explain("Medical Claims")
    assert {r.user for r in bob.audit()} == {"bob"}
    with pytest.raises(Exception, match="needs GOVERNANCE"):
        bob.audit(user="alice")
