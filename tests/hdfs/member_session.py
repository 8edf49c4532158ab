"""A member's own governed Spark session, in its own process, as that member on the test HDFS.

Run by tests/hdfs/test_workspace_writes.py and test_workspace_hive.py: ``python member_session.py
SPEC_JSON``. The JVM's Hadoop identity is the member (``HADOOP_USER_NAME``), so HDFS checks the
member, not a service. A spec with ``runs`` (a list of per-project specs) does each run in turn in
the one session, so a module pays for one JVM, not one per project. It prints one JSON object per
line: what each step saw (with ``run``, the run's index, when there are runs).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def say(**data: object) -> None:
    print(json.dumps(data), flush=True)


def wait_in_force(catalog: object) -> None:
    deadline = time.monotonic() + 20
    while True:
        generation, acks = catalog.grant_generation()  # type: ignore[attr-defined]
        if acks and all(g >= generation for g, _ in acks.values()):
            return
        if time.monotonic() > deadline:
            raise SystemExit("the NameNode did not acknowledge the grants in 20 s")
        time.sleep(0.02)


def act(spark: Any, governed: Any, catalog: Any, spec: dict[str, Any], say: Any) -> None:
    """One project's steps: act under it, copy and save enforced data there, switch out, try again."""
    from immuta_spark.errors import ImmutaSparkError

    project, ws = spec["project"], spec["workspace_uri"]
    governed.set_project(project)
    wait_in_force(catalog)
    time.sleep(float(spec.get("hold_seconds", 0)))  # longer than the lease: only renewal keeps access
    governed.table("db.ledger").write.mode("overwrite").parquet(f"{ws}/copy")
    rows = sorted(r["region"] for r in spark.read.parquet(f"{ws}/copy").collect())
    say(step="copied", regions=rows)
    table = spec.get("hive_table")
    if table and spec.get("derive"):  # registered as a derived source living in the workspace
        made = governed.create_derived_source(spec["derive"], governed.table("db.ledger"), ["Ledger"], table=table)
        say(step="table", regions=sorted(r["region"] for r in spark.table(table).collect()), source=made.name)
    elif table:
        governed.table("db.ledger").write.mode("overwrite").saveAsTable(table)
        say(step="table", regions=sorted(r["region"] for r in spark.table(table).collect()))
    governed.set_project(None)
    wait_in_force(catalog)
    try:
        governed.table("db.ledger").write.mode("overwrite").parquet(f"{ws}/late")
        say(step="late-write", outcome="written")
    except ImmutaSparkError as exc:
        say(step="late-write", outcome="refused", error=str(exc))
    try:
        spark.read.parquet(f"{ws}/copy").collect()
        say(step="raw-read-after", outcome="read")
    except Exception as exc:  # noqa: BLE001 - the NameNode's refusal, as Spark reports it
        say(step="raw-read-after", outcome="refused", error=str(exc)[:400])
    if table:
        try:
            spark.table(table).collect()
            say(step="raw-table-after", outcome="read")
        except Exception as exc:  # noqa: BLE001 - the NameNode's refusal, as Spark reports it
            text = str(exc)
            denied = "AccessControlException" in text or "Permission denied" in text
            say(step="raw-table-after", outcome="refused", denied_by_namenode=denied, error=text[:400])


def main() -> None:
    spec = json.loads(sys.argv[1])
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.session import ImmutaSparkSession

    runs = spec.get("runs") or [spec]
    user = spec["user"]
    extra = {"spark.immuta.dataRoots": ",".join(r["workspace_uri"] for r in runs)}
    if spec.get("lease_seconds"):  # a short lease: the session's heartbeat must keep the grant alive
        extra["spark.immuta.workspace.leaseSeconds"] = str(spec["lease_seconds"])
    if spec.get("hive_uri"):  # the shared metastore, which the workspace manager also uses
        extra["spark.hadoop.hive.metastore.uris"] = spec["hive_uri"]
    spark = local_spark(Path(spec["work"]), master="local[1]", identity=user, extra=extra)
    spark.sql("CREATE DATABASE IF NOT EXISTS db")
    spark.createDataFrame([("Ohio", 1), ("Texas", 2)], "region string, amount int").write.mode("overwrite").saveAsTable(
        "db.ledger"
    )
    catalog = GovernanceCatalog.open(spec["catalog"], identity=user)
    governed = ImmutaSparkSession(spark, catalog)
    for index, run in enumerate(runs):
        tag = {"run": index} if "runs" in spec else {}
        act(spark, governed, catalog, run, lambda **data: say(**data, **tag))  # noqa: B023 - called at once
    spark.stop()


if __name__ == "__main__":
    main()
