"""Errors the Spark layer raises, in both hierarchies: ours and pyspark's.

An invisible governed table must fail exactly like a missing one, so
:class:`GovernedTableNotFound` is a pyspark ``AnalysisException`` with Spark's error class,
parameters, SQL state and message shape, and also our :class:`SourceNotFound`.
"""

from __future__ import annotations

from pyspark.errors import AnalysisException

from immuta_spark.errors import AccessDenied, ImmutaSparkError, SourceNotFound

__all__ = ["EnforcementError", "GovernedAccessDenied", "GovernedTableNotFound", "UnenforcedPathError"]


class EnforcementError(ImmutaSparkError):
    """Enforcement could not be applied, so no data is returned (fail closed)."""


class UnenforcedPathError(EnforcementError, AnalysisException):
    """A statement reaches a governed table by a path we do not enforce; it is refused."""

    def __init__(self, message: str) -> None:
        AnalysisException.__init__(self, message=message)
        self.args = (message,)

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
    """Spark's ``TABLE_OR_VIEW_NOT_FOUND`` for a table the user may not see."""

    def __init__(self, parts: list[str], *, search_path: str, tree: str, line: int | None, pos: int | None) -> None:
        relation = ".".join("`" + p.replace("`", "``") + "`" for p in parts)
        where = f"; line {line} pos {pos}" if line is not None and pos is not None else ""
        message = _NOT_FOUND.format(name=relation, search_path=search_path, where=where, tree=tree)
        SourceNotFound.__init__(self, ".".join(parts))
        self.args = (message,)
        self._parameters = {"relationName": relation, "searchPath": search_path}
        AnalysisException.__init__(
            self, message=message, errorClass="TABLE_OR_VIEW_NOT_FOUND", messageParameters=self._parameters
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def getCondition(self) -> str:
        return "TABLE_OR_VIEW_NOT_FOUND"

    def getErrorClass(self) -> str:
        return "TABLE_OR_VIEW_NOT_FOUND"

    def getMessageParameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def getSqlState(self) -> str:
        return "42P01"
