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

__all__ = [
    "EnforcementError",
    "GovernedAccessDenied",
    "GovernedTableNotFound",
    "ImmutaSparkSession",
    "UnenforcedPathError",
]
