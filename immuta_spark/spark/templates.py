"""Templates of enforcement, shared by the governed sessions of one SparkSession.

The answer :meth:`~immuta_spark.spark.enforce.Enforcer.decide` gives the JVM rules for a
readable source is a template: the table's scan, then the row filter, then (for a
k-anonymization) each group's row count joined on (:mod:`immuta_spark.spark.kanon`, which reads
the filtered scan a second time), then one projection that computes every column (masked or
not), all lowered to native Spark expressions (:mod:`immuta_spark.spark.lower`) and analyzed
once in an ungoverned internal session.

Building a template costs tens of milliseconds (a metastore lookup the first time, lowering, an
analysis), so templates are shared by every governed session over the same SparkSession whose
enforcement of a table is identical (:class:`SharedFrames`): same catalog revision, same lowered
row filter and columns. A template holds only expressions: the relation it is instantiated over
is the one Spark resolved for the query, so a table rewritten while a session is open is read as
plain Spark reads it.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pyspark.sql import DataFrame, SparkSession

from immuta_spark.engine import ColumnPlan, Plan
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.expr import AlwaysTrue, SecretRef
from immuta_spark.model import Source
from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.guard import MARKER_ROOT
from immuta_spark.spark.jvm import helper
from immuta_spark.spark.kanon import group_columns, largest_k, with_group_counts, with_rare_groups
from immuta_spark.spark.lower import JvmFunctions, Lowering, lower, lower_columns, quote_identifier
from immuta_spark.spark.objects import object_frame

__all__ = ["MASK_KEY", "POLICY_KEY", "SharedFrames", "mask_comment", "mask_metadata", "quoted_table"]

#: Field metadata keys by which a governed DataFrame's schema says what masks a column.
MASK_KEY = "immuta.mask"
POLICY_KEY = "immuta.policy"


def mask_metadata(column: ColumnPlan) -> dict[str, str] | None:
    """The field metadata of a masked column: the mask kind and the policy that set it."""
    if not column.mask:
        return None
    return {MASK_KEY: column.mask, POLICY_KEY: column.policy or ""}


def mask_comment(metadata: dict[str, Any]) -> str | None:
    """The column comment DESCRIBE and ``listColumns`` show for a field's metadata (None: unmasked)."""
    mask = metadata.get(MASK_KEY)
    if not mask:
        return None
    policy = metadata.get(POLICY_KEY)
    return f"masked: {mask} (policy {policy})" if policy else f"masked: {mask}"


@dataclass(slots=True)
class _Raw:
    """A table's raw DataFrame and the entry of Spark's relation cache it was built from.

    For an object-backed source, ``relation`` is the catalog revision its read was made under.
    """

    frame: DataFrame
    relation: Any
    schema: list[tuple[str, str]]


@dataclass(slots=True)
class _Entry:
    """One template, shared by every session whose enforcement of the table is identical."""

    frame: DataFrame
    template: Any
    revision: tuple[str, int]
    secrets: frozenset[str]
    raw: _Raw | None = field(default=None, repr=False)
    #: A k-anonymization's template from counts taken at build, valid only over the files ``listing`` names.
    pinned: Any = field(default=None, repr=False)
    listing: str | None = None


class SharedFrames:
    """Templates of enforcement, shared by the governed sessions of one SparkSession.

    Keyed by table, catalog revision and the lowered enforcement itself, so sessions share only
    what would be identical if each built its own. At most :attr:`LIMIT` entries are kept; the
    least recently used are dropped. Templates are built in an internal session of their own:
    no governor, no user functions or settings, so every function in a mask is Spark's built-in.
    """

    LIMIT: ClassVar[int] = 1024
    _all: ClassVar[dict[str, SharedFrames]] = {}
    _all_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: SparkSession) -> None:
        jinternal = root._jsparkSession.newSession()
        helper(root).share_relation_cache(root._jsparkSession, jinternal)
        spark = SparkSession(root.sparkContext, jsparkSession=jinternal)
        self.spark = spark
        self.jsession = spark._jsparkSession
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self._jvm = jvm
        self._lock = threading.RLock()
        self._token = secrets.token_hex(6)
        self._count = 0
        self._raw: dict[str, _Raw] = {}
        self._names: dict[str, Any] = {}
        self._session_catalog = self.jsession.sessionState().catalog()  # fixed for the session's life
        self._functions: JvmFunctions | None = None
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._revisions: dict[str, list[int]] = {}

    @classmethod
    def of(cls, spark: SparkSession) -> SharedFrames:
        """The shared frames of ``spark``'s JVM session (one per SparkSession, however it is wrapped)."""
        key = str(spark._jsparkSession.sessionUUID())
        with cls._all_lock:
            found = cls._all.get(key)
            if found is None:
                found = cls._all[key] = cls(spark)
            return found

    def __len__(self) -> int:
        """How many enforced DataFrames are held now."""
        return len(self._entries)

    @classmethod
    def forget(cls, spark: SparkSession) -> None:
        """Let go of ``spark``'s shared templates (it is stopping)."""
        with cls._all_lock:
            cls._all.pop(str(spark._jsparkSession.sessionUUID()), None)

    def _cached_relation(self, table: str) -> Any:
        """Spark's relation cache entry for ``table`` (None when it holds none)."""
        name = self._names.get(table)
        if name is None:
            db, tbl = table.split(".")
            name = self._names[table] = self._jvm.org.apache.spark.sql.catalyst.QualifiedTableName(
                "spark_catalog", db, tbl
            )
        return self._session_catalog.getCachedTable(name)

    def raw(self, table: str) -> _Raw:
        """The table's raw DataFrame, built again whenever Spark's cached relation for it changed."""
        key = table.lower()
        with self._lock:
            current = self._cached_relation(key)
            found = self._raw.get(key)
            if found is not None and _same(found.relation, current):
                return found
            frame = self.spark.table(quoted_table(table))
            schema = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
            found = self._raw[key] = _Raw(frame, self._cached_relation(key), schema)
            return found

    def raw_of(self, source: Source, revision: tuple[str, int] | None = None) -> _Raw:
        """The raw DataFrame of ``source``: its table's, or an object-backed source's files read as it says.

        An object-backed source has no table or relation cache entry: its read is kept per catalog
        revision (its schema inferred again after a change), and it only gives the template its
        shape: the relation enforced is the one the user's query holds.
        """
        if source.object is None:
            return self.raw(source.table)
        key = repr(("object", source.location, source.object))
        with self._lock:
            found = self._raw.get(key)
            if found is None or found.relation != revision:  # one read kept per source: the newest revision's
                frame = object_frame(self.spark, source)
                schema = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
                found = self._raw[key] = _Raw(frame, revision, schema)
            return found

    def enforced(
        self,
        source: Source,
        plan: Plan,
        revision: tuple[str, int],
        secret: Callable[[SecretRef], bytes],
        fingerprint: Mapping[str, Any] | None = None,
    ) -> _Entry:
        """The shared template of ``source`` under ``plan`` (built if nobody has it yet).

        ``revision`` is the catalog's URL and revision: sessions on two catalogs never share one
        (their secrets differ). ``fingerprint``, the table's when a k-anonymization needed one,
        tells whether its group counts are small enough to broadcast (a hint only: it changes no
        result, so it is not part of the key).
        """
        with self._lock:
            raw = self.raw_of(source, revision)
            key = (source.table.lower(), id(raw), revision, _fingerprint(plan))
            entry = self._entries.get(key)
            if entry is not None and entry.raw is raw:
                self._entries.move_to_end(key)
                return entry
            self._forget_revisions(revision)
            entry = self._build(source, plan, raw, revision, secret, fingerprint)
            self._entries[key] = entry
            while len(self._entries) > self.LIMIT:
                self._entries.popitem(last=False)
            return entry

    def _build(
        self,
        source: Source,
        plan: Plan,
        raw: _Raw,
        revision: tuple[str, int],
        secret: Callable[[SecretRef], bytes],
        fingerprint: Mapping[str, Any] | None,
    ) -> _Entry:
        self._count += 1
        name = f"{MARKER_ROOT}{self._token}_{self._count}_v"  # names the secrets' columns, never data
        try:
            if self._functions is None:
                self._functions = JvmFunctions(self._jvm)
            ctx = Lowering(self._functions, secret, self._secret_scalar, prefix=f"{name}s")
            row_filter = None if isinstance(plan.row_filter, AlwaysTrue) else lower(plan.row_filter, ctx)
            frame = raw.frame
            if row_filter is not None:
                frame = frame.filter(row_filter)
            groups = group_columns(c.term for c in plan.columns)
            pinned = None
            if groups and row_filter is None and source.object is None:
                pinned = self._pinned(raw.frame, plan, ctx, name)
            if groups:
                # K-anonymization counts the rows the filter keeps, joined on before the masks read them.
                frame, ctx.group_counts = with_group_counts(frame, groups, f"{name}g", fingerprint)
            frame = frame.select(*self._columns(plan, ctx))
            template = frame._jdf.queryExecution().analyzed()
        except ImmutaSparkError:
            raise
        except Exception as exc:
            raise EnforcementError(
                f"enforcement of '{source.name}' failed, so no data is returned: {exc}".splitlines()[0]
            ) from exc
        hexes = set(ctx.secret_columns.values())
        once, listing = pinned or (None, None)
        return _Entry(frame, template, revision, frozenset(hexes), raw=raw, pinned=once, listing=listing)

    @staticmethod
    def _columns(plan: Plan, ctx: Lowering) -> list[Any]:
        return lower_columns([(c.name, c.term) for c in plan.columns], ctx, [mask_metadata(c) for c in plan.columns])

    def _pinned(self, rows: DataFrame, plan: Plan, ctx: Lowering, name: str) -> tuple[Any, str] | None:
        """The template from group counts taken now, and the listing of the files counted (None: not pinnable).

        The listing is read before and after counting: a file index refreshed meanwhile pins nothing.
        Built only without a row filter (whose kept rows may change from one query to the next, a
        time window's for one) and for tables, not object-backed sources (listed at each query).
        """
        try:
            listing = helper(self.spark).listing(rows._jdf)
            if listing is None:
                return None
            found = with_rare_groups(rows, largest_k(c.term for c in plan.columns), f"{name}p")
            if found is None or helper(self.spark).listing(rows._jdf) != listing:
                return None
            frame, ctx.group_counts = found
            return frame.select(*self._columns(plan, ctx))._jdf.queryExecution().analyzed(), listing
        except Exception:  # noqa: BLE001 - a shortcut that fails leaves the counted-in-each-query form, as strict
            return None
        finally:
            ctx.group_counts = {}

    def _secret_scalar(self, name: str, value: str) -> Any:
        """A scalar subquery over a one-row local relation holding ``value`` in column ``name``.

        Plans print the relation's column, never its data.
        """
        gateway = self.spark.sparkContext._gateway
        assert gateway is not None
        jvm = self._jvm
        row = gateway.new_array(jvm.java.lang.Object, 1)
        row[0] = value
        rows = jvm.java.util.ArrayList()
        rows.add(jvm.org.apache.spark.sql.RowFactory.create(row))
        schema = jvm.org.apache.spark.sql.types.StructType.fromDDL(f"{quote_identifier(name)} string")
        return self.jsession.createDataFrame(rows, schema).scalar()

    def _forget_revisions(self, revision: tuple[str, int]) -> None:
        """Keep the entries of each catalog's two newest revisions (a session may still be on the older)."""
        url, number = revision
        kept = self._revisions.get(url, [])
        if number in kept:
            return
        self._revisions[url] = sorted({*kept, number})[-2:]
        for key in [
            k for k, e in self._entries.items() if e.revision[0] == url and e.revision[1] not in self._revisions[url]
        ]:
            self._entries.pop(key)


def _same(a: Any, b: Any) -> bool:
    """Whether two relation cache entries are the same relation (equal, not merely both absent or not)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(a.equals(b))


def _fingerprint(plan: Plan) -> Any:
    """What the enforced DataFrame is made of: the row filter, every column's name and term, what masks it."""
    key = (plan.row_filter, tuple((c.name, c.term, c.mask, c.policy) for c in plan.columns))
    try:
        hash(key)
    except TypeError:  # a term holding something unhashable: its repr is as exact
        return repr(key)
    return key


def quoted_table(table: str) -> str:
    """A catalog source's ``db.table`` as SQL text, each part backquoted."""
    return ".".join(quote_identifier(p) for p in table.split("."))
