"""The reversible mask's construction in Python (the reference the Spark layer matches), no JVM."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from immuta_spark.errors import TokenError
from immuta_spark.masks.reversible import BUCKET, detokenize, token_keys, tokenize

KEYS = token_keys(bytes(range(32)))
OTHER = token_keys(bytes(range(1, 33)))


@given(st.text(max_size=200))
def test_every_value_reverses_and_tokens_are_deterministic(value: str) -> None:
    token = tokenize(value, KEYS)
    assert token == tokenize(value, KEYS)
    assert detokenize(token, KEYS) == value
    raw = base64.b64decode(token)
    assert len(raw) == 12 + 16 + BUCKET * (len(value.encode()) // BUCKET + 1)


@given(st.text(min_size=16, max_size=16), st.text(max_size=20), st.text(max_size=20))
def test_a_shared_prefix_shows_nowhere_in_the_tokens(prefix: str, a: str, b: str) -> None:
    if a == b:
        return
    x, y = base64.b64decode(tokenize(prefix + a, KEYS)), base64.b64decode(tokenize(prefix + b, KEYS))
    assert x[:8] != y[:8]  # equal first 8 bytes by chance: 2**-64


def test_an_altered_forged_or_foreign_token_reveals_nothing() -> None:
    token = tokenize("1 Main Street", KEYS)
    raw = bytearray(base64.b64decode(token))
    raw[-1] ^= 1
    for bad in (base64.b64encode(bytes(raw)).decode(), tokenize("1 Main Street", OTHER), "not base64!", ""):
        with pytest.raises(TokenError, match="not made by this source's reversible mask"):
            detokenize(bad, KEYS)


def test_the_keys_are_two_distinct_derivations_and_never_printed() -> None:
    assert KEYS.enc != KEYS.mac and len(KEYS.enc) == len(KEYS.mac) == 32
    assert KEYS.enc.hex() not in repr(KEYS) and "secret" in repr(KEYS)
    assert KEYS.inner != KEYS.outer and len(KEYS.inner) == 64


def test_a_token_sealed_under_another_iv_is_refused_as_forged() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from immuta_spark.masks.reversible import AAD

    iv = bytes(12)
    body = AESGCM(KEYS.enc).encrypt(iv, b"x\x80" + bytes(14), AAD)
    with pytest.raises(TokenError, match="forged"):
        detokenize(base64.b64encode(iv + body).decode(), KEYS)
