"""``format_preserving``: FF3-1 encryption keeping a value's length and character classes.

FF3-1 (NIST SP 800-38G Rev. 1) from the vetted ``ff3`` package, under a per-source key and
tweak derived (HKDF-SHA256) from the source's ``fpe_key`` secret in the catalog:

- **Classes.** Digits stay digits and letters stay letters: the value's digits, read in order,
  are encrypted as one radix-10 string, its letters (case folded) as one radix-26 string, each
  under its own tweak; every letter then takes back its original case, and every other
  character (``-``, spaces, ``@``, accents ...) stays where it was. ``123-45-6789`` gives
  ``nnn-nn-nnnn``; ``Ann.Lee@x.org`` gives ``Xxx.Xxx@x.xxx``.
- **Long runs.** FF3-1 takes at most 56 digits or 40 letters; a longer run is cut into equal
  chunks, each under a tweak of its own.
- **Short runs.** FF3-1 refuses domains under a million (fewer than 6 digits, fewer than 5
  letters), because a small domain can be tabulated. Such a run is never passed through in the
  clear: it is replaced by characters of its class drawn from HMAC-SHA256 of the whole value
  under a key of its own. That keeps equality (the same value gives the same mask) but cannot
  be reversed, so an unmask request for such a value is refused saying why.

:func:`encrypt` and :func:`decrypt` are the reference the Spark layer runs in its Arrow UDF
(the only UDF in the product: Spark has no native FF3-1) and the unmask flow reverses with.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from immuta_spark.errors import TokenError
from immuta_spark.expr import Cast, Column, FormatPreserve
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import FormatPreservingMask

__all__ = ["FpeKeys", "build", "decrypt", "encrypt", "ff3_1", "fpe_keys", "reversible"]

_INFO = b"immuta-spark format-preserving v1"
#: (alphabet, shortest run FF3-1 takes, longest) per class.
_CLASSES = {
    "digits": (string.digits, 6, 56),
    "letters": (string.ascii_lowercase, 5, 40),
}


def ff3_1(key: str, tweak: str, alphabet: str, text: str, *, decrypt: bool = False) -> str:
    """FF3-1 of ``text`` over ``alphabet`` with a 56-bit ``tweak`` (hex), as the ``ff3`` package computes it."""
    from ff3 import FF3Cipher

    cipher = FF3Cipher.withCustomAlphabet(key, tweak, alphabet)
    return cipher.decrypt(text) if decrypt else cipher.encrypt(text)


@dataclass(frozen=True, slots=True)
class FpeKeys:
    """One source's format-preserving keys: the AES key (hex), a 56-bit tweak per class and chunk, the short rule's."""

    key: str
    tweak_seed: bytes
    short: bytes
    _ciphers: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False, repr=False)

    def tweak(self, klass: str, chunk: int) -> str:
        """The tweak (14 hex digits) of one class's ``chunk``-th run."""
        return hmac.new(self.tweak_seed, f"{klass}:{chunk}".encode(), hashlib.sha256).digest()[:7].hex()

    def cipher(self, klass: str, chunk: int) -> Any:
        """The FF3-1 cipher of one class and chunk (made once per process, then reused)."""
        found = self._ciphers.get((klass, chunk))
        if found is None:
            from ff3 import FF3Cipher

            found = FF3Cipher.withCustomAlphabet(self.key, self.tweak(klass, chunk), _CLASSES[klass][0])
            self._ciphers[(klass, chunk)] = found
        return found

    def __repr__(self) -> str:  # keys are never printed
        return "FpeKeys(<secret>)"

    def __getstate__(self) -> tuple[str, bytes, bytes]:  # the ciphers are rebuilt where they are used
        return self.key, self.tweak_seed, self.short

    def __setstate__(self, state: tuple[str, bytes, bytes]) -> None:
        for name, value in zip(("key", "tweak_seed", "short"), state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_ciphers", {})


def fpe_keys(secret: bytes) -> FpeKeys:
    """The keys derived from a source's ``fpe_key`` secret."""

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + info).derive(secret)

    return FpeKeys(key=derive(b" aes").hex(), tweak_seed=derive(b" tweak"), short=derive(b" short"))


def _runs(value: str) -> dict[str, list[int]]:
    """The positions of each class's characters in ``value``."""
    found: dict[str, list[int]] = {"digits": [], "letters": []}
    for i, ch in enumerate(value):
        if ch in string.digits:
            found["digits"].append(i)
        elif ch in string.ascii_letters:
            found["letters"].append(i)
    return found


def _chunks(text: str, longest: int) -> list[str]:
    count = -(-len(text) // longest)
    size, extra = divmod(len(text), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def reversible(value: str) -> bool:
    """Whether FF3-1 encrypts every class run of ``value`` (none is too short), so an unmask can reverse it."""
    return all(not pos or len(pos) >= _CLASSES[k][1] for k, pos in _runs(value).items())


def _apply(value: str, keys: FpeKeys, *, decrypt: bool) -> str:
    out = list(value)
    for klass, positions in _runs(value).items():
        if not positions:
            continue
        alphabet, shortest, longest = _CLASSES[klass]
        text = "".join(value[i] for i in positions).lower()
        if len(text) < shortest:
            if decrypt:
                raise TokenError(
                    f"this value has fewer than {shortest} {klass}, too few for FF3-1: they were hidden, not "
                    "encrypted, and cannot be revealed"
                )
            digest = hmac.new(keys.short, f"{klass}:{value}".encode(), hashlib.sha256).digest()
            done = "".join(alphabet[b % len(alphabet)] for b in digest[: len(text)])
        else:
            parts = []
            for n, chunk in enumerate(_chunks(text, longest)):
                cipher = keys.cipher(klass, n)
                parts.append(cipher.decrypt(chunk) if decrypt else cipher.encrypt(chunk))
            done = "".join(parts)
        for i, ch in zip(positions, done, strict=True):
            out[i] = ch.upper() if value[i].isupper() else ch
    return "".join(out)


def encrypt(value: str, keys: FpeKeys) -> str:
    """The format-preserving mask of ``value`` (same length, digits as digits, letters as letters in their case)."""
    return _apply(value, keys, decrypt=False)


def decrypt(masked: str, keys: FpeKeys) -> str:
    """The value behind ``masked``; :class:`TokenError` when a class run was too short to be encrypted."""
    return _apply(masked, keys, decrypt=True)


def build(mask: FormatPreservingMask, ctx: MaskContext) -> MaskResult:
    """FF3-1 of the value as a string (executed by the Spark layer with an Arrow UDF)."""
    return MaskResult(FormatPreserve(Cast(Column(ctx.column), "string"), ctx.fpe_key), "string")
