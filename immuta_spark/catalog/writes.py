"""Governance does not stop at the first write: a table written from governed data is a derived source at once.

Issue 10, item 8. When a governed session writes a table whose plan read governed sources
(``saveAsTable``, ``insertInto``, ``writeTo``, ``CREATE TABLE ... AS SELECT``, ``INSERT ...
SELECT``), the table is registered as a derived data source in the same breath, with the same
inheritance as a project's derived sources (:mod:`immuta_spark.engine.derived`), except that in
the place of a project's equalized entitlement stands the writer's own access *as the parents'
policies saw it* (:func:`~immuta_spark.engine.derived.writer_access`): the groups and attribute
values those policies test that the writer held, the purposes acted under if they test
purposes, and the writer alone as reader if a policy singled the writer out by name. So a reader
never sees more of a parent through a copy than through the parent.

Appending to a table registered that way merges what the new data derives from (parents,
lineage, both entitlements, the stricter readers); an append acting under other purposes than the
data already there, where the parents' policies tell purposes apart, is refused (write another
table). A write into a governed source that is not derived (an owner loading their own
source) keeps that source's own policies.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import NoReturn

from immuta_spark import policyfile
from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.entities import canonical_json
from immuta_spark.engine import Snapshot, make_subject
from immuta_spark.engine.derived import writer_access
from immuta_spark.model import ColumnDef, Derivation, Entitlement, OwnerRef, Source

__all__ = ["GovernedWrites"]

_ACTION = "write.derived_source"


class GovernedWrites(CatalogBase):
    """Registering written tables (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def check_governed_write(self, table: str, *, read: Collection[str], append: bool) -> None:
        """Refuse (audited) a write of governed data whose table could not then be registered; before writing."""
        if read:
            snapshot = self.snapshot()
            self._registration(snapshot, table, read, {}, [], append=append)

    def register_governed_write(
        self,
        table: str,
        *,
        read: Collection[str],
        lineage: Mapping[str, Iterable[tuple[str, str]]],
        columns: Sequence[tuple[str, str]],
        append: bool,
    ) -> str | None:
        """Register ``table``, just written from the governed sources ``read``, as a derived source; its name.

        None when nothing governed was read, or when the table is a governed source of its own
        (not derived), whose own policies keep applying.
        """
        if not read:
            return None
        snapshot = self.snapshot()
        source = self._registration(snapshot, table, read, lineage, columns, append=append)
        if source is None:
            return None
        checked = policyfile.check_derived_source(
            policyfile.dump_source(source), users=snapshot.users, where=f"written table {table!r}"
        )
        existing = snapshot.by_table.get(table.lower())
        with self.store.write() as conn:
            body = canonical_json(policyfile.dump_source(checked))
            self.store.put_runtime_entity(conn, "source", source.name, body, new=existing is None)
            self.store.bump(conn)
            derived = checked.derived
            assert derived is not None
            self._audit_in(
                conn,
                _ACTION,
                "ok",
                source.name,
                project=derived.project,
                sources=derived.parents,
                detail={
                    "source": source.name,
                    "table": table,
                    "parents": list(derived.parents),
                    "append": append,
                    "entitlement": policyfile.dump_entitlement(derived.entitlement),
                    "purposes": list(derived.purposes),
                    "readers": sorted(derived.readers) if derived.readers is not None else None,
                },
            )
        return source.name

    def _registration(
        self,
        snapshot: Snapshot,
        table: str,
        read: Collection[str],
        lineage: Mapping[str, Iterable[tuple[str, str]]],
        columns: Sequence[tuple[str, str]],
        *,
        append: bool,
    ) -> Source | None:
        """The derived source ``table`` becomes (None: a governed source of its own), or a refusal."""
        existing = snapshot.by_table.get(table.lower())
        if existing is not None and existing.derived is None:
            others = sorted(set(read) - {existing.name})
            if others:
                self._refuse_write(
                    table,
                    None,
                    f"this write puts data of {', '.join(map(repr, others))} into the governed source "
                    f"'{existing.name}', whose readers would see it under '{existing.name}''s policies, not its "
                    "own: write it to a new table instead, which is registered as a derived source",
                )
            return None
        with self.store.read() as conn:
            project = self.store.current_project(conn, self.actor)
        subject = make_subject(snapshot, self.actor, project=project)
        parents = tuple(sorted(read))
        entitlement, purposes, readers = writer_access(snapshot, subject, parents)
        derivation = Derivation(
            parents=parents,
            created_by=self.actor,
            project=project,
            entitlement=entitlement,
            lineage={c: tuple(dict.fromkeys(tuple(p) for p in pairs)) for c, pairs in lineage.items()},
            purposes=purposes,
            readers=readers,
            certified=False,  # the lineage is the plan's; no one was asked to certify
        )
        if existing is None:
            if table in snapshot.sources:
                self._refuse_write(
                    table, project, f"a data source is named '{table}' already; write the data to another table"
                )
            return Source(
                name=table,
                table=table,
                owners=(OwnerRef(user=self.actor),),
                dictionary=tuple(ColumnDef(name=c, type=t) for c, t in columns),
                derived=derivation,
            )
        assert existing.derived is not None
        if not append:
            return replace(
                existing, derived=derivation, dictionary=tuple(ColumnDef(name=c, type=t) for c, t in columns)
            )
        return replace(existing, derived=self._merged(existing.derived, derivation, table, project))

    def _merged(self, old: Derivation, new: Derivation, table: str, project: str | None) -> Derivation:
        """What an append derives from: both writes' parents, lineage and entitlements, the stricter readers."""
        purposes = old.purposes or new.purposes
        if old.purposes and new.purposes and old.purposes != new.purposes:
            self._refuse_write(
                table,
                project,
                f"'{table}' holds data written under {', '.join(old.purposes)} and this append acts under "
                f"{', '.join(new.purposes)}, which its parents' policies tell apart: write another table",
            )
        readers = (
            old.readers if new.readers is None else new.readers if old.readers is None else old.readers & new.readers
        )
        keys = {*old.entitlement.attributes, *new.entitlement.attributes}
        attributes = {
            k: old.entitlement.attributes.get(k, frozenset()) | new.entitlement.attributes.get(k, frozenset())
            for k in keys
        }
        lineage = {
            c: tuple(dict.fromkeys([*old.lineage.get(c, ()), *new.lineage.get(c, ())]))
            for c in {*old.lineage, *new.lineage}
        }
        return replace(
            old,
            parents=tuple(dict.fromkeys([*old.parents, *new.parents])),
            entitlement=Entitlement(groups=old.entitlement.groups | new.entitlement.groups, attributes=attributes),
            lineage=lineage,
            purposes=purposes,
            readers=readers,
        )

    def _refuse_write(self, table: str, project: str | None, why: str) -> NoReturn:
        self.refuse(_ACTION, why, project=project, detail={"table": table})
