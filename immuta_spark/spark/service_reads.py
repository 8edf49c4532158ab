"""Governed sources read as the service identity, where their readers' own identities may not read.

A source living in a project's workspace is stored where only the project's members, while
they act under it, and the service identity may read (docs/workspaces.md). Its subscribers
outside the project reach it only as a governed source: with ``spark.immuta.hdfs.serviceUser``
set (and ``spark.immuta.hdfs.serviceKeytab`` on a Kerberos cluster), a governed session reads
the files beneath governed sources' locations as that identity, and only while it runs its own
statements and DataFrame actions (``ServiceReads.java``: a wrapper in Hadoop's FileSystem cache,
switched on per thread by the Spark local property ``immuta.serviceReads``, which Spark hands
on to the job's tasks). Writes, and every read outside governed storage, stay the user's.

Without the setting, nothing changes: a governed read of storage the user may not read fails
at the NameNode (closed). Executors in another JVM (cluster mode) have no wrapper, so their
reads stay the user's and fail the same way: service reads are for local mode and the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

from immuta_spark.spark.jvm import helper

__all__ = ["LOCAL_PROPERTY", "SERVICE_KEYTAB_KEY", "SERVICE_USER_KEY", "ServiceReads"]

#: The Hadoop identity a governed session reads governed storage as (unset: the user's own).
SERVICE_USER_KEY = "spark.immuta.hdfs.serviceUser"
#: Its keytab on a Kerberos cluster (the service user is then its principal).
SERVICE_KEYTAB_KEY = "spark.immuta.hdfs.serviceKeytab"
#: The Spark local property that marks a governed session's statement (``ServiceReads.KEY``).
LOCAL_PROPERTY = "immuta.serviceReads"


class ServiceReads:
    """One governed session's switch for reads as the service identity."""

    def __init__(self, spark: SparkSession, root: SparkSession, token: str) -> None:
        conf = root.sparkContext.getConf()
        self.user = conf.get(SERVICE_USER_KEY) or None
        self._keytab = conf.get(SERVICE_KEYTAB_KEY) or ""
        self._spark = spark
        self._token = token
        self._revision: int | None = None
        self._control: Any = None

    @property
    def enabled(self) -> bool:
        """Whether the session reads governed storage as the service identity."""
        return self.user is not None

    def govern(self, revision: int, locations: Mapping[str, str]) -> None:
        """Read the governed ``locations`` (qualified) as the service identity, under catalog ``revision``."""
        if not self.enabled or revision == self._revision:
            return
        control = self._jvm_control()
        hdfs = sorted(loc for loc in locations.values() if urlsplit(loc).scheme == "hdfs")
        for authority in sorted({urlsplit(loc).netloc for loc in hdfs}):
            control.install(self._spark._jsparkSession, f"hdfs://{authority}", self.user, self._keytab)
        control.govern(self._token, hdfs)
        self._revision = revision

    @contextmanager
    def active(self) -> Iterator[None]:
        """Mark this thread's Spark jobs as the session's own while the block runs."""
        if not self.enabled:
            yield
            return
        sc = self._spark.sparkContext._jsc.sc()
        before = sc.getLocalProperty(LOCAL_PROPERTY)
        sc.setLocalProperty(LOCAL_PROPERTY, self._token)
        try:
            yield
        finally:
            sc.setLocalProperty(LOCAL_PROPERTY, before)

    def close(self) -> None:
        """The session stops: nothing more is read for it."""
        if self._control is not None:
            self._control.forget(self._token)

    def _jvm_control(self) -> Any:
        if self._control is None:
            self._control = helper(self._spark).service_reads()
        return self._control
