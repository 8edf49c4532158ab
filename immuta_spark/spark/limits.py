"""What a governed session may touch besides governed tables: its data roots, and what never.

A governed table is read through its enforcement wherever its files are. Any other file a
session reads, writes, loads or lays a table over must lie beneath one of its *data roots*:
Spark's warehouse directory, plus the roots an administrator lists in ``spark.immuta.dataRoots``
(comma-separated paths or URIs, ``hdfs://nn:8020/data``, ``/srv/shared``), read from the wrapped
SparkSession when the governed session is made. A JDBC database is reachable only by a URL
starting with one of ``spark.immuta.jdbcRoots`` (none by default). Whatever the roots say, a
governed session never reads the governance catalog's SQLite files, the metastore's Derby
directory or database, or the Kerberos keytabs Spark or the environment name: through them a
user would read every salt and key, or the metastore's raw statistics.

A user cannot change these settings from a governed session (they are not in the settings
allowlist); they are the platform's, set in ``spark-defaults.conf`` or the builder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

__all__ = ["DATA_ROOTS_KEY", "JDBC_ROOTS_KEY", "StorageLimits", "protected_paths", "storage_limits"]

#: Spark setting: comma-separated data roots besides the warehouse.
DATA_ROOTS_KEY = "spark.immuta.dataRoots"
#: Spark setting: comma-separated JDBC URL prefixes a governed session may reach.
JDBC_ROOTS_KEY = "spark.immuta.jdbcRoots"


@dataclass(frozen=True)
class StorageLimits:
    """Paths never read, data roots, JDBC URL prefixes never reached and those allowed."""

    forbidden: tuple[str, ...]
    roots: tuple[str, ...]
    jdbc_forbidden: tuple[str, ...]
    jdbc_roots: tuple[str, ...]


def _listed(spark: SparkSession, key: str) -> list[str]:
    value = spark.conf.get(key, None) or spark.sparkContext.getConf().get(key, None) or ""
    return [item.strip() for item in str(value).split(",") if item.strip()]


def storage_limits(spark: SparkSession, catalog_url: str) -> StorageLimits:
    """The limits of sessions wrapping ``spark`` on the catalog at ``catalog_url``."""
    roots = [str(spark.conf.get("spark.sql.warehouse.dir")), *_listed(spark, DATA_ROOTS_KEY)]
    return StorageLimits(
        forbidden=tuple(protected_paths(spark, catalog_url)),
        roots=tuple(roots),
        jdbc_forbidden=tuple(_protected_databases(spark, catalog_url)),
        jdbc_roots=tuple(_listed(spark, JDBC_ROOTS_KEY)),
    )


def _metastore_url(spark: SparkSession) -> str | None:
    conf = spark.sparkContext.getConf()
    jdo = conf.get("spark.hadoop.javax.jdo.option.ConnectionURL", None)
    if jdo is None:
        jdo = spark._jsparkSession.sessionState().newHadoopConf().get("javax.jdo.option.ConnectionURL")
    return str(jdo) if jdo else None


def protected_paths(spark: SparkSession, catalog_url: str) -> list[str]:
    """Files no governed session may read: the SQLite catalog (with its journal files), a Derby
    metastore, the Kerberos keytabs Spark or the environment name.
    """
    found: list[str] = []
    if catalog_url.startswith("sqlite:///"):
        path = catalog_url[len("sqlite:///") :].split("?", 1)[0]
        if path and path != ":memory:":
            found += [path, f"{path}-wal", f"{path}-shm", f"{path}-journal"]
    conf = spark.sparkContext.getConf()
    jdo = _metastore_url(spark)
    if jdo and ":derby:" in jdo:
        match = re.search(r"databaseName=([^;]+)", jdo)
        if match:
            found.append(match.group(1))
    elif conf.get("spark.sql.catalogImplementation", "in-memory") == "hive":
        found.append(os.path.abspath("metastore_db"))  # Hive's embedded Derby default
    for key in ("spark.kerberos.keytab", "spark.yarn.keytab", "spark.immuta.hdfs.serviceKeytab"):
        value = conf.get(key, None)
        if value:
            found.append(value)
    keytab = os.environ.get("KRB5_KTNAME", "")
    if keytab:
        found.append(keytab.split(":", 1)[1] if keytab.upper().startswith(("FILE:", "WRFILE:")) else keytab)
    return found


def _protected_databases(spark: SparkSession, catalog_url: str) -> list[str]:
    """JDBC URL prefixes of the metastore's database and a PostgreSQL catalog's."""
    found: list[str] = []
    jdo = _metastore_url(spark)
    if jdo:
        found.append(jdo.split(";create", 1)[0].split("?", 1)[0])
    if catalog_url.startswith(("postgresql", "postgres")):
        parts = urlsplit(catalog_url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        found.append(f"jdbc:postgresql://{host}{port}{parts.path}")
    return found
