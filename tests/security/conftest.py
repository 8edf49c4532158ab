"""Shared pieces of the bypass suite: who sees what of claims.medical, and how to prove it.

Every bypass test shows two things: the attempt is refused (or returns enforced data), and no
raw value of a governed column ever comes back. ``bob`` (Medical Claims group, Ohio) sees only
the Ohio rows, with ssn and address NULL, the last octet of ip hidden, amounts floored to 100
and dates truncated to the month.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.spark.sample import MEDICAL_ROWS
from tests.spark.conftest import as_user, example_catalog, forget_derived_sources, governed, sample_spark

# The Spark fixtures, shared.
__all__ = ["as_user", "example_catalog", "forget_derived_sources", "governed", "sample_spark"]

MEDICAL = "claims.medical"
MEDICAL_SCHEMA = (
    "claim_id bigint, ssn string, address string, state string, ip string, amount double, claim_date date, "
    "gender string"
)
#: What bob sees of claims.medical.
BOB_ROWS = [
    (1, None, None, "Ohio", "164.16.13.XXX", 1200.0, dt.date(2026, 11, 1), "F"),
    (4, None, None, "Ohio", "172.16.0.XXX", 400.0, dt.date(2026, 8, 1), "M"),
]
#: Raw values bob must never get back, in any form.
RAW_SSNS = [r[1] for r in MEDICAL_ROWS if r[1] is not None]
RAW_ADDRESSES = [r[2] for r in MEDICAL_ROWS if r[2] is not None]
RAW_IPS = [r[4] for r in MEDICAL_ROWS if r[4] is not None]
RAW_AMOUNTS = [r[5] for r in MEDICAL_ROWS if r[5] is not None and r[5] % 100]
HIDDEN_STATES = ["Missouri", "Florida"]
RAW_VALUES = frozenset([*RAW_SSNS, *RAW_ADDRESSES, *RAW_IPS, *RAW_AMOUNTS, *HIDDEN_STATES])


def values(rows: Iterable[Any]) -> Iterator[Any]:
    """Every value in rows (nested rows, lists and dicts flattened)."""
    for value in rows:
        if isinstance(value, dict):
            yield from values(value.values())
        elif isinstance(value, list | tuple):
            yield from values(value)
        else:
            yield value


def assert_no_raw(rows: Iterable[Any], raw: Iterable[Any] = RAW_VALUES) -> None:
    """No value in ``rows`` is, or contains as text, one of the raw values."""
    raw = list(raw)
    for value in values(rows):
        for secret in raw:
            assert value != secret, f"raw value {secret!r} came back"
            if isinstance(value, str) and isinstance(secret, str):
                assert secret not in value, f"raw value {secret!r} came back inside {value!r}"


def collect(df: Any) -> list[tuple[Any, ...]]:
    """Rows as plain tuples, the order left as it is."""
    return [tuple(r) for r in df.collect()]


def normalized(message: str, name: str) -> str:
    """A Spark message with one table name blanked and expression ids made stable."""
    return re.sub(r"#\d+L?", "#N", message.replace(name, "<table>"))


def assert_fails_alike(invisible: BaseException, missing: BaseException, names: tuple[str, str]) -> None:
    """Two failures are indistinguishable: class family, condition, parameters and message shape."""
    from pyspark.errors import AnalysisException

    assert isinstance(invisible, AnalysisException) and isinstance(missing, AnalysisException)
    assert invisible.getCondition() == missing.getCondition()
    assert invisible.getSqlState() == missing.getSqlState()
    params_a = {k: normalized(str(v), names[0]) for k, v in (invisible.getMessageParameters() or {}).items()}
    params_b = {k: normalized(str(v), names[1]) for k, v in (missing.getMessageParameters() or {}).items()}
    assert params_a == params_b
    assert normalized(str(invisible), names[0]) == normalized(str(missing), names[1])


@pytest.fixture(scope="module")
def medical_location(sample_spark: Any) -> str:
    """The storage location of claims.medical, as the metastore has it."""
    rows = sample_spark.sql(f"DESCRIBE FORMATTED {MEDICAL}").collect()
    return next(r.data_type for r in rows if r.col_name == "Location")


@pytest.fixture(scope="module")
def session_for(sample_spark: Any, example_catalog: GovernanceCatalog) -> Any:
    """Governed sessions on the example catalog, one per user for the whole module."""
    from immuta_spark.spark import ImmutaSparkSession

    made: dict[str, Any] = {}

    def get(user: str) -> Any:
        if user not in made:
            made[user] = ImmutaSparkSession.wrap(sample_spark, catalog=example_catalog, user=user)
        return made[user]

    return get


@pytest.fixture(scope="module")
def bob(session_for: Any) -> Any:
    """bob: Medical Claims group, Ohio; sees claims.medical masked and filtered."""
    return session_for("bob")


@pytest.fixture(scope="module")
def dave(session_for: Any) -> Any:
    """dave: no subscription; claims.medical is invisible to him."""
    return session_for("dave")


@pytest.fixture(scope="module")
def alice(session_for: Any) -> Any:
    """alice: Legal, governor, owner of Medical Claims."""
    return session_for("alice")
