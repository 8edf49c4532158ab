"""Syncing identity providers into the catalog: users, groups and attributes from LDAP and Active Directory.

A sync reads the directory completely before it writes anything, then changes the provider's facts
in one write transaction (with the entries it read, its sync state, a revision bump and the audit
record), so a sync that fails midway (the directory gone mid-search) changes nothing. Only that
provider's facts change; the policy file's users never do. A sync that would remove more than the
provider's ``max_removed_share`` of its users is refused unless forced: a broken filter must not
lock everyone out. Syncing needs ``USER_ADMIN`` or ``GOVERNANCE``. See docs/identity.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.catalog.entities import canonical_json
from immuta_spark.errors import IdentityProviderError, NotAuthorized, SyncRefused
from immuta_spark.identity_providers import IdentityProvider, Membership
from immuta_spark.idp.directory import DirectoryRead, DirectoryReader, LdapDirectory
from immuta_spark.idp.facts import DirectoryEntry, SyncDiff, UserFacts, compute_facts, diff_facts
from immuta_spark.model import Permission
from immuta_spark.policyfile.identity import dump_identity_provider

__all__ = ["IdentitySync", "ProviderStatus", "SyncResult"]

#: How many facts of each kind an audit record lists (the counts are always complete).
_AUDIT_SAMPLE = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    """What one sync of one provider did (or, dry run, would do)."""

    provider: str
    mode: str  # "full" | "incremental"
    diff: SyncDiff
    dry_run: bool
    users: int  # the provider's users after the sync
    entries_read: int
    revision: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "provider": self.provider,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "users": self.users,
            "entries_read": self.entries_read,
            "revision": self.revision,
            "counts": self.diff.counts(),
            "diff": self.diff.to_json(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderStatus:
    """A configured provider and its last sync, as ``idp list`` prints it."""

    name: str
    type: str
    url: str
    precedence: int
    users: int
    synced_at: str | None
    full_at: str | None
    high_water: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]


class IdentitySync(CatalogBase):
    """Identity-provider syncs (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def identity_provider(self, name: str) -> IdentityProvider:
        """The configured provider ``name``; :class:`IdentityProviderError` naming the known ones."""
        found = {p.name: p for p in self.snapshot().governance.identity_providers}
        if name not in found:
            known = (
                ", ".join(sorted(found)) or "none: add an identity_providers section to the policy file and apply it"
            )
            raise IdentityProviderError(f"no identity provider named '{name}' (configured: {known})")
        return found[name]

    def identity_provider_status(self) -> list[ProviderStatus]:
        """Every configured provider with its last sync (needs nothing: no facts are shown)."""
        providers = self.snapshot().governance.identity_providers
        with self.store.read() as conn:
            states = self.store.idp_state_rows(conn)
            bodies = self.store.idp_user_bodies(conn)
        return [
            ProviderStatus(
                name=p.name,
                type=p.type.value,
                url=p.connection.url,
                precedence=p.precedence,
                users=len(bodies.get(p.name, {})),
                synced_at=states.get(p.name, {}).get("synced_at"),
                full_at=states.get(p.name, {}).get("full_at"),
                high_water=states.get(p.name, {}).get("high_water") or None,
            )
            for p in providers
        ]

    def identity_provider_facts(self, name: str) -> dict[str, UserFacts]:
        """What provider ``name`` asserts about each user (``USER_ADMIN`` or ``GOVERNANCE``)."""
        self.identity_provider(name)
        self._require_user_admin(f"read the facts of identity provider '{name}'")
        with self.store.read() as conn:
            bodies = self.store.idp_user_bodies(conn, name).get(name, {})
        return {u: UserFacts.from_json(json.loads(b)) for u, b in sorted(bodies.items())}

    def sync_identity_providers(
        self,
        names: list[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        full: bool = False,
        directory: DirectoryReader | None = None,
    ) -> list[SyncResult]:
        """Sync the named providers (default: every configured one, by precedence), one transaction each."""
        providers = self.snapshot().governance.identity_providers
        chosen = names or [p.name for p in sorted(providers, key=lambda p: (p.precedence, p.name))]
        return [
            self.sync_identity_provider(n, dry_run=dry_run, force=force, full=full, directory=directory) for n in chosen
        ]

    def sync_identity_provider(
        self,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        full: bool = False,
        directory: DirectoryReader | None = None,
    ) -> SyncResult:
        """Read provider ``name``'s directory and make its facts in the catalog match, in one transaction.

        Incremental (only entries whose ``modifyTimestamp`` is at or after the last sync's highest,
        plus every matching DN to notice deletions) when the provider allows it, a previous sync
        read it with the same configuration, and ``full`` is not asked for; otherwise the whole
        directory. ``dry_run`` computes the diff and writes nothing. Raises :class:`SyncRefused`
        (audited, nothing changed) when more than ``max_removed_share`` of the provider's users
        would go, unless ``force``; :class:`IdentityProviderError` when the directory fails.
        """
        provider = self.identity_provider(name)
        self._require_user_admin(f"sync identity provider '{name}'")
        reader = directory or LdapDirectory()
        config = canonical_json(dump_identity_provider(provider))
        with self.store.read() as conn:
            state = self.store.idp_state_row(conn, name)
            cached = self.store.idp_entry_rows(conn, name)
        since = state["high_water"] if state and state["config"] == config and state["high_water"] else None
        if full or not provider.incremental:
            since = None
        entries, read = self._read(provider, reader, since, cached)
        mode = "incremental" if read.present is not None else "full"
        facts = compute_facts(provider, entries.values())
        high_water = max(read.high_water, (state or {}).get("high_water", "") if mode == "incremental" else "")
        if dry_run:
            with self.store.read() as conn:
                stored = self._stored_facts(conn, name)
                diff = diff_facts(stored, facts)
                self._check_removals(provider, stored, diff, force)
                revision = self.store.revision(conn)
            return SyncResult(
                provider=name,
                mode=mode,
                diff=diff,
                dry_run=True,
                users=len(facts),
                entries_read=len(read.entries),
                revision=revision,
            )
        try:
            with self.store.write() as conn:
                stored = self._stored_facts(conn, name)
                diff = diff_facts(stored, facts)
                self._check_removals(provider, stored, diff, force)
                bodies = {u: canonical_json(f.to_json()) for u, f in facts.items() if stored.get(u) != f}
                self.store.write_idp_users(
                    conn, name, put=bodies, new=facts.keys() - stored.keys(), gone=stored.keys() - facts.keys()
                )
                current = self.store.idp_entry_rows(conn, name)
                rows = {k: (canonical_json(e.to_json()), e.modified) for k, e in entries.items()}
                self.store.write_idp_entries(
                    conn,
                    name,
                    put={k: v for k, v in rows.items() if current.get(k) != v},
                    new=rows.keys() - current.keys(),
                    gone=current.keys() - rows.keys(),
                )
                self.store.put_idp_state(conn, name, high_water=high_water, config=config, full=mode == "full")
                # Only a change of facts moves the revision: governed sessions re-read the catalog then.
                revision = self.store.bump(conn) if not diff.is_empty else self.store.revision(conn)
                self.store.append_audit(
                    conn,
                    user=self.actor,
                    impersonator=self._impersonator(),
                    action="idp.sync",
                    outcome="ok",
                    detail=_audit_detail(name, mode, diff, len(read.entries), force),
                )
        except SyncRefused as exc:
            self.record(action="idp.sync", outcome="denied", detail={"provider": name, "error": str(exc)})
            raise
        return SyncResult(
            provider=name,
            mode=mode,
            diff=diff,
            dry_run=False,
            users=len(facts),
            entries_read=len(read.entries),
            revision=revision,
        )

    # --- helpers ------------------------------------------------------------------------

    def _read(
        self,
        provider: IdentityProvider,
        reader: DirectoryReader,
        since: str | None,
        cached: dict[str, tuple[str, str]],
    ) -> tuple[dict[str, DirectoryEntry], DirectoryRead]:
        """The provider's entries now (by normalized DN) and the read they came from."""
        if since is not None:
            read = reader.read(provider, since=since)
            assert read.present is not None
            entries = {
                k: DirectoryEntry.from_json(json.loads(b), m) for k, (b, m) in cached.items() if k in read.present
            }
            for e in read.entries:
                entries[e.key] = e
            groups = provider.groups
            # memberOf lives on the members: a changed or deleted group may have changed entries that
            # kept their modifyTimestamp, and an entry matched now but never read is not in the cache.
            stale = groups is not None and groups.membership is Membership.MEMBER_OF
            gone_groups = any(json.loads(b)["kind"] == "group" for k, (b, _) in cached.items() if k not in read.present)
            changed_groups = any(e.kind == "group" for e in read.entries)
            if not (read.present - entries.keys()) and not (stale and (gone_groups or changed_groups)):
                return entries, read
        read = reader.read(provider)
        return {e.key: e for e in read.entries}, read

    def _stored_facts(self, conn: Any, name: str) -> dict[str, UserFacts]:
        bodies = self.store.idp_user_bodies(conn, name).get(name, {})
        return {u: UserFacts.from_json(json.loads(b)) for u, b in bodies.items()}

    @staticmethod
    def _check_removals(provider: IdentityProvider, stored: dict[str, UserFacts], diff: SyncDiff, force: bool) -> None:
        if force or not stored:
            return
        share = len(diff.users_removed) / len(stored)
        if share > provider.max_removed_share:
            raise SyncRefused(
                f"identity provider '{provider.name}': this sync would remove {len(diff.users_removed)} of its "
                f"{len(stored)} users ({share:.0%}, more than its max_removed_share of "
                f"{provider.max_removed_share:.0%}), so nothing was changed. Check the directory and the "
                "provider's bases and filters (a broken filter matches no one); if the removals are right, "
                "sync again with --force"
            )

    def _require_user_admin(self, what: str) -> None:
        me = self._actor_subject()
        if not (me.has(Permission.USER_ADMIN) or me.has(Permission.GOVERNANCE)):
            self.record(action="denied", outcome="denied", detail={"operation": what, "needs": "USER_ADMIN"})
            raise NotAuthorized(f"'{self.actor}' may not {what}: that needs the USER_ADMIN or GOVERNANCE permission")


def _audit_detail(name: str, mode: str, diff: SyncDiff, read: int, force: bool) -> dict[str, Any]:
    listed = {k: v[:_AUDIT_SAMPLE] for k, v in diff.to_json().items()}
    return {"provider": name, "mode": mode, "entries_read": read, "forced": force, "counts": diff.counts(), **listed}
