"""Enforcement ships to executors: governed queries on a standalone master with two workers.

The master and workers start from the pyspark install (``bin/spark-class``), bound to
127.0.0.1, and always stop. The driver runs in its own process (tests/spark/cluster_job.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_java

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark_class() -> Path:
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists():
        pytest.fail(f"pyspark's bin/spark-class is missing at {path}: reinstall pyspark")
    return path


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and two one-core workers on loopback; yields the master URL."""
    require_java()
    work = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(work / "worker")}
    env.pop("HADOOP_USER_NAME", None)
    port, ui = _free_port(), _free_port()
    spark_class = str(_spark_class())
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], log: str) -> None:
        with open(work / log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [spark_class, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

    start(
        ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
        "master.log",
    )
    url = f"spark://127.0.0.1:{port}"
    try:
        for i in range(2):
            start(
                [
                    "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--port", str(_free_port()), "--webui-port", str(_free_port()),
                    "--cores", "1", "--memory", "1g", url,
                ],
                f"worker{i}.log",
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as r:
                    if json.load(r).get("aliveworkers", 0) >= 2:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join((work / f).read_text(errors="replace")[-2000:] for f in ("master.log", "worker0.log"))
                pytest.fail(f"the standalone cluster did not come up within 120 s:\n{logs}")
            time.sleep(1)
        yield url
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_governed_queries_run_masked_on_two_executors(standalone: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    done = subprocess.run(
        [sys.executable, str(HERE / "cluster_job.py"), standalone, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["executors"] == 2
    # The reversible and format-preserving masks' JVM classes reach the executors (SparkContext.addJar).
    assert result["jvm_masks"] == {"loaded": True, "tokens": True, "ff3": True}
    assert result["bob"] == [[1, None, "164.16.13.XXX", "Ohio"], [4, None, "172.16.0.XXX", "Ohio"]]
    assert [row[1] for row in result["alice"]][:2] == ["123-45-6789", "987-65-4321"]
