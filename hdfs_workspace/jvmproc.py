"""A child JVM for tests and benchmarks: started in its own process group, tied to our stdin, stopped for sure.

The test HDFS (:mod:`hdfs_workspace.testing`) and the shared Hive metastore
(:mod:`hdfs_workspace.metastore_testing`) both run as a Java program that prints protocol
lines with a fixed prefix on stdout (``READY {json}``, ``OK ...``, ``ERR ...``), reads commands
on stdin and exits when stdin closes, so it cannot outlive a parent that dies. This module holds
what they share: finding the tools, starting and waiting for the ready line, and stopping.

This module is for tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from hdfs_workspace.errors import HdfsWorkspaceError, ToolMissing

__all__ = [
    "JAVA_OPTIONS",
    "JDK_HINT",
    "JvmChild",
    "JvmChildError",
    "JvmServer",
    "build_lock",
    "log_tail",
    "require_tool",
    "run_logged",
    "start_jvm",
]

#: Options every child JVM gets.
JAVA_OPTIONS: tuple[str, ...] = (
    # Java 17 closes these packages; Hadoop 3.x and Hive 2.3 still reflect into them (HADOOP-19310).
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "-Djava.net.preferIPv4Stack=true",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
)
#: How to get a JDK when java or javac is missing.
JDK_HINT = "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"


class JvmChildError(HdfsWorkspaceError):
    """A child JVM could not be started or commanded."""


def require_tool(tool: str, hint: str) -> str:
    """The path of ``tool``; :class:`ToolMissing` saying how to install it when absent."""
    found = shutil.which(tool)
    if found is None:
        raise ToolMissing(f"{tool} is missing: {hint}")
    return found


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[Path]:
    """Create ``target`` and hold its build lock: tests and a benchmark may build at once, one waits."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield target


def run_logged(cmd: list[str], log: Path, cwd: Path) -> bool:
    """Run ``cmd`` with its output appended to ``log``; whether it succeeded."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode == 0


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(slots=True, kw_only=True)
class JvmChild:
    """A running child JVM: its ready payload, its protocol lines, its log."""

    name: str
    ready: dict[str, Any]
    log_file: Path
    start_seconds: float
    _process: subprocess.Popen[str] = field(repr=False)
    _lines: queue.Queue[str | None] = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pid(self) -> int:
        """The JVM's process id."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the JVM is still alive."""
        return self._process.poll() is None

    def command(self, line: str, *, timeout: float = 300.0) -> str:
        """Send one command; return its ``OK`` payload or raise :class:`JvmChildError`."""
        with self._lock:
            if not self.running or self._process.stdin is None:
                raise JvmChildError(f"the {self.name} is not running (log: {self.log_file})")
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise JvmChildError(f"the {self.name} gave no answer to {line!r} within {timeout:.0f}s")
                try:
                    reply = self._lines.get(timeout=remaining)
                except queue.Empty:
                    continue
                if reply is None:
                    raise JvmChildError(f"the {self.name} exited while running {line!r}:\n{log_tail(self.log_file)}")
                if reply.startswith("OK"):
                    return reply[2:].strip()
                if reply.startswith("ERR"):
                    raise JvmChildError(f"{line!r} failed: {reply[3:].strip()}")

    def kill(self) -> None:
        """SIGKILL the JVM and its process group at once (a crash, for fault tests)."""
        _kill_group(self._process, signal.SIGKILL, 10.0)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask politely (``stop``, then close stdin), then SIGTERM, then SIGKILL the process group."""
        process = self._process
        if process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert process.stdin is not None
                process.stdin.write("stop\n")
                process.stdin.close()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process, signal.SIGTERM, 10.0)
        # The JVM may have started helpers; the group dies with it either way.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):
            if process.stdin is not None:
                process.stdin.close()


_Server = TypeVar("_Server", bound="JvmServer")


class JvmServer:
    """What a test server running in a :class:`JvmChild` shows of it; subclasses hold it in ``_jvm``."""

    __slots__ = ()
    _jvm: JvmChild

    @property
    def pid(self) -> int:
        """The JVM's process id."""
        return self._jvm.pid

    @property
    def log_file(self) -> Path:
        """The JVM's log (stderr)."""
        return self._jvm.log_file

    @property
    def start_seconds(self) -> float:
        """JVM start to ready."""
        return self._jvm.start_seconds

    @property
    def running(self) -> bool:
        """Whether the JVM is still alive."""
        return self._jvm.running

    def kill(self) -> None:
        """SIGKILL the server at once (a crash, for fault tests); its files stay."""
        self._jvm.kill()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server: ask politely, then SIGTERM, then SIGKILL the process group."""
        self._jvm.stop(timeout)

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(process: subprocess.Popen[str], sig: signal.Signals, wait: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=wait)


def _pump(stream: IO[str], prefix: str, lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        if raw.startswith(prefix):
            lines.put(raw[len(prefix) :].rstrip("\n"))
    lines.put(None)


def start_jvm(
    name: str,
    cmd: Sequence[str],
    *,
    prefix: str,
    cwd: Path,
    log_file: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> JvmChild:
    """Start ``cmd`` (a ``java`` command line) and wait for its ``<prefix>READY {json}`` line.

    stderr goes to ``log_file``; a JVM that exits or is not ready within ``timeout`` is killed
    and reported with the log's tail.
    """
    started = time.monotonic()
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            list(cmd),
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
            cwd=cwd,
            # Its own process group, so stop() can kill the JVM and anything it spawned.
            start_new_session=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, prefix, lines), daemon=True, name=f"{name}-stdout").start()

    def fail(reason: str) -> JvmChildError:
        _kill_group(process, signal.SIGKILL, 10.0)
        return JvmChildError(f"{reason} (log: {log_file}):\n{log_tail(log_file)}")

    deadline = started + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise fail(f"the {name} was not ready within {timeout:.0f}s")
        try:
            line = lines.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        if line is None:
            raise fail(f"the {name} exited with code {process.wait()} before ready")
        if line.startswith("READY "):
            ready = json.loads(line[len("READY ") :])
            break
    return JvmChild(
        name=name,
        ready=ready,
        log_file=log_file,
        start_seconds=time.monotonic() - started,
        _process=process,
        _lines=lines,
    )
