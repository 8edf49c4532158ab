"""Format-preserving masking in Python (issue 13, item 3): FF3-1 through our wrapper, classes kept, short runs hidden.

The NIST ACVP FF3-1 sample vectors (56-bit tweaks) must come out of :func:`ff3_1` exactly.
"""

from __future__ import annotations

import pickle
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from immuta_spark.errors import TokenError
from immuta_spark.masks.format_preserving import decrypt, encrypt, ff3_1, fpe_keys, reversible

# NIST ACVP sample vectors for FF3-1 (AES-FF3-1, test groups 1, 2 and 4).
NIST_FF3_1 = [
    ("2DE79D232DF5585D68CE47882AE256D6", "CBD09280979564", string.digits, "3992520240", "8901801106"),
    (
        "01C63017111438F7FC8E24EB16C71AB5",
        "C4E822DCD09F27",
        string.digits,
        "60761757463116869318437658042297305934914824457484538562",
        "35637144092473838892796702739628394376915177448290847293",
    ),
    ("718385E6542534604419E83CE387A437", "B6F35084FA90E1", string.ascii_lowercase, "wfmwlrorcd", "ywowehycyd"),
    (
        "DB602DFF22ED7E84C8D8C865A941A238",
        "EBEFD63BCC2083",
        string.ascii_lowercase,
        "kkuomenbzqvggfbteqdyanwpmhzdmoicekiihkrm",
        "belcfahcwwytwrckieymthabgjjfkxtxauipmjja",
    ),
    ("F62EDB777A671075D47563F3A1E9AC797AA706A2D8E02FC8", "493B8451BF6716", string.digits, "4406616808", "1807744762"),
]
KEYS = fpe_keys(bytes(range(32)))


@pytest.mark.parametrize(("key", "tweak", "alphabet", "plain", "cipher"), NIST_FF3_1)
def test_nists_ff3_1_vectors_pass_through_our_wrapper(
    key: str, tweak: str, alphabet: str, plain: str, cipher: str
) -> None:
    assert ff3_1(key, tweak, alphabet, plain) == cipher
    assert ff3_1(key, tweak, alphabet, cipher, decrypt=True) == plain


def _shape(value: str) -> str:
    return "".join(
        "9" if c in string.digits else "A" if c.isupper() and c.isascii() else "a" if c in string.ascii_lowercase else c
        for c in value
    )


@given(st.text(alphabet=string.digits + string.ascii_letters + "-. @é", max_size=120))
def test_length_classes_case_and_other_characters_are_kept_and_it_reverses(value: str) -> None:
    masked = encrypt(value, KEYS)
    assert len(masked) == len(value) and _shape(masked) == _shape(value)
    assert masked == encrypt(value, KEYS)  # deterministic
    if reversible(value):
        assert decrypt(masked, KEYS) == value


def test_an_ssn_keeps_its_dashes_and_an_email_its_punctuation() -> None:
    ssn = encrypt("123-45-6789", KEYS)
    assert ssn != "123-45-6789" and ssn[3] == ssn[6] == "-" and ssn.replace("-", "").isdigit()
    mail = encrypt("Ann.Lee@example.org", KEYS)
    assert _shape(mail) == "Aaa.Aaa@aaaaaaa.aaa" and mail.lower() != "ann.lee@example.org"


def test_a_run_too_short_for_ff3_1_is_hidden_never_passed_through_and_cannot_be_revealed() -> None:
    for value in ("12345", "Bob", "ab-12"):
        masked = encrypt(value, KEYS)
        assert _shape(masked) == _shape(value) and not reversible(value)
        with pytest.raises(TokenError, match="too few for FF3-1"):
            decrypt(masked, KEYS)
    # Five digits are hidden; the same five give the same mask (equality is kept).
    assert encrypt("12345", KEYS) == encrypt("12345", KEYS) != encrypt("12346", KEYS)
    assert "12345" not in {encrypt("12345", fpe_keys(bytes([i]) * 32)) for i in range(20)}


def test_the_keys_travel_to_workers_and_are_never_printed() -> None:
    again = pickle.loads(pickle.dumps(KEYS))
    assert encrypt("4111111111111111", again) == encrypt("4111111111111111", KEYS)
    assert KEYS.key not in repr(KEYS)
