"""What project operations return: :class:`ProjectRecord` (one project as its reader may see it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from immuta_spark.engine import Snapshot
from immuta_spark.model import Project
from immuta_spark.policyfile import dump_entitlement, dump_subscription

__all__ = ["MemberRecord", "ProjectRecord", "project_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRecord:
    """One person in a project: role, where the membership comes from, acknowledgement status."""

    user: str
    role: str  # "owner" | "member"
    origin: str  # "file" | "runtime"
    #: "accepted" (acts under the project), "rejected", "pending" (not yet, or a statement changed).
    acknowledgement: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {"user": self.user, "role": self.role, "origin": self.origin, "acknowledgement": self.acknowledgement}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectRecord:
    """A project as the asking user may see it.

    Owners, members and governors see everything; anyone else sees what is needed to decide to
    ask for membership (name, owners, purposes and their statements, description), not the
    project's sources or members.
    """

    name: str
    origin: str  # "file" (declared in a policy file) | "runtime" (created through the API)
    owner: str
    description: str
    purposes: tuple[tuple[str, str], ...]  # (purpose, acknowledgement statement)
    sources: tuple[str, ...] | None
    members: tuple[MemberRecord, ...] | None
    equalization: bool
    masked_joins: bool
    validation_frequency: int | None
    #: Who may join, in policy-as-code form (None: individuals the owners add).
    subscription: dict[str, Any] | None = None
    #: The equalized entitlement (equalized projects only), in policy-as-code form.
    entitlement: dict[str, Any] | None = None
    #: Requests to join, denials and revocations: (user, status, approvals given); insiders only.
    requests: tuple[tuple[str, str, tuple[str, ...]], ...] | None = None
    #: The HDFS workspace (state, full URI, Hive connection), insiders only; None without one.
    workspace: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (sources and members are null when hidden from the reader)."""
        return {
            "name": self.name,
            "origin": self.origin,
            "owner": self.owner,
            "description": self.description,
            "purposes": [{"name": p, "statement": s} for p, s in self.purposes],
            "sources": None if self.sources is None else list(self.sources),
            "members": None if self.members is None else [m.to_json() for m in self.members],
            "equalization": self.equalization,
            "masked_joins": self.masked_joins,
            "validation_frequency": self.validation_frequency,
            "subscription": self.subscription,
            "entitlement": self.entitlement,
            "requests": None
            if self.requests is None
            else [{"user": u, "status": s, "approvals": list(a)} for u, s, a in self.requests],
            "workspace": self.workspace,
        }

    def text(self) -> str:
        """Several lines for people."""
        origin = "created at run time" if self.origin == "runtime" else "from a policy file"
        lines = [f"project {self.name!r} ({origin})"]
        lines.append(f"  owner: {self.owner}")
        if self.description:
            lines.append(f"  description: {self.description}")
        lines.append("  purposes: " + (", ".join(p for p, _ in self.purposes) or "none"))
        if self.sources is not None:
            lines.append("  sources: " + (", ".join(self.sources) or "none"))
        flags = [f for f, on in (("equalization", self.equalization), ("masked joins", self.masked_joins)) if on]
        lines.append("  settings: " + (", ".join(flags) or "none"))
        lines.append("  subscription: " + (_one_line(self.subscription) if self.subscription else "individuals"))
        if self.entitlement is not None:
            lines.append("  equalized entitlement: " + _one_line(self.entitlement))
        if self.workspace is not None:
            lines.append(f"  workspace: {self.workspace['uri']} ({self.workspace['state']})")
            if self.workspace["hive_connection"]:
                lines.append(f"  hive: {self.workspace['hive_connection']}")
        if self.members is not None:
            lines.append("  members:")
            for m in self.members:
                lines.append(f"    {m.user} ({m.role}, {m.origin}; acknowledgement {m.acknowledgement})")
        for user, status, approvals in self.requests or ():
            given = f"; approvals: {', '.join(approvals)}" if approvals else ""
            lines.append(f"  request: {user} {status}{given}")
        return "\n".join(lines)


def _one_line(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)


def project_record(snapshot: Snapshot, project: Project, *, full: bool) -> ProjectRecord:
    """The record of ``project``; ``full`` shows its sources and members."""
    members = None
    requests = None
    from_file = ("project", project.name) not in snapshot.runtime
    if full:
        owners = snapshot.project_owners(project)
        rows = []
        for user in sorted(snapshot.project_members(project)):
            declared = from_file and (user == project.owner or user in project.members)
            origin = "file" if declared else "runtime"
            pending = snapshot.unacknowledged(project, user)
            rejected = any(a is not None and a.decision == "rejected" for _, _, a in pending)
            status = "rejected" if rejected else "pending" if pending else "accepted"
            rows.append(
                MemberRecord(
                    user=user, role="owner" if user in owners else "member", origin=origin, acknowledgement=status
                )
            )
        members = tuple(rows)
        requests = tuple(
            (user, state.status, tuple(sorted(state.approvals)))
            for (name, user), state in sorted(snapshot.memberships.items())
            if name == project.name and state.status != "member"
        )
    return ProjectRecord(
        name=project.name,
        origin="file" if from_file else "runtime",
        owner=project.owner,
        description=project.description,
        purposes=tuple((p, snapshot.statement(p)) for p in project.purposes),
        sources=tuple(project.sources) if full else None,
        members=members,
        equalization=project.equalization,
        masked_joins=project.masked_joins,
        validation_frequency=project.validation_frequency,
        subscription=dump_subscription(spec) if (spec := snapshot.project_subscription(project)) is not None else None,
        entitlement=dump_entitlement(snapshot.entitlement(project)) if project.equalization else None,
        requests=requests,
    )
