"""Differential privacy's arithmetic: which statistics a query needs and their noisy release (OpenDP)."""

from immuta_spark.dp.release import (
    KINDS,
    Measure,
    Output,
    answer,
    assemble,
    measures,
    public_keys,
    release,
    threshold,
)

__all__ = ["KINDS", "Measure", "Output", "answer", "assemble", "measures", "public_keys", "release", "threshold"]
