"""The reversible and format-preserving masks in the JVM equal their Python references and portable forms.

``Tokens.tokenize`` (JDK HMAC-SHA256 and AES-GCM) and ``Ff3.mask`` (Bouncy Castle's FF3-1) run
through Spark's ``StaticInvoke``; where they cannot be loaded the token is computed with native
Spark functions and FF3-1 by the pandas UDF. All four must give the references' bytes, or an
unmask could not reverse what a reader saw.
"""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from immuta_spark.expr import Cast, Column, FormatPreserve, SecretRef, Token
from immuta_spark.masks.format_preserving import encrypt, fpe_keys
from immuta_spark.masks.reversible import token_keys, tokenize

SECRET = b"a source's secret, for these tests only"
VALUE = Cast(Column("v"), "string")


def _values() -> list[str | None]:
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "-@. éü✓"
    out: list[str | None] = ["", "a", "12345", "123-45-6789", "exactly16bytes!!", "Zoë, née Müller", "9" * 130, None]
    out += ["same value twice", "same value twice"]  # one task thread, the same key and IV twice in a row
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70))) for _ in range(1500)]
    return out


@pytest.fixture(scope="module")
def frame(spark: Any) -> Any:
    return spark.createDataFrame([(i, v) for i, v in enumerate(_values())], "id int, v string").repartition(3)


def _lowered(spark: Any, frame: Any, node: Any, *, jvm_masks: bool) -> dict[int, str | None]:
    from immuta_spark.spark.lower import JvmFunctions, Lowering, lower

    functions = JvmFunctions(spark._jvm, jvm_masks=jvm_masks)
    ctx = Lowering(functions, lambda ref: SECRET, lambda name, value: functions.f.lit(value))
    return {r["id"]: r["m"] for r in frame.select("id", lower(node, ctx).alias("m")).collect()}


def test_the_jvm_masks_load_with_bouncy_castle(spark: Any) -> None:
    from immuta_spark.spark.mask_jvm import BCPROV, bcprov_jar, mask_classes

    assert bcprov_jar() is not None, f"Bouncy Castle {':'.join(BCPROV)} is missing: run `make jvm-deps`"
    loaded = mask_classes(spark._jvm)
    assert loaded is not None and loaded.ff3 is not None


@pytest.mark.parametrize(
    ("node", "reference"),
    [
        (Token(VALUE, SecretRef("source", "S", "token_key")), lambda v: tokenize(v, token_keys(SECRET))),
        (FormatPreserve(VALUE, SecretRef("source", "S", "fpe_key")), lambda v: encrypt(v, fpe_keys(SECRET))),
    ],
    ids=["reversible: Tokens and native functions", "format_preserving: Ff3 and the pandas UDF"],
)
def test_the_jvm_and_the_portable_form_both_equal_the_reference(
    spark: Any, frame: Any, node: Any, reference: Any
) -> None:
    expected = {i: None if v is None else reference(v) for i, v in enumerate(_values())}
    assert _lowered(spark, frame, node, jvm_masks=True) == expected
    assert _lowered(spark, frame, node, jvm_masks=False) == expected


@pytest.mark.parametrize(
    ("node", "reference", "short", "long"),
    [
        (Token(VALUE, SecretRef("source", "S", "token_key")), lambda v: tokenize(v, token_keys(SECRET)), 70_000, 7_000),
        (FormatPreserve(VALUE, SecretRef("source", "S", "fpe_key")), lambda v: encrypt(v, fpe_keys(SECRET)), 5_000, 0),
    ],
    ids=["reversible", "format_preserving"],
)
def test_the_jvm_masks_stay_exact_past_what_one_task_thread_remembers(
    spark: Any, node: Any, reference: Any, short: int, long: int
) -> None:
    # One partition, so one task thread's memo sees it all: more values than it keeps (65,536), long ones
    # that fill its arena (16 MB) and some it never keeps (over 1,024 bytes). Each value comes twice in a
    # row, so the second is answered from memory whatever the memo has forgotten by then.
    from pyspark.sql import functions as F

    from immuta_spark.spark.lower import JvmFunctions, Lowering, lower

    def values(start: int, count: int, pad: int) -> Any:
        return spark.range(start, start + count).select(F.concat(F.repeat(F.lit("x"), pad), F.col("id")).alias("v"))

    once = values(0, short, 0).union(values(short, long, 990)).union(values(short + long, 50, 1100))
    functions = JvmFunctions(spark._jvm, jvm_masks=True)
    ctx = Lowering(functions, lambda ref: SECRET, lambda name, value: functions.f.lit(value))
    twice = once.union(once).coalesce(1).sortWithinPartitions("v")
    rows = twice.select("v", lower(node, ctx).alias("m")).collect()
    assert len(rows) == 2 * (short + long + 50)
    masks: dict[str, set[str]] = {}
    for row in rows:
        masks.setdefault(row["v"], set()).add(row["m"])
    assert {v: {reference(v)} for v in masks} == masks


def test_governed_plans_call_the_jvm_masks_and_never_print_their_keys(governed: Any, sample_spark: Any) -> None:
    from tests.spark.conftest import table

    table(sample_spark, "mj.people", [(1, "123-45-6789", "1 Main Street")], "id int, ssn string, address string")
    sessions = governed(
        """
users:
  - {name: svc_notebook, permissions: [IMPERSONATE]}
  - {name: ann}
sources:
  - name: People
    table: mj.people
    subscription: {anyone: {}}
    policies:
      - {name: fpe, type: masking, columns: {names: [ssn]}, mask: format_preserving}
      - {name: tok, type: masking, columns: {names: [address]}, mask: reversible}
"""
    )
    df = sessions("ann").sql("SELECT * FROM mj.people")
    plan = df._jdf.queryExecution().executedPlan().toString()
    assert "io.immutaspark.masks.Ff3.mask" in plan and "io.immutaspark.masks.Tokens.tokenize" in plan
    fpe = fpe_keys(sessions.catalog.secret(SecretRef("source", "People", "fpe_key")))
    tok = token_keys(sessions.catalog.secret(SecretRef("source", "People", "token_key")))
    for secret in (fpe.key, fpe.tweak_seed.hex(), fpe.short.hex(), tok.enc.hex(), tok.mac.hex()):
        assert secret not in plan
    row = df.collect()[0]
    assert row["ssn"] == encrypt("123-45-6789", fpe) and row["address"] == tokenize("1 Main Street", tok)
