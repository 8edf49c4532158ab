"""Shared pieces of the workspace tests: the governance document, catalog handles, a faulty access."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hdfs_workspace.access import HdfsAccess
from hdfs_workspace.errors import Unavailable
from immuta_spark.catalog import GovernanceCatalog

#: Every project a workspace test enables; each test uses its own.
PROJECTS = (
    "ws_life",
    "ws_ctx",
    "ws_many",
    "ws_lease",
    "ws_check",
    "ws_fault",
    "ws_fault_purge",
    "ws_purge",
    "ws_calls",
    "ws_cli",
    "ws_write",
    "ws_hive",
    "ws_taken",
    "ws_hive_drift",
    "ws_hive_purge",
    "ws_hive_write",
    "ws_hms_down",
    "ws_killed",
    "ws_killed_purge",
    "ws_hive_sources",
    "ws_hive_sources_del",
    "ws_dn_down",
    "ws_svc_reads",
    "ws_src",
    "ws_src_leave",
    "ws_wall",
)
#: Forty members beyond bob and carol: more than an ACL scope can name.
CROWD = tuple(f"m{i:02d}" for i in range(1, 41))
MEMBERS = ("bob", "carol", "dave", *CROWD)


def governance_yaml() -> str:
    """The workspace tests' governance: equalized projects with an Analysts entitlement."""
    users = "\n".join(f"  - {{name: {m}, groups: [Analysts]}}" for m in CROWD)
    members = ", ".join(MEMBERS)
    projects = "\n".join(
        f"""  - name: {p}
    owner: olivia
    members: [{members}]
    purposes: [Research]
    sources: [Ledger]
    equalization: true
    entitlement: {{groups: [Analysts]}}"""
        for p in PROJECTS
    )
    return f"""version: 1
settings: {{workspace_root: /user/immuta/workspace}}
purposes:
  - {{name: Research, acknowledgement: "Research only."}}
users:
  - {{name: gov, permissions: [GOVERNANCE]}}
  - {{name: olivia, groups: [Analysts], permissions: [CREATE_PROJECT, CREATE_DATA_SOURCE_IN_PROJECT]}}
  - {{name: bob, groups: [Analysts], permissions: [CREATE_DATA_SOURCE_IN_PROJECT]}}
  - {{name: carol, groups: [Analysts]}}
  - {{name: dave, groups: [Sales]}}
  - {{name: erin, groups: [Analysts]}}
{users}
sources:
  - name: Ledger
    table: db.ledger
    subscription: {{anyone: {{}}}}
    dictionary: [{{name: region, type: string}}, {{name: amount, type: int}}]
    policies:
      - {{name: hash-region, type: masking, columns: {{names: [region]}}, mask: hash}}
projects:
  - name: ws_plain
    owner: olivia
    members: [bob]
    purposes: [Research]
    sources: [Ledger]
{projects}
"""


def acting(catalog: GovernanceCatalog, user: str) -> GovernanceCatalog:
    """A handle on the same catalog acting as ``user``."""
    return GovernanceCatalog(catalog.store, identity=user)


class FaultyAccess:
    """Wraps an access object; the chosen method raises :class:`Unavailable` on its next ``times`` calls."""

    def __init__(self, inner: HdfsAccess) -> None:
        self.inner = inner
        self.faults: dict[str, int] = {}

    def fail(self, method: str, times: int = 1) -> None:
        """Make ``method`` fail on its next ``times`` calls."""
        self.faults[method] = times

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.faults.get(name, 0) > 0:
                self.faults[name] -= 1
                raise Unavailable(f"injected failure in {name}: the NameNode went away; try again")
            return attr(*args, **kwargs)

        return call


Factory = Callable[[Any], HdfsAccess]


def run_script(name: str, spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run ``tests/hdfs/<name>`` with ``spec`` as JSON in a fresh Python process; its outcome.

    The child gets no HADOOP_USER_NAME or HADOOP_CONF_DIR of ours: it acts as whom ``spec``
    says, on the test HDFS only through the URIs in ``spec``.
    """
    script = Path(__file__).with_name(name)
    return subprocess.run(
        [sys.executable, str(script), json.dumps(spec)], env=script_env(), capture_output=True, text=True, timeout=300
    )


def script_env() -> dict[str, str]:
    """The environment of a test script's own process: no HADOOP_USER_NAME or HADOOP_CONF_DIR of ours, this tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_USER_NAME", "HADOOP_CONF_DIR")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def run_reader_session(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run ``reader_session.py`` (a subscriber's own governed Spark, own process); its steps by name."""
    done = run_script("reader_session.py", spec)
    assert done.returncode == 0, done.stderr[-3000:]
    return {s["step"]: s for s in map(json.loads, done.stdout.splitlines())}


def derive_in_workspace(manager: Any, hive_uri: str, record: Any, work: Path, name: str) -> dict[str, Any]:
    """bob, acting under ``record``'s project, saves a governed copy of the Ledger as ``<db>.ledger_copy``.

    The copy is registered as derived source ``name``; returns the member session's ``table`` step.
    """
    spec = {
        "user": "bob",
        "project": record.project,
        "workspace_uri": record.uri,
        "catalog": manager.catalog.store.url,
        "work": str(work),
        "hive_uri": hive_uri,
        "hive_table": f"{record.hive_database}.ledger_copy",
        "derive": name,
    }
    return run_member_session(spec)["table"]


def _member_steps(spec: dict[str, Any]) -> list[dict[str, Any]]:
    done = run_script("member_session.py", spec)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def run_member_session(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run ``member_session.py`` (a member's own governed Spark, own process); its steps by name."""
    return {s["step"]: s for s in _member_steps(spec)}


def run_member_sessions(spec: dict[str, Any]) -> list[dict[str, dict[str, Any]]]:
    """Run ``member_session.py`` with several ``runs`` in one process (one JVM); each run's steps by name, in order."""
    steps = _member_steps(spec)
    return [{s["step"]: s for s in steps if s["run"] == i} for i in range(len(spec["runs"]))]
