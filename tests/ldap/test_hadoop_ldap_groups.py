"""Hadoop agrees: a NameNode whose groups come from the directory policies read (issue 14, item 6).

One MiniDFSCluster for this module, configured as docs/identity.md ("HDFS sees the same groups")
says: the product's ``io.immuta.hdfs.WorkspaceGroupsMapping`` with Hadoop's ``LdapGroupsMapping``
as its base mapping, pointed over LDAPS (certificate checked) at a subtree of the run's OpenLDAP
directory, with the same sync account and password file as the catalog's ``corp`` provider. The
NameNode polls the workspace grants of that same catalog. Users act over WebHDFS with simple
authentication, so the NameNode sees exactly their names; ``MiniHdfs.groups`` asks the NameNode
over RPC what ``hdfs groups USER`` would print.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from hdfs_workspace.acl import FsAction
from hdfs_workspace.errors import PermissionDenied, ToolMissing
from hdfs_workspace.grants_testing import Grant, GrantsDb
from hdfs_workspace.layout import expected_acl, layout_for
from hdfs_workspace.testing import SERVICE_USER, SUPERUSER, MiniHdfs, MiniHdfsError, start_minihdfs
from hdfs_workspace.webhdfs import WebHdfsAccess
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.cli import main
from immuta_spark.idp.slapd_testing import Slapd
from tests.ldap.conftest import Tree, new_tree

DIRECTORY = """
dn: cn=alice,{people}
objectClass: inetOrgPerson
cn: alice
sn: A
uid: alice

dn: cn=bob,{people}
objectClass: inetOrgPerson
cn: bob
sn: B
uid: bob

dn: cn=carol,{people}
objectClass: inetOrgPerson
cn: carol
sn: C
uid: carol

dn: cn=dave,{people}
objectClass: inetOrgPerson
cn: dave
sn: D
uid: dave

dn: cn=erin,{people}
objectClass: inetOrgPerson
cn: erin
sn: E
uid: erin

dn: cn=Legal,{groups}
objectClass: groupOfNames
cn: Legal
member: cn=alice,{people}

dn: cn=Platform,{groups}
objectClass: groupOfNames
cn: Platform
member: cn=carol,{people}

dn: cn=Engineering,{groups}
objectClass: groupOfNames
cn: Engineering
member: cn=bob,{people}
member: cn=erin,{people}
member: cn=Platform,{groups}
"""

#: The project whose workspace group the grants give (``immuta_ws_t``).
WORKSPACE = layout_for("t", "/ws")


def hadoop_ldap_properties(
    tree: Tree, password_file: Path, truststore: Path, truststore_password: Path
) -> dict[str, str]:
    """The NameNode's group-mapping settings: exactly those docs/identity.md shows (values aside)."""
    prefix = "hadoop.security.group.mapping.ldap"
    return {
        "hadoop.security.group.mapping": "io.immuta.hdfs.WorkspaceGroupsMapping",
        "immuta.workspace.groups.base.class": "org.apache.hadoop.security.LdapGroupsMapping",
        f"{prefix}.url": tree.server.ldaps_url,
        f"{prefix}.ssl": "true",
        f"{prefix}.ssl.truststore": str(truststore),
        f"{prefix}.ssl.truststore.password.file": str(truststore_password),
        f"{prefix}.bind.user": tree.server.bind_dn,
        f"{prefix}.bind.password.file": str(password_file),
        f"{prefix}.base": tree.base,
        f"{prefix}.userbase": tree.people,
        f"{prefix}.groupbase": tree.groups,
        f"{prefix}.search.filter.user": "(&(objectClass=inetOrgPerson)(uid={0}))",
        f"{prefix}.search.filter.group": "(objectClass=groupOfNames)",
        f"{prefix}.search.attr.member": "member",
        f"{prefix}.search.attr.group.name": "cn",
        f"{prefix}.search.group.hierarchy.levels": "5",
        f"{prefix}.connection.timeout.ms": "5000",
        f"{prefix}.read.timeout.ms": "5000",
    }


def provider_yaml(tree: Tree, password_file: Path) -> str:
    """The catalog's provider for the same subtree: the same account, password file and names."""
    return f"""
version: 1
users:
  - name: root
    permissions: [GOVERNANCE, USER_ADMIN]
identity_providers:
  - name: corp
    max_removed_share: 0.5
    connection:
      url: {tree.server.ldaps_url}
      ca_file: {tree.server.ca_file}
      bind_dn: "{tree.server.bind_dn}"
      password_file: {password_file}
    users:
      base: "{tree.people}"
      filter: (objectClass=inetOrgPerson)
      name: uid
    groups:
      base: "{tree.groups}"
      filter: (objectClass=groupOfNames)
      name: cn
      membership: member
      nested: true
"""


def truststore_of(ca_file: Path, directory: Path) -> tuple[Path, Path]:
    """A PKCS12 truststore holding the directory's CA (made with the JDK's keytool) and its password file."""
    store, password = directory / "ldap-truststore.p12", directory / "ldap-truststore.pw"
    password.write_text("trust-secret\n")
    argv = ["keytool", "-importcert", "-noprompt", "-alias", "ldap-ca", "-file", str(ca_file)]
    done = subprocess.run(
        [*argv, "-keystore", str(store), "-storetype", "PKCS12", "-storepass", "trust-secret"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"keytool could not build the LDAP truststore: {done.stderr or done.stdout}")
    return store, password


@dataclass
class Setup:
    """The module's directory subtree, catalog, grants and cluster."""

    tree: Tree
    catalog_url: str
    grants: GrantsDb
    cluster: MiniHdfs
    eng_dir: str
    ws_dir: str

    def catalog(self) -> GovernanceCatalog:
        return GovernanceCatalog.open(self.catalog_url, identity="root")

    def as_user(self, user: str) -> WebHdfsAccess:
        return self.cluster.access(user)

    def sync(self) -> dict:
        """``immuta-spark idp sync corp --json`` against the catalog."""
        cat = self.catalog()
        try:
            out = io.StringIO()
            assert main(["idp", "sync", "corp", "--json"], catalog=cat, out=out) == 0, out.getvalue()
            (result,) = json.loads(out.getvalue())
            return result
        finally:
            cat.store.engine.dispose()

    def catalog_groups(self, user: str) -> tuple[str, ...]:
        """The groups every policy decision sees for ``user`` (the catalog snapshot's merged user)."""
        cat = self.catalog()
        try:
            found = cat.snapshot().users.get(user)
            return tuple(sorted(found.groups)) if found is not None else ()
        finally:
            cat.store.engine.dispose()


@pytest.fixture(scope="module")
def setup(corp_ldap: Slapd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("hadoop-ldap")
    tree = new_tree(corp_ldap)
    tree.ldif(DIRECTORY)
    password_file = base / "corp.pw"  # one secret, read by both the sync and the NameNode
    password_file.write_text(corp_ldap.password + "\n")
    password_file.chmod(0o600)
    truststore, truststore_password = truststore_of(corp_ldap.ca_file, base)

    catalog_path = base / "catalog.db"
    catalog_url = f"sqlite:///{catalog_path}"
    policy = base / "governance.yaml"
    policy.write_text(provider_yaml(tree, password_file))
    cat = GovernanceCatalog.open(catalog_url, identity="root", create=True)
    cat.apply(policy, sql_checker=None, regex_checker=None)
    cat.store.engine.dispose()
    grants = GrantsDb(catalog_path).create()  # the catalog's own grants tables: the NameNode polls them

    try:
        cluster = start_minihdfs(
            base / "hdfs",
            # Only the service identities have fixed groups; everyone else's come from LDAP.
            groups={SUPERUSER: ("supergroup",), SERVICE_USER: ("services",)},
            grants_url=grants.url,
            extra_properties=hadoop_ldap_properties(tree, password_file, truststore, truststore_password),
        )
    except (ToolMissing, MiniHdfsError) as err:
        pytest.fail(f"the LDAP-backed test HDFS did not start: {err}", pytrace=False)
    try:
        admin = cluster.admin()
        dirs = {"Engineering": "/ldap/engineering", WORKSPACE.hadoop_group: WORKSPACE.path}
        for group, path in dirs.items():
            admin.makedirs(path.rsplit("/", 1)[0], mode=0o755)
            admin.makedirs(path, mode=0o770)
            admin.set_owner(path, owner=SERVICE_USER, group="services")
            admin.set_acl(path, expected_acl(group, SERVICE_USER))
        yield Setup(tree, catalog_url, grants, cluster, dirs["Engineering"], WORKSPACE.path)
    finally:
        cluster.stop()


def denied(access: WebHdfsAccess, directory: str) -> None:
    """``access`` can neither write, list nor pass ``directory``: the NameNode says AccessControlException."""
    assert not access.check_access(directory, FsAction.EXECUTE)
    for attempt in (
        lambda: access.write_bytes(f"{directory}/{access.user}-denied.csv", b"no", mode=0o660),
        lambda: access.list_dir(directory),
    ):
        with pytest.raises(PermissionDenied) as err:
            attempt()
        assert err.value.remote_exception == "AccessControlException"


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:.0f}s")
        time.sleep(0.05)


def test_a_directory_group_opens_a_workspace_acl_and_policies_see_the_same_group(setup: Setup) -> None:
    result = setup.sync()
    assert result["diff"]["users_added"] == ["alice", "bob", "carol", "dave", "erin"]

    # The NameNode and the catalog answer the same groups, nested ones included (carol is in
    # Engineering only through Platform), for members, non-members and unknown users alike.
    expected = {
        "alice": ("Legal",),
        "bob": ("Engineering",),
        "carol": ("Engineering", "Platform"),
        "dave": (),
        "erin": ("Engineering",),
        "mallory": (),  # not in the directory
    }
    for user, groups in expected.items():
        assert setup.cluster.groups(user) == groups, user
        assert setup.catalog_groups(user) == groups, user

    # The ACL's named group opens the directory to members; mode 0770 keeps everyone else out.
    bob, carol = setup.as_user("bob"), setup.as_user("carol")
    bob.write_bytes(f"{setup.eng_dir}/bob.csv", b"b", mode=0o660)
    carol.write_bytes(f"{setup.eng_dir}/carol.csv", b"c", mode=0o660)
    assert bob.read_bytes(f"{setup.eng_dir}/carol.csv") == b"c"
    assert {s.name for s in carol.list_dir(setup.eng_dir)} >= {"bob.csv", "carol.csv"}
    for outsider in ("alice", "dave", "mallory"):
        denied(setup.as_user(outsider), setup.eng_dir)


def test_workspace_groups_are_added_on_top_of_the_directorys(setup: Setup) -> None:
    setup.sync()
    bob = setup.as_user("bob")
    denied(bob, setup.ws_dir)

    lease = Grant(project="t", user="bob", group=WORKSPACE.hadoop_group, holder="s1", expires_at=time.time() + 600)
    setup.grants.wait_acked(setup.grants.grant([lease]))
    assert setup.cluster.groups("bob") == ("Engineering", WORKSPACE.hadoop_group)
    bob.write_bytes(f"{setup.ws_dir}/bob.csv", b"w", mode=0o660)
    bob.write_bytes(f"{setup.eng_dir}/bob-ws.csv", b"e", mode=0o660)  # the directory's group still counts

    setup.grants.wait_acked(setup.grants.revoke("t", "bob", "s1"))
    assert setup.cluster.groups("bob") == ("Engineering",)
    denied(bob, setup.ws_dir)
    assert bob.read_bytes(f"{setup.eng_dir}/bob-ws.csv") == b"e"


def test_a_member_removed_in_the_directory_loses_hdfs_access_after_a_refresh_and_policies_after_a_sync(
    setup: Setup,
) -> None:
    setup.sync()
    erin = setup.as_user("erin")
    erin.write_bytes(f"{setup.eng_dir}/erin.csv", b"e", mode=0o660)
    assert setup.catalog_groups("erin") == ("Engineering",)

    setup.tree.modify(setup.tree.group_dn("Engineering"), {"member": [("delete", [setup.tree.user_dn("erin")])]})
    # Hadoop caches groups (hadoop.security.groups.cache.secs, 300 s here): still allowed ...
    assert erin.check_access(setup.eng_dir, FsAction.WRITE)
    # ... until an administrator refreshes the NameNode's mappings (or the cache expires).
    setup.cluster.refresh_user_groups()
    assert setup.cluster.groups("erin") == ()
    denied(erin, setup.eng_dir)
    with pytest.raises(PermissionDenied):
        erin.read_bytes(f"{setup.eng_dir}/erin.csv")

    # The catalog holds its facts until the next sync, which drops the group there too.
    assert setup.catalog_groups("erin") == ("Engineering",)
    result = setup.sync()
    assert result["diff"]["groups_removed"] == [{"user": "erin", "group": "Engineering"}]
    assert setup.catalog_groups("erin") == setup.cluster.groups("erin") == ()
    # Others are untouched on both sides.
    assert setup.catalog_groups("bob") == setup.cluster.groups("bob") == ("Engineering",)
    setup.as_user("bob").write_bytes(f"{setup.eng_dir}/bob-after.csv", b"b", mode=0o660)


def test_the_documented_settings_are_the_ones_this_module_uses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "identity.md").read_text()
    section = doc.split("## HDFS sees the same groups", 1)[1]
    xml = section.split("```xml", 1)[1].split("```", 1)[0]
    documented = re.findall(r"<name>([^<]+)</name>", xml)
    server = SimpleNamespace(ldaps_url="ldaps://x", bind_dn="cn=x")
    tree = SimpleNamespace(server=server, base="dc=x", people="ou=p,dc=x", groups="ou=g,dc=x")
    used = [*hadoop_ldap_properties(tree, Path("p"), Path("t"), Path("tp")), "immuta.workspace.grants.jdbc.url"]  # type: ignore[arg-type]
    assert sorted(documented) == sorted(used)
