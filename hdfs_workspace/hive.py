"""A Hive metastore client (Thrift) for the workspace manager: databases and tables, never data.

The manager needs only a few calls: read a database (its LOCATION), create one at a workspace
directory, drop an empty one, list and read tables. It speaks the metastore's Thrift API
through the generated client that ``pymetastore`` ships (the ``hive`` extra), over a plain
socket with the binary protocol, as a Hive 2.3+ server in simple-auth mode expects.

Two rules keep sources' data safe: :meth:`HiveMetastore.drop_database` never cascades and never
deletes data (``DROP DATABASE ... CASCADE`` would delete the LOCATION, which is where a
workspace's sources live), and nothing here writes a table's data (:meth:`HiveMetastore.create_table` makes external
tables over files that exist). A client says which user it acts as
(``set_ugi``), so a metastore that runs file-system work as its clients' users (the stock
server in simple-auth mode does) lets HDFS check that user, not the metastore's own identity.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from hdfs_workspace.errors import HdfsWorkspaceError, MissingDependency
from hdfs_workspace.hive_tables import DEFAULT_PARTITION, HiveTableSpec

__all__ = ["HiveDatabase", "HiveMetastore", "HiveTable", "MetastoreError", "parse_metastore_uri"]

#: Seconds to wait for the metastore to answer one call.
DEFAULT_TIMEOUT = 60.0


class MetastoreError(HdfsWorkspaceError):
    """The Hive metastore refused a call or could not be reached."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HiveDatabase:
    """A database as the metastore describes it."""

    name: str
    location: str
    description: str
    owner: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HiveTable:
    """A table as the metastore describes it (``kind``: ``MANAGED_TABLE``, ``EXTERNAL_TABLE``, ...)."""

    database: str
    name: str
    location: str
    kind: str
    owner: str | None


def parse_metastore_uri(uri: str) -> tuple[str, int]:
    """``thrift://HOST:PORT`` → (host, port); :class:`MetastoreError` naming the URI otherwise."""
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "thrift" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise MetastoreError(f"{uri!r} is not a Hive metastore URI: write thrift://HOST:PORT")
    return parts.hostname, port


def _api() -> SimpleNamespace:
    try:
        from pymetastore.hive_metastore import ThriftHiveMetastore, ttypes
        from thrift.protocol import TBinaryProtocol
        from thrift.Thrift import TException
        from thrift.transport import TSocket, TTransport
    except ImportError as err:
        raise MissingDependency(
            "the Hive metastore client needs pymetastore and thrift, which are not installed: "
            "pip install 'immuta-spark[hive]'"
        ) from err
    return SimpleNamespace(
        service=ThriftHiveMetastore,
        ttypes=ttypes,
        protocol=TBinaryProtocol,
        socket=TSocket,
        transport=TTransport,
        error=TException,
    )


class HiveMetastore:
    """One connection to a metastore. Open with :meth:`connect` (a context manager)."""

    def __init__(self, uri: str, client: Any, api: SimpleNamespace) -> None:
        self.uri = uri
        self._client = client
        self._api = api
        self._ttypes = api.ttypes

    @classmethod
    @contextlib.contextmanager
    def connect(cls, uri: str, *, user: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Iterator[HiveMetastore]:
        """Connect to ``thrift://HOST:PORT``, acting as ``user`` when given; always closed on exit."""
        host, port = parse_metastore_uri(uri)
        api = _api()
        sock = api.socket.TSocket(host, port)
        sock.setTimeout(int(timeout * 1000))
        transport = api.transport.TBufferedTransport(sock)
        client = api.service.Client(api.protocol.TBinaryProtocol(transport))
        try:
            transport.open()
        except api.transport.TTransportException as exc:
            raise MetastoreError(
                f"cannot reach the Hive metastore at {uri}: {exc}; check that it runs and that the URI is right"
            ) from exc
        hms = cls(uri, client, api)
        try:
            if user:
                hms._call("set_ugi", user, [])
            yield hms
        finally:
            transport.close()

    def _call(self, name: str, *args: object) -> Any:
        try:
            return getattr(self._client, name)(*args)
        except self._ttypes.NoSuchObjectException:
            raise
        except (self._ttypes.MetaException, self._ttypes.InvalidOperationException) as exc:
            raise MetastoreError(f"the Hive metastore at {self.uri} refused {name}: {exc.message}") from exc
        except self._ttypes.AlreadyExistsException as exc:
            raise MetastoreError(f"the Hive metastore at {self.uri} refused {name}: {exc.message} exists") from exc
        except (OSError, EOFError, self._api.error) as exc:
            raise MetastoreError(
                f"the Hive metastore at {self.uri} did not answer {name}: {exc}; check that it runs, then retry"
            ) from exc

    def databases(self) -> list[str]:
        """Names of all databases."""
        return sorted(self._call("get_all_databases"))

    def database(self, name: str) -> HiveDatabase | None:
        """The database, or None when there is none of that name."""
        try:
            found = self._call("get_database", name)
        except self._ttypes.NoSuchObjectException:
            return None
        return HiveDatabase(
            name=found.name,
            location=found.locationUri or "",
            description=found.description or "",
            owner=found.ownerName,
        )

    def create_database(self, name: str, *, location: str, description: str = "", owner: str | None = None) -> None:
        """Create a database whose LOCATION is ``location`` (the metastore creates the directory if missing)."""
        database = self._ttypes.Database(
            name=name,
            description=description,
            locationUri=location,
            parameters={},
            ownerName=owner,
            ownerType=self._ttypes.PrincipalType.USER if owner else None,
        )
        self._call("create_database", database)

    def drop_database(self, name: str) -> None:
        """Drop an empty database; never cascades, never deletes its LOCATION. Missing is fine."""
        # Hive 2.3 answers a drop of a missing database with a MetaException (an NPE), not NoSuchObject.
        if self.database(name) is None:
            return
        try:
            self._call("drop_database", name, False, False)
        except self._ttypes.NoSuchObjectException:
            return

    def drop_table(self, database: str, name: str) -> None:
        """Drop a table's metadata; never deletes its data (external or not). Missing is fine."""
        if self.table(database, name) is None:
            return
        try:
            self._call("drop_table", database, name, False)
        except self._ttypes.NoSuchObjectException:
            return

    def tables(self, database: str) -> list[str]:
        """Names of the tables (and views) of a database; empty when it does not exist."""
        try:
            return sorted(self._call("get_all_tables", database))
        except self._ttypes.NoSuchObjectException:
            return []

    def table(self, database: str, name: str) -> HiveTable | None:
        """The table, or None."""
        try:
            found = self._call("get_table", database, name)
        except self._ttypes.NoSuchObjectException:
            return None
        return HiveTable(
            database=found.dbName,
            name=found.tableName,
            location=(found.sd.location if found.sd is not None else None) or "",
            kind=found.tableType or "",
            owner=found.owner,
        )

    def create_table(self, spec: HiveTableSpec) -> None:
        """Create the external table ``spec`` describes (metadata only: its files are left as they are)."""
        t = self._ttypes
        table = t.Table(
            tableName=spec.name,
            dbName=spec.database,
            owner=spec.owner,
            sd=self._storage(spec, spec.location),
            partitionKeys=[t.FieldSchema(name=c.name, type=c.type, comment=None) for c in spec.partition_keys],
            parameters={"EXTERNAL": "TRUE"},
            tableType="EXTERNAL_TABLE",
        )
        self._call("create_table", table)

    def add_partitions(self, spec: HiveTableSpec, partitions: Sequence[tuple[Sequence[str | None], str]]) -> int:
        """Register ``(values, location)`` partitions of the table ``spec`` (NULL: Hive's default partition)."""
        t = self._ttypes
        batch = 500  # one call per batch: a large tree is a few round trips, not one per partition
        for start in range(0, len(partitions), batch):
            parts = [
                t.Partition(
                    values=[DEFAULT_PARTITION if v is None else v for v in values],
                    dbName=spec.database,
                    tableName=spec.name,
                    sd=self._storage(spec, location),
                    parameters={},
                )
                for values, location in partitions[start : start + batch]
            ]
            self._call("add_partitions", parts)
        return len(partitions)

    def _storage(self, spec: HiveTableSpec, location: str) -> Any:
        t = self._ttypes
        fmt = spec.format
        return t.StorageDescriptor(
            cols=[t.FieldSchema(name=c.name, type=c.type, comment=None) for c in spec.columns],
            location=location,
            inputFormat=fmt.input_format,
            outputFormat=fmt.output_format,
            compressed=False,
            numBuckets=-1,
            serdeInfo=t.SerDeInfo(name=None, serializationLib=fmt.serde, parameters={"serialization.format": "1"}),
            bucketCols=[],
            sortCols=[],
            parameters={},
        )

    def partitions(self, database: str, table: str) -> list[tuple[tuple[str, ...], str]]:
        """Every partition of a table: (its values, its location), by location; empty when there is none."""
        try:
            found = self._call("get_partitions", database, table, -1)
        except self._ttypes.NoSuchObjectException:
            return []
        return sorted(((tuple(p.values), p.sd.location if p.sd else "") for p in found), key=lambda item: item[1])
