"""``reversible``: a deterministic token per value that reveals nothing but equality, and that the key reverses.

The construction is deterministic authenticated encryption with a synthetic IV (SIV, Rogaway and
Shrimpton), built from AES-GCM and HMAC-SHA256 so that Spark computes it with native functions
(``sha2``, ``aes_encrypt``), no UDF:

1. The value's UTF-8 bytes ``v`` are padded to the next multiple of 16 bytes with ``0x80`` then
   zeros (ISO/IEC 7816-4), always at least one byte: ``p``. A token's length says only which
   16-byte bucket the value's length falls in.
2. ``iv`` is the first 12 bytes of ``HMAC-SHA256(k_mac, p)``: a pseudorandom function of the
   value, so equal values get equal IVs and different values unrelated ones.
3. ``token = base64(iv || AES-256-GCM(k_enc, iv, p, aad) || tag)``, with ``aad`` naming the
   construction's version.

Equal values give equal tokens (so masked columns can still be counted, grouped and joined);
two different values share no prefix beyond chance, because the IV comes first and the GCM
keystream depends on it, so ECB's leak (equal 16-byte blocks give equal cipher blocks, so a
shared 16-character prefix shows) is gone. A forged or altered token fails GCM's tag and the
IV check on the way back. ``k_enc`` and ``k_mac`` are derived with HKDF-SHA256 from the
source's ``token_key`` secret in the catalog; neither is ever printed. :func:`tokenize` and
:func:`detokenize` are the reference in Python (the unmask flow and the tests use them); the
Spark layer lowers the same steps to native functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from immuta_spark.errors import TokenError
from immuta_spark.expr import Cast, Column, Token
from immuta_spark.masks import MaskContext, MaskResult
from immuta_spark.model import ReversibleMask

__all__ = ["AAD", "BUCKET", "IV_BYTES", "TokenKeys", "build", "detokenize", "token_keys", "tokenize"]

#: Additional authenticated data: the construction and its version.
AAD = b"immuta-spark reversible v1"
#: Token lengths reveal the value's length only to this many bytes.
BUCKET = 16
#: The synthetic IV's length (GCM's standard nonce).
IV_BYTES = 12
_BLOCK = 64  # SHA-256's block, for HMAC's pads


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The keys of one source's tokens: AES-256 for GCM, and HMAC's key as its inner and outer pads."""

    enc: bytes
    mac: bytes

    @property
    def inner(self) -> bytes:
        """``k_mac XOR ipad`` (HMAC's inner block), so that HMAC is two native ``sha2`` calls."""
        return bytes(b ^ 0x36 for b in self.mac.ljust(_BLOCK, b"\0"))

    @property
    def outer(self) -> bytes:
        """``k_mac XOR opad`` (HMAC's outer block)."""
        return bytes(b ^ 0x5C for b in self.mac.ljust(_BLOCK, b"\0"))

    def __repr__(self) -> str:  # keys are never printed
        return "TokenKeys(<secret>)"


def token_keys(secret: bytes) -> TokenKeys:
    """The two keys derived from a source's ``token_key`` secret (HKDF-SHA256, distinct info strings)."""

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

    return TokenKeys(enc=derive(AAD + b" enc"), mac=derive(AAD + b" mac"))


def _pad(data: bytes) -> bytes:
    return data + b"\x80" + b"\0" * (BUCKET - 1 - len(data) % BUCKET)


def tokenize(value: str, keys: TokenKeys) -> str:
    """The token of ``value`` (what the Spark layer computes natively)."""
    padded = _pad(value.encode("utf-8"))
    iv = hmac.new(keys.mac, padded, hashlib.sha256).digest()[:IV_BYTES]
    return base64.b64encode(iv + AESGCM(keys.enc).encrypt(iv, padded, AAD)).decode("ascii")


def detokenize(token: str, keys: TokenKeys) -> str:
    """The value behind ``token``; :class:`TokenError` when the token is not this key's."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        iv, body = raw[:IV_BYTES], raw[IV_BYTES:]
        padded = AESGCM(keys.enc).decrypt(iv, body, AAD)
    except (ValueError, UnicodeEncodeError, InvalidTag):
        raise TokenError(
            "this token was not made by this source's reversible mask (altered, or of another source); "
            "copy the token exactly as the masked column shows it"
        ) from None
    if not hmac.compare_digest(hmac.new(keys.mac, padded, hashlib.sha256).digest()[:IV_BYTES], iv):
        raise TokenError("this token's synthetic IV does not match its value: it was forged; nothing is revealed")
    return padded[: padded.rindex(b"\x80")].decode("utf-8")


def build(mask: ReversibleMask, ctx: MaskContext) -> MaskResult:
    """A keyed token of the value as a string (executed by the Spark layer)."""
    return MaskResult(Token(Cast(Column(ctx.column), "string"), ctx.token_key), "string")
