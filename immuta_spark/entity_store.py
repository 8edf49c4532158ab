"""The store's entity rows and secrets, written in bulk (part of :class:`immuta_spark.store.Store`).

``apply`` changes thousands of rows in one transaction. Each change here is one statement run
with many parameter sets (an executemany), never one statement per row: building and compiling
a statement per row cost more than the database's own work (about 90% of an apply of 100k
users), and a statement compiled once is reused for every row.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from immuta_spark.schema import entities, secrets_table

__all__ = ["EntityRow", "EntityRows"]

#: One stored entity: (kind, name, position, canonical JSON body).
EntityRow = tuple[str, str, int, str]


class EntityRows:
    """Reading and writing entity rows and secrets inside the caller's transaction."""

    def entities(self, conn: Connection) -> dict[tuple[str, str], tuple[int, str]]:
        """Every stored entity: (kind, name) -> (position, canonical JSON body)."""
        rows = conn.execute(select(entities.c.kind, entities.c.name, entities.c.position, entities.c.body))
        return {(k, n): (p, b) for k, n, p, b in rows}

    def named_entities(
        self, conn: Connection, kind: str, names: Collection[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """The stored entities of one kind with the given names (the others are not read)."""
        if not names:
            return {}
        rows = conn.execute(
            select(entities.c.kind, entities.c.name, entities.c.position, entities.c.body).where(
                entities.c.kind == kind, entities.c.name.in_(sorted(names))
            )
        )
        return {(k, n): (p, b) for k, n, p, b in rows}

    def has_entities(self, conn: Connection, *, besides: str) -> bool:
        """Whether any entity of another kind than ``besides`` is stored (one row is read at most)."""
        return conn.execute(select(entities.c.kind).where(entities.c.kind != besides).limit(1)).first() is not None

    def put_entity(self, conn: Connection, kind: str, name: str, position: int, body: str, *, new: bool) -> None:
        """Insert or replace one entity."""
        if new:
            self.insert_entities(conn, [(kind, name, position, body)])
        else:
            self.update_entities(conn, [(kind, name, position, body)])

    def insert_entities(self, conn: Connection, rows: Sequence[EntityRow]) -> None:
        """Insert new entities, in one executemany."""
        if rows:
            conn.execute(insert(entities), [{"kind": k, "name": n, "position": p, "body": b} for k, n, p, b in rows])

    def update_entities(self, conn: Connection, rows: Sequence[EntityRow]) -> None:
        """Replace the position and body of stored entities, in one executemany."""
        if not rows:
            return
        # The parameter names differ from the columns': SQLAlchemy keeps column names for SET.
        statement = (
            update(entities)
            .where(entities.c.kind == bindparam("b_kind"), entities.c.name == bindparam("b_name"))
            .values(position=bindparam("b_position"), body=bindparam("b_body"))
        )
        conn.execute(statement, [{"b_kind": k, "b_name": n, "b_position": p, "b_body": b} for k, n, p, b in rows])

    def delete_entity(self, conn: Connection, kind: str, name: str) -> None:
        """Remove one entity."""
        self.delete_entities(conn, [(kind, name)])

    def delete_entities(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
        """Remove entities by (kind, name), in one executemany."""
        if keys:
            statement = delete(entities).where(
                entities.c.kind == bindparam("b_kind"), entities.c.name == bindparam("b_name")
            )
            conn.execute(statement, [{"b_kind": k, "b_name": n} for k, n in keys])

    def ensure_secret(self, conn: Connection, scope: str, owner: str, purpose: str) -> None:
        """Generate a secret if it does not exist yet (secrets outlive their entities)."""
        found = conn.execute(
            select(secrets_table.c.value).where(
                secrets_table.c.scope == scope, secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
            )
        ).first()
        if found is None:
            conn.execute(
                insert(secrets_table).values(scope=scope, owner=owner, purpose=purpose, value=_secrets.token_hex(32))
            )

    def ensure_secrets(self, conn: Connection, wanted: Iterable[tuple[str, str, str]]) -> None:
        """Generate every (scope, owner, purpose) secret that does not exist yet, in one executemany.

        The caller holds the write transaction, which writers take one at a time: no secret can
        appear between the read of the existing keys and the insert.
        """
        keys = list(dict.fromkeys(wanted))
        if not keys:
            return
        scopes = sorted({scope for scope, _, _ in keys})
        found = conn.execute(
            select(secrets_table.c.scope, secrets_table.c.owner, secrets_table.c.purpose).where(
                secrets_table.c.scope.in_(scopes)
            )
        )
        existing = {(s, o, p) for s, o, p in found}
        missing = [k for k in keys if k not in existing]
        if missing:
            conn.execute(
                insert(secrets_table),
                [{"scope": s, "owner": o, "purpose": p, "value": _secrets.token_hex(32)} for s, o, p in missing],
            )
