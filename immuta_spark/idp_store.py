"""The store's identity-provider rows (part of :class:`immuta_spark.store.Store`), inside the caller's transaction.

Writes are bulk (one executemany per kind of change), as an apply's are: a sync of 10,000 users
must not cost a statement per user.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from immuta_spark.schema import idp_entries, idp_state, idp_users, now

__all__ = ["IdpRows"]


class IdpRows:
    """Rows of ``idp_users`` (facts), ``idp_entries`` (the directory as last read) and ``idp_state``."""

    # --- facts --------------------------------------------------------------------------

    def idp_user_bodies(self, conn: Connection, provider: str | None = None) -> dict[str, dict[str, str]]:
        """Stored fact bodies: provider -> user -> JSON body (one provider's, when named)."""
        query = select(idp_users.c.provider, idp_users.c.user_name, idp_users.c.body)
        if provider is not None:
            query = query.where(idp_users.c.provider == provider)
        out: dict[str, dict[str, str]] = {}
        for p, u, b in conn.execute(query):
            out.setdefault(str(p), {})[str(u)] = str(b)
        return out

    def write_idp_users(
        self, conn: Connection, provider: str, *, put: Mapping[str, str], new: Collection[str], gone: Collection[str]
    ) -> None:
        """Replace ``provider``'s facts: ``put`` bodies by user (inserted when in ``new``), ``gone`` deleted."""
        if gone:
            conn.execute(
                delete(idp_users).where(idp_users.c.provider == provider, idp_users.c.user_name == bindparam("b_user")),
                [{"b_user": u} for u in gone],
            )
        inserts = [{"provider": provider, "user_name": u, "body": b} for u, b in put.items() if u in new]
        if inserts:
            conn.execute(insert(idp_users), inserts)
        updates = [{"b_user": u, "body": b} for u, b in put.items() if u not in new]
        if updates:
            conn.execute(
                update(idp_users).where(idp_users.c.provider == provider, idp_users.c.user_name == bindparam("b_user")),
                updates,
            )

    def delete_idp_provider(self, conn: Connection, provider: str) -> None:
        """Forget everything about ``provider``: facts, entries, state."""
        for table in (idp_users, idp_entries, idp_state):
            conn.execute(delete(table).where(table.c.provider == provider))

    # --- the directory as last read -----------------------------------------------------

    def idp_entry_rows(self, conn: Connection, provider: str) -> dict[str, tuple[str, str]]:
        """``provider``'s cached entries: normalized DN -> (JSON body, modifyTimestamp)."""
        rows = conn.execute(
            select(idp_entries.c.dn_key, idp_entries.c.body, idp_entries.c.modified).where(
                idp_entries.c.provider == provider
            )
        )
        return {str(k): (str(b), str(m)) for k, b, m in rows}

    def write_idp_entries(
        self,
        conn: Connection,
        provider: str,
        *,
        put: Mapping[str, tuple[str, str]],
        new: Collection[str],
        gone: Collection[str],
    ) -> None:
        """Change ``provider``'s cached entries: ``put`` (inserted when in ``new``), ``gone`` deleted."""
        if gone:
            conn.execute(
                delete(idp_entries).where(
                    idp_entries.c.provider == provider, idp_entries.c.dn_key == bindparam("b_key")
                ),
                [{"b_key": k} for k in gone],
            )
        inserts = [
            {"provider": provider, "dn_key": k, "body": b, "modified": m} for k, (b, m) in put.items() if k in new
        ]
        if inserts:
            conn.execute(insert(idp_entries), inserts)
        updates = [{"b_key": k, "body": b, "modified": m} for k, (b, m) in put.items() if k not in new]
        if updates:
            conn.execute(
                update(idp_entries).where(
                    idp_entries.c.provider == provider, idp_entries.c.dn_key == bindparam("b_key")
                ),
                updates,
            )

    # --- sync state ---------------------------------------------------------------------

    def idp_state_row(self, conn: Connection, provider: str) -> dict[str, str] | None:
        """``provider``'s sync state (high_water, config, synced_at, full_at), or None before its first sync."""
        row = conn.execute(select(idp_state).where(idp_state.c.provider == provider)).mappings().first()
        return None if row is None else {k: str(v) for k, v in row.items()}

    def idp_state_rows(self, conn: Connection) -> dict[str, dict[str, str]]:
        """Every provider's sync state."""
        return {
            str(r["provider"]): {k: str(v) for k, v in r.items()} for r in conn.execute(select(idp_state)).mappings()
        }

    def put_idp_state(self, conn: Connection, provider: str, *, high_water: str, config: str, full: bool) -> None:
        """Record a sync of ``provider`` (``full``: it read the whole directory)."""
        at = now()
        found = self.idp_state_row(conn, provider)
        values = {"high_water": high_water, "config": config, "synced_at": at}
        if found is None:
            conn.execute(insert(idp_state).values(provider=provider, full_at=at, **values))
        else:
            conn.execute(
                update(idp_state)
                .where(idp_state.c.provider == provider)
                .values(**values, **({"full_at": at} if full else {}))
            )
