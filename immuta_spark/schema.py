"""The catalog's tables, the forward migrations between schema versions, and one audit record.

Entry ``i`` of :data:`MIGRATIONS` moves a catalog from version ``i`` to ``i + 1``; version 0 is
a database without the catalog's tables. :class:`immuta_spark.store.Store` runs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
)

__all__ = [
    "CATALOG_ID",
    "LATEST_VERSION",
    "MIGRATIONS",
    "ORIGIN_FILE",
    "ORIGIN_RUNTIME",
    "AuditRecord",
    "acknowledgements",
    "application_id",
    "audit",
    "current_projects",
    "dp_answers",
    "dp_spends",
    "entities",
    "fingerprints",
    "idp_entries",
    "idp_state",
    "idp_users",
    "meta",
    "new_catalog_id",
    "now",
    "project_members",
    "project_validations",
    "secrets_table",
    "stamp",
    "subscriptions",
    "unmask_requests",
    "workspace_grant_acks",
    "workspace_grant_generation",
    "workspace_grants",
    "workspaces",
]

metadata = MetaData()

#: ``entities.origin`` of what a policy file declares: ``apply`` adds, changes and removes it.
ORIGIN_FILE = "file"
#: ``entities.origin`` of what was created at run time (a project, a custom purpose): ``apply`` never touches it.
ORIGIN_RUNTIME = "runtime"

meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
entities = Table(
    "entities",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("origin", String(16), nullable=False, default=ORIGIN_FILE),
)
secrets_table = Table(
    "secrets",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("owner", String(512), primary_key=True),
    Column("purpose", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("source", String(512), primary_key=True),
    Column("user", String(512), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("approvals", Text, nullable=False),
    Column("added", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", String(40), nullable=False),
)
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(40), nullable=False),
    Column("user", String(512), nullable=False),
    Column("impersonator", String(512)),
    Column("project", String(512)),
    Column("purposes", Text, nullable=False),
    Column("sources", Text, nullable=False),
    Column("policies", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("record_id", String(32)),
)
#: The project each user acts under (seed: the user's own setting, followed by all their sessions).
current_projects = Table(
    "current_projects",
    metadata,
    Column("user", String(512), primary_key=True),
    Column("project", String(512), nullable=False),
    Column("set_at", String(40), nullable=False),
)
#: Membership state at run time: members and owners added, requests, approvals, denials, revocations
#: (a policy file's ``members`` are in the project's entity row).
project_members = Table(
    "project_members",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("user", String(512), primary_key=True),
    Column("role", String(16), nullable=False),  # "member" | "owner"
    Column("status", String(16), nullable=False, default="member"),  # "member" | "requested" | "denied" | "revoked"
    Column("approvals", Text, nullable=False, default="[]"),
    Column("reason", Text, nullable=False, default=""),
    Column("added_by", String(512), nullable=False),
    Column("added_at", String(40), nullable=False),
)
#: Each user's decision on each purpose statement of a project, with the text decided on.
acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("user", String(512), primary_key=True),
    Column("purpose", String(512), primary_key=True),
    Column("statement", Text, nullable=False),
    Column("decision", String(16), nullable=False),  # "accepted" | "rejected"
    Column("decided_at", String(40), nullable=False),
)
#: The last validation of each project's members (seed: "Validation Frequency"): each member's
#: status then ("ok" or why not), and a row with user "*" holding when the project was validated.
project_validations = Table(
    "project_validations",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("user", String(512), primary_key=True),
    Column("status", Text, nullable=False),
    Column("validated_at", String(40), nullable=False),
)
fingerprints = Table(
    "fingerprints",
    metadata,
    Column("source", String(512), primary_key=True),
    Column("body", Text, nullable=False),
    Column("computed_at", String(40), nullable=False),
)
#: Project HDFS workspaces (runtime state; see hdfs_workspace.manager): where each lives and its state.
workspaces = Table(
    "workspaces",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("cluster", String(255), nullable=False),
    Column("root", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("uri", Text, nullable=False),
    Column("hadoop_group", String(255), nullable=False),
    Column("hive_database", String(255), nullable=False),
    Column("hive_uri", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),  # "enabling" | "enabled" | "disabled" | "purging"
    Column("enabled_by", String(512), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
#: Native access to a workspace, held by a lease: the NameNode's group mapping reads this table
#: (hdfs_workspace/jvm/WorkspaceGroupsMapping.java), so its columns are a contract with Java.
workspace_grants = Table(
    "workspace_grants",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("user_name", String(512), primary_key=True),
    Column("holder", String(255), primary_key=True),
    Column("hadoop_group", String(255), nullable=False),
    Column("expires_at", Float, nullable=False),  # unix seconds
)
#: One row (id 1): bumped in the same transaction as every change of ``workspace_grants``.
workspace_grant_generation = Table(
    "workspace_grant_generation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", Integer, nullable=False),
)
#: What each NameNode has picked up: the generation in force there, and when it was acknowledged.
workspace_grant_acks = Table(
    "workspace_grant_acks",
    metadata,
    Column("node", String(255), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("acked_at", Float, nullable=False),
)
#: Requests to see one masked value in the clear (reversible and format-preserving masks):
#: runtime state, decided by a user the masking policy exempts (see immuta_spark.catalog.unmask).
unmask_requests = Table(
    "unmask_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(512), nullable=False),
    Column("column_name", String(512), nullable=False),
    Column("token", Text, nullable=False),
    Column("requester", String(512), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "pending" | "approved" | "denied"
    Column("decided_by", String(512)),
    Column("decision_reason", Text),
    Column("requested_at", String(40), nullable=False),
    Column("decided_at", String(40)),
)
#: Differentially private answers, cached per (source, query key) until they expire (the source's
#: latency tolerance): runtime state written by the Spark layer (see immuta_spark.catalog.dp).
dp_answers = Table(
    "dp_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(512), nullable=False),
    Column("query_key", String(64), nullable=False),  # a hex digest of what the answer depends on
    Column("answer", Text, nullable=False),  # opaque JSON, the Spark layer's
    Column("epsilon", Float, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)
#: The privacy loss each user spent on each source, one row per answered query: "reserved"
#: while the answer is computed, then "spent" (a failed computation deletes its reservation).
dp_spends = Table(
    "dp_spends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(512), nullable=False),
    Column("source", String(512), nullable=False),
    Column("policy", String(512), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("delta", Float, nullable=False),
    Column("query_key", String(64), nullable=False),
    Column("spent_at", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # "reserved" | "spent"
)
#: What each identity provider asserts about each user (groups, attributes): runtime state, replaced
#: per provider by each sync (immuta_spark.catalog.idp); the policy file's users are in ``entities``.
idp_users = Table(
    "idp_users",
    metadata,
    Column("provider", String(255), primary_key=True),
    Column("user_name", String(512), primary_key=True),
    Column("body", Text, nullable=False),  # {"groups": [...], "attributes": {name: [values]}}
)
#: The directory entries a provider's last sync read, by normalized DN: an incremental sync reads
#: only what changed and recomputes every user's facts (nested groups) from these.
idp_entries = Table(
    "idp_entries",
    metadata,
    Column("provider", String(255), primary_key=True),
    Column("dn_key", String(1024), primary_key=True),
    Column("body", Text, nullable=False),
    Column("modified", String(32), nullable=False),
)
#: Per provider: the highest modifyTimestamp seen (the next incremental read starts there), the
#: configuration it was read with (a change forces a full read), and when it last synced.
idp_state = Table(
    "idp_state",
    metadata,
    Column("provider", String(255), primary_key=True),
    Column("high_water", String(32), nullable=False),
    Column("config", Text, nullable=False),
    Column("synced_at", String(40), nullable=False),
    Column("full_at", String(40), nullable=False),
)
audit_ts_index = Index("audit_ts", audit.c.ts)
dp_answers_key_index = Index("dp_answers_key", dp_answers.c.source, dp_answers.c.query_key)
dp_spends_window_index = Index("dp_spends_window", dp_spends.c.user_name, dp_spends.c.source, dp_spends.c.spent_at)
audit_record_id_index = Index("audit_record_id", audit.c.record_id, unique=True)

#: The meta key holding the catalog's identity (a random id written once, when it is created).
CATALOG_ID = "catalog_id"


def now() -> str:
    """The current time as every table stores it (UTC, ISO 8601, microseconds)."""
    return stamp(datetime.now(timezone.utc))


def stamp(moment: datetime) -> str:
    """``moment`` (timezone-aware) as every table stores times: UTC, ISO 8601, microseconds.

    Every stamp has the same width, so comparing stamps as text (bytewise) compares the times.
    """
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def new_catalog_id() -> str:
    """A fresh random catalog id."""
    return uuid.uuid4().hex


def application_id(catalog_id: str) -> int:
    """The SQLite header's application id for a catalog id (31 bits of it, never 0)."""
    return (int(catalog_id[:8], 16) & 0x7FFF_FFFF) or 1


def _v1(conn: Connection) -> None:
    """Version 1: settings, entities, secrets, subscriptions, audit."""
    for t in (meta, entities, secrets_table, subscriptions, audit):
        t.create(conn, checkfirst=True)
    conn.execute(insert(meta).values(key="revision", value="0"))


def _v2(conn: Connection) -> None:
    """Version 2: fingerprints, an audit time index, and audit made append-only in the database."""
    fingerprints.create(conn, checkfirst=True)
    audit_ts_index.create(conn, checkfirst=True)
    if conn.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS audit_no_{op.lower()} BEFORE {op} ON audit "
                "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
            )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$ LANGUAGE plpgsql"
        )
        # Per statement, so that TRUNCATE (which fires no row triggers) is refused as well.
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )


def _v3(conn: Connection) -> None:
    """Version 3: the catalog's identity (``meta.catalog_id``), so that a replaced database is noticed."""
    found = conn.execute(select(meta.c.value).where(meta.c.key == CATALOG_ID)).scalar()
    if found is None:
        found = new_catalog_id()
        conn.execute(insert(meta).values(key=CATALOG_ID, value=found))
    if conn.dialect.name == "sqlite":
        # Also in the file's header, which a copy over the file changes even under a live WAL.
        conn.exec_driver_sql(f"PRAGMA application_id = {application_id(str(found))}")


def _v4(conn: Connection) -> None:
    """Version 4: a unique random id per audit record, so that a spooled record is stored once."""
    if "record_id" not in {c["name"] for c in inspect(conn).get_columns("audit")}:
        conn.exec_driver_sql("ALTER TABLE audit ADD COLUMN record_id VARCHAR(32)")
    audit_record_id_index.create(conn, checkfirst=True)


def _v5(conn: Connection) -> None:
    """Version 5: the project each user acts under (``current_projects``; no row: no project)."""
    current_projects.create(conn, checkfirst=True)


def _v6(conn: Connection) -> None:
    """Version 6: runtime state beside the file's (``entities.origin``, members, acknowledgements, validations)."""
    if "origin" not in {c["name"] for c in inspect(conn).get_columns("entities")}:
        conn.exec_driver_sql(f"ALTER TABLE entities ADD COLUMN origin VARCHAR(16) NOT NULL DEFAULT '{ORIGIN_FILE}'")
    project_members.create(conn, checkfirst=True)
    acknowledgements.create(conn, checkfirst=True)
    project_validations.create(conn, checkfirst=True)


def _v7(conn: Connection) -> None:
    """Version 7: project HDFS workspaces and the native-access grants the NameNode reads."""
    for t in (workspaces, workspace_grants, workspace_grant_generation, workspace_grant_acks):
        t.create(conn, checkfirst=True)
    if conn.execute(select(workspace_grant_generation.c.id)).first() is None:
        conn.execute(insert(workspace_grant_generation).values(id=1, generation=0))


def _v8(conn: Connection) -> None:
    """Version 8: requests to unmask one value of a reversible or format-preserving mask."""
    unmask_requests.create(conn, checkfirst=True)


def _v9(conn: Connection) -> None:
    """Version 9: differential privacy's cached answers and the privacy loss each user spent (with their indexes)."""
    for t in (dp_answers, dp_spends):
        t.create(conn, checkfirst=True)


def _v10(conn: Connection) -> None:
    """Version 10: what identity providers assert about users, the entries they were read from, sync state."""
    for t in (idp_users, idp_entries, idp_state):
        t.create(conn, checkfirst=True)


#: Forward migrations: entry i moves a catalog from version i to version i + 1.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10)
LATEST_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One append-only audit record (section 7)."""

    id: int
    time: str
    user: str
    impersonator: str | None
    project: str | None
    purposes: tuple[str, ...]
    sources: tuple[str, ...]
    policies: tuple[str, ...]
    action: str
    outcome: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "id": self.id,
            "time": self.time,
            "user": self.user,
            "impersonator": self.impersonator,
            "project": self.project,
            "purposes": list(self.purposes),
            "sources": list(self.sources),
            "policies": list(self.policies),
            "action": self.action,
            "outcome": self.outcome,
            "detail": self.detail,
        }
