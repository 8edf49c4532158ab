"""Fingerprints as the catalog keeps them (POLICY.md 5.2): computed by the Spark layer, stored per source.

The Spark layer computes them (:mod:`immuta_spark.spark.fingerprint`); the catalog only stores
and reads them. A source's owners and governors store one (``immuta-spark fingerprint``); a
governed session stores one itself when a query needs a fresh fingerprint (``automatic``).
Every store is audited (``fingerprint.compute``). One from the shell moves the revision, so
plans that use it are compiled again; a governed session's own does not (that would void the
very statement that needed it): sessions read the stored fingerprint directly
(:meth:`Fingerprints.fingerprint`), not from their snapshot.
"""

from __future__ import annotations

from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.engine import Snapshot
from immuta_spark.engine.masking import k_anonymity_groups
from immuta_spark.errors import NotAuthorized, PolicyFileError, SourceNotFound
from immuta_spark.model import Governance, KAnonymizeMask, Permission

__all__ = ["Fingerprints", "check_cardinality_at_apply"]


class Fingerprints(CatalogBase):
    """The catalog's fingerprint operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def fingerprint(self, source: str) -> dict[str, Any] | None:
        """The fingerprint of ``source`` as stored now (None: never computed); read from the database."""
        with self.store.read() as conn:
            return self.store.fingerprint_of(conn, source)

    def check_fingerprinter(self, source: str) -> None:
        """Refuse (audited) unless the actor may fingerprint ``source``: one of its owners, or a governor."""
        src = self.snapshot().sources.get(source)
        if src is None:
            raise SourceNotFound(source)
        me = self._actor_subject()
        if not (src.is_owner(me.user, me.groups) or me.has(Permission.GOVERNANCE)):
            self.record(action="fingerprint.compute", outcome="denied", sources=[source], detail={"source": source})
            raise NotAuthorized(f"only an owner of '{source}' or a governor may fingerprint it")

    def store_fingerprint(self, source: str, body: dict[str, Any], *, automatic: bool = False) -> None:
        """Store ``source``'s fingerprint (its owners and governors; ``automatic``: a governed session's own)."""
        if automatic:
            if source not in self.snapshot().sources:
                raise SourceNotFound(source)
        else:
            self.check_fingerprinter(source)
        with self.store.write() as conn:
            self.store.put_fingerprint(conn, source, body)
            if not automatic:
                self.store.bump(conn)
            detail = {"rows": body.get("rows"), "version": body.get("version"), "automatic": automatic}
            self._audit_in(conn, "fingerprint.compute", "ok", source, detail)


def check_cardinality_at_apply(governance: Governance, fingerprints: dict[str, dict[str, Any]], file: str) -> None:
    """Refuse a document whose k-anonymization uses a fingerprinted column above the cardinality cutoff.

    Only sources with a stored fingerprint can be checked here (apply reads no tables); the
    others are checked when the policy is applied to the data, by the governed session.
    """
    if not fingerprints or not any(
        isinstance(a, KAnonymizeMask)
        for p in [*governance.policies, *(q for s in governance.sources for q in s.policies)]
        for a in p.actions()
    ):
        return
    snapshot = Snapshot(governance, fingerprints=fingerprints)
    cutoff = governance.settings.k_anonymization_cardinality_cutoff
    for name, printed in sorted(fingerprints.items()):
        source = snapshot.sources.get(name)
        stats = printed.get("columns", {})
        if source is None or not stats:
            continue
        for policy, group in k_anonymity_groups(snapshot, source, list(stats)).items():
            for column in group:
                distinct = stats[column].get("distinct")
                if distinct is not None and distinct > cutoff:
                    raise PolicyFileError(
                        f"policy {policy!r}",
                        f"k-anonymizes column '{column}' of '{name}', which has {distinct} distinct values by its "
                        f"fingerprint, above the cardinality cutoff {cutoff} (settings.k_anonymization_cardinality_"
                        "cutoff): generalise the column (round, truncate) or leave it out of the policy",
                        file=file or None,
                    )
