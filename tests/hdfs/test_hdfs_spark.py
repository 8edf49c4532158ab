"""Spark reads and writes hdfs:// paths of the test cluster through a session of its own."""

from __future__ import annotations

from typing import Any

from chispa import assert_df_equality

from hdfs_workspace.testing import MiniHdfs
from hdfs_workspace.webhdfs import WebHdfsAccess


def test_parquet_written_to_hdfs_reads_back_the_same_rows(
    hdfs_spark: Any, minihdfs: MiniHdfs, hdfs_admin: WebHdfsAccess
) -> None:
    rows = [(1, "Ohio", 3.5), (2, "Texas", 1.25), (3, "Ohio", None)]
    df = hdfs_spark.createDataFrame(rows, "id INT, state STRING, score DOUBLE")

    # No scheme: the session's fs.defaultFS sends it to the test HDFS.
    df.write.mode("overwrite").partitionBy("state").parquet("/spark/people")

    names = {s.name for s in hdfs_admin.list_dir("/spark/people")}
    assert {"_SUCCESS", "state=Ohio", "state=Texas"} <= names
    back = hdfs_spark.read.parquet(f"{minihdfs.fs_uri}/spark/people")
    assert_df_equality(
        back.select("id", "state", "score"), df, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


def test_the_shared_session_keeps_its_own_default_filesystem(spark: Any, hdfs_spark: Any, minihdfs: MiniHdfs) -> None:
    assert hdfs_spark.sparkContext is spark.sparkContext
    assert hdfs_spark.conf.get("fs.defaultFS") == minihdfs.fs_uri
    assert spark.conf.get("fs.defaultFS", None) != minihdfs.fs_uri
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    assert not str(hadoop_conf.get("fs.defaultFS")).startswith("hdfs://")
