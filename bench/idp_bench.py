"""Identity-provider syncs against a real slapd: 10,000 users in 500 groups (``python -m bench idp``).

``idp_sync_full_s`` is the first sync into an empty catalog (a full read, paged 500 at a time past
the directory's size limit, every fact written). ``idp_sync_incremental_s`` is a sync after 10
users changed, in steady state: modifyTimestamp counts seconds and a read starts at the last
second it saw, so the first incremental read after a bulk load re-reads that second's entries
(all of them here: ``idp_sync_first_incremental_s``); the next reads only what changed since.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

USERS = 10_000
GROUPS = 500
CHANGED = 10
SUFFIX = "dc=bench,dc=example"


def _ldif() -> str:
    out = [f"dn: ou={o},{SUFFIX}\nobjectClass: organizationalUnit\nou: {o}\n" for o in ("people", "groups")]
    members: dict[int, list[str]] = {g: [] for g in range(GROUPS)}
    for i in range(USERS):
        dn = f"uid=u{i},ou=people,{SUFFIX}"
        out.append(f"dn: {dn}\nobjectClass: inetOrgPerson\ncn: u{i}\nsn: u\nuid: u{i}\ndepartmentNumber: D{i % 40}\n")
        members[i % GROUPS].append(dn)
        members[(i * 7 + 3) % GROUPS].append(dn)
    for g in range(50, GROUPS):  # nesting: groups 50..499 inside one of groups 0..49
        members[g % 50].append(f"cn=g{g},ou=groups,{SUFFIX}")
    for g, ms in members.items():
        out.append(
            f"dn: cn=g{g},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: g{g}\n"
            + "".join(f"member: {m}\n" for m in ms)
        )
    return "\n".join(out)


def _policy(server: Any) -> str:
    return f"""version: 1
users:
  - {{name: root, permissions: [GOVERNANCE, USER_ADMIN]}}
identity_providers:
  - name: bench
    connection:
      url: {server.url}
      bind_dn: "{server.bind_dn}"
      password_env: BENCH_LDAP_PASSWORD
      page_size: 500
    users:
      base: "ou=people,{SUFFIX}"
      attributes: [{{name: department, from: departmentNumber}}]
    groups:
      base: "ou=groups,{SUFFIX}"
"""


def _change(server: Any, round_: int) -> None:
    import ldap3

    with ldap3.Connection(server.url, server.admin_dn, server.admin_password, auto_bind=True) as conn:
        for i in range(CHANGED):
            dn = f"uid=u{i * 997 % USERS},ou=people,{SUFFIX}"
            assert conn.modify(dn, {"departmentNumber": [(ldap3.MODIFY_REPLACE, [f"R{round_}"])]}), conn.result


def run() -> dict[str, Any]:
    """The figures (seconds), each of one sync."""
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.idp.slapd_testing import start_slapd

    root = Path(tempfile.mkdtemp(prefix="immuta-idp-bench-"))
    server = start_slapd(suffix=SUFFIX, ldif=_ldif(), root=root / "slapd")
    try:
        os.environ["BENCH_LDAP_PASSWORD"] = server.password
        (root / "gov.yaml").write_text(_policy(server))
        cat = GovernanceCatalog.open(f"sqlite:///{root / 'catalog.db'}", identity="root", create=True)
        cat.apply(root / "gov.yaml", sql_checker=None, regex_checker=None)
        started = time.perf_counter()
        full = cat.sync_identity_provider("bench")
        full_s = time.perf_counter() - started
        assert full.users == USERS, full.users
        time.sleep(1.1)  # the changes land in a later second than the bulk load
        _change(server, 1)
        started = time.perf_counter()
        first = cat.sync_identity_provider("bench")
        first_s = time.perf_counter() - started
        assert first.mode == "incremental", first.mode
        steady: list[float] = []
        read = 0
        for round_ in range(2, 5):
            time.sleep(1.1)
            _change(server, round_)
            started = time.perf_counter()
            result = cat.sync_identity_provider("bench")
            steady.append(time.perf_counter() - started)
            assert result.mode == "incremental" and len(result.diff.attributes_added) == CHANGED, result.diff.counts()
            read = result.entries_read
        return {
            "idp_sync_full_s": round(full_s, 2),
            "idp_sync_first_incremental_s": round(first_s, 2),
            "idp_sync_incremental_s": round(statistics.median(steady), 2),
            "idp_sync_incremental_entries_read": read,
        }
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
