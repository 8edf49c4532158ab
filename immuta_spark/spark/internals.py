"""What the governed session's helpers need of the session that owns them, as a ``Protocol``.

The DataFrames, writers, reader and catalog view a governed session hands out call back into
it: its lock, its enforcer, its guard and its audit. They are typed with
:class:`SessionInternals` rather than with :class:`~immuta_spark.spark.session.ImmutaSparkSession`
itself, so that none of their modules imports the session's module (which imports all of
them): the Spark layer's imports stay free of cycles. The members are the session's internals
(underscored): nothing here is for users.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyspark.sql import DataFrame, SparkSession

    from immuta_spark.engine import Plan
    from immuta_spark.model import Source
    from immuta_spark.spark.enforce import Enforcer

__all__ = ["SessionInternals"]


class SessionInternals(Protocol):
    """The members of :class:`~immuta_spark.spark.session.ImmutaSparkSession` its helpers use."""

    @property
    def _spark(self) -> SparkSession:
        """The user's own Spark session (whose analyzer enforces)."""
        ...

    @property
    def _lock(self) -> AbstractContextManager[Any]:
        """Held for each call of the session (one statement at a time)."""
        ...

    @property
    def _enforcer(self) -> Enforcer:
        """The session's enforcement state."""
        ...

    def table(self, tableName: str) -> DataFrame:
        """The enforced DataFrame of a table."""
        ...

    def sql(self, sqlQuery: str, args: dict[str, Any] | list[Any] | None = None, **kwargs: Any) -> DataFrame:
        """Run SQL with every governed table enforced."""
        ...

    def _audited(self, text: str, run: Any) -> DataFrame:
        """Run ``run(sources, policies)`` and audit the query with its outcome."""
        ...

    def _audit(
        self,
        action: str,
        outcome: str,
        *,
        sources: Iterable[str] = (),
        policies: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record one audit event of this session's user."""
        ...

    def _check_frame(self, jdf: Any, what: str | Callable[[], str]) -> None:
        """Guard a DataFrame made by a method; a refusal is audited."""
        ...

    def _refusals_audited(self, what: str | Callable[[], str]) -> AbstractContextManager[None]:
        """The JVM rules' refusals made ours, and every refusal audited."""
        ...

    def _guard(self, df: DataFrame, policies: list[str] | None = None) -> None:
        """Refuse ``df`` if its plan reaches governed data without enforcement."""
        ...

    def _source_by_name(self, table: str) -> Source | None:
        """The governed source a user-given table name names."""
        ...

    def _plan(self, source: Source) -> Plan:
        """The compiled plan of ``source`` for the session's subject."""
        ...

    def _enforced_source(self, source: Source) -> DataFrame:
        """The enforced DataFrame of ``source`` (as ``SELECT *`` of its table)."""
        ...
