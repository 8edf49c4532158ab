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
        out["jvm_masks"] = _jvm_masks(spark)
        out["executors"] = int(spark.sparkContext._jsc.sc().getExecutorIds().size())  # type: ignore[union-attr]
        print("RESULT " + json.dumps(out))
    finally:
        spark.stop()
    return 0


def _jvm_masks(spark: object) -> dict[str, bool]:
    """Whether the JVM mask classes reach the executors and give the Python references' values there."""
    from immuta_spark.expr import Cast, Column, FormatPreserve, SecretRef, Token
    from immuta_spark.masks.format_preserving import encrypt, fpe_keys
    from immuta_spark.masks.reversible import token_keys, tokenize
    from immuta_spark.spark.lower import JvmFunctions, Lowering, lower

    secret = b"the cluster test's secret"
    values = [f"{i:03d}-{i % 97:02d}-{i * 7 % 10000:04d} Ann" for i in range(400)]
    frame = spark.createDataFrame(list(enumerate(values)), "id int, v string").repartition(4)  # type: ignore[attr-defined]
    functions = JvmFunctions(spark._jvm)  # type: ignore[attr-defined]
    ctx = Lowering(functions, lambda ref: secret, lambda name, value: functions.f.lit(value))
    key = SecretRef("source", "S", "k")
    token = lower(Token(Cast(Column("v"), "string"), key), ctx).alias("t")
    fpe = lower(FormatPreserve(Cast(Column("v"), "string"), key), ctx).alias("f")
    rows = frame.select("id", token, fpe).collect()
    tk, fk = token_keys(secret), fpe_keys(secret)
    return {
        "loaded": functions.masks is not None and functions.masks.ff3 is not None,
        "tokens": all(r["t"] == tokenize(values[r["id"]], tk) for r in rows) and len(rows) == len(values),
        "ff3": all(r["f"] == encrypt(values[r["id"]], fk) for r in rows),
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
