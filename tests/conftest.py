"""Fixtures shared by every test package.

The Spark session is session-scoped and started only when a test asks for it, so the unit
tests of the pure core never start a JVM. Every server a test starts listens on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Workers must run this interpreter: it has pyarrow, which Arrow UDFs need.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


#: The Hadoop identity of the test Spark JVM (see conf/governance.yaml: it may impersonate).
SPARK_IDENTITY = "svc_notebook"


def require_java() -> str:
    """Return the java executable, or fail loudly: tests never skip for a missing tool."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java is missing: install a JDK 17 (Debian: apt-get install openjdk-17-jdk).")
    return java


@pytest.fixture(scope="session")
def spark_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Scratch directories for the one Spark session of the run (warehouse, metastore)."""
    root = tmp_path_factory.mktemp("spark")
    return {"root": root, "warehouse": root / "warehouse", "metastore": root / "metastore_db"}


@pytest.fixture(scope="session")
def spark(spark_dirs: dict[str, Path]) -> Iterator[Any]:
    """One local Spark session with Hive support on an embedded Derby metastore."""
    require_java()
    from immuta_spark.spark.local import local_spark

    # The JVM's Hadoop identity is fixed when it starts: the service identity that opens governed
    # sessions for users (it holds IMPERSONATE in the test catalogs). Only the Spark JVM gets it.
    # The run's scratch directory is a data root, as a platform lists its shared scratch space:
    # governed sessions read and write files beneath it (tests put data there), and nowhere else
    # but the warehouse.
    roots = {"spark.immuta.dataRoots": str(spark_dirs["root"].parent)}
    session = local_spark(spark_dirs["root"], app="immuta-spark-tests", identity=SPARK_IDENTITY, extra=roots)
    try:
        yield session
    finally:
        session.stop()
