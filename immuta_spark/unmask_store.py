"""The store's unmask requests (part of :class:`immuta_spark.store.Store`), inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from immuta_spark.schema import now, unmask_requests

__all__ = ["UnmaskRows"]


class UnmaskRows:
    """Rows of ``unmask_requests``: one per request, decided once."""

    def insert_unmask_request(
        self, conn: Connection, *, source: str, column: str, token: str, requester: str, reason: str
    ) -> int:
        """A new pending request; its id."""
        done = conn.execute(
            insert(unmask_requests).values(
                source=source,
                column_name=column,
                token=token,
                requester=requester,
                reason=reason,
                status="pending",
                requested_at=now(),
            )
        )
        return int(done.inserted_primary_key[0])

    def unmask_request_rows(
        self,
        conn: Connection,
        *,
        request_id: int | None = None,
        requester: str | None = None,
        status: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        """Requests, oldest first, filtered by what is given."""
        query = select(unmask_requests).order_by(unmask_requests.c.id)
        for column, value in (
            (unmask_requests.c.id, request_id),
            (unmask_requests.c.requester, requester),
            (unmask_requests.c.status, status),
            (unmask_requests.c.source, source),
        ):
            if value is not None:
                query = query.where(column == value)
        return [dict(r) for r in conn.execute(query).mappings()]

    def decide_unmask_request(
        self, conn: Connection, request_id: int, *, status: str, decided_by: str, reason: str
    ) -> bool:
        """Approve or deny a pending request; False when it was not pending (decided already)."""
        done = conn.execute(
            update(unmask_requests)
            .where(unmask_requests.c.id == request_id, unmask_requests.c.status == "pending")
            .values(status=status, decided_by=decided_by, decision_reason=reason, decided_at=now())
        )
        return done.rowcount == 1
