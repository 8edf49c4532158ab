"""A durable local spool for audit records the catalog could not take in time.

A query's audit record is written to the catalog with a bounded wait for its write lock
(:data:`DEFAULT_AUDIT_WAIT_MS`). When the lock is held longer, or the database cannot be
reached, the record is appended to this spool instead: a JSON line, flushed and ``fsync``-ed
before the query goes on, so it is durable. A background thread drains the spool into the
catalog; a record leaves the spool only after the transaction that stored it committed. Every
record carries a random ``record_id`` and a drain inserts only the ids the catalog lacks, so a
drain that is cut off after its commit (a killed process) and repeated stores nothing twice.

The spool is a directory of segment files. A process appends to its one *active* segment and
holds an exclusive ``flock`` on it while it lives; to drain, it closes the active segment and
starts a new one. Any process may drain any segment that nobody holds: the closed segments of a
live process, and every segment of a process that died (its lock died with it). ``flock`` locks
belong to the open file, so unlike POSIX record locks they do not vanish when some other
descriptor of the file is closed.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from immuta_spark.errors import CatalogError

__all__ = ["DEFAULT_AUDIT_WAIT_MS", "AuditSpool"]

#: How long a query's audit record waits for the catalog's write lock before it is spooled.
DEFAULT_AUDIT_WAIT_MS = 250
_SUFFIX = ".jsonl"


class AuditSpool:
    """The spool directory of one catalog, as seen by this process.

    ``store`` is called with a list of records (dicts, each with a ``record_id``) and must
    store the missing ones in one committed transaction, or raise.
    """

    def __init__(self, directory: Path, store: Callable[[list[dict[str, Any]]], None]) -> None:
        self.directory = directory
        self._store = store
        #: Used by the background drain instead of ``store`` (a bounded wait: it never holds the
        #: drain for long, so that a bounded drain by a reader is not kept waiting behind it).
        self.background_store: Callable[[list[dict[str, Any]]], None] | None = None
        #: Whether spooled records are drained by a background thread (else only by ``drain``).
        self.background = True
        self._lock = threading.Lock()  # the active segment: appends and rotation
        self._drain_lock = threading.Lock()  # one drain at a time in this process
        self._active: IO[str] | None = None
        self._active_path: Path | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._pid = os.getpid()

    # --- appending ------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Make ``record`` durable in the spool (then drain it in the background).

        Raises :class:`CatalogError` when the record cannot be made durable: the caller (a
        query) must then fail closed.
        """
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        try:
            with self._lock:
                handle = self._segment()
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self._abandon()  # a torn line must not swallow the next record: start a new segment
            raise CatalogError(
                f"an audit record could not be written to the catalog in time nor to the audit spool "
                f"{self.directory}: {exc}. The query is refused (no record, no data). Free the catalog's "
                "write lock or make the spool directory writable (IMMUTA_SPARK_AUDIT_SPOOL), then retry"
            ) from exc
        self._start_draining()

    def _segment(self) -> IO[str]:
        """The active segment, opened (and locked) on first use in this process."""
        if self._active is not None and self._pid == os.getpid():
            return self._active
        self._pid = os.getpid()  # a forked child starts its own segment
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        handle = open(path, "a", encoding="utf-8")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_directory(self.directory)  # the new name itself survives a crash
        self._active, self._active_path = handle, path
        return handle

    def _abandon(self) -> None:
        with self._lock, suppress(OSError):
            if self._active is not None:
                self._active.close()
        self._active, self._active_path = None, None

    def _rotate(self) -> None:
        """Close the active segment (it becomes drainable) if it holds anything."""
        with self._lock:
            if self._active is None or self._pid != os.getpid():
                return
            if self._active.tell() == 0:
                return
            self._active.close()  # releases its flock
            self._active, self._active_path = None, None

    # --- draining -------------------------------------------------------------------------

    def pending(self) -> int:
        """How many spooled records wait to be drained (every segment, this process's and others')."""
        if not self.directory.is_dir():
            return 0
        return sum(len(_records(p)) for p in self.directory.iterdir() if p.name.endswith(_SUFFIX))

    def drain(self, store: Callable[[list[dict[str, Any]]], None] | None = None, *, wait_s: float = -1) -> int:
        """Move every drainable record into the catalog; the number read. Raises when the catalog fails.

        ``store`` replaces the spool's own for this drain (a bounded wait, for instance).
        ``wait_s`` bounds the wait for a drain already running in this process (then 0 is
        returned); -1 waits for it however long it takes.
        """
        store = store or self._store
        if not self.directory.is_dir():
            return 0
        self._rotate()
        done = 0
        if not self._drain_lock.acquire(timeout=wait_s):
            return 0
        try:
            for path in self._segments():
                with _held(path) as records:
                    if records is None:
                        continue  # another process's active segment, or drained meanwhile
                    if records:
                        store(records)
                        done += len(records)
                    path.unlink(missing_ok=True)
        finally:
            self._drain_lock.release()
        return done

    def _segments(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(_SUFFIX) and p != self._active_path)

    def wait_drained(self, timeout: float) -> bool:
        """Wait for the background drain to finish; whether it did within ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _start_draining(self) -> None:
        if not self.background:
            return
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._drain_loop, name="immuta-audit-drain", daemon=True)
        self._thread.start()

    def _drain_loop(self) -> None:
        """Retry draining with a growing pause until this process has nothing spooled."""
        pause = 0.2
        while True:
            self._wake.wait(pause)
            self._wake.clear()
            try:
                self.drain(self.background_store)
            except Exception:  # noqa: BLE001 - the catalog is still busy or down: retry later
                pause = min(pause * 2, 2.0)
                continue
            with self._lock:
                idle = self._active is None or self._active.tell() == 0
            if idle:
                return
            pause = 0.2


@contextmanager
def _held(path: Path) -> Iterator[list[dict[str, Any]] | None]:
    """The records of a segment nobody holds, locked for the while; None when it is held or gone."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        if not path.exists():
            yield None
            return
        yield _parse(handle.read())
    finally:
        handle.close()


def _records(path: Path) -> list[dict[str, Any]]:
    with suppress(FileNotFoundError), open(path, encoding="utf-8") as handle:
        return _parse(handle.read())
    return []


def _parse(text: str) -> list[dict[str, Any]]:
    """The complete lines of a segment; a torn last line (a crash mid-write) was never acknowledged."""
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("record_id"), str):
            out.append(record)
    return out


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
