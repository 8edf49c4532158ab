"""A governed session's reads of object-backed sources: the enforced files, and their ingest status (no data)."""

from __future__ import annotations

from pyspark.sql import DataFrame

from immuta_spark.model import Source
from immuta_spark.objects import IngestStatus, ingest_status
from immuta_spark.spark.errors import GovernedAccessDenied
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.objects import list_files, object_frame

__all__ = ["enforced_read", "ingest_status_of"]


def enforced_read(session: SessionInternals, source: Source) -> DataFrame:
    """The enforced DataFrame of object-backed ``source``: its location read as the source says, audited."""

    def run(sources: list[str], policies: list[str]) -> DataFrame:
        sources.append(source.name)
        schema = session._enforcer.object_raw(source).frame.schema
        df = object_frame(session._spark, source, schema)  # the analyzer's rule enforces its relation
        session._guard(df, policies)
        return df

    with session._enforcer.statement():
        return session._audited(f"read {source.location}", run)


def ingest_status_of(session: SessionInternals, name: str) -> IngestStatus:
    """How many files object-backed source ``name`` holds, how large, how recent: for its owners and ingest users.

    No data is read: the location is listed (as the service identity, when the session reads as one).
    """
    enforcer = session._enforcer
    with session._lock, enforcer.statement():
        snap = enforcer.snapshot()
        subject = enforcer.subject()
        source = snap.sources.get(name)
        if source is None or source.object is None or source.location is None:
            raise GovernedAccessDenied(name, "there is no object-backed data source of that name; check the name")
        if subject.user not in source.ingest_users and not source.is_owner(subject.user, subject.groups):
            session._audit("ingest.status", "denied", sources=[name])
            raise GovernedAccessDenied(
                name, "only its owners and ingest users may check its ingest; ask an owner to add you as one"
            )
        status = ingest_status(source.name, source.location, list_files(session._spark, source.location))
        session._audit("ingest.status", "ok", sources=[name], detail={"files": status.files})
        return status
