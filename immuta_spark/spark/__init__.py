"""The Spark layer: the only part of immuta_spark that imports pyspark.

>>> from immuta_spark.spark import ImmutaSparkSession                        # doctest: +SKIP
>>> spark = ImmutaSparkSession.builder.catalog("sqlite:///c.db").getOrCreate()  # doctest: +SKIP
"""

from immuta_spark.spark.errors import (
    EnforcementError,
    GovernedAccessDenied,
    GovernedTableNotFound,
    UnenforcedPathError,
)
from immuta_spark.spark.session import ImmutaSparkSession
from immuta_spark.spark.sqlcheck import register as _register_checkers

# Importing the Spark layer makes apply check policy SQL with Spark's parser and regex patterns
# with Java's regex, even where the entry point is not installed (a bare source checkout).
_register_checkers()

__all__ = [
    "EnforcementError",
    "GovernedAccessDenied",
    "GovernedTableNotFound",
    "ImmutaSparkSession",
    "UnenforcedPathError",
]
