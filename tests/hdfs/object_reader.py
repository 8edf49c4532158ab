"""A user's own governed Spark session, in its own process, reading an object-backed source.

Its ``steps`` are run by tests/hdfs/test_object_sources.py in the user's reader process
(``reader_server.py``); alone: ``python object_reader.py SPEC_JSON``. The JVM's
Hadoop identity is the user (``HADOOP_USER_NAME``), so the NameNode lists the files and their
xattrs for that user; with ``service`` in the spec, the governed session reads (and lists)
governed storage as that identity. Prints one JSON object per line: each step's rows, or what refused it.
"""

from __future__ import annotations

import json
from typing import Any


def say(**data: object) -> None:
    print(json.dumps(data), flush=True)


def attempt(step: str, run: Any) -> None:
    try:
        say(step=step, outcome="read", rows=sorted([list(r) for r in run()], key=str))
    except Exception as exc:  # noqa: BLE001 - what refused it, as the caller sees it
        say(step=step, outcome="refused", error=str(exc).splitlines()[0][:600] if str(exc) else type(exc).__name__)


def steps(spark: Any, governed: Any, spec: dict[str, Any]) -> None:
    """The governed path and table reads of ``spec``'s source, and its ingest status."""
    attempt("governed-path", lambda: governed.read.csv(spec["location"]).collect())
    attempt("governed-table", lambda: governed.table(spec["table"]).collect())
    attempt("ingest-status", lambda: [[governed.ingest_status(spec["source"]).files]])


if __name__ == "__main__":
    from tests.hdfs.reader_server import run_alone

    run_alone(steps)
