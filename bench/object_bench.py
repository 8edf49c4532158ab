"""Object-backed sources (issue 12): a governed read with xattr row security versus a raw read of the same files.

A throw-away MiniDFSCluster holds ``files`` Parquet files (``rows`` rows in all) at one location;
half the files carry the xattr ``user.state=Ohio``, half ``Missouri``. The object-backed source's
row policy matches the user's ``state`` attribute against that xattr. Each measurement is one
aggregate over every column (``sum(xxhash64(*))`` and ``count(*)``), collected:

- governed: bob (state Ohio) reads the location through his governed session, which lists the
  files with their xattrs (one JVM call), decides them and filters ``input_file_name() IN (...)``;
  every statement lists afresh, so the listing is inside each timing;
- raw: the same Spark session reads the same location ungoverned (every file).

``object_rows_ratio`` is the median over ``pairs`` of governed / raw (target <= 1.3);
``object_rows_ratio_visible`` divides by a raw read of only the files bob sees (the same rows), and
``object_list_ms`` is one listing of the location.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from hdfs_workspace.testing import start_minihdfs

__all__ = ["run"]

DOC = """version: 1
users:
  - {{name: svc_bench, permissions: [GOVERNANCE, IMPERSONATE]}}
  - {{name: bob, attributes: {{state: [Ohio]}}}}
sources:
  - name: Bench Files
    table: objects.bench_files
    owners: [svc_bench]
    subscription: {{anyone: {{}}}}
    object: {{format: parquet, location: "{location}"}}
    policies:
      - {{name: files-by-state, type: row, match: {{attribute: state, xattr: state}}}}
"""


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(*, rows: int = 4_000_000, files: int = 100, pairs: int = 9) -> dict[str, Any]:
    """Run the benchmark on a fresh cluster and Spark session; its figures (see the module docstring)."""
    from pyspark.sql import functions as F

    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark import ImmutaSparkSession
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.objects import list_files

    with tempfile.TemporaryDirectory(prefix="object-bench-") as tmp:
        work = Path(tmp)
        cluster = start_minihdfs(work / "hdfs")
        spark = None
        try:
            admin = cluster.admin()
            admin.makedirs("/bench", mode=0o755)
            admin.set_owner("/bench", owner="svc_bench")
            location = f"{cluster.fs_uri}/bench/files"
            extra = {"spark.driver.memory": "4g"}
            spark = local_spark(work / "spark", app="object-bench", identity="svc_bench", extra=extra)
            data = spark.range(rows).selectExpr(
                "id",
                "concat('name-', id % 9973) AS name",
                "id % 1000 * 1.5 AS amount",
                "date_add('2020-01-01', CAST(id % 365 AS INT)) AS day",
            )
            data.repartition(files).write.mode("overwrite").parquet(location)
            names = sorted(s.name for s in admin.list_dir("/bench/files") if s.name.endswith(".parquet"))
            for i, name in enumerate(names):
                admin.set_xattr(f"/bench/files/{name}", "user.state", "Ohio" if i % 2 == 0 else "Missouri")
            visible = [f"{location}/{n}" for i, n in enumerate(names) if i % 2 == 0]
            doc = work / "governance.yaml"
            doc.write_text(DOC.format(location=location))
            catalog = GovernanceCatalog.open(f"sqlite:///{work / 'catalog.db'}", identity="svc_bench", create=True)
            catalog.apply(doc)
            bob = ImmutaSparkSession.wrap(spark, catalog=catalog, user="bob")

            def query(df: Any) -> list[Any]:
                return df.agg(F.sum(F.pmod(F.xxhash64(*df.columns), F.lit(1 << 20))), F.count(F.lit(1))).collect()

            def governed() -> list[Any]:
                return query(bob.read.parquet(location))

            def raw() -> list[Any]:
                return query(spark.read.parquet(location))

            def raw_visible() -> list[Any]:
                return query(spark.read.parquet(*visible))

            expected = raw_visible()
            if governed() != expected:
                raise AssertionError("the governed read did not give exactly the rows of bob's files")
            raw()
            ratios, ratios_visible = [], []
            for _ in range(pairs):
                g, r, v = _timed(governed), _timed(raw), _timed(raw_visible)
                ratios.append(g / r)
                ratios_visible.append(g / v)
            listing = min(_timed(lambda: list_files(spark, location)) for _ in range(5))
            return {
                "object_rows_ratio": round(statistics.median(ratios), 3),
                "object_rows_ratio_visible": round(statistics.median(ratios_visible), 3),
                "object_list_ms": round(listing * 1000, 1),
                "object_files": len(names),
                "object_rows": rows,
            }
        finally:
            if spark is not None:
                spark.stop()
            cluster.stop()


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
