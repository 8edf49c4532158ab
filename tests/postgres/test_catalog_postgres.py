"""The catalog on a real PostgreSQL server: the same code and the same behaviour as on SQLite.

Migrations, apply/export, the subscription workflow, two processes writing at once, secrets and
the append-only audit, each checked on PostgreSQL. Raw rows are read with psycopg directly, not
through the code under test.
"""

from __future__ import annotations

import io
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import CatalogError, PolicyFileError
from immuta_spark.expr import SecretRef
from immuta_spark.store import LATEST_VERSION, Store
from tests.postgres.conftest import free_port, libpq_url
from tests.unit.conftest import CONF
from tests.unit.support import open_catalog, write
from tests.unit.test_policyfile_errors import CLI_CASES
from tests.unit.test_subscriptions import DOC

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("entities", "meta", "secrets", "subscriptions", "audit", "fingerprints")


# --- raw access (psycopg, not our code) -----------------------------------------------------


def raw_rows(url: str, table: str) -> list[tuple[object, ...]]:
    """Every row of a catalog table."""
    with psycopg.connect(libpq_url(url)) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def raw_execute(url: str, statement: str) -> None:
    """Run one statement and commit it."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(statement)


def schema_objects(url: str) -> set[str]:
    """The tables and (user) triggers of the catalog database."""
    with psycopg.connect(libpq_url(url)) as conn:
        names = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        names += conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
    return {n for (n,) in names}


def state(cat: GovernanceCatalog, url: str) -> dict[str, object]:
    """Everything an apply could change: the export and the raw rows of every catalog table."""
    return {"export": cat.export(), **{t: raw_rows(url, t) for t in TABLES}}


def secret_values(url: str) -> dict[tuple[str, str, str], str]:
    return {(s, o, p): v for s, o, p, v in raw_rows(url, "secrets")}


@pytest.fixture
def catalog(catalog_url: str) -> GovernanceCatalog:
    """A PostgreSQL catalog holding conf/governance.yaml, acting as the governor alice."""
    cat = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    cat.apply(CONF, sql_checker=None)
    return cat


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a Python process running ``code`` with ``args`` (from the repository root)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(procs: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; each must succeed. Their standard outputs, stripped."""
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return outs


READY_THEN_WAIT = """
import sys, time
from pathlib import Path
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.store import Store

print("ready", flush=True)
go = Path(sys.argv[-1])
while not go.exists():
    time.sleep(0.001)
"""


def at_once(statement: str, argvs: list[tuple[str, ...]], tmp_path: Path) -> list[str]:
    """Run ``statement`` in one process per argument vector, all starting it at the same moment; their outputs."""
    go = tmp_path / "go"
    procs = [run_python(READY_THEN_WAIT + statement, *argv, str(go)) for argv in argvs]
    for p in procs:  # each has imported everything and waits: then all start together
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    return finish(procs)


# --- migrations ---------------------------------------------------------------------------


def test_a_new_catalog_is_at_the_latest_schema_version_and_records_it(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    assert store.version() == LATEST_VERSION == 10
    assert raw_rows(catalog_url, "meta") == [
        ("catalog_id", store.catalog_id),
        ("revision", "0"),
        ("schema_version", "10"),
    ]
    assert {*TABLES, "audit_append_only"} <= schema_objects(catalog_url)


def test_a_version_1_catalog_is_migrated_forward_keeping_its_data(catalog_url: str) -> None:
    old = Store(catalog_url, create=True, target_version=1)
    assert old.version() == 1
    assert "fingerprints" not in schema_objects(catalog_url)
    with old.write() as conn:
        old.append_audit(conn, user="bob", action="query", outcome="ok")
        old.bump(conn)
    raw_execute(catalog_url, "UPDATE audit SET outcome = 'ok'")  # version 1 did not protect the audit yet
    new = Store(catalog_url)
    assert new.version() == LATEST_VERSION
    assert {"fingerprints", "audit_append_only"} <= schema_objects(catalog_url)
    meta = [("catalog_id", new.catalog_id), ("revision", "1"), ("schema_version", "10")]
    assert raw_rows(catalog_url, "meta") == meta
    assert new.catalog_id is not None and len(new.catalog_id) == 32  # migration 3 gave it an identity
    assert [(r.user, r.action) for r in new.audit_records()] == [("bob", "query")]
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        raw_execute(catalog_url, "UPDATE audit SET outcome = 'ok'")


def test_migrating_twice_is_harmless(catalog_url: str) -> None:
    first = Store(catalog_url, create=True)
    Store(catalog_url).migrate()
    assert Store(catalog_url).version() == LATEST_VERSION
    assert raw_rows(catalog_url, "meta") == [
        ("catalog_id", first.catalog_id),
        ("revision", "0"),
        ("schema_version", "10"),
    ]


def test_a_catalog_from_a_newer_release_is_refused_and_left_untouched(catalog_url: str) -> None:
    first = Store(catalog_url, create=True)
    raw_execute(catalog_url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogError, match="schema version 99, newer than this release understands"):
        Store(catalog_url)
    assert raw_rows(catalog_url, "meta") == [
        ("catalog_id", first.catalog_id),
        ("revision", "0"),
        ("schema_version", "99"),
    ]


def test_processes_opening_a_new_catalog_at_once_all_migrate_it(catalog_url: str, tmp_path: Path) -> None:
    code = "s = Store(sys.argv[1], create=True); print(s.version(), s.catalog_id)"
    found = at_once(code, [(catalog_url,)] * 6, tmp_path)
    (catalog_id,) = {line.split()[1] for line in found}  # one catalog, created once
    assert [line.split()[0] for line in found] == [str(LATEST_VERSION)] * len(found)
    assert raw_rows(catalog_url, "meta") == [("catalog_id", catalog_id), ("revision", "0"), ("schema_version", "10")]


def test_a_read_transaction_sees_one_consistent_view(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    with store.read() as conn:
        before = store.revision(conn)
        with store.write() as other:  # another transaction commits meanwhile
            store.bump(other)
            store.append_audit(other, user="bob", action="query", outcome="ok")
        assert store.revision(conn) == before
        assert store.subscriptions(conn) == []
        assert conn.execute(text("SELECT count(*) FROM audit")).scalar_one() == 0
    assert store.revision() == before + 1


def test_an_unreachable_server_is_a_catalog_error_that_hides_the_password() -> None:
    url = f"postgresql+psycopg://gov:hunter2@127.0.0.1:{free_port()}/catalog"
    with pytest.raises(CatalogError, match="catalog") as info:
        Store(url)
    assert "hunter2" not in str(info.value)


def test_a_failed_write_transaction_leaves_nothing(catalog_url: str) -> None:
    store = Store(catalog_url, create=True)
    with pytest.raises(RuntimeError), store.write() as conn:
        store.append_audit(conn, user="bob", action="query", outcome="ok")
        store.bump(conn)
        raise RuntimeError("boom")
    assert store.revision() == 0
    assert raw_rows(catalog_url, "audit") == []


# --- apply and export ---------------------------------------------------------------------


def test_the_example_file_exports_exactly_as_on_sqlite(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    on_sqlite = GovernanceCatalog.open(f"sqlite:///{tmp_path / 'catalog.db'}", identity="alice", create=True)
    on_sqlite.apply(CONF, sql_checker=None)
    assert catalog.export() == on_sqlite.export()
    assert catalog.snapshot().governance == on_sqlite.snapshot().governance


def test_applying_the_same_file_twice_changes_nothing(catalog: GovernanceCatalog, catalog_url: str) -> None:
    before = state(catalog, catalog_url)
    result = catalog.apply(CONF, sql_checker=None)
    assert result.is_noop
    assert state(catalog, catalog_url) == before


def test_the_export_applies_back_as_no_change(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    out = io.StringIO()
    assert cli.main(["export"], catalog=catalog, out=out) == 0
    exported = write(tmp_path, out.getvalue(), "exported.yaml")
    out = io.StringIO()
    assert cli.main(["apply", str(exported)], catalog=catalog, out=out) == 0
    assert out.getvalue() == "no changes\n"


@pytest.mark.parametrize(("bad", "path", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_an_invalid_file_changes_nothing(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path, bad: str, path: str, fragment: str
) -> None:
    before = state(catalog, catalog_url)
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(write(tmp_path, bad, "bad.yaml"), sql_checker=None)
    assert info.value.path == path
    assert fragment in info.value.reason
    assert state(catalog, catalog_url) == before


def test_an_apply_that_removes_and_changes_entities_is_stored(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    renamed = write(tmp_path, CONF.read_text().replace("name: Payroll", "name: Payroll2"))
    result = catalog.apply(renamed, sql_checker=None)
    assert ("source:Payroll2", "source:Payroll") == (*result.added, *result.removed)
    assert "Payroll2" in catalog.snapshot().sources
    assert "Payroll" not in catalog.snapshot().sources
    assert catalog.store.revision() == result.revision == 2


# --- subscriptions --------------------------------------------------------------------------


def test_the_subscription_workflow_round_trips(catalog_url: str, tmp_path: Path) -> None:
    store = open_catalog(catalog_url, tmp_path, DOC).store
    bob, olga, ann, gov = (GovernanceCatalog(store, identity=u) for u in ("bob", "olga", "ann", "gov"))

    assert bob.request_subscription("Approved", reason="quarterly report").status == "requested"
    first = olga.approve_subscription("Approved", "bob")
    assert (first.status, first.approvals, first.added) == ("requested", ("owner",), False)
    assert not bob.explain("Approved").subscribed
    second = ann.approve_subscription("Approved", "bob")
    assert (second.status, second.approvals) == ("subscribed", ("group:Auditors", "owner"))
    assert bob.explain("Approved").subscribed

    assert olga.revoke_subscription("Approved", "bob").status == "revoked"
    assert not bob.explain("Approved").subscribed
    assert bob.request_subscription("Approved").status == "requested"
    denied = ann.deny_subscription("Approved", "bob", reason="no need")
    assert (denied.status, denied.reason, denied.approvals) == ("denied", "no need", ())

    added = olga.add_subscriber("Listed", "dave")
    assert (added.status, added.added) == ("subscribed", True)
    assert GovernanceCatalog(store, identity="dave").explain("Listed").subscribed

    assert {(r.source, r.user, r.status, r.added) for r in gov.subscriptions()} == {
        ("Approved", "bob", "denied", False),
        ("Listed", "dave", "subscribed", True),
    }
    assert [(r.action, r.user) for r in gov.audit(action="subscription.*")] == [
        ("subscription.request", "bob"),
        ("subscription.approve", "olga"),
        ("subscription.approve", "ann"),
        ("subscription.revoke", "olga"),
        ("subscription.request", "bob"),
        ("subscription.deny", "ann"),
        ("subscription.add", "olga"),
    ]
    # The action filter means the same on PostgreSQL as on SQLite: * only, any case, _ literal.
    assert len(gov.audit(action="SUBSCRIPTION.*")) == 7
    assert gov.audit(action="subscription_*") == []
    stored = {(s, u, added) for s, u, _st, _ap, added, _r, _t in raw_rows(catalog_url, "subscriptions")}
    assert stored == {("Approved", "bob", False), ("Listed", "dave", True)}
    assert all(type(added) is bool for _s, _u, added in stored)  # a real boolean column


def test_concurrent_approvals_are_not_lost(catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_catalog(catalog_url, tmp_path, DOC).store
    GovernanceCatalog(store, identity="bob").request_subscription("Approved")
    olga, ann = GovernanceCatalog(store, identity="olga"), GovernanceCatalog(store, identity="ann")
    stale = olga.snapshot()  # olga decides on what she saw before ann approved
    ann.approve_subscription("Approved", "bob")
    monkeypatch.setattr(olga, "snapshot", lambda: stale)
    record = olga.approve_subscription("Approved", "bob")
    assert (record.status, record.approvals) == ("subscribed", ("group:Auditors", "owner"))


# --- two processes writing at once --------------------------------------------------------


WRITER = """
cat = GovernanceCatalog.open(sys.argv[1], identity="alice")
for i in range(40):
    cat.add_subscriber("Payroll", f"{sys.argv[2]}-{i}")
    cat.record(action="worker.note", outcome="ok", detail={"worker": sys.argv[2], "i": i})
"""


def test_two_processes_writing_at_once_lose_nothing(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    revision = catalog.store.revision()
    at_once(WRITER, [(catalog_url, "p1"), (catalog_url, "p2")], tmp_path)
    users = {r.user for r in catalog.subscriptions(source="Payroll")}
    assert users == {f"{n}-{i}" for n in ("p1", "p2") for i in range(40)}
    notes = catalog.audit(action="worker.note")
    assert sorted((r.detail["worker"], r.detail["i"]) for r in notes) == sorted(
        (n, i) for n in ("p1", "p2") for i in range(40)
    )
    writers = [r.detail["worker"] for r in notes]
    assert sum(a != b for a, b in pairwise(writers)) > 1, "the two processes did not write at the same time"
    assert len(catalog.audit(action="subscription.add")) == 80
    assert catalog.store.revision() == revision + 80


# --- secrets --------------------------------------------------------------------------------


def test_secrets_are_generated_once_and_identical_across_reopening(
    catalog: GovernanceCatalog, catalog_url: str, tmp_path: Path
) -> None:
    before = secret_values(catalog_url)
    sources = ("Medical Claims", "Patients", "Taxi Rides", "Payroll")
    expected = {("source", s, p) for s in sources for p in ("hash_salt", "token_key", "fpe_key")}
    assert set(before) == {*expected, ("project", "Fraud Prevention", "hash_salt")}
    assert len(set(before.values())) == len(before)

    reopened = GovernanceCatalog.open(catalog_url, identity="alice")
    reopened.apply(CONF, sql_checker=None)
    reopened.apply(write(tmp_path, CONF.read_text().replace("name: Payroll", "name: Payroll2")), sql_checker=None)
    reopened.apply(CONF, sql_checker=None)
    assert {k: v for k, v in secret_values(catalog_url).items() if k[1] != "Payroll2"} == before
    ref = SecretRef("project", "Fraud Prevention", "hash_salt")
    assert reopened.secret(ref) == catalog.secret(ref) == bytes.fromhex(before[ref.scope, ref.owner, ref.purpose])


def test_processes_asking_for_a_new_secret_at_once_get_the_same_bytes(catalog_url: str, tmp_path: Path) -> None:
    Store(catalog_url, create=True)
    values = at_once("print(Store(sys.argv[1]).secret('source', 'L', 'k').hex())", [(catalog_url,)] * 6, tmp_path)
    assert len(set(values)) == 1
    assert len(bytes.fromhex(values[0])) == 32
    assert Store(catalog_url).secret("source", "L", "k").hex() == values[0]
    assert len(raw_rows(catalog_url, "secrets")) == 1


# --- audit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit SET outcome = 'ok'", "DELETE FROM audit", "TRUNCATE audit"],
    ids=["update", "delete", "truncate"],
)
def test_audit_records_cannot_be_changed_or_deleted(
    catalog: GovernanceCatalog, catalog_url: str, statement: str
) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        raw_execute(catalog_url, statement)
    with pytest.raises(Exception, match="append-only"), catalog.store.write() as conn:
        conn.execute(text(statement))
    assert len(catalog.audit()) == 1


def test_audit_filters(catalog: GovernanceCatalog) -> None:
    catalog.explain("Medical Claims", user="bob")
    catalog.explain("Taxi Rides", user="carol")
    catalog.record(action="query", outcome="denied", user="bob", sources=["Patients"], project="Fraud Prevention")
    assert [r.action for r in catalog.audit()] == ["apply", "explain", "explain", "query"]
    assert [r.action for r in catalog.audit(user="bob")] == ["query"]
    assert [r.action for r in catalog.audit(action="ex*")] == ["explain", "explain"]
    assert [r.action for r in catalog.audit(outcome="denied")] == ["query"]
    assert [r.action for r in catalog.audit(source="Patients")] == ["query"]
    assert [r.action for r in catalog.audit(project="Fraud Prevention")] == ["query"]
    assert [r.action for r in catalog.audit(limit=2)] == ["explain", "query"]
    first = catalog.audit()[1].time
    assert [r.action for r in catalog.audit(since=first)] == ["explain", "explain", "query"]
    assert [r.action for r in catalog.audit(until=first)] == ["apply"]
