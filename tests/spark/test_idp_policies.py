"""Groups synced from a directory drive a governed session, and a sync reaches its very next statement."""

from __future__ import annotations

from typing import Any

import ldap3
import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.idp.slapd_testing import running_slapd
from tests.spark.conftest import table

SUFFIX = "dc=spark,dc=example"
DIRECTORY = f"""dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=erin,ou=people,{SUFFIX}
objectClass: inetOrgPerson
cn: erin
sn: E
uid: erin

dn: uid=fred,ou=people,{SUFFIX}
objectClass: inetOrgPerson
cn: fred
sn: F
uid: fred

dn: cn=Legal,ou=groups,{SUFFIX}
objectClass: groupOfNames
cn: Legal
member: uid=erin,ou=people,{SUFFIX}
member: uid=fred,ou=people,{SUFFIX}
"""


def policies(url: str) -> str:
    return f"""
users:
  - {{name: svc_notebook, permissions: [IMPERSONATE, USER_ADMIN]}}
sources:
  - name: Claims
    table: idp.claims
    subscription: {{anyone: {{}}}}
    policies:
      - {{name: mask-ssn, type: masking, columns: {{names: [ssn]}}, mask: "null", except: {{groups: [Legal]}}}}
identity_providers:
  - name: corp
    max_removed_share: 1
    connection:
      url: {url}
      bind_dn: "cn=sync,ou=service,{SUFFIX}"
      password_env: SPARK_LDAP_PASSWORD
    users:
      base: "ou=people,{SUFFIX}"
    groups:
      base: "ou=groups,{SUFFIX}"
"""


def test_a_user_who_loses_legal_in_the_directory_sees_the_column_masked_at_the_next_statement(
    governed: Any, sample_spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table(sample_spark, "idp.claims", [(1, "123-45-6789")], "id int, ssn string")
    with running_slapd(suffix=SUFFIX, ldif=DIRECTORY) as server:
        monkeypatch.setenv("SPARK_LDAP_PASSWORD", server.password)
        sessions = governed(policies(server.url))
        # The sync runs elsewhere (another catalog handle, as `immuta-spark idp sync` would).
        syncer = GovernanceCatalog.open(sessions.catalog.store.url, identity="svc_notebook")
        syncer.sync_identity_provider("corp")
        erin = sessions("erin")
        assert [r.ssn for r in erin.sql("SELECT ssn FROM idp.claims").collect()] == ["123-45-6789"]
        with ldap3.Connection(server.url, server.admin_dn, server.admin_password, auto_bind=True) as admin:
            member = f"uid=erin,ou=people,{SUFFIX}"
            assert admin.modify(f"cn=Legal,ou=groups,{SUFFIX}", {"member": [(ldap3.MODIFY_DELETE, [member])]})
        result = syncer.sync_identity_provider("corp")
        assert result.diff.groups_removed == (("erin", "Legal"),)
        # The same session, its very next statement: masked, through SQL and the DataFrame API alike.
        assert [r.ssn for r in erin.sql("SELECT ssn FROM idp.claims").collect()] == [None]
        assert [r.ssn for r in erin.table("idp.claims").collect()] == [None]
        # fred kept Legal.
        assert [r.ssn for r in sessions("fred").table("idp.claims").collect()] == ["123-45-6789"]
