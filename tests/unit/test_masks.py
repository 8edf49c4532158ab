"""Each mask kind builds the expected expression tree, in the expected type."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from immuta_spark.errors import PolicyBindError
from immuta_spark.expr import (
    Cast,
    Column,
    Concat,
    FloorTo,
    FormatPreserve,
    GroupSmallerThan,
    If,
    Literal,
    NullOf,
    RegexReplace,
    SecretRef,
    Sha256,
    Term,
    Token,
    TruncTime,
)
from immuta_spark.masks import MaskContext, MaskResult, build_mask, type_family
from immuta_spark.masks.constant import coerce
from immuta_spark.model import (
    ConstantMask,
    FormatPreservingMask,
    HashMask,
    KAnonymizeMask,
    Mask,
    NullMask,
    RegexMask,
    ReversibleMask,
    RoundMask,
)

SALT = SecretRef("source", "S", "hash_salt")
TOKEN = SecretRef("source", "S", "token_key")
FPE = SecretRef("source", "S", "fpe_key")
COL = Column("c")


def ctx(spark_type: str, **kwargs: object) -> MaskContext:
    return MaskContext(source="S", column="c", type=spark_type, hash_salt=SALT, token_key=TOKEN, fpe_key=FPE, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mask", "spark_type", "term", "result_type"),
    [
        (HashMask(), "string", Sha256(Concat((SALT, Cast(COL, "string")))), "string"),
        (HashMask(), "bigint", Sha256(Concat((SALT, Cast(COL, "string")))), "string"),
        (NullMask(), "date", NullOf("date"), "date"),
        (NullMask(), "decimal(10,2)", NullOf("decimal(10,2)"), "decimal(10,2)"),
        (ConstantMask("REDACTED"), "string", Literal("REDACTED", "string"), "string"),
        (ConstantMask(0), "int", Literal(0, "int"), "int"),
        (ConstantMask("12"), "bigint", Literal(12, "bigint"), "bigint"),
        (ConstantMask(1.5), "double", Literal(1.5, "double"), "double"),
        (ConstantMask("1.25"), "decimal(5,2)", Literal(Decimal("1.25"), "decimal(5,2)"), "decimal(5,2)"),
        (ConstantMask("2020-01-31"), "date", Literal(date(2020, 1, 31), "date"), "date"),
        (
            ConstantMask("2020-01-31 10:00:00"),
            "timestamp",
            Literal(datetime(2020, 1, 31, 10), "timestamp"),
            "timestamp",
        ),
        (ConstantMask(True), "boolean", Literal(True, "boolean"), "boolean"),
        (ConstantMask(True), "string", Literal("true", "string"), "string"),
        (RegexMask(r"\d+$", "XXX"), "string", RegexReplace(COL, r"\d+$", "XXX"), "string"),
        (RegexMask(r"\d", "#"), "int", RegexReplace(Cast(COL, "string"), r"\d", "#"), "string"),
        (RoundMask(multiple=100), "double", FloorTo(COL, 100, "double"), "double"),
        (RoundMask(multiple=5), "int", FloorTo(COL, 5, "int"), "int"),
        (RoundMask(unit="month"), "date", TruncTime(COL, "month", "date"), "date"),
        (RoundMask(unit="hour"), "timestamp", TruncTime(COL, "hour", "timestamp"), "timestamp"),
        (RoundMask(unit="hour"), "date", COL, "date"),
        (ReversibleMask(), "string", Token(Cast(COL, "string"), TOKEN), "string"),
        (FormatPreservingMask(), "bigint", FormatPreserve(Cast(COL, "string"), FPE), "string"),
        (KAnonymizeMask(2), "string", If(GroupSmallerThan(("c",), 2), NullOf("string"), COL), "string"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, Term) else "",
)
def test_each_mask_kind_builds_its_tree(mask: Mask, spark_type: str, term: Term, result_type: str) -> None:
    assert build_mask(mask, ctx(spark_type)) == MaskResult(term, result_type)


@pytest.mark.parametrize(
    ("value", "spark_type"),
    [
        ("REDACTED", "int"),
        ("REDACTED", "date"),
        ("yes", "boolean"),
        (3.7, "int"),
        (300, "tinyint"),
        (70000, "smallint"),
        (2**31, "int"),
        (2**63, "bigint"),
        ("123456", "decimal(5,2)"),
        ("12345678901", "decimal"),
        ("x", "binary"),
        ("2020-13-01", "date"),
    ],
)
def test_a_constant_that_does_not_cast_makes_the_column_a_string(value: object, spark_type: str) -> None:
    assert coerce(value, spark_type) is None
    result = build_mask(ConstantMask(value), ctx(spark_type))  # type: ignore[arg-type]
    assert result == MaskResult(Literal(str(value), "string"), "string")


@pytest.mark.parametrize(
    ("value", "spark_type", "expected"),
    [
        (127, "tinyint", 127),
        (-128, "byte", -128),
        (2**31 - 1, "int", 2**31 - 1),
        (-(2**63), "bigint", -(2**63)),
        ("999.99", "decimal(5,2)", Decimal("999.99")),
        ("0.5", "decimal(1,1)", Decimal("0.5")),
        (5, "decimal", Decimal(5)),
        ("2.5", "float", 2.5),
        (False, "boolean", False),
        (42, "varchar(10)", "42"),
    ],
)
def test_a_constant_that_casts_keeps_the_column_type(value: object, spark_type: str, expected: object) -> None:
    assert coerce(value, spark_type) == expected
    assert build_mask(ConstantMask(value), ctx(spark_type)).type == spark_type  # type: ignore[arg-type]


def test_k_anonymization_counts_the_policys_whole_column_group_with_its_k() -> None:
    result = build_mask(KAnonymizeMask(5), ctx("string", k_group=("gender", "c"), k=5))
    assert result.term == If(GroupSmallerThan(("gender", "c"), 5), NullOf("string"), COL)


@pytest.mark.parametrize(
    ("mask", "spark_type", "needs"),
    [
        (RoundMask(multiple=10), "string", "the mask needs a number"),
        (RoundMask(multiple=10), "date", "the mask needs a number"),
        (RoundMask(unit="day"), "double", "the mask needs a date or timestamp"),
        (RoundMask(unit="year"), "boolean", "the mask needs a date or timestamp"),
    ],
)
def test_round_on_the_wrong_type_is_a_bind_error(mask: RoundMask, spark_type: str, needs: str) -> None:
    with pytest.raises(PolicyBindError, match=needs) as info:
        build_mask(mask, ctx(spark_type))
    assert f"S.c: the column is {spark_type}" in str(info.value)


@pytest.mark.parametrize(
    ("spark_type", "family"),
    [
        ("TINYINT", "numeric"),
        ("decimal(38, 18)", "numeric"),
        ("double", "numeric"),
        ("string", "string"),
        ("char(2)", "string"),
        ("date", "date"),
        ("timestamp_ntz", "timestamp"),
        ("boolean", "boolean"),
        ("array<string>", "other"),
        ("binary", "other"),
    ],
)
def test_type_families(spark_type: str, family: str) -> None:
    assert type_family(spark_type) == family


def test_a_secret_reference_never_prints_its_value() -> None:
    term = build_mask(HashMask(), ctx("string")).term
    assert repr(term).count("SecretRef(source:S:hash_salt)") == 1


# --- a column whose type is not known yet (issue 8, deliverable 7) -----------------------------


@pytest.mark.parametrize(
    ("mask", "term", "result_type"),
    [
        (RoundMask(multiple=100), FloorTo(COL, 100, None), None),
        (RoundMask(unit="hour"), TruncTime(COL, "hour", None), None),
        (RoundMask(unit="month"), TruncTime(COL, "month", None), None),
        (NullMask(), NullOf(None), None),
        (ConstantMask(0), Literal(0, None), None),
        (KAnonymizeMask(2), If(GroupSmallerThan(("c",), 2), NullOf(None), COL), None),
        (HashMask(), Sha256(Concat((SALT, Cast(COL, "string")))), "string"),
        (RegexMask(r"\d+$", "XXX"), RegexReplace(Cast(COL, "string"), r"\d+$", "XXX"), "string"),
        (ReversibleMask(), Token(Cast(COL, "string"), TOKEN), "string"),
        (FormatPreservingMask(), FormatPreserve(Cast(COL, "string"), FPE), "string"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, Term) else "",
)
def test_on_a_column_of_unknown_type_every_mask_is_accepted_and_says_what_type_it_knows(
    mask: Mask, term: Term, result_type: str | None
) -> None:
    assert build_mask(mask, ctx(None)) == MaskResult(term, result_type)  # type: ignore[arg-type]


def test_a_round_bind_error_names_the_policy_the_setting_and_what_to_do() -> None:
    with pytest.raises(PolicyBindError) as info:
        build_mask(RoundMask(multiple=100), ctx("string", policy="round-amount"))
    message = str(info.value)
    assert message.startswith("round mask on S.c: the column is string, the mask needs a number")
    assert "(policy 'round-amount', round: 100)" in message
    assert "the source is closed until policy 'round-amount''s columns or mask, or the column's type, are fixed" in (
        message
    )
