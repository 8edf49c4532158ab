"""``ImmutaSparkSession``: a governed wrapper around a SparkSession.

It wraps (never subclasses) a SparkSession and offers ``table``, ``sql``, ``read``,
``catalog``, ``set_project``/``project``, ``explain_policies``, ``conf``, ``createDataFrame``,
``range``, ``udf`` and ``stop``. Everything else of SparkSession that could reach governed data
(``sparkContext``, ``readStream``, the JVM handles) is absent on purpose. Every DataFrame it
hands out is a :class:`~immuta_spark.spark.dataframe.GovernedDataFrame`, whose methods guard
each new plan (``_check_frame``) before handing it back.

Each governed session runs on a Spark session of its own whose analyzer enforces every governed
relation (:mod:`immuta_spark.spark.governor`). Every statement is pre-checked, analyzed and
guarded a second time in Python by :mod:`immuta_spark.spark.statements`, and audited here.
The session's parts live in modules of their own, re-exported here:

- :mod:`~immuta_spark.spark.names`: table names, their SQL text, what they name;
- :mod:`~immuta_spark.spark.statements`, :mod:`~immuta_spark.spark.commands`,
  :mod:`~immuta_spark.spark.invisible`: the statement pipeline;
- :mod:`~immuta_spark.spark.reader` (``read``), :mod:`~immuta_spark.spark.catalog_api`
  (``catalog``), :mod:`~immuta_spark.spark.settings` (``conf``, ``udf``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.catalog.derived import DerivedRecord
from immuta_spark.engine import Plan
from immuta_spark.errors import CatalogError, ImmutaSparkError, ImpersonationDenied
from immuta_spark.model import Source
from immuta_spark.objects import IngestStatus
from immuta_spark.spark.catalog_api import GovernedCatalogAPI
from immuta_spark.spark.dataframe import GovernedDataFrame, adopt
from immuta_spark.spark.derive import create_derived_source
from immuta_spark.spark.enforce import Enforcer, SharedFrames, hadoop_user
from immuta_spark.spark.errors import rules_errors
from immuta_spark.spark.governor import make_default, user_session
from immuta_spark.spark.invisible import missing_like_spark
from immuta_spark.spark.names import name_parts, parts_text, placeholder_parts, reference_text, resolve, source_by_name
from immuta_spark.spark.object_reads import enforced_read, ingest_status_of
from immuta_spark.spark.reader import GovernedReader
from immuta_spark.spark.settings import ALLOWED_SETTINGS, GovernedConf, GovernedUDFRegistration
from immuta_spark.spark.statements import check_frame, guard, statement

__all__ = [
    "ALLOWED_SETTINGS",
    "ALLOW_EMPTY_CATALOG_KEY",
    "GovernedCatalogAPI",
    "GovernedConf",
    "GovernedReader",
    "GovernedUDFRegistration",
    "ImmutaSparkSession",
    "name_parts",
]


#: Spark setting (on the SparkSession a governed session wraps): ``true`` if an empty catalog is intended.
ALLOW_EMPTY_CATALOG_KEY = "spark.immuta.allowEmptyCatalog"


def _refuse_empty(spark: SparkSession, catalog: GovernanceCatalog) -> None:
    """A catalog without sources governs nothing: refuse it unless the deployment says it is intended."""
    if catalog.snapshot().governance.sources:
        return
    value = spark.conf.get(ALLOW_EMPTY_CATALOG_KEY, None) or spark.sparkContext.getConf().get(
        ALLOW_EMPTY_CATALOG_KEY, None
    )
    if str(value or "").strip().lower() == "true":
        return
    raise CatalogError(
        f"the catalog at {catalog.store.display_url} holds no data sources, so a governed session on it "
        "would govern nothing (was it re-created, or is the URL mistyped?); apply your policy file "
        f"(`immuta-spark --catalog URL apply FILE`), or, if an empty catalog is intended, set "
        f"{ALLOW_EMPTY_CATALOG_KEY}=true on the SparkSession you wrap"
    )


class _BuilderDescriptor:
    def __get__(self, obj: object, owner: type) -> Builder:
        return Builder()


class Builder:
    """SparkSession's builder idiom, plus ``.catalog()`` and ``.user()``."""

    def __init__(self) -> None:
        self._inner = SparkSession.builder
        self._catalog: GovernanceCatalog | str | None = None
        self._user: str | None = None

    def master(self, master: str) -> Builder:
        """As ``SparkSession.builder.master``."""
        self._inner = self._inner.master(master)
        return self

    def appName(self, name: str) -> Builder:
        """As ``SparkSession.builder.appName``."""
        self._inner = self._inner.appName(name)
        return self

    def config(self, key: str | None = None, value: Any = None, **kwargs: Any) -> Builder:
        """As ``SparkSession.builder.config``."""
        self._inner = self._inner.config(key, value, **kwargs)
        return self

    def enableHiveSupport(self) -> Builder:
        """As ``SparkSession.builder.enableHiveSupport``."""
        self._inner = self._inner.enableHiveSupport()
        return self

    def catalog(self, url_or_catalog: str | GovernanceCatalog) -> Builder:
        """The governance catalog: a URL or an open :class:`GovernanceCatalog`."""
        self._catalog = url_or_catalog
        return self

    def user(self, name: str) -> Builder:
        """Act as ``name`` (impersonation: needs IMPERSONATE)."""
        self._user = name
        return self

    def getOrCreate(self) -> ImmutaSparkSession:
        """Start (or reuse) the SparkSession and wrap it."""
        spark = self._inner.getOrCreate()
        return ImmutaSparkSession.wrap(spark, catalog=self._catalog, user=self._user)


class ImmutaSparkSession:
    """A governed SparkSession: every read of a governed table is masked and filtered."""

    builder = _BuilderDescriptor()
    _is_governed_session = True  # DataFrame(jdf, session) gives a GovernedDataFrame (spark/dataframe.py)

    def __init__(self, spark: SparkSession, catalog: GovernanceCatalog, *, user: str | None = None) -> None:
        identity = hadoop_user(spark)
        if catalog.identity != identity:
            catalog = GovernanceCatalog(catalog.store, identity=identity)
        _refuse_empty(spark, catalog)
        self._root = spark
        self._spark = user_session(spark)
        self._catalog = catalog
        self._lock = threading.RLock()
        try:
            self._enforcer = Enforcer(self._spark, catalog, user=user or identity, identity=identity, root=spark)
        except ImpersonationDenied as exc:
            catalog.record(
                action="impersonate",
                outcome="denied",
                user=user or identity,
                impersonator=identity,
                detail={"error": str(exc)},
            )
            raise
        make_default(self._spark)

    @classmethod
    def wrap(
        cls, spark: SparkSession, catalog: GovernanceCatalog | str | None = None, user: str | None = None
    ) -> ImmutaSparkSession:
        """Wrap an existing SparkSession. ``user`` impersonates (needs IMPERSONATE)."""
        if catalog is None or isinstance(catalog, str):
            catalog = GovernanceCatalog.open(catalog)
        return cls(spark, catalog, user=user)

    # --- who ----------------------------------------------------------------------------

    @property
    def user(self) -> str:
        """Whose view of the data this session shows."""
        return self._enforcer.user

    @property
    def project(self) -> str | None:
        """The project the user acts under, if any (the user's setting in the catalog)."""
        with self._lock:
            self._enforcer.snapshot()
            return self._enforcer.project

    def acknowledge_project(self, name: str, *, accept: bool = True) -> list[tuple[str, str]]:
        """Accept (or, with ``accept=False``, reject) every purpose statement of project ``name``.

        A member acts under a project only after accepting each of its purposes' statements
        (read them with ``catalog.project_statements(name)``); a rejection denies membership
        until accepted. Returns the (purpose, statement) pairs decided on; audited.
        """
        with self._lock:
            return self._enforcer.acknowledge_project(name, accept=accept)

    def set_project(self, name: str | None) -> None:
        """Make the user act under project ``name``; None to leave it.

        The current project is the user's own setting in the catalog (seed: all their queries
        reflect it), so every governed session of this user follows it from its next statement,
        as does ``immuta-spark project switch``. Under a project the user's purposes are the
        project's and only its sources are usable. Membership is checked now; the switch or its
        refusal is audited.
        """
        with self._lock:
            self._enforcer.set_project(name)

    # --- reading ------------------------------------------------------------------------

    def table(self, tableName: str) -> DataFrame:
        """The enforced DataFrame of a table (an ungoverned table is returned as Spark returns it).

        An invisible governed table fails exactly as ``SparkSession.table`` fails for a missing one.
        """
        with self._lock:
            self._enforcer.snapshot()
            parts = name_parts(tableName)
            source = resolve(self._enforcer, parts)
            if source is not None and self._enforcer.plan(source).visible:
                if source.object is not None:
                    return enforced_read(self, source)
                return self.sql(f"SELECT * FROM {reference_text(tableName)}")

            def run(sources: list[str], policies: list[str]) -> DataFrame:
                if source is not None:
                    sources.append(source.name)
                    placeholder = placeholder_parts(parts, 0)
                    return missing_like_spark(
                        self._enforcer,
                        lambda: self._spark.table(parts_text(placeholder)),
                        {placeholder[-1]: (parts[-1], None, None)},
                        parts,
                    )
                df = self._spark.table(tableName)
                guard(self._enforcer, df)
                return df

            return self._audited(f"table {tableName}", run)

    def sql(self, sqlQuery: str, args: dict[str, Any] | list[Any] | None = None, **kwargs: Any) -> DataFrame:
        """Run SQL with every governed table enforced. Refuses what it cannot enforce.

        ``kwargs`` fill ``{name}`` fields as in ``SparkSession.sql``; the filled-in text is what
        is checked and run.
        """
        with self._lock, self._enforcer.statement():  # one snapshot for the statement and its audit record
            return self._audited(
                sqlQuery, lambda sources, policies: statement(self._enforcer, sqlQuery, args, kwargs, sources, policies)
            )

    def _audited(self, text: str, run: Any) -> DataFrame:
        """Run ``run(sources, policies)`` and audit the query with its outcome (rules' errors made ours)."""

        def translated(sources: list[str], policies: list[str]) -> DataFrame:
            with rules_errors(self._enforcer.names_governed):
                return run(sources, policies)

        return self._audited_raw(text, translated)

    def _audited_raw(self, text: str, run: Any) -> DataFrame:
        started = time.perf_counter()
        sources: list[str] = []
        policies: list[str] = []
        try:
            df = run(sources, policies)
        except Exception as exc:
            sources.extend(getattr(exc, "sources", ()))
            self._audit(
                "query",
                "denied" if isinstance(exc, ImmutaSparkError) else "error",
                sources=sources,
                policies=policies,
                detail={"sql": text[:2000], "error": str(exc).splitlines()[0][:500] if str(exc) else ""},
            )
            raise
        self._audit(
            "query",
            "ok",
            sources=sources,
            policies=policies,
            detail={"sql": text[:2000], "policy_ms": round((time.perf_counter() - started) * 1000, 3)},
        )
        return self._hand_out(df)

    def _hand_out(self, df: DataFrame) -> DataFrame:
        """``df`` (already guarded, or a command's result) as a GovernedDataFrame of this session."""
        if isinstance(df, GovernedDataFrame) or not isinstance(df, DataFrame):
            return df
        return adopt(self, df._jdf)

    def _check_frame(self, jdf: Any, what: str | Callable[[], str]) -> None:
        """Guard a DataFrame made by a GovernedDataFrame's method; a refusal is audited.

        Besides the plan guard, the JVM-calling functions SQL refuses (``reflect``, ...) are
        refused here too: the DataFrame API takes them as ``F.expr``, ``selectExpr`` or ``F.reflect``.
        """
        with self._lock, self._refusals_audited(what):
            check_frame(self._enforcer, jdf.queryExecution().analyzed())

    @contextmanager
    def _refusals_audited(self, what: str | Callable[[], str]) -> Iterator[None]:
        """The JVM rules' refusals made ours, and every refusal audited (``what``: the call, made only then)."""
        try:
            with rules_errors(self._enforcer.names_governed), self._enforcer.reading():
                yield
        except ImmutaSparkError as exc:
            text = what if isinstance(what, str) else what()
            self._audit(
                "query",
                "denied",
                sources=getattr(exc, "sources", ()),
                detail={"sql": text[:2000], "error": str(exc).splitlines()[0][:500] if str(exc) else ""},
            )
            raise

    @property
    def read(self) -> GovernedReader:
        """A reader whose path reads of governed storage get the table's enforcement."""
        return GovernedReader(self)

    @property
    def catalog(self) -> GovernedCatalogAPI:
        """Spark's catalog API, with listing and existence reflecting visibility."""
        return GovernedCatalogAPI(self)

    @property
    def conf(self) -> GovernedConf:
        """Runtime configuration; only settings that cannot switch enforcement off may be set."""
        return GovernedConf(self._spark)

    @property
    def udf(self) -> GovernedUDFRegistration:
        """Python UDF registration (UDFs run on enforced data only; Java UDF classes are refused)."""
        return GovernedUDFRegistration(self._spark.udf)

    @property
    def version(self) -> str:
        """Spark's version."""
        return self._spark.version

    def createDataFrame(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.createDataFrame`` (the user's own data)."""
        df = self._spark.createDataFrame(*args, **kwargs)
        self._check_frame(df._jdf, "createDataFrame")
        return self._hand_out(df)

    def range(self, *args: Any, **kwargs: Any) -> DataFrame:
        """As ``SparkSession.range``."""
        return self._hand_out(self._spark.range(*args, **kwargs))

    def explain_policies(self, table: str) -> str:
        """Which policies shape what this session sees of ``table``, as readable text."""
        from immuta_spark.cli import render_plan_text

        with self._lock:
            source = self._source_by_name(table)
            if source is None:
                return f"{table} is not governed: it is read as it is.\n"
            plan = self._enforcer.plan(source)
            if not plan.visible:
                raise self._enforcer.not_found(table.split("."))
            return render_plan_text(plan)

    def request_access(self, source: str, reason: str = "") -> Any:
        """Ask for a subscription to ``source`` (a source's or its table's name) as this session's user.

        The request is the user's own (an impersonating session requests for the user it acts
        as); it is audited, and ``explain_policies`` says it is pending until approved or denied.
        Returns the subscription record.
        """
        with self._lock:
            found = self._source_by_name(source)
            name = found.name if found is not None else source
            return self._enforcer.acting().request_subscription(name, reason=reason)

    def request_unmask(self, source: str, column: str, token: str, reason: str) -> Any:
        """Ask to see the one value behind ``token`` in a reversible-masked ``column`` of ``source``.

        Pending until a user the masking policy exempts approves it; then this user sees that
        value in the clear in query results and from :meth:`unmask`. Audited; returns the request.
        """
        with self._lock:
            found = self._source_by_name(source)
            name = found.name if found is not None else source
            return self._enforcer.acting().request_unmask(name, column, token, reason=reason)

    def unmask(self, source: str, column: str, token: str) -> str:
        """The value behind ``token``, once this user's request for it was approved; refused otherwise."""
        with self._lock:
            found = self._source_by_name(source)
            return self._enforcer.acting().unmask(found.name if found is not None else source, column, token)

    def create_derived_source(
        self,
        name: str,
        data: DataFrame | str,
        parents: Sequence[str],
        *,
        certify: bool = True,
        table: str | None = None,
    ) -> DerivedRecord:
        """Write ``data`` to ``table`` and register it as the derived data source ``name`` (seed: derived sources).

        For a member with ``CREATE_DATA_SOURCE_IN_PROJECT`` acting under an equalized project,
        from that project's sources only. ``parents`` must be exactly the governed sources the
        DataFrame's plan reads (checked against Spark's plan), and ``certify`` the member's
        certification that the data derives from them. The new source inherits its parents'
        subscription policies and purpose restrictions plus the project's entitlement, and its
        columns the tags of the parent columns they are computed from. ``table`` defaults to
        the current database and the name made a word. Refused with what to do, writing nothing.
        """
        return create_derived_source(self, name, data, parents=parents, certify=certify, table=table)

    def stop(self) -> None:
        """Stop the underlying SparkSession (and let go of the templates shared over it)."""
        self._enforcer.stop_heartbeat()
        self._enforcer.governor.close()
        self._enforcer.service_reads.close()
        SharedFrames.forget(self._root)
        self._root.stop()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'{name}' is not available in a governed session: it could reach governed data without "
            "enforcement. Use table, sql, read or catalog."
        )

    # --- audit ---------------------------------------------------------------------------

    def _audit(
        self,
        action: str,
        outcome: str,
        *,
        sources: Iterable[str] = (),
        policies: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record one audit event of this session's user (who, under which project and purposes)."""
        enforcer = self._enforcer
        purposes: list[str] = []
        try:
            purposes = sorted(enforcer.subject().purposes)
        except ImmutaSparkError:
            pass
        self._catalog.record(
            action=action,
            outcome=outcome,
            user=enforcer.user,
            impersonator=enforcer.identity if enforcer.identity != enforcer.user else None,
            project=enforcer.project,
            purposes=purposes,
            sources=list(dict.fromkeys(sources)),
            policies=list(dict.fromkeys(policies)),
            detail=detail,
        )

    # --- internals for the reader, catalog view, DataFrames and writers ---------------------

    def _guard(self, df: DataFrame, policies: list[str] | None = None) -> None:
        """Refuse ``df`` if its plan reaches governed data without this session's enforcement."""
        guard(self._enforcer, df, policies)

    def _source_by_name(self, table: str) -> Source | None:
        """The governed source a user-given table name names, under the current snapshot."""
        return source_by_name(self._enforcer, table)

    def _enforced_source(self, source: Source) -> DataFrame:
        """The enforced DataFrame of ``source`` (as ``SELECT *`` of its table, or an object-backed source's files)."""
        if source.object is not None:
            return enforced_read(self, source)
        return self.sql(f"SELECT * FROM {reference_text(source.table)}")

    def ingest_status(self, source: str) -> IngestStatus:
        """Files, bytes and last modification of object-backed ``source``: for its owners and ingest users, no data."""
        return ingest_status_of(self, source)

    def _plan(self, source: Source) -> Plan:
        """The compiled plan of ``source`` for the session's subject."""
        return self._enforcer.plan(source)
