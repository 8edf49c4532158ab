"""The driver program of the cluster test: governed queries on a standalone cluster.

Run as ``python cluster_job.py MASTER_URL WORKDIR``; prints one JSON line with what it saw.
A separate process because one Python process holds one SparkContext, and the test suite's
own local session already is one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(master: str, workdir: str) -> int:
    """Create the sample tables, apply conf/, run one query as two users on the cluster."""
    work = Path(workdir)
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark import ImmutaSparkSession
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.sample import create_sample_tables

    extra = {
        "spark.executor.memory": "512m",
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        "spark.pyspark.python": sys.executable,
    }
    spark = local_spark(
        work, master=master, app="immuta-spark-cluster-test", identity="svc_notebook", shuffle_partitions=4, extra=extra
    )
    try:
        create_sample_tables(spark)
        conf = Path(__file__).resolve().parents[2] / "conf" / "governance.yaml"
        catalog = GovernanceCatalog.open(f"sqlite:///{work / 'catalog.db'}", identity="svc_notebook", create=True)
        catalog.apply(conf)
        out: dict[str, object] = {}
        query = "SELECT claim_id, ssn, ip, state FROM claims.medical"
        for user in ("bob", "alice"):
            # The repartition makes the executors shuffle and compute the masked rows.
            df = ImmutaSparkSession.wrap(spark, catalog=catalog, user=user).sql(query).repartition(4, "claim_id")
            out[user] = sorted(([r.claim_id, r.ssn, r.ip, r.state] for r in df.collect()), key=lambda r: int(r[0]))
        out["executors"] = int(spark.sparkContext._jsc.sc().getExecutorIds().size())  # type: ignore[union-attr]
        print("RESULT " + json.dumps(out))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
