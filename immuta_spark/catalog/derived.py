"""Derived data sources: registered from a project's sources, their lineage checked (seed "Derived Data Sources").

A member with ``CREATE_DATA_SOURCE_IN_PROJECT``, acting under an equalized project, registers
the table it wrote from the project's sources as a new source. Beyond the seed, which trusts
the member's certification, the parents named are checked against the governed sources the
data's plan actually read (the governed session hands ``read`` and the column ``lineage`` over
from Spark's analyzed plan): a parent named but not read, or read but not named, is refused.
What the new source inherits (subscription, purpose restrictions, tags) is decided by
:mod:`immuta_spark.engine.derived` each time the catalog is read.

A derived source is runtime state: ``apply`` never deletes it (:mod:`immuta_spark.catalog.coexist`).
Every registration and refusal is an audit record (``project.derived_source``); a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from immuta_spark import policyfile
from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.entities import canonical_json
from immuta_spark.engine import Snapshot, compile_plan, project_access_problem
from immuta_spark.engine.derived import derived_subscription, tests_purposes
from immuta_spark.engine.wording import describe_subscription
from immuta_spark.errors import NotAuthorized, PolicyFileError, ProjectError, SourceNotFound
from immuta_spark.model import ColumnDef, Derivation, ObjectStore, OwnerRef, Permission, PolicyType, Project, Source
from immuta_spark.store import Store

__all__ = ["DerivedRecord", "DerivedSources", "disable_in", "unregister_in"]

_ACTION = "project.derived_source"


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedRecord:
    """A derived source as ``source show`` prints it: what it derives from and what it inherits."""

    name: str
    table: str
    parents: tuple[str, ...]
    project: str | None
    created_by: str
    entitlement: dict[str, Any]
    subscription: str
    purpose_policies: tuple[str, ...]
    tags: tuple[str, ...]
    column_tags: dict[str, tuple[str, ...]]
    lineage: dict[str, list[list[str]]]
    disabled: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return {
            "name": self.name,
            "table": self.table,
            "parents": list(self.parents),
            "project": self.project,
            "created_by": self.created_by,
            "entitlement": self.entitlement,
            "subscription": self.subscription,
            "purpose_policies": list(self.purpose_policies),
            "tags": list(self.tags),
            "column_tags": {c: list(t) for c, t in self.column_tags.items()},
            "lineage": self.lineage,
            "disabled": self.disabled,
        }


class DerivedSources(CatalogBase):
    """The catalog's derived-source operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def check_derived_source(
        self,
        name: str,
        *,
        table: str,
        parents: Sequence[str],
        read: Collection[str],
        certify: bool,
    ) -> Project:
        """Refuse (audited, nothing changed) what :meth:`create_derived_source` would refuse; the project acted under.

        The governed session calls this before it writes the data, so that a refusal leaves no table behind.
        """
        snapshot = self.snapshot()
        return self._checked(snapshot, name, table=table, parents=parents, read=read, certify=certify)

    def create_derived_source(
        self,
        name: str,
        *,
        table: str,
        parents: Sequence[str],
        read: Collection[str],
        lineage: Mapping[str, Iterable[tuple[str, str]]],
        columns: Sequence[tuple[str, str]],
        certify: bool = True,
        location: str | None = None,
        object_store: ObjectStore | None = None,
    ) -> DerivedRecord:
        """Register ``table`` as the derived source ``name`` of the project the actor acts under.

        ``read`` is every governed source the data's plan read and ``lineage`` each output
        column's parent columns (both from Spark's analyzed plan); ``columns`` the table's
        (name, type) pairs, its data dictionary. Refused, naming what is missing and what to do,
        unless: ``certify`` is true, the actor holds ``CREATE_DATA_SOURCE_IN_PROJECT`` and acts
        under an equalized project it may act under, every parent is one of the project's
        sources, the parents are exactly the sources read, and neither ``name`` nor ``table``
        is governed already. The source is owned by the actor; a project created at run time
        gets it among its sources. With ``object_store`` the source is object-backed: its files
        at ``location`` are read as that format, not through a table.
        """
        snapshot = self.snapshot()
        project = self._checked(snapshot, name, table=table, parents=parents, read=read, certify=certify)
        parent_policies = [p for s in parents for p in snapshot.source_policies(snapshot.sources[s]).all]
        derivation = Derivation(
            parents=tuple(parents),
            created_by=self.actor,
            project=project.name,
            entitlement=snapshot.entitlement(project),
            lineage={c: tuple(dict.fromkeys(tuple(p) for p in pairs)) for c, pairs in lineage.items()},
            purposes=project.purposes if tests_purposes(parent_policies) else (),
            certified=True,
        )
        source = Source(
            name=name,
            table=table,
            location=location,
            owners=(OwnerRef(user=self.actor),),
            dictionary=tuple(ColumnDef(name=c, type=t) for c, t in columns),
            derived=derivation,
            object=object_store,
        )
        try:
            checked = policyfile.check_derived_source(
                policyfile.dump_source(source), users=snapshot.users, where=f"derived source {name!r}"
            )
        except PolicyFileError as exc:
            self._refuse_derived(name, project.name, exc.reason + f" ({exc.path})")
        with self.store.write() as conn:
            if self.store.named_entities(conn, "source", [name]):
                raise ProjectError(f"a data source named '{name}' already exists; choose another name")
            body = canonical_json(policyfile.dump_source(checked))
            self.store.put_runtime_entity(conn, "source", name, body, new=True)
            if ("project", project.name) in snapshot.runtime and name not in project.sources:
                grown = policyfile.dump_project(project)
                grown["sources"] = [*project.sources, name]
                self.store.put_runtime_entity(conn, "project", project.name, canonical_json(grown), new=False)
            self.store.bump(conn)
            self._audit_in(
                conn,
                _ACTION,
                "ok",
                name,
                project=project.name,
                sources=parents,
                detail={
                    "project": project.name,
                    "source": name,
                    "table": table,
                    "parents": list(parents),
                    "certified": True,
                    "entitlement": policyfile.dump_entitlement(derivation.entitlement),
                },
            )
        return self.derived_source(name)

    def derived_source(self, name: str) -> DerivedRecord:
        """One derived source, with what it inherits now (for whoever may see it: a hidden one looks missing)."""
        snapshot = self.snapshot()
        source = snapshot.sources.get(name)
        if source is None or source.derived is None or not self._may_see(snapshot, source):
            raise SourceNotFound(name)
        return _record(snapshot, source)

    def derived_sources(self) -> list[DerivedRecord]:
        """Every derived source the actor may see (governors: all), by name."""
        snapshot = self.snapshot()
        return [
            _record(snapshot, s)
            for _, s in sorted(snapshot.sources.items())
            if s.derived is not None and self._may_see(snapshot, s)
        ]

    def _may_see(self, snapshot: Snapshot, source: Source) -> bool:
        """Governors and owners see a derived source; anyone else as the source's visibility says (section 4)."""
        me = self._actor_subject()
        if me.has(Permission.GOVERNANCE) or source.is_owner(me.user, me.groups):
            return True
        return compile_plan(snapshot, me, source.name).visible

    def delete_derived_source(self, name: str) -> None:
        """Unregister a derived source (its owners and governors); the table it names is left as it is."""
        snapshot = self.snapshot()
        source = snapshot.sources.get(name)
        if source is None or source.derived is None:
            raise SourceNotFound(name)
        me = self._actor_subject()
        if not (source.is_owner(me.user, me.groups) or me.has(Permission.GOVERNANCE)):
            self.record(action="source.delete", outcome="denied", sources=[name], detail={"source": name})
            raise NotAuthorized(f"only an owner of '{name}' or a governor may delete it")
        with self.store.write() as conn:
            unregister_in(self.store, conn, snapshot, name)
            self.store.bump(conn)
            self._audit_in(conn, "source.delete", "ok", name, {"source": name, "derived": True})

    # --- checks ---------------------------------------------------------------------------

    def _checked(
        self, snapshot: Snapshot, name: str, *, table: str, parents: Sequence[str], read: Collection[str], certify: bool
    ) -> Project:
        refuse = self._refuse_derived
        if not certify:
            refuse(
                name,
                None,
                "certify that the data derives from the parents you name (certify=True, or --certify): "
                "a derived source is registered only on that certification",
            )
        me = self._actor_subject()
        if not me.has(Permission.CREATE_DATA_SOURCE_IN_PROJECT):
            refuse(
                name,
                None,
                f"creating a derived data source needs the CREATE_DATA_SOURCE_IN_PROJECT permission, which "
                f"'{self.actor}' lacks; ask a governor for it",
                NotAuthorized,
            )
        with self.store.read() as conn:
            current = self.store.current_project(conn, self.actor)
        if current is None or current not in snapshot.projects:
            refuse(
                name,
                None,
                "a derived data source is made while acting under an equalized project; switch to one first "
                "(`immuta-spark project switch NAME` or session.set_project(NAME))",
            )
        project = snapshot.projects[current]
        problem = project_access_problem(snapshot, project, self.actor)
        if problem is not None:
            refuse(name, project.name, problem, NotAuthorized)
        if not project.equalization:
            refuse(
                name,
                project.name,
                f"project '{project.name}' is not equalized: derived data sources are made only in an equalized "
                f"project, where all members see the same data; its owners can turn equalization on "
                f"(`immuta-spark project equalize '{project.name}' --on`)",
            )
        if not parents:
            refuse(name, project.name, "name the parent data sources the data derives from (parents=[...])")
        outside = [p for p in dict.fromkeys([*parents, *read]) if p not in project.sources]
        if outside:
            listed = ", ".join(f"'{p}'" for p in outside)
            refuse(
                name,
                project.name,
                f"the data uses {listed}, which is not a source of project '{project.name}': add that data to the "
                f"project first (`immuta-spark project add-source '{project.name}' SOURCE`), then derive the "
                "data source again through the project",
            )
        unread = [p for p in parents if p not in read]
        unnamed = sorted(set(read) - set(parents))
        if unread or unnamed:
            parts = []
            if unread:
                parts.append(f"names {', '.join(repr(p) for p in unread)} as a parent, which the data does not read")
            if unnamed:
                parts.append(f"reads {', '.join(repr(p) for p in unnamed)}, which is not named as a parent")
            refuse(
                name,
                project.name,
                "the parents do not match the data's lineage: it " + " and ".join(parts) + "; name exactly the "
                f"sources the data reads (it reads: {', '.join(sorted(read)) or 'no governed source'})",
            )
        if name in snapshot.sources:
            refuse(name, project.name, f"a data source named '{name}' already exists; choose another name")
        if table.lower() in snapshot.by_table:
            refuse(
                name, project.name, f"table '{table}' is already governed as '{snapshot.by_table[table.lower()].name}'"
            )
        return project

    def _refuse_derived(
        self, name: str, project: str | None, why: str, error: type[Exception] = ProjectError
    ) -> NoReturn:
        self.refuse(_ACTION, why, project=project, detail={"source": name}, error=error)


def unregister_in(store: Store, conn: Any, snapshot: Snapshot, name: str) -> None:
    """Delete the derived source ``name`` and take it out of the run-time projects that list it (no audit, no bump)."""
    store.delete_entity(conn, "source", name)
    for project in snapshot.projects.values():
        if name in project.sources and ("project", project.name) in snapshot.runtime:
            body = policyfile.dump_project(project)
            body["sources"] = [s for s in project.sources if s != name]
            store.put_runtime_entity(conn, "project", project.name, canonical_json(body), new=False)


def disable_in(store: Store, conn: Any, source: Source, reason: str) -> None:
    """Mark the derived source ``source`` disabled for ``reason``: kept, with its record, answering no query."""
    assert source.derived is not None
    disabled = replace(source, derived=replace(source.derived, disabled=reason))
    store.put_runtime_entity(conn, "source", source.name, canonical_json(policyfile.dump_source(disabled)), new=False)


def _record(snapshot: Snapshot, source: Source) -> DerivedRecord:
    assert source.derived is not None
    d = source.derived
    return DerivedRecord(
        name=source.name,
        table=source.table,
        parents=d.parents,
        project=d.project,
        created_by=d.created_by,
        entitlement=policyfile.dump_entitlement(d.entitlement),
        subscription=describe_subscription(derived_subscription(snapshot, source)),
        purpose_policies=tuple(p.name for p in snapshot.source_policies(source).of(PolicyType.PURPOSE)),
        tags=source.tags,
        column_tags=dict(source.column_tags),
        lineage={c: [list(p) for p in pairs] for c, pairs in d.lineage.items()},
        disabled=d.disabled,
    )
