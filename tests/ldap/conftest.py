"""Real OpenLDAP directories for the identity-provider tests, each started once per run on 127.0.0.1.

``corp_ldap`` is an OpenLDAP layout (``inetOrgPerson``, ``groupOfNames``, groups nested through
``member``); ``ad_ldap`` an Active-Directory-like one (``user``/``group`` entries with
``sAMAccountName``, ``memberOf`` kept by the overlay). Each test gets its own subtree
(:class:`Tree`) in them, so tests never see each other's entries. A missing ``slapd`` fails the
run, naming the package; it is never a skip.
"""

from __future__ import annotations

import itertools
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.idp.slapd_testing import Slapd, SlapdError, start_slapd

_COUNTER = itertools.count(1)


def _start(**kwargs: str) -> Iterator[Slapd]:
    try:
        server = start_slapd(**kwargs)
    except SlapdError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def corp_ldap() -> Iterator[Slapd]:
    """An OpenLDAP-layout directory (``dc=corp,dc=example``)."""
    yield from _start(suffix="dc=corp,dc=example", layout="openldap")


@pytest.fixture(scope="session")
def ad_ldap() -> Iterator[Slapd]:
    """An Active-Directory-like directory (``dc=ad,dc=example``), a second provider."""
    yield from _start(suffix="dc=ad,dc=example", layout="ad")


@dataclass
class Tree:
    """One test's subtree of a directory: ``ou=people`` and ``ou=groups`` under ``ou=tN``, edited as admin."""

    server: Slapd
    base: str

    @property
    def people(self) -> str:
        return f"ou=people,{self.base}"

    @property
    def groups(self) -> str:
        return f"ou=groups,{self.base}"

    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(self.server.url, self.server.admin_dn, self.server.admin_password, auto_bind=True)

    def user_dn(self, name: str) -> str:
        return f"cn={name},{self.people}"

    def group_dn(self, name: str) -> str:
        return f"cn={name},{self.groups}"

    def ldif(self, text: str) -> None:
        """Add entries from LDIF text (``{people}``, ``{groups}`` and ``{base}`` filled in)."""
        self.server.add_ldif(textwrap.dedent(text).format(people=self.people, groups=self.groups, base=self.base))

    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[str]]]]) -> None:
        ops = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
        with self.admin() as conn:
            ok = conn.modify(dn, {a: [(ops[op], vals) for op, vals in ch] for a, ch in changes.items()})
            assert ok, conn.result

    def delete(self, dn: str) -> None:
        with self.admin() as conn:
            assert conn.delete(dn), conn.result


def new_tree(server: Slapd) -> Tree:
    """A fresh subtree (``ou=tN`` with ``ou=people`` and ``ou=groups``) of ``server``."""
    base = f"ou=t{next(_COUNTER)},{server.suffix}"
    server.add_ldif(
        f"dn: {base}\nobjectClass: organizationalUnit\nou: {base.split(',')[0][3:]}\n\n"
        f"dn: ou=people,{base}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: ou=groups,{base}\nobjectClass: organizationalUnit\nou: groups\n"
    )
    return Tree(server, base)


@pytest.fixture
def corp(corp_ldap: Slapd) -> Tree:
    """A fresh subtree of the OpenLDAP-layout directory."""
    return new_tree(corp_ldap)


@pytest.fixture
def ad(ad_ldap: Slapd) -> Tree:
    """A fresh subtree of the Active-Directory-like directory."""
    return new_tree(ad_ldap)


def corp_provider(tree: Tree, *, name: str = "corp", extra: str = "", url: str | None = None) -> str:
    """An ``identity_providers`` entry (YAML, indented for the list) for an OpenLDAP-layout subtree."""
    return f"""
  - name: {name}
    precedence: 10
    max_removed_share: 0.5
    connection:
      url: {url or tree.server.url}
      bind_dn: "{tree.server.bind_dn}"
      password_env: CORP_LDAP_PASSWORD
      ca_file: {tree.server.ca_file}
      page_size: 3
    users:
      base: "{tree.people}"
      attributes:
        - {{name: department, from: departmentNumber, transform: [lower]}}
        - {{name: manager, from: manager, transform: [first_rdn]}}
    groups:
      base: "{tree.groups}"
{textwrap.indent(textwrap.dedent(extra), "    ")}"""


def ad_provider(tree: Tree, *, name: str = "ad", extra: str = "") -> str:
    """An ``identity_providers`` entry for an Active-Directory-like subtree (memberOf, sAMAccountName)."""
    return f"""
  - name: {name}
    type: active_directory
    precedence: 20
    max_removed_share: 0.5
    connection:
      url: {tree.server.url}
      bind_dn: "{tree.server.bind_dn}"
      password_env: AD_LDAP_PASSWORD
      page_size: 2
    users:
      base: "{tree.people}"
      name: {{attribute: sAMAccountName, transform: [lower]}}
      attributes:
        - department
    groups:
      base: "{tree.groups}"
{textwrap.indent(textwrap.dedent(extra), "    ")}"""


#: A governor, a source whose ssn is masked for everyone outside Legal, and a declared user.
BASE_POLICY = """
version: 1
users:
  - name: root
    permissions: [GOVERNANCE, USER_ADMIN]
  - name: alice
    groups: [Analysts]
    attributes: {department: [yaml-dept]}
sources:
  - name: Claims
    table: claims.medical
    subscription: {anyone: {}}
    columns: {ssn: [PII]}
    policies:
      - {name: mask-ssn, type: masking, columns: {tagged: PII}, mask: "null", except: {groups: [Legal]}}
identity_providers:"""


def make_catalog(tmp_path: Path, providers: str, monkeypatch: pytest.MonkeyPatch) -> GovernanceCatalog:
    """A SQLite catalog holding :data:`BASE_POLICY` with ``providers``, acting as the governor root."""
    monkeypatch.setenv("CORP_LDAP_PASSWORD", "sync-secret")
    monkeypatch.setenv("AD_LDAP_PASSWORD", "sync-secret")
    path = tmp_path / "governance.yaml"
    path.write_text(BASE_POLICY + providers)
    cat = GovernanceCatalog.open(f"sqlite:///{tmp_path / 'catalog.db'}", identity="root", create=True)
    cat.apply(path, sql_checker=None, regex_checker=None)
    return cat
