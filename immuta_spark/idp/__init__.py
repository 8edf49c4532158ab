"""Identity providers: users, groups and attributes from LDAP and Active Directory, synced into the catalog.

:mod:`.facts` (directory entries to facts, diffs, the merge with the policy file's users),
:mod:`.directory` (reading a directory with ``ldap3``), :mod:`.schedule` (``--every``: syncing
on a schedule through transient failures) and :mod:`.slapd_testing` (a real OpenLDAP for tests).
The catalog side is :mod:`immuta_spark.catalog.idp`; the configuration is
:mod:`immuta_spark.identity_providers`. See docs/identity.md.
"""

from __future__ import annotations

from immuta_spark.idp.directory import DirectoryRead, DirectoryReader, LdapDirectory, read_password
from immuta_spark.idp.facts import (
    DirectoryEntry,
    SyncDiff,
    UserFacts,
    compute_facts,
    diff_facts,
    merge_users,
    normalize_dn,
)
from immuta_spark.idp.schedule import parse_interval, run_every

__all__ = [
    "DirectoryEntry",
    "DirectoryRead",
    "DirectoryReader",
    "LdapDirectory",
    "SyncDiff",
    "UserFacts",
    "compute_facts",
    "diff_facts",
    "merge_users",
    "normalize_dn",
    "parse_interval",
    "read_password",
    "run_every",
]
