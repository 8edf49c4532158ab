"""An ordinary user's own Spark, in its own process, reading a walled source raw and governed.

Run by tests/hdfs/test_storage_wall.py: ``python wall_session.py SPEC_JSON``. The JVM's Hadoop
identity is the user (``HADOOP_USER_NAME``). ``raw-*`` steps are plain Spark reads of the files
or the table, which only the NameNode can refuse; ``governed*`` the same through the user's
governed session, which reads governed storage as the service identity
(``spark.immuta.hdfs.serviceUser``) and applies the source's policies. It prints one JSON
object per line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.hdfs.reader_session import attempt


def main() -> None:
    spec = json.loads(sys.argv[1])
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.local import local_spark
    from immuta_spark.spark.session import ImmutaSparkSession

    extra = {"spark.hadoop.hive.metastore.uris": spec["hive_uri"]}
    if spec.get("service"):
        extra["spark.immuta.hdfs.serviceUser"] = spec["service"]
    spark = local_spark(Path(spec["work"]), master="local[1]", identity=spec["user"], extra=extra)
    governed = ImmutaSparkSession(spark, GovernanceCatalog.open(spec["catalog"], identity=spec["user"]))
    location = spec["location"]
    attempt("raw-dir", lambda: spark.read.parquet(location).collect())
    attempt("raw-file", lambda: spark.read.parquet(spec["file"]).collect())
    attempt("raw-table", lambda: spark.table(spec["table"]).collect())
    attempt("governed", lambda: governed.read.parquet(location).collect())
    attempt("governed-table", lambda: governed.table(spec["table"]).collect())
    spark.stop()


if __name__ == "__main__":
    main()
