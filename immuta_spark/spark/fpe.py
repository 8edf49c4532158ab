"""The format-preserving mask's Arrow UDF: FF3-1 over pandas batches (the product's only UDF).

Spark has no native FF3-1. Where Bouncy Castle is installed the mask runs in the JVM
(:mod:`immuta_spark.spark.mask_jvm`); without it :func:`fpe_udf` wraps
:func:`immuta_spark.masks.format_preserving.encrypt` in a pandas UDF: one Python call per
Arrow batch, each distinct value encrypted once per worker (up to :data:`CACHE_LIMIT`
remembered). The keys travel to the Python workers inside the UDF (as Spark ships any UDF's
closure); the ciphers are built there once per worker.
"""

# No ``from __future__ import annotations`` here: pandas_udf reads the UDF's type hints at run time.
from typing import Any

from immuta_spark.masks.format_preserving import FpeKeys, encrypt

__all__ = ["CACHE_LIMIT", "fpe_udf"]

#: How many distinct values a worker remembers the mask of (about 10 MB of short strings).
CACHE_LIMIT = 65_536


def fpe_udf(keys: FpeKeys) -> Any:
    """A pandas UDF (string -> string) masking each value with FF3-1 under ``keys``."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    # Per Python worker (workers are reused across batches): a value seen before is not encrypted again.
    done: dict[str, str] = {}

    @pandas_udf("string")  # type: ignore[call-overload]
    def format_preserving(values: pd.Series) -> pd.Series:
        if len(done) > CACHE_LIMIT:
            done.clear()
        out: list[str | None] = []
        for value in values:
            if value is None or (isinstance(value, float) and value != value):  # None, or pandas' NaN
                out.append(None)
                continue
            masked = done.get(value)
            if masked is None:
                masked = done[value] = encrypt(value, keys)
            out.append(masked)
        return pd.Series(out, dtype=object)

    return format_preserving
