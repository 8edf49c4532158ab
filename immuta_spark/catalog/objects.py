"""Object-backed sources registered at run time (seed "Data Source Types": a directory of files as a source).

A policy file declares them with an ``object`` block; an owner with ``CREATE_DATA_SOURCE`` may
also register one while the catalog runs (``hdfs-workspace source create --type hdfs`` does). It
is stored exactly as the file form would be, as runtime state like a derived source: ``apply``
keeps it (:mod:`immuta_spark.catalog.coexist`), and a restart reads it back. Registration and
refusal are audit records (``source.object``); a refusal changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from immuta_spark import policyfile
from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.entities import canonical_json
from immuta_spark.errors import NotAuthorized, PolicyFileError, ProjectError
from immuta_spark.model import Permission, PolicyType, Source
from immuta_spark.objects import masking_problem

__all__ = ["ObjectSources", "default_object_table"]

_ACTION = "source.object"


def default_object_table(name: str) -> str:
    """The table name an object-backed source answers ``session.table`` by, when none is given.

    >>> default_object_table("Claim Files (2020)")
    'objects.claim_files_2020'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "source"
    return f"objects.{'s_' + slug if slug[0].isdigit() else slug}"


class ObjectSources(CatalogBase):
    """Registering object-backed sources at run time (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def create_object_source(
        self,
        name: str,
        *,
        location: str,
        format: str,
        table: str | None = None,
        options: Mapping[str, str] | None = None,
        event_time: str | None = None,
        ingest_users: Sequence[str] = (),
        dictionary: Sequence[tuple[str, str | None]] = (),
        tags: Sequence[str] = (),
        subscription: Mapping[str, Any] | None = None,
        policies: Sequence[Mapping[str, Any]] = (),
    ) -> Source:
        """Register directory ``location`` (files of ``format``) as object-backed source ``name``, owned by the actor.

        ``format`` is csv, tsv, json, parquet or orc; ``options`` Spark's reader options;
        ``event_time`` ``modified`` or ``xattr:NAME``; ``dictionary`` (column, type) pairs;
        ``subscription`` and ``policies`` in policy-as-code form (``{"anyone": {}}``, local
        policies as in a file). ``table`` (default ``objects.<name>``) is the name
        ``session.table`` answers it by. Refused, naming what to fix, unless the actor holds
        ``CREATE_DATA_SOURCE``, everything validates as the policy file would, neither the name
        nor the table is governed, and no governed location is the directory, beneath it or above it.
        """
        snapshot = self.snapshot()
        if not self._actor_subject().has(Permission.CREATE_DATA_SOURCE):
            self._refuse_object(
                name,
                "registering a data source needs the CREATE_DATA_SOURCE permission; ask a user admin for it",
                NotAuthorized,
            )
        body: dict[str, Any] = {
            "name": name,
            "table": table or default_object_table(name),
            "owners": [self.actor],
            "object": {
                "format": format,
                "location": location,
                **({"options": dict(options)} if options else {}),
                **({"event_time": event_time} if event_time else {}),
            },
        }
        if ingest_users:
            body["ingest_users"] = list(ingest_users)
        if tags:
            body["tags"] = list(tags)
        if subscription is not None:
            body["subscription"] = dict(subscription)
        if dictionary:
            body["dictionary"] = [{"name": c, **({"type": t} if t else {})} for c, t in dictionary]
        if policies:
            body["policies"] = [dict(p) for p in policies]
        try:
            source = policyfile.check_derived_source(body, users=snapshot.users, where=f"object-backed source {name!r}")
        except PolicyFileError as exc:
            self._refuse_object(name, f"{exc.reason} ({exc.path})")
        problem = masking_problem(source)
        masking = [p.name for p in source.policies if p.type is PolicyType.MASKING]
        if problem is not None and masking:
            self._refuse_object(
                name, f"masking policy {masking[0]!r} cannot apply: {problem}; remove it or fix the source"
            )
        if name in snapshot.sources:
            self._refuse_object(name, f"a data source named '{name}' already exists; choose another name")
        taken = snapshot.by_table.get(source.table_key)
        if taken is not None:
            self._refuse_object(
                name, f"table {source.table} is governed by '{taken.name}' already; give another table name"
            )
        mine = location.rstrip("/")
        for other in snapshot.governance.sources:
            theirs = (other.location or "").rstrip("/")
            if theirs and (mine == theirs or mine.startswith(theirs + "/") or theirs.startswith(mine + "/")):
                self._refuse_object(
                    name,
                    f"{location} overlaps the location of data source '{other.name}' ({other.location}); an "
                    "object-backed source needs a directory no other source holds",
                )
        with self.store.write() as conn:
            if self.store.named_entities(conn, "source", [name]):
                raise ProjectError(f"a data source named '{name}' already exists; choose another name")
            self.store.put_runtime_entity(
                conn, "source", name, canonical_json(policyfile.dump_source(source)), new=True
            )
            self.store.bump(conn)
            self._audit_in(conn, _ACTION, "ok", name, {"source": name, "location": location, "format": format})
        return source

    def _refuse_object(self, name: str, why: str, error: type[Exception] = ProjectError) -> NoReturn:
        self.refuse(_ACTION, why, project=None, detail={"source": name}, error=error)
