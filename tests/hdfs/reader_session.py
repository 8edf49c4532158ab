"""A subscriber's own governed Spark session, in its own process, reading a source that lives in a workspace.

Run by tests/hdfs/test_workspace_service_reads.py: ``python reader_session.py SPEC_JSON``; its
``steps`` also in a reader's long-lived process (``reader_server.py``, test_storage_wall.py). The
JVM's Hadoop identity is the reader (``HADOOP_USER_NAME``), who is not a member of the project:
the NameNode refuses the reader the workspace's files. With ``service`` in the spec, the governed
session reads governed storage as that identity. It prints one JSON object per line.
"""

from __future__ import annotations

import json
from typing import Any


def say(**data: object) -> None:
    print(json.dumps(data), flush=True)


def attempt(step: str, run: Any) -> None:
    try:
        rows = run()
        say(step=step, outcome="read", rows=sorted([list(r) for r in rows], key=str))
    except Exception as exc:  # noqa: BLE001 - what refused it, as the caller sees it
        text = str(exc)
        denied = "AccessControlException" in text or "Permission denied" in text
        why = [line.strip() for line in text.splitlines() if "Permission denied" in line][:1]
        say(step=step, outcome="refused", denied_by_namenode=denied, error=(why or [text])[0][:600])


def steps(spark: Any, governed: Any, spec: dict[str, Any]) -> None:
    """The reads, governed and raw, of ``spec``'s table and location."""
    table, location = spec["table"], spec["location"]
    attempt("governed-table", lambda: governed.table(table).collect())
    attempt("governed-sql", lambda: governed.sql(f"SELECT count(*) AS n FROM {table}").collect())
    attempt("raw-table", lambda: spark.table(table).collect())
    attempt("raw-path", lambda: spark.read.parquet(location).collect())
    attempt("governed-path", lambda: governed.read.parquet(location).collect())


if __name__ == "__main__":
    from tests.hdfs.reader_server import run_alone

    run_alone(steps)
