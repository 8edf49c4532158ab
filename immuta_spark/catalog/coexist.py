"""How a policy file and state created at run time share one catalog (docs/projects.md, "Coexistence").

One rule: **``apply`` never deletes runtime state silently.** A policy file owns what it
declares (origin ``file``); projects and custom purposes created through the API, members and
owners added at run time, acknowledgements and who acts under which project are runtime state,
which ``apply`` leaves alone. When an apply would collide with runtime state (a file entity
named like a runtime one) it is refused. When it would orphan runtime state (remove a project
that has members added at run time, a source or purpose that a runtime project uses, a user
who is a runtime member) it is refused naming that state, unless the governor asks for
``prune_runtime``: then the orphaned state is deleted in the same transaction and the apply's
audit record lists every piece of it.

This module decides; :meth:`GovernanceCatalog.apply_governance` carries the decision out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from immuta_spark.catalog.entities import canonical_json
from immuta_spark.model import Governance

__all__ = ["Pruning", "RuntimeState", "plan_coexistence"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeState:
    """The runtime state an apply must keep: read in the apply's write transaction."""

    #: Entities created at run time: (kind, name) -> canonical JSON body.
    entities: Mapping[tuple[str, str], str]
    #: (project, user) of every member and owner added at run time.
    members: Iterable[tuple[str, str]] = ()
    #: (project, user) of every acknowledgement decision.
    acknowledgements: Iterable[tuple[str, str]] = ()
    #: (user, project) of every user's current project.
    acting: Iterable[tuple[str, str]] = ()


@dataclass(slots=True)
class Pruning:
    """What an apply finds: collisions (always refused) and orphans (refused unless pruned)."""

    collisions: list[str] = field(default_factory=list)
    #: Refused even with ``prune_runtime`` (the runtime entity itself would be invalid).
    blocking: list[str] = field(default_factory=list)
    #: Orphaned runtime state, each described for the error and the audit record.
    orphans: list[str] = field(default_factory=list)
    #: Runtime projects to rewrite without what the file removed: name -> new body.
    rewrite: dict[str, str] = field(default_factory=dict)
    #: Projects whose whole runtime state goes (the file removed the project).
    drop_projects: list[str] = field(default_factory=list)
    #: (project, user) runtime memberships and acknowledgements that go (the file removed the user).
    drop_users: list[tuple[str, str]] = field(default_factory=list)


def plan_coexistence(desired: Governance, state: RuntimeState) -> Pruning:
    """Compare the file's desired state with the runtime state it must not silently lose."""
    out = Pruning()
    users = {u.name for u in desired.users}
    file_sources = {s.name for s in desired.sources}
    runtime_sources = {n: json.loads(b) for (k, n), b in state.entities.items() if k == "source"}
    sources = file_sources | set(runtime_sources)
    file_projects = {p.name for p in desired.projects}
    file_purposes = {p.name for p in desired.purposes}
    purposes = file_purposes | {n for k, n in state.entities if k == "purpose"}
    _derived_sources(desired, runtime_sources, file_sources, out)
    for kind, name in sorted(state.entities):
        clash = (kind == "project" and name in file_projects) or (kind == "purpose" and name in file_purposes)
        if clash:
            what = "project" if kind == "project" else "custom purpose"
            remedy = (
                f"`immuta-spark project delete '{name}'`" if kind == "project" else "a governor deleting the purpose"
            )
            out.collisions.append(
                f"{kind} '{name}' is in the file and is also a {what} created at run time; rename it in the "
                f"file, or remove the runtime one first ({remedy})"
            )
    runtime_projects = {n: json.loads(b) for (k, n), b in state.entities.items() if k == "project"}
    all_projects = file_projects | set(runtime_projects)
    for name, body in sorted(runtime_projects.items()):
        if body["owner"] not in users:
            out.blocking.append(
                f"project '{name}' (created at run time) is owned by '{body['owner']}', whom the file removes; "
                "give the project another owner or delete it first"
            )
        lost_sources = [s for s in body.get("sources", []) if s not in sources]
        lost_purposes = [p for p in body.get("purposes", []) if p not in purposes]
        if lost_sources or lost_purposes:
            parts = [f"source '{s}'" for s in lost_sources] + [f"purpose '{p}'" for p in lost_purposes]
            uses = ", ".join(parts)
            out.orphans.append(f"project '{name}' (created at run time) uses {uses}, which the file removes")
            kept = _without(body, sources=lost_sources, purposes=lost_purposes)
            out.rewrite[name] = canonical_json(kept)
    held: dict[str, set[str]] = {}
    for project, user in [*state.members, *state.acknowledgements]:
        held.setdefault(project, set()).add(user)
    for user, project in state.acting:
        held.setdefault(project, set()).add(user)
    for project, holders in sorted(held.items()):
        if project not in all_projects:
            out.orphans.append(
                f"project '{project}', which the file removes, has runtime state (members, acknowledgements or "
                f"users acting under it: {', '.join(sorted(holders))})"
            )
            out.drop_projects.append(project)
            continue
        gone = sorted(u for u in holders if u not in users)
        if gone:
            out.orphans.append(
                f"project '{project}' has runtime memberships or acknowledgements of {', '.join(gone)}, whom the "
                "file removes"
            )
            out.drop_users += [(project, u) for u in gone]
    return out


def _derived_sources(desired: Governance, runtime: Mapping[str, Any], file_sources: set[str], out: Pruning) -> None:
    """Derived sources created at run time: never replaced by the file, never orphaned from their parents."""
    tables = {s.table.lower(): s.name for s in desired.sources}
    for name, body in sorted(runtime.items()):
        if name in file_sources:
            out.collisions.append(
                f"source '{name}' is in the file and is also a derived data source created at run time; rename it "
                f"in the file, or delete the derived one first (`immuta-spark source delete-derived '{name}'`)"
            )
        elif str(body.get("table", "")).lower() in tables:
            out.collisions.append(
                f"the file's source '{tables[str(body['table']).lower()]}' governs table '{body['table']}', which the "
                f"derived data source '{name}' (created at run time) governs; govern another table"
            )
        lost = [p for p in body.get("derived", {}).get("parents", []) if p not in file_sources and p not in runtime]
        if lost:
            out.blocking.append(
                f"derived data source '{name}' (created at run time) derives from {', '.join(map(repr, lost))}, which "
                f"the file removes; delete the derived source first (`immuta-spark source delete-derived '{name}'`)"
            )


def _without(body: dict[str, Any], *, sources: list[str], purposes: list[str]) -> dict[str, Any]:
    kept = dict(body)
    kept["sources"] = [s for s in body.get("sources", []) if s not in sources]
    kept["purposes"] = [p for p in body.get("purposes", []) if p not in purposes]
    return kept
