"""A local (or standalone-cluster) SparkSession on embedded defaults, bound to loopback.

Used by ``make demo``, the benchmarks and the tests: Derby metastore and warehouse under one
work directory, no UI, every address 127.0.0.1, and the JVM's Hadoop identity chosen at start
(it cannot change afterwards).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["local_spark"]


def local_spark(
    work: Path,
    *,
    master: str = "local[2]",
    app: str = "immuta-spark",
    identity: str | None = None,
    shuffle_partitions: int = 2,
    extra: dict[str, str] | None = None,
) -> Any:
    """Start (or reuse) a SparkSession with Hive support whose state lives under ``work``.

    ``identity`` becomes ``HADOOP_USER_NAME`` for the JVM only; the caller's environment is
    left as it was.
    """
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    previous = os.environ.get("HADOOP_USER_NAME")
    if identity is not None:
        os.environ["HADOOP_USER_NAME"] = identity
    metastore = f"jdbc:derby:;databaseName={work / 'metastore_db'};create=true"
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.warehouse.dir", (work / "warehouse").as_uri())
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", metastore)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work}")
    )
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.enableHiveSupport().getOrCreate()
    finally:
        if identity is not None:
            if previous is None:
                os.environ.pop("HADOOP_USER_NAME", None)
            else:
                os.environ["HADOOP_USER_NAME"] = previous
    session.sparkContext.setLogLevel("ERROR")
    return session
