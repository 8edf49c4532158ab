"""One user's own governed Spark, in its own process, kept for all of a test module's reads as that user.

Started by :class:`tests.hdfs.readers.Readers`: ``python reader_server.py BASE_JSON``. ``BASE`` names
the user (the JVM's Hadoop identity, ``HADOOP_USER_NAME``), the work directory, the shared
metastore, the catalog and, optionally, the service identity governed reads use. Each line on
stdin is a request, ``{"script": NAME, "spec": {...}}`` with NAME one of ``reader_session``,
``wall_session`` or ``source_reader``: that script's ``steps`` run in a fresh governed session
over the one Spark (a JVM start costs seconds; a session, nothing), printing its JSON lines
(``{"reader_error": ...}`` if the script itself broke) and then ``{"done": true}``. End of stdin
stops Spark.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def start(spec: dict[str, Any], *, extra: dict[str, str] | None = None) -> Any:
    """The user's Spark, as the scripts start it: local, one core, the shared metastore, service reads if asked."""
    from immuta_spark.spark.local import local_spark

    extra = dict(extra or {})
    if spec.get("hive_uri"):
        extra["spark.hadoop.hive.metastore.uris"] = spec["hive_uri"]
    if spec.get("service"):
        extra["spark.immuta.hdfs.serviceUser"] = spec["service"]
    return local_spark(Path(spec["work"]), master="local[1]", identity=spec["user"], extra=extra)


def governed_session(spark: Any, spec: dict[str, Any]) -> Any:
    """A new governed session over ``spark`` for ``spec``'s user: nothing a request did carries into the next."""
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.session import ImmutaSparkSession

    return ImmutaSparkSession(spark, GovernanceCatalog.open(spec["catalog"], identity=spec["user"]))


def run_alone(steps: Callable[[Any, Any, dict[str, Any]], None]) -> None:
    """A reader script run on its own (``python SCRIPT SPEC_JSON``): its ``steps`` in a Spark of their own."""
    spec = json.loads(sys.argv[1])
    spark = start(spec)
    steps(spark, governed_session(spark, spec), spec)
    spark.stop()


def main() -> None:
    base = json.loads(sys.argv[1])
    # No listing cache shared between requests: each request lists the files as a new process would.
    spark = start(base, extra={"spark.sql.hive.filesourcePartitionFileCacheSize": "0"})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            # Nor a table's metadata from an earlier request: it is looked up in the metastore again.
            spark.catalog.clearCache()
            spark._jsparkSession.sessionState().catalog().invalidateAllCachedTables()
            script = importlib.import_module(f"tests.hdfs.{request['script']}")
            spec = {**base, **request["spec"]}
            script.steps(spark, governed_session(spark, spec), spec)
        except Exception:  # noqa: BLE001 - the caller fails the test with it
            print(json.dumps({"reader_error": traceback.format_exc()[-3000:]}), flush=True)
        print(json.dumps({"done": True}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
