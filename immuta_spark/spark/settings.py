"""What a governed session lets a user configure: settings (an allowlist) and UDFs (Python only).

A session setting can switch enforcement off (the analyzer's rules, the plan checks, file
reads), so ``session.conf.set``, SQL ``SET`` and ``RESET`` may change only the settings in
:data:`ALLOWED_SETTINGS`; reading any setting passes through. A bare ``RESET`` would restore
every setting at once and is refused. Python UDFs only ever see enforced columns and are
allowed; a Java UDF is a JVM class that runs inside Spark with no check of what it reaches,
and is refused like ``CREATE FUNCTION ... AS 'class'`` is in SQL.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from immuta_spark.spark.errors import UnenforcedPathError
from immuta_spark.spark.refs import Parsed

__all__ = [
    "ALLOWED_SETTINGS",
    "GovernedConf",
    "GovernedUDFRegistration",
    "allowed_setting",
    "check_reset",
    "check_set",
]

#: Session settings a governed user may change; anything else could switch enforcement off.
ALLOWED_SETTINGS = (
    "spark.sql.shuffle.partitions",
    "spark.sql.session.timeZone",
    "spark.sql.ansi.enabled",
    "spark.sql.adaptive.",
    "spark.sql.autoBroadcastJoinThreshold",
    "spark.sql.files.maxPartitionBytes",
    "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.repl.eagerEval.",
    "spark.sql.legacy.timeParserPolicy",
)


def allowed_setting(key: str) -> bool:
    """Whether ``key`` may be changed: listed exactly, or under a listed prefix (ending in ``.``)."""
    return any(key == a or (a.endswith(".") and key.startswith(a)) for a in ALLOWED_SETTINGS)


def check_set(parsed: Parsed) -> None:
    """Refuse a SQL ``SET key=value`` of a setting that is not allowed (``SET key`` only reads)."""
    kv = parsed.plan.kv()
    if kv.isDefined():
        pair = kv.get()
        key, value = str(pair._1()), pair._2()
        if value.isDefined() and not allowed_setting(key):
            raise UnenforcedPathError(
                f"setting '{key}' may not be changed in a governed session (it could switch enforcement "
                f"off); allowed: {', '.join(ALLOWED_SETTINGS)}"
            )


def check_reset(parsed: Parsed) -> None:
    """Refuse a SQL ``RESET`` of every setting, or of one that is not allowed."""
    config = parsed.plan.config()
    if not config.isDefined():
        raise UnenforcedPathError(
            "RESET of every setting may not run in a governed session (it could restore settings that "
            f"switch enforcement off); reset the allowed settings one by one: {', '.join(ALLOWED_SETTINGS)}"
        )
    key = str(config.get())
    if not allowed_setting(key):
        raise UnenforcedPathError(
            f"setting '{key}' may not be reset in a governed session (it could switch enforcement off); "
            f"allowed: {', '.join(ALLOWED_SETTINGS)}"
        )


class GovernedUDFRegistration:
    """``spark.udf`` of a governed session: Python UDFs, which only ever see enforced columns.

    A Java UDF is a JVM class that runs inside Spark with no check of what it reaches, as
    ``CREATE FUNCTION ... AS 'class'`` is in SQL; both are refused.
    """

    def __init__(self, registration: Any) -> None:
        self._registration = registration

    def register(self, name: str, f: Any, returnType: Any = None) -> Any:
        """As ``UDFRegistration.register``."""
        return self._registration.register(name, f, returnType)

    def registerJavaFunction(self, *args: Any, **kwargs: Any) -> None:
        """Refused: a Java UDF runs JVM code the governed session cannot check."""
        raise UnenforcedPathError("Java UDF classes run JVM code the governed session cannot check; not allowed")

    def registerJavaUDAF(self, *args: Any, **kwargs: Any) -> None:
        """Refused: a Java UDAF runs JVM code the governed session cannot check."""
        raise UnenforcedPathError("Java UDAF classes run JVM code the governed session cannot check; not allowed")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"'{name}' is not available on a governed session's UDF registration")


class GovernedConf:
    """``session.conf``: reads pass through; only :data:`ALLOWED_SETTINGS` may be set."""

    def __init__(self, spark: SparkSession) -> None:
        self._conf = spark.conf

    def get(self, key: str, default: Any = None) -> Any:
        """As ``RuntimeConfig.get``."""
        return self._conf.get(key, default) if default is not None else self._conf.get(key)

    def set(self, key: str, value: Any) -> None:
        """As ``RuntimeConfig.set``, for allowed settings only."""
        if not allowed_setting(key):
            raise UnenforcedPathError(
                f"setting '{key}' may not be changed in a governed session; allowed: {', '.join(ALLOWED_SETTINGS)}"
            )
        self._conf.set(key, value)

    def unset(self, key: str) -> None:
        """As ``RuntimeConfig.unset``, for allowed settings only."""
        if not allowed_setting(key):
            raise UnenforcedPathError(f"setting '{key}' may not be changed in a governed session")
        self._conf.unset(key)
