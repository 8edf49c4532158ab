"""Long-lived reader processes for a test module: one governed Spark per HDFS identity, not one per read.

Each reader is ``reader_server.py`` in a process of its own whose JVM acts as that user, as the
one-shot scripts' processes did; a module's reads as the same user share its JVM.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from tests.hdfs.workspace_support import script_env


class Readers:
    """Reader processes by user, started at a user's first read and stopped by :meth:`close`."""

    def __init__(self, *, catalog: str | None, hive_uri: str | None, service: str | None, work: Path) -> None:
        self.base = {"catalog": catalog, "hive_uri": hive_uri, "service": service}
        self.work = work
        self.processes: dict[str, tuple[subprocess.Popen[str], Path]] = {}

    def _process(self, user: str) -> tuple[subprocess.Popen[str], Path]:
        if user not in self.processes:
            work = self.work / user
            work.mkdir(parents=True, exist_ok=True)
            log = work / "stderr.log"
            base = json.dumps({**self.base, "user": user, "work": str(work)})
            script = Path(__file__).with_name("reader_server.py")
            with log.open("w") as err:
                process = subprocess.Popen(
                    [sys.executable, str(script), base],
                    env=script_env(),  # it acts as ``user``, on the test HDFS only through URIs
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
            self.processes[user] = (process, log)
        return self.processes[user]

    def read(self, user: str, script: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Run ``script``'s steps as ``user`` with ``spec``; the JSON lines it printed."""
        # The metastore and the service identity are the JVM's, fixed at its start; a catalog may come per read.
        fixed = ("hive_uri", "service", *(("catalog",) if self.base["catalog"] else ()))
        clash = [k for k in fixed if k in spec and spec[k] != self.base[k]]
        assert not clash, f"{clash} are the reader process's, set once in Readers(...): use another Readers"
        process, log = self._process(user)
        stdin: IO[str] = process.stdin  # type: ignore[assignment]
        stdout: IO[str] = process.stdout  # type: ignore[assignment]
        stdin.write(json.dumps({"script": script, "spec": spec}) + "\n")
        stdin.flush()
        lines: list[dict[str, Any]] = []
        for line in stdout:
            record = json.loads(line)
            if record.get("done"):
                break
            lines.append(record)
        else:
            raise AssertionError(f"the reader process of {user} ended: {log.read_text()[-3000:]}")
        failed = [r["reader_error"] for r in lines if "reader_error" in r]  # the script itself broke
        assert not failed, failed[0]
        return lines

    def close(self) -> None:
        """Stop every reader (end of stdin stops its Spark); kill one that does not end in 60 s."""
        for process, _ in self.processes.values():
            if process.stdin is not None:
                process.stdin.close()
        for process, _ in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self.processes.clear()
