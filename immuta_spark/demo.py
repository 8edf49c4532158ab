"""``make demo``: one query, three users, on embedded defaults.

Everything lives under ``.demo/`` (SQLite catalog, Derby metastore, warehouse); each run starts
afresh. The Spark JVM runs as the service identity ``svc_notebook``, which may impersonate, as
a notebook server would.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["QUERY", "main"]

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "governance.yaml"
QUERY = "SELECT claim_id, ssn, address, state, ip, amount, claim_date FROM claims.medical ORDER BY claim_id"
WHY = {
    "alice": "Legal: sees ssn and address; amount rounded outside Missouri (not Finance); all states.",
    "bob": "Ohio office: ssn and address nulled, ip's last octet hidden, dates to the month, Ohio rows only.",
    "carol": "Finance: every state and exact amounts and dates; ssn and address still nulled.",
}


def main(workdir: Path | None = None) -> int:
    """Start local Spark, create the sample tables, apply conf/, run QUERY as three users."""
    work = workdir or ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    import logging

    from pyspark.logger import PySparkLogger

    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark import ImmutaSparkSession
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.sample import create_sample_tables

    started = time.perf_counter()
    spark = local_spark(work, app="immuta-spark-demo", identity="svc_notebook")
    try:
        create_sample_tables(spark)
        catalog = GovernanceCatalog.open(f"sqlite:///{work / 'catalog.db'}", identity="svc_notebook", create=True)
        print(f"Spark {spark.version} up in {time.perf_counter() - started:.1f}s; catalog at {work / 'catalog.db'}")
        print(f"applying {CONF.relative_to(ROOT)}: {catalog.apply(CONF).summary()}")
        print(f"\nquery: {QUERY}\n")
        for user, why in WHY.items():
            session = ImmutaSparkSession.wrap(spark, catalog=catalog, user=user)
            df = session.sql(QUERY)
            print(f"--- {user}: {why}")
            print(df._jdf.showString(20, 20, False))
        dave = ImmutaSparkSession.wrap(spark, catalog=catalog, user="dave")
        # pyspark logs every analysis error as a JSON line on stderr; the demo prints it itself.
        PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        try:
            dave.sql(QUERY)
        except Exception as exc:  # noqa: BLE001 - shown to the reader as the point of the demo
            first = str(exc).splitlines()[0]
            print(f"--- dave: not in the Medical Claims group, so the table does not exist for him:\n{first}")
        bob = ImmutaSparkSession.wrap(spark, catalog=catalog, user="bob")
        print("\n--- bob, every way in reaches the same enforcement (the analyzer enforces, not the SQL text):")
        for label, rows in (
            ("EXECUTE IMMEDIATE", bob.sql("EXECUTE IMMEDIATE 'SELECT count(*), max(ssn) FROM claims.medical'")),
            ("a view over the table", _view_rows(bob)),
            ("SparkSession.builder.getOrCreate()", _notebook_rows()),
        ):
            print(f"  {label:<36} count, max(ssn) = {tuple(rows.collect()[0])}")
        masked = {f.name: f.metadata.get("immuta.policy") for f in bob.table("claims.medical").schema.fields}
        print(f"  the schema says what is masked: {', '.join(f'{k} by {v}' for k, v in masked.items() if v)}")
        catalog_file = work / "catalog.db"
        for label, attempt in (
            ("the catalog's own file (its salts)", lambda: bob.read.format("binaryFile").load(str(catalog_file))),
            ("input_file_name() (partition paths)", lambda: bob.sql("SELECT input_file_name() FROM claims.medical")),
        ):
            try:
                attempt().collect()
                print(f"  {label:<36} READ (this is a bug)")
            except Exception as exc:  # noqa: BLE001 - the refusal is what the demo shows
                print(f"  {label:<36} refused: {str(exc).splitlines()[0][:90]}...")
        print("\n--- projects: alice creates one at run time and adds bob; he accepts its purpose first:")
        alice = GovernanceCatalog(catalog.store, identity="alice")
        alice.create_project("Ride Study", purposes=["Research"], sources=["Taxi Rides"], description="fares")
        alice.add_project_member("Ride Study", "bob")
        try:
            bob.set_project("Ride Study")
        except Exception as exc:  # noqa: BLE001 - the refusal is what the demo shows
            print("  switch before accepting: " + str(exc).split(";")[0])
        for purpose, statement in bob.acknowledge_project("Ride Study"):
            print(f"  bob accepts [{purpose}] {statement!r}")
        bob.acknowledge_project("Fraud Prevention")
        again = alice.apply(CONF).summary()  # the file is the whole state of what files declare, not of runtime state
        kept = [m.user for m in alice.project("Ride Study").members or ()]
        print(f"  alice re-applies {CONF.name}: {again}; 'Ride Study' is kept, with {', '.join(kept)}")
        print("\n--- bob switches project (his own setting in the catalog: every session of his follows it):")
        for project in (None, "Fraud Prevention", "Ride Study"):
            if project is not None:
                bob.set_project(project)
            for table in ("claims.medical", "transport.rides"):
                try:
                    answer = f"{bob.table(table).count()} rows"
                except Exception as exc:  # noqa: BLE001 - the refusal is what the demo shows
                    answer = "refused: " + str(exc).splitlines()[0].split(": ", 1)[-1][:80] + "..."
                print(f"  under {project or 'no project':<16} {table:<16} {answer}")
        bob.set_project(None)
        equalized = alice.project("Fraud Prevention").entitlement
        print(f"  Fraud Prevention is equalized: every member is evaluated as holding exactly {equalized},")
        print("  what alice, bob and carol all hold of what its sources test (no office location in common:")
        print("  the office-rows policy leaves no rows, for every member alike)")
        _differential_privacy(bob, catalog)
        print("\n--- governance does not stop at the first write: alice (Legal) copies the claims she sees unmasked")
        spark.sql("CREATE DATABASE IF NOT EXISTS alice_db")
        alice_session = ImmutaSparkSession.wrap(spark, catalog=catalog, user="alice")
        alice_session.table("claims.medical").write.saveAsTable("alice_db.claims_copy")
        copy = GovernanceCatalog(catalog.store, identity="alice").derived_source("alice_db.claims_copy")
        print(f"  registered at once as derived source '{copy.name}' from {', '.join(copy.parents)};")
        print(f"  a reader must hold what alice saw it with: {copy.entitlement}")
        print(f"  its inherited subscription policy: {copy.subscription}")
        for reader in ("alice", "bob"):
            try:
                answer = (
                    f"{ImmutaSparkSession.wrap(spark, catalog=catalog, user=reader).table(copy.table).count()} rows"
                )
            except Exception as exc:  # noqa: BLE001 - the refusal is what the demo shows
                answer = "refused: " + str(exc).splitlines()[0][:90] + "..."
            print(f"  {reader} reads the copy: {answer}")
        print("\naudit (newest 5):")
        for record in catalog.store.audit_records(limit=5):
            print(f"  {record.time[:19]}  {record.user:<6} via {record.impersonator or '-':<13} {record.action:<8} "
                  f"{record.outcome:<7} {','.join(record.sources)}  [{','.join(record.policies)}]")  # fmt: skip
    finally:
        spark.stop()
    return 0


def _differential_privacy(bob: Any, catalog: Any) -> None:
    from immuta_spark.catalog import GovernanceCatalog

    print("\n--- differential privacy: Taxi Rides answers bob only noisy aggregates (policy rides-dp, epsilon 1):")
    query = "SELECT count(*) AS rides, avg(fare) AS mean_fare FROM transport.rides"
    first = bob.sql(query).collect()[0]
    print(f"  {query}\n    -> rides {first['rides']}, mean_fare {first['mean_fare']}")
    print("    (noisy: his row filters leave him a few rides, so the noise is as large as the answer)")
    again = bob.sql("SELECT avg(r.fare) AS m, count(*) AS n FROM transport.rides r").collect()[0]
    print(f"  the same query, other names: rides {again['n']}, mean_fare {again['m']} (the cached answer, no spend)")
    groups = bob.sql("SELECT region, count(*) AS n FROM transport.rides GROUP BY region").collect()
    print(f"  GROUP BY region releases {len(groups)} groups: a region's key shows only if its noisy count passes")
    print("  a threshold, and each region has only a few rides")
    try:
        bob.sql("SELECT * FROM transport.rides").collect()
        print("  SELECT * READ (this is a bug)")
    except Exception as exc:  # noqa: BLE001 - the refusal is what the demo shows
        print(f"  SELECT * refused: {str(exc).splitlines()[0][:110]}...")
    for line in GovernanceCatalog(catalog.store, identity="bob").dp_budget("bob"):
        print(f"  bob's budget on {line.source}: spent {line.spent:g} of {line.budget:g} per {line.period}")


def _view_rows(session: Any) -> Any:
    session.sql("CREATE OR REPLACE TEMP VIEW everything AS SELECT * FROM claims.medical")
    return session.sql("SELECT count(*), max(ssn) FROM everything")


def _notebook_rows() -> Any:
    from pyspark.sql import SparkSession

    # What a notebook cell gets: the last governed session's own Spark session, which enforces.
    return SparkSession.builder.getOrCreate().sql("SELECT count(*), max(ssn) FROM claims.medical")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
