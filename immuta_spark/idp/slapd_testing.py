"""A real, throw-away OpenLDAP server for tests and benchmarks (Debian's ``slapd``).

:func:`start_slapd` writes a fresh ``cn=config`` into a temporary directory with ``slapadd -n0``
(an mdb database, the ``memberof`` and ``refint`` overlays, a small schema of Active-Directory-like
attributes and classes), makes a self-signed CA and a server certificate for 127.0.0.1 with
``cryptography``, loads the initial LDIF offline (``slapadd -n1``) and starts ``slapd`` in the
foreground listening on ``ldap://127.0.0.1:PORT`` and ``ldaps://127.0.0.1:PORT2`` only. Entries added
afterwards (:meth:`Slapd.add_ldif`, through ``ldapadd``) go through the overlays, so groups keep their
members' ``memberOf`` up to date.

Two layouts (:data:`LAYOUTS`): ``openldap`` (``inetOrgPerson`` users, ``groupOfNames`` groups whose
``member`` may name other groups) and ``ad`` (``user`` and ``group`` entries carrying
``sAMAccountName``, with ``memberOf`` kept by the overlay, as Active Directory keeps it).

The sync account (:attr:`Slapd.bind_dn`) may read everything but passwords; like Active Directory's
``MaxPageSize`` it gets at most :data:`SIZE_LIMIT` entries from one search unless it pages. This
module is for tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LAYOUTS",
    "SIZE_LIMIT",
    "Slapd",
    "SlapdError",
    "make_certificates",
    "running_slapd",
    "slapd_binaries",
    "start_slapd",
]

#: What a non-paged search of the sync account returns at most (paged searches are unlimited).
SIZE_LIMIT = 500
#: The group object class the memberof overlay follows, per layout.
LAYOUTS = {"openldap": "groupOfNames", "ad": "group"}
#: Debian's package for the binaries, named in errors.
_PACKAGES = "slapd ldap-utils"

# A few Active Directory attributes under their Microsoft OIDs, and AD-like user and group classes.
_AD_SCHEMA = """dn: cn=adlike,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: adlike
olcAttributeTypes: ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.2.141 NAME 'department' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
olcAttributeTypes: ( 1.2.840.113556.1.4.750 NAME 'groupType' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcObjectClasses: ( 1.2.840.113556.1.5.9 NAME 'user' SUP inetOrgPerson STRUCTURAL
  MAY ( sAMAccountName $ userPrincipalName $ department ) )
olcObjectClasses: ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn
  MAY ( member $ sAMAccountName $ description $ groupType ) )
"""


class SlapdError(RuntimeError):
    """The test directory could not be set up or started (the message says what to install or check)."""


def slapd_binaries() -> dict[str, str]:
    """Paths of ``slapd``, ``slapadd`` and ``ldapadd``; :class:`SlapdError` naming the package when missing."""
    found: dict[str, str] = {}
    for name, where in (("slapd", "/usr/sbin/slapd"), ("slapadd", "/usr/sbin/slapadd"), ("ldapadd", None)):
        path = where if where and os.access(where, os.X_OK) else shutil.which(name)
        if path is None:
            raise SlapdError(
                f"'{name}' is missing: install OpenLDAP's server and tools (Debian: apt-get install {_PACKAGES}, "
                "or `make test` as root, which installs them); the LDAP tests need a real directory"
            )
        found[name] = path
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1 and localhost: (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "immuta-spark test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths[2].chmod(0o600)
    return paths


def _config_ldif(root: Path, suffix: str, layout: str, ca: Path, cert: Path, key: Path) -> str:
    """The whole ``cn=config`` of one test server."""
    admin, sync = f"cn=admin,{suffix}", f"cn=sync,ou=service,{suffix}"
    schemas = "".join(f"include: file:///etc/ldap/schema/{s}.ldif\n\n" for s in ("core", "cosine", "inetorgperson"))
    return (
        f"dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {root}/slapd.pid\n"
        f"olcArgsFile: {root}/slapd.args\nolcTLSCACertificateFile: {ca}\nolcTLSCertificateFile: {cert}\n"
        f"olcTLSCertificateKeyFile: {key}\n\n"
        "dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\nolcModulePath: /usr/lib/ldap\n"
        "olcModuleLoad: back_mdb\nolcModuleLoad: memberof\nolcModuleLoad: refint\n\n"
        "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n"
        f"{schemas}{_AD_SCHEMA}\n"
        "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcFrontendConfig\n"
        "olcDatabase: {-1}frontend\n\n"
        "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\n"
        "olcAccess: {0}to * by * none\n\n"
        "dn: olcDatabase={1}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n"
        f"olcDatabase: {{1}}mdb\nolcDbDirectory: {root}/data\nolcSuffix: {suffix}\nolcRootDN: {admin}\n"
        "olcRootPW: admin-secret\nolcDbMaxSize: 2147483648\nolcDbNoSync: TRUE\n"
        "olcDbIndex: objectClass eq\nolcDbIndex: uid,cn,sAMAccountName eq\nolcDbIndex: member,memberOf eq\n"
        f'olcLimits: {{0}}dn.exact="{sync}" size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.prtotal=unlimited\n'
        "olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none\n"
        f'olcAccess: {{1}}to * by dn.exact="{sync}" read by * none\n\n'
        "dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
        f"objectClass: olcMemberOf\nolcOverlay: {{0}}memberof\nolcMemberOfRefInt: TRUE\n"
        f"olcMemberOfGroupOC: {LAYOUTS[layout]}\nolcMemberOfMemberAD: member\nolcMemberOfMemberOfAD: memberOf\n\n"
        "dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
        "objectClass: olcRefintConfig\nolcOverlay: {1}refint\nolcRefintAttribute: member\n"
    )


def _base_ldif(suffix: str, password: str) -> str:
    """The suffix entry, ``ou=service`` and the sync account."""
    first = suffix.split(",")[0].split("=", 1)[1]
    return (
        f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: {first}\no: {first}\n\n"
        f"dn: ou=service,{suffix}\nobjectClass: organizationalUnit\nou: service\n\n"
        f"dn: cn=sync,ou=service,{suffix}\nobjectClass: person\ncn: sync\nsn: sync\nuserPassword: {password}\n\n"
    )


@dataclass(kw_only=True)
class Slapd:
    """A running test directory: its URLs, accounts and files; stop it with :meth:`stop`."""

    root: Path
    suffix: str
    layout: str
    port: int
    tls_port: int
    ca_file: Path
    bind_dn: str
    password: str
    admin_dn: str
    admin_password: str = "admin-secret"
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _binaries: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """``ldap://127.0.0.1:PORT`` (StartTLS is offered there)."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        """``ldaps://127.0.0.1:PORT2``."""
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (or restart) the server on its ports; returns once it accepts connections."""
        if self.running:
            return
        log = (self.root / "slapd.log").open("ab")
        urls = f"{self.url}/ {self.ldaps_url}/"
        self._process = subprocess.Popen(
            [self._binaries["slapd"], "-F", str(self.root / "config"), "-h", urls, "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SlapdError(f"slapd exited with {self._process.returncode} at start: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5):
                    return
            time.sleep(0.05)
        self.kill()
        raise SlapdError(f"slapd did not listen on 127.0.0.1:{self.port} within 30 s: {self.log_tail()}")

    def kill(self) -> None:
        """Stop the server at once (SIGKILL: a directory that goes away mid-search)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server cleanly (its data stays, :meth:`start` brings it back)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log, for error messages."""
        path = self.root / "slapd.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(no log)"

    def add_ldif(self, ldif: str) -> None:
        """Add (or, with ``changetype`` records, modify and delete) entries online, as the directory's admin."""
        argv = [self._binaries["ldapadd"], "-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password]
        done = subprocess.run(argv, input=ldif, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise SlapdError(f"ldapadd failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def start_slapd(
    *,
    suffix: str = "dc=corp,dc=example",
    layout: str = "openldap",
    ldif: str = "",
    root: Path | None = None,
    password: str = "sync-secret",
) -> Slapd:
    """Configure, seed (``ldif``, loaded offline) and start a test directory on 127.0.0.1.

    ``layout`` is ``openldap`` or ``ad`` (which object class the memberof overlay treats as a group).
    Entries loaded offline do not pass through the overlays: seed ``memberOf`` by :meth:`Slapd.add_ldif`.
    """
    if layout not in LAYOUTS:
        raise SlapdError(f"unknown layout {layout!r}; expected one of: {', '.join(LAYOUTS)}")
    binaries = slapd_binaries()
    root = root or Path(tempfile.mkdtemp(prefix="immuta-slapd-"))
    config, data = root / "config", root / "data"
    config.mkdir(parents=True)
    data.mkdir()
    ca, cert, key = make_certificates(root)
    (root / "config.ldif").write_text(_config_ldif(root, suffix, layout, ca, cert, key))
    _slapadd(binaries["slapadd"], ["-n0", "-F", str(config), "-l", str(root / "config.ldif")])
    (root / "seed.ldif").write_text(_base_ldif(suffix, password) + ldif)
    _slapadd(binaries["slapadd"], ["-q", "-n1", "-F", str(config), "-l", str(root / "seed.ldif")])
    server = Slapd(
        root=root,
        suffix=suffix,
        layout=layout,
        port=_free_port(),
        tls_port=_free_port(),
        ca_file=ca,
        bind_dn=f"cn=sync,ou=service,{suffix}",
        password=password,
        admin_dn=f"cn=admin,{suffix}",
        _binaries=binaries,
    )
    server.start()
    return server


def _slapadd(binary: str, args: list[str]) -> None:
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SlapdError(f"slapadd {' '.join(args[:1])} failed ({done.returncode}): {done.stderr.strip()}")


@contextlib.contextmanager
def running_slapd(**kwargs: object) -> Iterator[Slapd]:
    """:func:`start_slapd` for a ``with`` block: always stopped, its files removed."""
    server = start_slapd(**kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
