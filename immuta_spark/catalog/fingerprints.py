"""Fingerprints as the catalog keeps them (POLICY.md 5.2): computed by the Spark layer, stored per source.

The Spark layer computes them (:mod:`immuta_spark.spark.fingerprint`); the catalog only stores
and reads them. A source's owners and governors store one (``immuta-spark-fingerprint``); a
governed session stores one itself when a query needs a fresh fingerprint (``automatic``).
Every store is audited (``fingerprint.compute``). One from the shell moves the revision, so
plans that use it are compiled again; a governed session's own does not (that would void the
very statement that needed it): sessions read the stored fingerprint directly
(:meth:`Fingerprints.fingerprint`), not from their snapshot.
"""

from __future__ import annotations

from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.errors import NotAuthorized, SourceNotFound
from immuta_spark.model import Permission

__all__ = ["Fingerprints"]


class Fingerprints(CatalogBase):
    """The catalog's fingerprint operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def fingerprint(self, source: str) -> dict[str, Any] | None:
        """The fingerprint of ``source`` as stored now (None: never computed); read from the database."""
        with self.store.read() as conn:
            return self.store.fingerprint_of(conn, source)

    def stored_fingerprint(self, source: str) -> dict[str, Any] | None:
        """Same as :meth:`fingerprint` (the name the Spark layer's freshness check uses)."""
        return self.fingerprint(source)

    def store_fingerprint(self, source: str, body: dict[str, Any], *, automatic: bool = False) -> None:
        """Store ``source``'s fingerprint (its owners and governors; ``automatic``: a governed session's own)."""
        snapshot = self.snapshot()
        src = snapshot.sources.get(source)
        if src is None:
            raise SourceNotFound(source)
        me = self._actor_subject()
        if not automatic and not (src.is_owner(me.user, me.groups) or me.has(Permission.GOVERNANCE)):
            self.record(action="fingerprint.compute", outcome="denied", sources=[source], detail={"source": source})
            raise NotAuthorized(f"only an owner of '{source}' or a governor may fingerprint it")
        with self.store.write() as conn:
            self.store.put_fingerprint(conn, source, body)
            if not automatic:
                self.store.bump(conn)
            detail = {"rows": body.get("rows"), "version": body.get("version"), "automatic": automatic}
            self._audit_in(conn, "fingerprint.compute", "ok", source, detail)
