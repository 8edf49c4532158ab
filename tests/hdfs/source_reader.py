"""A user's own governed Spark session, in its own process, reading workspace-directory sources.

Run by tests/hdfs/test_workspace_dir_sources.py: ``python source_reader.py SPEC_JSON``. The JVM's
Hadoop identity is the reader (``HADOOP_USER_NAME``); with ``project`` in the spec the reader
acts under it first; the governed session reads governed storage as the service identity
(``service``). Prints one JSON object per table read: its columns and rows, or the refusal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    spec = json.loads(sys.argv[1])
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.session import ImmutaSparkSession

    extra = {"spark.hadoop.hive.metastore.uris": spec["hive_uri"], "spark.immuta.hdfs.serviceUser": spec["service"]}
    spark = local_spark(Path(spec["work"]), master="local[1]", identity=spec["user"], extra=extra)
    governed = ImmutaSparkSession(spark, GovernanceCatalog.open(spec["catalog"], identity=spec["user"]))
    if spec.get("project"):
        governed.set_project(spec["project"])
    for table in spec["tables"]:
        try:
            df = governed.table(table)
            rows = sorted(([None if v is None else v for v in r] for r in df.collect()), key=str)
            fields = [[f.name, f.dataType.simpleString()] for f in df.schema.fields]
            print(json.dumps({"table": table, "outcome": "read", "columns": fields, "rows": rows}, default=str))
        except Exception as exc:  # noqa: BLE001 - what refused it, as the caller sees it
            print(json.dumps({"table": table, "outcome": "refused", "error": str(exc)[:1500]}))
        sys.stdout.flush()
    spark.stop()


if __name__ == "__main__":
    main()
