"""The store's differential-privacy rows (part of :class:`immuta_spark.store.Store`), inside the caller's transaction.

Times are :func:`immuta_spark.schema.stamp` text, compared as text. Every stamp has one width,
so bytewise order is time order; PostgreSQL compares text by the database's collation, which
need not be bytewise, so there the comparisons ask for ``COLLATE "C"`` (SQLite's is bytewise).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from immuta_spark.schema import dp_answers, dp_spends, now

__all__ = ["DPRows"]


def _bytewise(conn: Connection, column: Any) -> ColumnElement[Any]:
    """``column`` compared byte by byte on either database."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


class DPRows:
    """Rows of ``dp_answers`` (cached answers) and ``dp_spends`` (privacy loss spent)."""

    # --- cached answers -----------------------------------------------------------------

    def dp_answer(
        self, conn: Connection, *, source: str, key: str, at: str, created_after: str | None = None
    ) -> str | None:
        """The newest answer for (``source``, ``key``) that has not expired at ``at`` (and, if given,
        was made after ``created_after``); None when there is none."""
        query = select(dp_answers.c.answer).where(
            dp_answers.c.source == source,
            dp_answers.c.query_key == key,
            _bytewise(conn, dp_answers.c.expires_at) > at,
        )
        if created_after is not None:
            query = query.where(_bytewise(conn, dp_answers.c.created_at) > created_after)
        row = conn.execute(query.order_by(dp_answers.c.id.desc()).limit(1)).first()
        return None if row is None else str(row[0])

    def insert_dp_answer(
        self, conn: Connection, *, source: str, key: str, answer: str, epsilon: float, created_at: str, expires_at: str
    ) -> int:
        """A cached answer; its id."""
        done = conn.execute(
            insert(dp_answers).values(
                source=source,
                query_key=key,
                answer=answer,
                epsilon=epsilon,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        return int(done.inserted_primary_key[0])

    def delete_expired_dp_answers(self, conn: Connection, *, source: str, at: str) -> int:
        """Forget ``source``'s answers that expired by ``at``; how many."""
        done = conn.execute(
            delete(dp_answers).where(dp_answers.c.source == source, _bytewise(conn, dp_answers.c.expires_at) <= at)
        )
        return int(done.rowcount)

    # --- spends -------------------------------------------------------------------------

    def insert_dp_spend(
        self,
        conn: Connection,
        *,
        user: str,
        source: str,
        policy: str,
        epsilon: float,
        delta: float,
        key: str,
        status: str = "reserved",
        spent_at: str | None = None,
    ) -> int:
        """A spend (by default reserved now); its id."""
        done = conn.execute(
            insert(dp_spends).values(
                user_name=user,
                source=source,
                policy=policy,
                epsilon=epsilon,
                delta=delta,
                query_key=key,
                spent_at=spent_at or now(),
                status=status,
            )
        )
        return int(done.inserted_primary_key[0])

    def dp_spend_rows(
        self,
        conn: Connection,
        *,
        spend_id: int | None = None,
        user: str | None = None,
        source: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """Spends, oldest first, filtered by what is given (``since``: spent strictly after it)."""
        query = select(dp_spends).order_by(_bytewise(conn, dp_spends.c.spent_at), dp_spends.c.id)
        for column, value in (
            (dp_spends.c.id, spend_id),
            (dp_spends.c.user_name, user),
            (dp_spends.c.source, source),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(_bytewise(conn, dp_spends.c.spent_at) > since)
        return [dict(r) for r in conn.execute(query).mappings()]

    def mark_dp_spent(self, conn: Connection, spend_id: int) -> bool:
        """A reserved spend becomes spent; False when it was not reserved (finished or refunded)."""
        done = conn.execute(
            update(dp_spends).where(dp_spends.c.id == spend_id, dp_spends.c.status == "reserved").values(status="spent")
        )
        return done.rowcount == 1

    def delete_dp_reservation(self, conn: Connection, spend_id: int) -> bool:
        """Delete a reserved spend; False when it was not reserved."""
        done = conn.execute(delete(dp_spends).where(dp_spends.c.id == spend_id, dp_spends.c.status == "reserved"))
        return done.rowcount == 1
