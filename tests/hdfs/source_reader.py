"""A user's own governed Spark session, in its own process, reading workspace-directory sources.

Its ``steps`` are run by tests/hdfs/test_workspace_dir_sources.py in the reader's own process
(``reader_server.py``); alone: ``python source_reader.py SPEC_JSON``. The JVM's Hadoop identity
is the reader (``HADOOP_USER_NAME``); with ``project`` in the spec the reader acts under it
first; the governed session reads governed storage as the service identity (``service``).
Prints one JSON object per table read: its columns and rows, or the refusal.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def steps(spark: Any, governed: Any, spec: dict[str, Any]) -> None:
    """Each of ``spec``'s tables read through the governed session: its columns and rows, or the refusal."""
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


if __name__ == "__main__":
    from tests.hdfs.reader_server import run_alone

    run_alone(steps)
