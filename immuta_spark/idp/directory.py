"""Reading a directory with ``ldap3`` (the ``ldap`` extra): bind, paged searches, entries as text.

A full read fetches every user and group entry the provider's searches match. An incremental read
(``since``: the highest ``modifyTimestamp`` a sync has seen) fetches only entries modified at or
after it, plus the DNs alone of every matching entry, so that entries deleted or no longer matched
are noticed. Every search is paged (RFC 2696), so a directory's size limit for one search (Active
Directory's ``MaxPageSize``) never truncates a read. Any failure raises
:class:`IdentityProviderError` before anything is returned: a read is complete or it is an error.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from immuta_spark.errors import IdentityProviderError
from immuta_spark.identity_providers import IdentityProvider, Membership
from immuta_spark.idp.facts import DirectoryEntry, normalize_dn

__all__ = ["DirectoryRead", "DirectoryReader", "LdapDirectory", "read_password"]

#: Called after each page with the number of entries read so far (tests stop the directory there).
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryRead:
    """What one read returned: entries in full, and (incremental) the keys of every entry still matched."""

    entries: tuple[DirectoryEntry, ...]
    #: Normalized DNs of every user and group the searches match now; None for a full read (``entries`` is all).
    present: frozenset[str] | None = None

    @property
    def high_water(self) -> str:
        """The highest ``modifyTimestamp`` among the entries ("" when none carried one)."""
        return max((e.modified for e in self.entries), default="")


class DirectoryReader(Protocol):
    """Reads a provider's directory (:class:`LdapDirectory`; tests may pass another)."""

    def read(self, provider: IdentityProvider, *, since: str | None = None) -> DirectoryRead:
        """Every user and group entry (``since``: only those modified since, plus every matching DN)."""
        ...


def read_password(provider: IdentityProvider) -> str | None:
    """The bind password from where the provider says (an environment variable or a file); never stored."""
    c = provider.connection
    if c.password_env is not None:
        value = os.environ.get(c.password_env)
        if not value:
            raise IdentityProviderError(
                f"identity provider '{provider.name}': the environment variable {c.password_env} (its bind "
                "password) is not set; set it in the environment of the sync, or use password_file"
            )
        return value
    if c.password_file is not None:
        try:
            return Path(c.password_file).read_text().rstrip("\r\n")
        except OSError as exc:
            raise IdentityProviderError(
                f"identity provider '{provider.name}': its password file {c.password_file} cannot be read "
                f"({exc.strerror}); check the path and that the sync's user may read it"
            ) from exc
    return None


def _text(values: list[bytes]) -> tuple[str, ...]:
    return tuple(v.decode("utf-8", "replace") for v in values)


class LdapDirectory:
    """A :class:`DirectoryReader` over ``ldap3``; ``progress`` is called after every page."""

    def __init__(self, *, progress: Progress | None = None) -> None:
        self.progress = progress

    def read(self, provider: IdentityProvider, *, since: str | None = None) -> DirectoryRead:
        """See :class:`DirectoryReader`; :class:`IdentityProviderError` (``transient`` if unreachable)."""
        try:
            import ldap3
            from ldap3.core import exceptions as lx
        except ImportError as exc:
            raise IdentityProviderError(
                "syncing an identity provider needs ldap3: pip install 'immuta-spark[ldap]'"
            ) from exc
        password = read_password(provider)
        try:
            conn = self._connect(ldap3, provider, password)
        except (lx.LDAPBindError, lx.LDAPOperationResult) as exc:
            why = getattr(exc, "description", None) or type(exc).__name__
            raise IdentityProviderError(
                f"identity provider '{provider.name}': the directory refused the bind as "
                f"{provider.connection.bind_dn or 'anonymous'} ({why}); check bind_dn and its password"
            ) from exc
        except (lx.LDAPCommunicationError, lx.LDAPSocketOpenError, lx.LDAPStartTLSError, OSError) as exc:
            raise self._unreachable(provider, exc) from exc
        try:
            return self._searches(ldap3, conn, provider, since)
        except lx.LDAPOperationResult as exc:  # the directory answered with an error
            raise IdentityProviderError(
                f"identity provider '{provider.name}': the directory refused a search ({exc.description}: "
                f"{exc.message or exc.result}); check the bases and filters; nothing was changed"
            ) from exc
        except (lx.LDAPCommunicationError, lx.LDAPSessionTerminatedByServerError, OSError) as exc:
            raise self._unreachable(provider, exc) from exc
        except lx.LDAPException as exc:
            raise IdentityProviderError(
                f"identity provider '{provider.name}': the search failed ({exc}); check the provider's searches"
            ) from exc
        finally:
            try:
                conn.unbind()
            except Exception:  # noqa: BLE001 - a connection already broken is closed anyway
                pass

    @staticmethod
    def _unreachable(provider: IdentityProvider, exc: BaseException) -> IdentityProviderError:
        return IdentityProviderError(
            f"identity provider '{provider.name}': the directory at {provider.connection.url} could not be "
            f"reached or went away ({exc}); nothing was changed. Check that it is up, then sync again",
            transient=True,
        )

    @staticmethod
    def _connect(ldap3: Any, provider: IdentityProvider, password: str | None) -> Any:
        c = provider.connection
        tls = None
        if c.uses_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED if c.verify else ssl.CERT_NONE,
                ca_certs_file=c.ca_file,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )
        server = ldap3.Server(
            c.url,
            use_ssl=c.url.lower().startswith("ldaps://"),
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=c.timeout_seconds,
        )
        conn = ldap3.Connection(
            server,
            user=c.bind_dn,
            password=password,
            read_only=True,
            raise_exceptions=True,
            receive_timeout=c.timeout_seconds,
            auto_referrals=False,
        )
        conn.open()
        if c.start_tls:
            conn.start_tls()
        conn.bind()
        return conn

    def _searches(self, ldap3: Any, conn: Any, provider: IdentityProvider, since: str | None) -> DirectoryRead:
        users = provider.users
        u_attrs = {users.name.attribute, *(a.source for a in users.attributes), "modifyTimestamp"}
        groups = provider.groups
        if groups is not None and groups.membership is Membership.MEMBER_OF:
            u_attrs.add("memberOf")
        searches = [("user", users.base, users.filter, users.scope, u_attrs)]
        if groups is not None:
            g_attrs = {groups.name.attribute, "modifyTimestamp"}
            g_attrs.add("member" if groups.membership is Membership.MEMBER else "memberOf")
            searches.append(("group", groups.base, groups.filter, groups.scope, g_attrs))
        entries: list[DirectoryEntry] = []
        present: set[str] | None = None if since is None else set()
        count = 0
        for kind, base, flt, scope, attrs in searches:
            level = ldap3.SUBTREE if scope == "subtree" else ldap3.LEVEL
            query = flt if since is None else f"(&{flt}(modifyTimestamp>={since}))"
            for dn, raw in self._paged(conn, provider, base, query, level, sorted(attrs)):
                values = {k.lower(): _text(v) for k, v in raw.items()}
                modified = values.pop("modifytimestamp", ("",))[0]
                entries.append(DirectoryEntry(dn=dn, kind=kind, attributes=values, modified=modified))
                count += 1
            if present is not None:
                for dn, _raw in self._paged(conn, provider, base, flt, level, ["1.1"]):
                    present.add(normalize_dn(dn))
                    count += 1
        return DirectoryRead(entries=tuple(entries), present=None if present is None else frozenset(present))

    def _paged(self, conn: Any, provider: IdentityProvider, base: str, query: str, scope: Any, attrs: list[str]) -> Any:
        """(dn, raw attributes) of every entry, page by page; ``progress`` after each page."""
        size = provider.connection.page_size
        cookie: bytes | None = None
        read = 0
        while True:
            conn.search(base, query, search_scope=scope, attributes=attrs, paged_size=size, paged_cookie=cookie)
            for r in conn.response:
                if r.get("type") == "searchResEntry":
                    read += 1
                    yield r["dn"], r["raw_attributes"]
            if self.progress is not None:
                self.progress(read)
            controls = conn.result.get("controls", {})
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return
