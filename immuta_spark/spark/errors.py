"""Errors the Spark layer raises, in both hierarchies: ours and pyspark's.

An invisible governed table must fail exactly like a missing one, so
:class:`GovernedTableNotFound` is a pyspark ``AnalysisException`` with Spark's error class,
parameters, SQL state and message shape, and also our :class:`SourceNotFound`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pyspark.errors import AnalysisException

from immuta_spark.errors import AccessDenied, DifferentialPrivacyError, ImmutaSparkError, SourceNotFound

__all__ = [
    "DifferentialPrivacyRefused",
    "EnforcementError",
    "GovernedAccessDenied",
    "GovernedTableNotFound",
    "ScrubbedAnalysisError",
    "UnenforcedPathError",
    "from_rules",
    "log_query_context",
    "quiet_query_context_log",
    "rules_errors",
    "scrubbed",
]

#: How the JVM rules (``jvm/Errors.java``) tag the errors they raise.
_UNENFORCED = "[IMMUTA_UNENFORCED] "
_DENIED = "[IMMUTA_DENIED] "
_DP = "[IMMUTA_DP] "


class EnforcementError(ImmutaSparkError):
    """Enforcement could not be applied, so no data is returned (fail closed)."""


class UnenforcedPathError(EnforcementError, AnalysisException):
    """A statement reaches a governed table by a path we do not enforce; it is refused."""

    def __init__(self, message: str) -> None:
        AnalysisException.__init__(self, message=message)
        self.args = (message,)
        #: Names of the governed sources the refused statement reached (for the audit record).
        self.sources: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DifferentialPrivacyRefused(DifferentialPrivacyError, AnalysisException):
    """A statement reaches a differentially private source other than by an aggregate the session answers."""

    def __init__(self, message: str, source: str = "") -> None:
        AnalysisException.__init__(self, message=message)
        self.args = (message,)
        #: The differentially private source (for the audit record).
        self.sources: tuple[str, ...] = (source,) if source else ()

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class GovernedAccessDenied(AccessDenied, AnalysisException):
    """The user may see the table but may not read it (subscription, purpose, ownership)."""

    def __init__(self, source: str, reason: str) -> None:
        AccessDenied.__init__(self, source, reason)
        message = f"Access to data source '{source}' denied: {reason}"
        AnalysisException.__init__(self, message=message)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_NOT_FOUND = (
    "[TABLE_OR_VIEW_NOT_FOUND] The table or view {name} cannot be found. Verify the spelling and correctness "
    "of the schema and catalog.\nSearch path: {search_path}.\nIf you did not qualify the name with a schema, "
    "verify the current_schema() output, or qualify the name with the correct schema and catalog.\n"
    "To tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01{where};\n"
    "{tree}"
)


class GovernedTableNotFound(SourceNotFound, AnalysisException):
    """Spark's ``TABLE_OR_VIEW_NOT_FOUND`` for a table the user may not see.

    Built from Spark's own error for the same statement with the invisible name made missing
    (``spark=(message, condition, parameters, sql_state)``), or, where Spark cannot be asked,
    from Spark's message template.
    """

    def __init__(
        self,
        parts: list[str],
        *,
        search_path: str = "",
        tree: str = "",
        line: int | None = None,
        pos: int | None = None,
        spark: tuple[str, str, dict[str, str], str] | None = None,
    ) -> None:
        if spark is None:
            relation = ".".join("`" + p.replace("`", "``") + "`" for p in parts)
            where = f"; line {line} pos {pos}" if line is not None and pos is not None else ""
            message = _NOT_FOUND.format(name=relation, search_path=search_path, where=where, tree=tree)
            spark = (message, "TABLE_OR_VIEW_NOT_FOUND", {"relationName": relation, "searchPath": search_path}, "42P01")
        message, self._condition, self._parameters, self._sql_state = spark
        SourceNotFound.__init__(self, ".".join(parts))
        self.args = (message,)
        AnalysisException.__init__(
            self, message=message, errorClass=self._condition, messageParameters=dict(self._parameters)
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def getCondition(self) -> str:
        return self._condition

    def getErrorClass(self) -> str:
        return self._condition

    def getMessageParameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def getSqlState(self) -> str:
        return self._sql_state


def from_rules(exc: BaseException) -> ImmutaSparkError | None:
    """The governed session's own error for an error the JVM rules raised, or None for any other."""
    text = str(exc)
    for tag in (_UNENFORCED, _DENIED, _DP):
        at = text.find(tag)
        if at < 0:
            continue
        body = text[at + len(tag) :].split("\n", 1)[0].strip().rstrip(";")
        source, _, message = body.partition("\x01")
        if tag == _DENIED:
            return GovernedAccessDenied(source, message)
        if tag == _DP:
            return DifferentialPrivacyRefused(
                f"'{source}' is differentially private: {message}" if source else message, source
            )
        error = UnenforcedPathError(message)
        error.sources = (source,) if source else ()
        return error
    return None


class ScrubbedAnalysisError(AnalysisException):
    """Spark's own analysis error, without the plan Spark appends to it (it shows the enforcement)."""

    def __init__(self, original: AnalysisException, message: str) -> None:
        self._condition = original.getCondition()
        self._parameters = dict(original.getMessageParameters() or {})
        self._sql_state = original.getSqlState()
        AnalysisException.__init__(self, message=message)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])

    def getCondition(self) -> str | None:
        return self._condition

    def getErrorClass(self) -> str | None:
        return self._condition

    def getMessageParameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def getSqlState(self) -> str | None:
        return self._sql_state


def scrubbed(message: str, governed: Callable[[str], bool]) -> str:
    """``message`` without the plan Spark appended (after ``;\n``) when that plan reads a governed table.

    ``governed(plan_text)`` tells whether a plan's text names a governed table. A plan without
    one (a missing table's unresolved plan) is left, so such errors stay exactly Spark's own.
    """
    cut = message.find(";\n")
    if cut < 0 or not governed(message[cut:]):
        return message
    return message[:cut]


@contextmanager
def quiet_query_context_log() -> Iterator[None]:
    """Silence pyspark's error loggers (they would print the analyzed plan, or a placeholder's name)."""
    from pyspark.logger import PySparkLogger

    # Through pyspark's own factory: a logger made here first would not be a PySparkLogger.
    loggers = [PySparkLogger.getLogger(name) for name in _QUERY_CONTEXT_LOGGERS]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was in zip(loggers, before, strict=True):
            logger.disabled = was


def log_query_context(message: str, condition: str) -> None:
    """Log an analysis error as pyspark logs Spark's own: its message and condition, no plan."""
    from pyspark.logger import PySparkLogger

    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    logger.propagate = False
    was, logger.disabled = logger.disabled, False  # our own record, even while pyspark's are silenced
    try:
        logger.error(message, errorClass=condition)
    finally:
        logger.disabled = was


_QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


@contextmanager
def rules_errors(governed: Callable[[str], bool] | None = None) -> Iterator[None]:
    """Raise the governed session's own error where the JVM rules refused; Spark's own otherwise.

    Spark's own analysis error is logged as pyspark logs it, and with ``governed`` its message
    loses the plan Spark appends when that plan shows a governed table's enforcement.
    """
    try:
        with quiet_query_context_log():
            yield
    except AnalysisException as exc:
        if isinstance(exc, ImmutaSparkError):
            raise
        ours = from_rules(exc)
        if ours is not None:
            raise ours from None
        log_query_context(exc.getMessage(), exc.getCondition() or "")
        if governed is not None:
            text = str(exc)
            clean = scrubbed(text, governed)
            if clean != text:
                raise ScrubbedAnalysisError(exc, clean) from None
        raise
