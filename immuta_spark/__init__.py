"""immuta_spark: data-governance enforcement for Apache Spark, modelled on Immuta 2.8.

The core (model, policy as code, catalog, engine) is pure Python and never imports pyspark;
the Spark layer lives in :mod:`immuta_spark.spark`.
"""

from __future__ import annotations

from immuta_spark.catalog import ApplyResult, GovernanceCatalog, SubscriptionRecord
from immuta_spark.engine import Plan, Snapshot, Subject, compile_plan, make_subject
from immuta_spark.errors import (
    AccessDenied,
    CatalogError,
    ImmutaSparkError,
    ImpersonationDenied,
    NotAuthorized,
    PolicyBindError,
    PolicyFileError,
    PurposeRequired,
    SourceNotFound,
    SubscriptionError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "ApplyResult",
    "CatalogError",
    "GovernanceCatalog",
    "ImmutaSparkError",
    "ImpersonationDenied",
    "NotAuthorized",
    "Plan",
    "PolicyBindError",
    "PolicyFileError",
    "PurposeRequired",
    "Snapshot",
    "SourceNotFound",
    "Subject",
    "SubscriptionError",
    "SubscriptionRecord",
    "__version__",
    "compile_plan",
    "make_subject",
]
