"""Object-backed sources in Spark: their files listed with their xattrs, their reads, their file filters.

A query over an object-backed source whose row policies look at files (an xattr, a ``key=value``
folder, the modification time) lists the source's location once, in one JVM call
(``jvm/ObjectFiles.java``, Hadoop's FileSystem API: Spark has no per-file xattr column), and the
core decides which files the user may see (:func:`immuta_spark.objects.resolve_files`); the
filter lowered is Spark's native ``input_file_name() IN (...)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from immuta_spark.engine import Plan
from immuta_spark.expr import reads_files
from immuta_spark.model import Source
from immuta_spark.objects import ObjectFile, resolve_files
from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.jvm import helper, records, unescape

__all__ = ["list_files", "object_frame", "with_files"]


def list_files(spark: SparkSession, location: str) -> list[ObjectFile]:
    """Every data file beneath ``location`` with its size, modification time and ``user.*`` xattrs."""
    try:
        text = helper(spark).object_files(spark._jsparkSession, location)
    except Exception as exc:
        raise EnforcementError(
            f"the files of {location} could not be listed, so no data is returned: {exc}".splitlines()[0]
        ) from exc
    out = []
    for fields in records(str(text)):
        xattrs = dict(tuple(unescape(p) for p in x.split("\x02", 1)) for x in fields[4:])
        out.append(
            ObjectFile(
                uri=unescape(fields[0]),
                path=unescape(fields[1]),
                length=int(fields[2]),
                modified=int(fields[3]) / 1000,
                xattrs=xattrs,
            )
        )
    return out


def object_frame(spark: SparkSession, source: Source, schema: StructType | None = None) -> DataFrame:
    """The source's files read as its ``object`` block says (format and options), as Spark reads them.

    With ``schema`` nothing is inferred (no file is opened until the query runs).
    """
    assert source.object is not None and source.location is not None
    reader: Any = spark.read.format(source.object.spark_format)
    if schema is not None:
        reader = reader.schema(schema)
    for key, value in source.object.spark_options.items():
        reader = reader.option(key, value)
    return reader.load(source.location)


def with_files(spark: SparkSession, source: Source, plan: Plan) -> tuple[Plan, bool]:
    """``plan`` with its file conditions decided over the location's files now; whether it had any."""
    if source.object is None or source.location is None or not reads_files(plan.row_filter):
        return plan, False
    files = list_files(spark, source.location)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    location = str(jvm.org.apache.hadoop.fs.Path(source.location).toUri().getPath())
    return replace(plan, row_filter=resolve_files(plan.row_filter, files, location)), True
