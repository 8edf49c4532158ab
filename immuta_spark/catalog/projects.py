"""Projects as living entities: create, show, list, delete, sources, purposes, members, acknowledgements.

Seed ("Projects in Immuta"): users with ``CREATE_PROJECT`` create projects and own them;
governors manage every project; a user becomes a member only after accepting every one of the
project's purposes' acknowledgement statements (a rejection denies membership); owners
acknowledge too. The governance settings bite here: a purpose required, more than one purpose,
custom purposes, and a purpose that may change (only by the project's creator).

A project created here is runtime state (``entities.origin = runtime``): ``apply`` never
touches it (:mod:`immuta_spark.catalog.coexist`). A project declared in a policy file is the
file's: its sources, purposes and settings change there; members may still be added to it here.
Every action, allowed or refused, is an audit record; a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from immuta_spark import policyfile
from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.entities import canonical_json
from immuta_spark.catalog.project_records import ProjectRecord, project_record
from immuta_spark.catalog.workspaces import WorkspaceRecord
from immuta_spark.engine import Snapshot, compile_plan
from immuta_spark.errors import ImmutaSparkError, NotAuthorized, PolicyFileError, ProjectError
from immuta_spark.model import Permission, Project, Purpose
from immuta_spark.policyfile.common import At

__all__ = ["KEEP", "ProjectAdmin"]


class _Keep:
    """The type of :data:`KEEP`."""


#: "Leave this setting as it is" (where None is a value of its own).
KEEP = _Keep()


class ProjectAdmin(CatalogBase):
    """The catalog's project operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    # --- reading ------------------------------------------------------------------------

    def project(self, name: str) -> ProjectRecord:
        """One project; its sources and members only for its owners, members and governors."""
        snapshot = self.snapshot()
        record = project_record(snapshot, self._project(snapshot, name), full=self._insider(snapshot, name))
        if record.members is None:
            return record
        with self.store.read() as conn:
            row = self.store.workspace_row(conn, name)
        if row is None:
            return record
        ws = WorkspaceRecord.from_row(row)
        hive = ws.hive_connection if ws.hive_uri else ""
        return replace(record, workspace={"state": ws.state, "uri": ws.uri, "hive_connection": hive})

    def projects(self) -> list[ProjectRecord]:
        """Every project, by name (sources and members only where the actor is inside or governs)."""
        snapshot = self.snapshot()
        return [project_record(snapshot, p, full=self._insider(snapshot, p.name)) for p in _by_name(snapshot)]

    def project_statements(self, name: str) -> list[tuple[str, str]]:
        """The (purpose, statement) pairs a member accepts to act under ``name``."""
        snapshot = self.snapshot()
        return [(p, snapshot.statement(p)) for p in self._project(snapshot, name).purposes]

    # --- lifecycle ----------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        purposes: Sequence[str] = (),
        sources: Sequence[str] = (),
        description: str = "",
        statements: Mapping[str, str] | None = None,
        subscription: Mapping[str, Any] | None = None,
    ) -> ProjectRecord:
        """Create a project owned by the actor (needs ``CREATE_PROJECT``).

        ``purposes`` must be declared by governors unless the custom-purposes setting is on:
        then an unknown purpose is created with the statement given in ``statements`` (or the
        default one). The actor must see every source named. ``subscription`` is who may join,
        in policy-as-code form (default: individuals the owners add; see
        :mod:`immuta_spark.catalog.membership`). The owner, like every member, acknowledges the
        purposes before acting under the project.
        """
        snapshot = self.snapshot()
        action = "project.create"
        self._require(Permission.CREATE_PROJECT, f"create project '{name}'", snapshot)
        if name in snapshot.projects:
            self._refuse(action, name, f"a project named '{name}' already exists; choose another name")
        custom = self._check_purposes(snapshot, action, name, purposes, statements or {})
        for source in sources:
            self._check_source_visible(snapshot, action, name, source)
        body = {
            "name": name,
            "owner": self.actor,
            "purposes": list(purposes),
            "sources": list(sources),
            "description": description,
            **({"subscription": dict(subscription)} if subscription is not None else {}),
        }
        project = self._validated(snapshot, action, name, body, extra_purposes=[p.name for p in custom])
        with self.store.write() as conn:
            if ("project", name) in self.store.named_entities(conn, "project", [name]):
                raise ProjectError(f"a project named '{name}' already exists; choose another name")
            self._put_purposes(conn, custom)
            self.store.put_runtime_entity(
                conn, "project", name, canonical_json(policyfile.dump_project(project)), new=True
            )
            self.store.ensure_secrets(conn, [("project", name, "hash_salt")])
            self.store.bump(conn)
            self._audit_project(
                conn,
                action,
                name,
                {"purposes": list(purposes), "sources": list(sources), "custom_purposes": [p.name for p in custom]},
            )
        return self.project(name)

    def delete_project(self, name: str) -> None:
        """Delete a project created at run time (its owners and governors), with its members and acknowledgements."""
        snapshot = self.snapshot()
        action = "project.delete"
        self._runtime_project(snapshot, action, name, "delete it")
        self._require_manager(snapshot, action, name)
        with self.store.write() as conn:
            members = self.store.delete_project_members(conn, name)
            acks = self.store.delete_acknowledgements(conn, name)
            acting = self.store.users_acting_under(conn, name)
            self.store.clear_current_project(conn, name)
            self.store.delete_entity(conn, "project", name)
            self.store.bump(conn)
            detail = {"members_removed": members, "acknowledgements_removed": acks, "users_switched_to_none": acting}
            self._audit_project(conn, action, name, detail)

    def delete_purpose(self, purpose: str) -> None:
        """Delete a custom purpose created with a project (governors only; seed: "only Governors can delete purposes").

        A purpose a policy file declares is deleted in the file; one a project still uses is refused.
        """
        snapshot = self.snapshot()
        action = "purpose.delete"
        self._require(Permission.GOVERNANCE, f"delete purpose '{purpose}'", snapshot)
        if purpose not in snapshot.purposes:
            raise ProjectError(f"there is no purpose '{purpose}'")
        if ("purpose", purpose) not in snapshot.runtime:
            self._refuse(
                action, purpose, f"purpose '{purpose}' is declared in a policy file; remove it there and apply"
            )
        users = sorted(p.name for p in snapshot.projects.values() if purpose in p.purposes)
        if users:
            self._refuse(
                action, purpose, f"purpose '{purpose}' is used by project(s) {', '.join(users)}; change them first"
            )
        with self.store.write() as conn:
            self.store.delete_entity(conn, "purpose", purpose)
            self.store.bump(conn)
            self.store.append_audit(
                conn,
                user=self.actor,
                impersonator=self._impersonator(),
                action=action,
                outcome="ok",
                detail={"purpose": purpose},
            )

    # --- sources, purposes, description --------------------------------------------------

    def add_project_source(self, name: str, source: str) -> ProjectRecord:
        """Add a source to a runtime project (its owners and governors; the actor must see it)."""
        snapshot = self.snapshot()
        action = "project.add_source"
        project = self._runtime_project(snapshot, action, name, "add sources to it")
        self._require_manager(snapshot, action, name)
        if project.equalization and self.actor not in snapshot.project_owners(project):
            # Seed: "Only project owners can add data sources to the project if this feature is enabled."
            self._refuse(action, name, f"project '{name}' is equalized: only its owners add data sources")
        src = self._check_source_visible(snapshot, action, name, source)
        if src in project.sources:
            raise ProjectError(f"data source '{src}' is already in project '{name}'; nothing to add")
        return self._update(snapshot, action, replace(project, sources=(*project.sources, src)), {"source": src})

    def remove_project_source(self, name: str, source: str) -> ProjectRecord:
        """Take a source out of a runtime project (its owners and governors)."""
        snapshot = self.snapshot()
        action = "project.remove_source"
        project = self._runtime_project(snapshot, action, name, "remove sources from it")
        self._require_manager(snapshot, action, name)
        if source not in project.sources:
            raise ProjectError(f"data source '{source}' is not in project '{name}'; see `immuta-spark project show`")
        kept = tuple(s for s in project.sources if s != source)
        return self._update(snapshot, action, replace(project, sources=kept), {"source": source})

    def set_project_purposes(
        self, name: str, purposes: Sequence[str], *, statements: Mapping[str, str] | None = None
    ) -> ProjectRecord:
        """Change a runtime project's purposes: only its creator, only when the governance settings allow.

        Members act under the new purposes only after accepting their statements.
        """
        snapshot = self.snapshot()
        action = "project.set_purposes"
        project = self._runtime_project(snapshot, action, name, "change its purposes")
        if not snapshot.governance.settings.governance.purpose_can_change:
            self._refuse(
                action,
                name,
                "a project's purpose may not change: the governance setting purpose_can_change is off; "
                "ask a governor to turn it on, or create a new project",
            )
        if self.actor != project.owner:
            self._refuse(
                action,
                name,
                f"only the user who created project '{name}' ('{project.owner}') may change its purposes",
            )
        custom = self._check_purposes(snapshot, action, name, purposes, statements or {})
        new = replace(project, purposes=tuple(purposes))
        detail = {"purposes": list(purposes), "previous": list(project.purposes)}
        return self._update(snapshot, action, new, detail, custom=custom)

    def set_project_settings(
        self,
        name: str,
        *,
        masked_joins: bool | None = None,
        validation_frequency: int | _Keep | None = KEEP,
    ) -> ProjectRecord:
        """Change a runtime project's masked joins or validation frequency (seconds; None: no validation)."""
        snapshot = self.snapshot()
        action = "project.set_settings"
        project = self._runtime_project(snapshot, action, name, "change its settings")
        self._require_manager(snapshot, action, name)
        new = project if masked_joins is None else replace(project, masked_joins=masked_joins)
        if not isinstance(validation_frequency, _Keep):
            new = replace(new, validation_frequency=validation_frequency)
        detail = {"masked_joins": new.masked_joins, "validation_frequency": new.validation_frequency}
        return self._update(snapshot, action, new, detail)

    def set_project_description(self, name: str, description: str) -> ProjectRecord:
        """Change a runtime project's description (its owners and governors)."""
        snapshot = self.snapshot()
        action = "project.set_description"
        project = self._runtime_project(snapshot, action, name, "change its description")
        self._require_manager(snapshot, action, name)
        return self._update(snapshot, action, replace(project, description=description), {})

    # --- helpers ------------------------------------------------------------------------

    def _project(self, snapshot: Snapshot, name: str) -> Project:
        project = snapshot.projects.get(name)
        if project is None:
            raise ProjectError(f"there is no project '{name}'; list projects with `immuta-spark project list`")
        return project

    def _runtime_project(self, snapshot: Snapshot, action: str, name: str, what: str) -> Project:
        project = self._project(snapshot, name)
        if ("project", name) not in snapshot.runtime:
            self._refuse(
                action,
                name,
                f"project '{name}' is declared in a policy file, which owns it: to {what}, change the file and apply",
            )
        return project

    def _insider(self, snapshot: Snapshot, name: str) -> bool:
        me = self._actor_subject()
        return me.has(Permission.GOVERNANCE) or me.user in snapshot.project_members(snapshot.projects[name])

    def _require_manager(self, snapshot: Snapshot, action: str, name: str) -> None:
        me = self._actor_subject()
        if me.user in snapshot.project_owners(snapshot.projects[name]) or me.has(Permission.GOVERNANCE):
            return
        self._refuse(action, name, f"only an owner of project '{name}' or a governor may do this", NotAuthorized)

    def _check_purposes(
        self, snapshot: Snapshot, action: str, name: str, purposes: Sequence[str], statements: Mapping[str, str]
    ) -> list[Purpose]:
        """The governance settings on a project's purposes; the custom purposes to create."""
        rules = snapshot.governance.settings.governance
        if rules.purpose_required and not purposes:
            self._refuse(
                action, name, "a project needs a purpose (governance setting purpose_required); name one or more"
            )
        if not rules.multiple_purposes and len(purposes) > 1:
            self._refuse(
                action,
                name,
                f"a project may have only one purpose (governance setting multiple_purposes is off), not "
                f"{len(purposes)}: {', '.join(purposes)}",
            )
        if len(set(purposes)) != len(purposes):
            self._refuse(action, name, "a purpose is named twice; name each once")
        custom = []
        for purpose in purposes:
            if purpose in snapshot.purposes:
                continue
            if not rules.custom_purposes:
                self._refuse(
                    action,
                    name,
                    f"unknown purpose '{purpose}': projects use purposes governors declare (custom purposes "
                    "are off); pick one of " + (", ".join(sorted(snapshot.purposes)) or "none declared yet"),
                )
            try:
                custom.append(
                    policyfile.parse_purpose(
                        {"name": purpose, "acknowledgement": statements.get(purpose, "")},
                        At(f"purpose {purpose!r}"),
                    )
                )
            except PolicyFileError as exc:
                self._refuse(action, name, str(exc))
        return custom

    def _check_source_visible(self, snapshot: Snapshot, action: str, name: str, source: str) -> str:
        src = snapshot.source(source)
        if src is None or not compile_plan(snapshot, self._actor_subject(), src.name).visible:
            # An invisible source looks exactly like a missing one (section 4).
            self._refuse(action, name, f"there is no data source '{source}' that you can see")
        return src.name  # type: ignore[union-attr]

    def _validated(
        self, snapshot: Snapshot, action: str, name: str, body: dict[str, Any], *, extra_purposes: Sequence[str] = ()
    ) -> Project:
        try:
            return policyfile.check_project(
                body,
                users=snapshot.users,
                purposes=[*snapshot.purposes, *extra_purposes],
                sources=snapshot.sources,
                where=f"project {name!r}",
            )
        except PolicyFileError as exc:
            self._refuse(action, name, exc.reason + f" ({exc.path})")

    def _update(
        self,
        snapshot: Snapshot,
        action: str,
        project: Project,
        detail: dict[str, Any],
        *,
        custom: Sequence[Purpose] = (),
    ) -> ProjectRecord:
        body = policyfile.dump_project(project)
        checked = self._validated(snapshot, action, project.name, body, extra_purposes=[p.name for p in custom])
        with self.store.write() as conn:
            self._put_purposes(conn, custom)
            self.store.put_runtime_entity(
                conn, "project", project.name, canonical_json(policyfile.dump_project(checked)), new=False
            )
            self.store.bump(conn)
            self._audit_project(conn, action, project.name, detail)
        return self.project(project.name)

    def _put_purposes(self, conn: Any, custom: Sequence[Purpose]) -> None:
        """Store custom purposes (runtime entities), unless another project created one meanwhile."""
        found = self.store.named_entities(conn, "purpose", [p.name for p in custom])
        for purpose in custom:
            if ("purpose", purpose.name) not in found:
                body = canonical_json(policyfile.dump_purpose(purpose))
                self.store.put_runtime_entity(conn, "purpose", purpose.name, body, new=True)

    def _audit_project(self, conn: Any, action: str, name: str, detail: dict[str, Any]) -> None:
        self.store.append_audit(
            conn,
            user=self.actor,
            impersonator=self._impersonator(),
            action=action,
            outcome="ok",
            project=name,
            detail={"project": name, **detail},
        )

    def _refuse(self, action: str, name: str, why: str, error: type[ImmutaSparkError] = ProjectError) -> NoReturn:
        self.refuse(action, why, project=name, detail={"project": name}, error=error)


def _by_name(snapshot: Snapshot) -> list[Project]:
    return sorted(snapshot.projects.values(), key=lambda p: p.name)
