"""Enforcement in Spark's analyzer: a session per user, and the bridge to the JVM rules.

Each governed session runs on its own Spark session (``newSession()`` of the SparkSession it
wraps), so temporary views, settings, registered functions and the current database are the
user's own. The JVM classes (``jvm/Governor.java``, ``EnforceRule.java``, ``GuardCheck.java``)
are added to the wrapped SparkSession's extensions at run time; every session made from it
afterwards builds its analyzer with them, so ``wrap`` works on a SparkSession a notebook or a
platform built without any configuration.

Inside the analyzer, :class:`EnforceRule` replaces every relation of a governed table or
location, wherever it comes from (SQL text, DataFrame methods, ``EXECUTE IMMEDIATE``, SQL
functions, views' bodies, CTEs, subqueries, commands' queries), with its enforced plan, and
Spark's CheckAnalysis runs :class:`GuardCheck` on the result before anything runs. Decisions
stay in Python: the first time a query reaches a source under the current rules, the rule asks
:class:`Provider`, which compiles the user's plan and hands the JVM either "hidden", "denied",
or a *template*: the enforced plan (row filter, then one projection of masked columns) analyzed
once over a relation of the table in an ungoverned internal session. The rule instantiates the
template over the relation it found, so the template is shared by every session whose
enforcement of the table is identical.
"""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from pyspark.sql import SparkSession

from immuta_spark.errors import ImmutaSparkError
from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.jvm import helper
from immuta_spark.spark.limits import StorageLimits

__all__ = ["Decider", "JvmGovernor", "Provider", "make_default", "user_session"]


class Decider(Protocol):
    """What :class:`Provider` asks of a session's enforcer (:class:`~immuta_spark.spark.enforce.Enforcer`).

    A protocol rather than the class itself: the enforcer's module imports this one (it makes
    the session's :class:`JvmGovernor`), so this one does not import it back.
    """

    @property
    def governor(self) -> JvmGovernor:
        """The session's JVM Governor, which takes the decisions (and the failures)."""
        ...

    def decide(self, name: str) -> None:
        """Hand the Governor the decision for source ``name`` under the current rules."""
        ...


def user_session(spark: SparkSession) -> SparkSession:
    """A new Spark session of ``spark``'s context, carrying the enforcement rules.

    It starts in ``spark``'s current database; everything else of the session state (views,
    settings, functions) starts empty, as for any ``newSession()``. It shares ``spark``'s table
    relation cache, so a table written through any session is read afresh by every one.
    """
    jroot = spark._jsparkSession
    helper(spark).install(jroot)
    jsession = jroot.newSession()
    helper(spark).share_relation_cache(jroot, jsession)
    current = spark.catalog.currentDatabase()
    session = SparkSession(spark.sparkContext, jsparkSession=jsession)
    if current != "default":
        jsession.catalog().setCurrentDatabase(current)
    if not helper(spark).installed(jsession):  # pragma: no cover - the extensions object is Spark's
        raise EnforcementError("the enforcement rules could not be added to the Spark session; refused")
    return session


def make_default(session: SparkSession) -> None:
    """Make ``session`` the process's active and default Spark session (JVM and pyspark).

    Code that looks the session up instead of being handed it (``SparkSession.builder.getOrCreate()``
    in a notebook cell, ``SparkSession.active()``, pyspark.pandas, pyspark.ml readers) then gets
    the user's own session, whose analyzer enforces, never the raw one.
    """
    jclass = session._jvm.org.apache.spark.sql.classic.SparkSession
    jclass.setDefaultSession(session._jsparkSession)
    jclass.setActiveSession(session._jsparkSession)
    SparkSession._instantiatedSession = session
    SparkSession._activeSession = session


class Provider:
    """The JVM's ``java.util.function.Function`` that asks Python for one source's decision.

    It holds its enforcer weakly: a session that is gone gives no decision, and the JVM rule then
    fails the query (fail closed).
    """

    def __init__(self, enforcer: Decider) -> None:
        self._enforcer = weakref.ref(enforcer)

    def apply(self, source: Any) -> None:
        """Called by the JVM rule: decide ``source`` (the decision is handed to the Governor)."""
        enforcer = self._enforcer()
        if enforcer is None:
            return None
        name = str(source)
        try:
            enforcer.decide(name)
        except ImmutaSparkError as exc:
            enforcer.governor.fail(name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - anything else: no data, and say why
            message = f"enforcement of '{name}' failed, so no data is returned: {exc}"
            enforcer.governor.fail(name, message.splitlines()[0])
        return None

    class Java:
        implements: ClassVar[list[str]] = ["java.util.function.Function"]


class JvmGovernor:
    """The JVM ``Governor`` of one governed session, and the generation of rules it enforces."""

    def __init__(self, spark: SparkSession, enforcer: Decider) -> None:
        self.token = secrets.token_hex(6)
        self.generation = 0
        self._jvm = helper(spark).governor(spark._jsparkSession, self.token, Provider(enforcer))
        self.prefix = f"{self.token}:0|"

    def reset(self, tables: dict[str, str], declared: dict[str, str]) -> None:
        """New rules: ``tables`` maps ``db.table`` to its source, ``declared`` a source to its declared location."""
        self.generation += 1
        self._jvm.reset(self.generation, list(tables), list(tables.values()), list(declared), list(declared.values()))
        self.prefix = f"{self.token}:{self.generation}|"

    def enforce(
        self, source: str, template: Any, *, owner: bool, pinned: Any = None, listing: str | None = None
    ) -> None:
        """Enforce ``source`` with ``template`` (an analyzed JVM plan) until the rules change.

        ``pinned`` (a k-anonymization's template from counts taken once) is used instead over a
        relation whose files are exactly ``listing``.
        """
        if pinned is not None and listing is not None:
            self._jvm.enforcePinned(source, template, pinned, listing, owner)
            return
        self._jvm.enforce(source, template, owner)

    def enforce_private(self, source: str, template: Any, *, owner: bool) -> None:
        """Enforce ``source`` with ``template`` only inside :meth:`privately`: it answers noisy aggregates only."""
        self._jvm.enforcePrivate(source, template, owner)

    def hide(self, source: str) -> None:
        """``source`` does not exist for this user."""
        self._jvm.hide(source)

    def deny(self, source: str, reason: str, *, owner: bool) -> None:
        """The user sees ``source`` but may not read it (``reason`` says why and what to do)."""
        self._jvm.deny(source, reason, owner)

    def fail(self, source: str, message: str) -> None:
        """Enforcement of ``source`` failed: queries reaching it are refused with ``message``."""
        self._jvm.fail(source, message)

    def limit(self, limits: StorageLimits, settings: Sequence[str]) -> None:
        """What the session may touch besides governed tables, and the settings its user may change."""
        jdbc = (list(limits.jdbc_forbidden), list(limits.jdbc_roots))
        self._jvm.limits(list(limits.forbidden), list(limits.roots), *jdbc)
        self._jvm.settings(list(settings))

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Run a statement the session answers itself (SHOW TABLES): the JVM check lets it through here only."""
        self._jvm.answering(True)
        try:
            yield
        finally:
            self._jvm.answering(False)

    @contextmanager
    def privately(self) -> Iterator[None]:
        """Analyze and run an aggregate over a differentially private source (its noise is added after)."""
        self._jvm.privately(True)
        try:
            yield
        finally:
            self._jvm.privately(False)

    def reads_unowned(self, jplan: Any) -> bool:
        """Whether an analyzed plan reads governed data through enforcement for a source the user does not own."""
        return bool(self._jvm.readsUnowned(jplan))

    def decided(self) -> int:
        """How many sources have a decision under the current rules."""
        return int(self._jvm.decided())

    def close(self) -> None:
        """Stop governing: the session's queries fail from now on."""
        self._jvm.close()
