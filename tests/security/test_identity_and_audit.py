"""Impersonation needs IMPERSONATE; every query and every denial is audited."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImpersonationDenied
from immuta_spark.spark import GovernedAccessDenied, GovernedTableNotFound, UnenforcedPathError
from tests.conftest import SPARK_IDENTITY
from tests.security.conftest import collect

_probe = itertools.count()


def probe() -> str:
    """A unique comment to find one statement's audit record."""
    return f"/* audit-probe-{next(_probe)} */"


def record_of(catalog: GovernanceCatalog, user: str, marker: str) -> Any:
    found = [r for r in catalog.store.audit_records(user=user) if marker in str((r.detail or {}).get("sql", ""))]
    assert len(found) == 1, f"expected one audit record for {marker}, found {len(found)}"
    return found[0]


def test_a_service_without_impersonate_cannot_act_as_a_user(sample_spark: Any, tmp_path: Path) -> None:
    from immuta_spark.spark import ImmutaSparkSession

    (tmp_path / "p.yaml").write_text(
        "version: 1\nusers:\n  - {name: svc_notebook}\n  - {name: bob}\n"
        "sources:\n  - {name: Medical, table: claims.medical, owners: [svc_notebook]}\n"  # not empty
    )
    catalog = GovernanceCatalog.open(f"sqlite:///{tmp_path / 'c.db'}", identity=SPARK_IDENTITY, create=True)
    catalog.apply(tmp_path / "p.yaml")
    with pytest.raises(ImpersonationDenied, match="IMPERSONATE"):
        ImmutaSparkSession.wrap(sample_spark, catalog=catalog, user="bob")
    denied = [r for r in catalog.store.audit_records(action="impersonate") if r.outcome == "denied"]
    assert [(r.user, r.impersonator) for r in denied] == [("bob", SPARK_IDENTITY)]
    # acting as itself needs nothing
    assert ImmutaSparkSession.wrap(sample_spark, catalog=catalog).user == SPARK_IDENTITY


def test_an_unknown_user_has_no_groups_and_sees_no_governed_data(as_user: Callable[..., Any]) -> None:
    stranger = as_user("nobody_we_know")
    with pytest.raises(GovernedTableNotFound):
        stranger.sql("SELECT * FROM claims.medical")
    assert "medical" not in [t.name for t in stranger.catalog.listTables("claims")]


def test_a_query_is_audited_with_user_impersonator_sources_and_policies(
    bob: Any, example_catalog: GovernanceCatalog
) -> None:
    marker = probe()
    collect(bob.sql(f"SELECT ssn FROM claims.medical {marker}"))
    record = record_of(example_catalog, "bob", marker)
    assert (record.action, record.outcome, record.user, record.impersonator) == ("query", "ok", "bob", SPARK_IDENTITY)
    assert record.sources == ("Medical Claims",)
    assert {"null-ssn", "office-rows", "mask-address"} <= set(record.policies)
    assert record.project is None


def test_a_query_under_a_project_is_audited_with_the_project_and_purposes(
    as_user: Callable[..., Any], example_catalog: GovernanceCatalog
) -> None:
    bob = as_user("bob", project="Fraud Prevention")
    marker = probe()
    collect(bob.sql(f"SELECT claim_id FROM claims.medical {marker}"))
    record = record_of(example_catalog, "bob", marker)
    assert (record.project, record.purposes) == ("Fraud Prevention", ("Research",))
    switches = [r for r in example_catalog.store.audit_records(user="bob", action="project.switch")]
    assert switches and switches[-1].outcome == "ok"


@pytest.mark.parametrize(
    ("user", "statement", "error", "source"),
    [
        ("dave", "SELECT * FROM claims.medical", GovernedTableNotFound, "Medical Claims"),
        ("bob", "SELECT * FROM hr.payroll", GovernedTableNotFound, "Payroll"),
        ("bob", "SELECT * FROM claims.patients", GovernedAccessDenied, "Patients"),
        ("bob", "DROP TABLE claims.medical", GovernedAccessDenied, "Medical Claims"),
        ("bob", "SELECT * FROM claims.medical VERSION AS OF 1", UnenforcedPathError, "Medical Claims"),
        ("bob", "SET spark.sql.optimizer.excludedRules=x", UnenforcedPathError, None),
    ],
)
def test_every_denial_is_audited(
    session_for: Any,
    example_catalog: GovernanceCatalog,
    user: str,
    statement: str,
    error: type[Exception],
    source: str | None,
) -> None:
    marker = probe()
    with pytest.raises(error):
        session_for(user).sql(f"{statement} {marker}")
    record = record_of(example_catalog, user, marker)
    assert (record.action, record.outcome, record.impersonator) == ("query", "denied", SPARK_IDENTITY)
    assert record.detail.get("error")
    if source is not None:
        assert source in record.sources


def test_a_refusal_is_audited_with_the_source_it_reached(
    bob: Any, example_catalog: GovernanceCatalog, medical_location: str
) -> None:
    marker = probe()
    with pytest.raises(UnenforcedPathError):
        collect(bob.sql(f"SELECT ssn FROM parquet.`{medical_location}/*` {marker}"))
    record = record_of(example_catalog, "bob", marker)
    assert record.outcome == "denied" and record.sources == ("Medical Claims",)


def test_table_and_path_reads_are_audited(
    bob: Any, dave: Any, example_catalog: GovernanceCatalog, medical_location: str
) -> None:
    before = len(example_catalog.store.audit_records(user="dave"))
    with pytest.raises(GovernedTableNotFound):
        dave.table("claims.medical")
    with pytest.raises(GovernedTableNotFound):
        dave.read.parquet(medical_location)
    after = example_catalog.store.audit_records(user="dave")[before:]
    assert [(r.action, r.outcome) for r in after] == [("query", "denied"), ("query", "denied")]
    assert all(r.sources == ("Medical Claims",) for r in after)
    before = len(example_catalog.store.audit_records(user="bob"))
    collect(bob.read.parquet(medical_location))
    after = example_catalog.store.audit_records(user="bob")[before:]
    assert [(r.outcome, r.sources) for r in after] == [("ok", ("Medical Claims",))]


_AUDITED_YAML = """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: owner}
  - {name: ann}
sources:
  - name: Audited
    table: rules.audited
    owners: [owner]
    subscription: {anyone: {}}
    policies:
      - {name: ohio, type: row, where: "state = 'Ohio'"}
"""


def test_a_query_while_another_process_holds_the_catalog_write_lock_answers_and_is_audited_once(
    governed: Any, sample_spark: Any
) -> None:
    from tests.spark.conftest import table
    from tests.unit.support import write_lock_held

    table(sample_spark, "rules.audited", [(1, "Ohio"), (2, "Iowa")], "id int, state string")
    sessions = governed(_AUDITED_YAML)
    catalog: GovernanceCatalog = sessions.catalog  # type: ignore[attr-defined]
    ann = sessions("ann")
    marker = probe()
    with write_lock_held(catalog.store.url) as holder:
        assert collect(ann.sql(f"SELECT id, state FROM rules.audited {marker}")) == [(1, "Ohio")]
        assert holder.poll() is None  # answered while the lock is still held: the record was spooled
        assert catalog.store.audit_log.spool.pending() >= 1
    catalog.store.audit_log.drain()
    record = record_of(catalog, "ann", marker)
    assert (record.outcome, record.sources, record.policies) == ("ok", ("Audited",), ("ohio",))


def test_a_query_whose_audit_record_cannot_be_made_durable_returns_no_data(
    governed: Any, sample_spark: Any, tmp_path: Path
) -> None:
    from immuta_spark.errors import CatalogError
    from immuta_spark.spark import ImmutaSparkSession
    from immuta_spark.store import Store
    from tests.spark.conftest import table
    from tests.unit.support import write_lock_held

    table(sample_spark, "rules.audited", [(1, "Ohio"), (2, "Iowa")], "id int, state string")
    sessions = governed(_AUDITED_YAML)
    url = sessions.catalog.store.url  # type: ignore[attr-defined]
    (tmp_path / "file").write_text("")
    store = Store(url, audit_spool=tmp_path / "file" / "spool")  # a spool that cannot be written
    ann = ImmutaSparkSession.wrap(sample_spark, catalog=GovernanceCatalog(store, identity=SPARK_IDENTITY), user="ann")
    with write_lock_held(url), pytest.raises(CatalogError, match="refused"):
        ann.sql("SELECT id, state FROM rules.audited")
    assert collect(ann.sql("SELECT id, state FROM rules.audited")) == [(1, "Ohio")]  # the lock is free again
