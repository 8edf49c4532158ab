"""An ordinary user's own Spark, in its own process, reading a walled source raw and governed.

Its ``steps`` are run by tests/hdfs/test_storage_wall.py in the user's reader process
(``reader_server.py``); alone: ``python wall_session.py SPEC_JSON``. The JVM's Hadoop identity is
the user (``HADOOP_USER_NAME``). ``raw-*`` steps are plain Spark reads of the files
or the table, which only the NameNode can refuse; ``governed*`` the same through the user's
governed session, which reads governed storage as the service identity
(``spark.immuta.hdfs.serviceUser``) and applies the source's policies. It prints one JSON
object per line.
"""

from __future__ import annotations

from typing import Any

from tests.hdfs.reader_session import attempt


def steps(spark: Any, governed: Any, spec: dict[str, Any]) -> None:
    """Raw reads of the walled files and table, then the same governed."""
    location = spec["location"]
    attempt("raw-dir", lambda: spark.read.parquet(location).collect())
    attempt("raw-file", lambda: spark.read.parquet(spec["file"]).collect())
    attempt("raw-table", lambda: spark.table(spec["table"]).collect())
    attempt("governed", lambda: governed.read.parquet(location).collect())
    attempt("governed-table", lambda: governed.table(spec["table"]).collect())


if __name__ == "__main__":
    from tests.hdfs.reader_server import run_alone

    run_alone(steps)
