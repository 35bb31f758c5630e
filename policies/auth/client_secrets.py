"""Hashed client secrets for the built-in issuer: scrypt (default) or PBKDF2-SHA256.

Encoded as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` or
``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` (standard base64, no
padding), so a config file never holds a secret, only its salted hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

_SCRYPT_MAX_MEMORY = 64 * 1024 * 1024  # 128 * n * r bytes; bounds a hostile config
_DKLEN = 32


@dataclass(frozen=True, slots=True)
class SecretHash:
    scheme: str
    salt: bytes
    digest: bytes
    n: int = 0
    r: int = 0
    p: int = 0
    iterations: int = 0

    def derive(self, secret: str) -> bytes:
        if self.scheme == "scrypt":
            return hashlib.scrypt(
                secret.encode(), salt=self.salt, n=self.n, r=self.r, p=self.p,
                dklen=len(self.digest), maxmem=_SCRYPT_MAX_MEMORY + 1024 * 1024,
            )
        return hashlib.pbkdf2_hmac(
            "sha256", secret.encode(), self.salt, self.iterations, dklen=len(self.digest)
        )


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_secret(
    secret: str, *, scheme: str = "scrypt", n: int = 2**14, r: int = 8, p: int = 1,
    iterations: int = 600_000,
) -> str:
    """Salted hash of a client secret, in the encoding ``secret_hash`` expects."""
    if not secret:
        raise ValueError("the client secret must not be empty")
    salt = os.urandom(16)
    if scheme == "scrypt":
        spec = SecretHash("scrypt", salt, b"\0" * _DKLEN, n=n, r=r, p=p)
        _check(spec)
        return f"scrypt${n}${r}${p}${_b64encode(salt)}${_b64encode(spec.derive(secret))}"
    if scheme == "pbkdf2_sha256":
        spec = SecretHash("pbkdf2_sha256", salt, b"\0" * _DKLEN, iterations=iterations)
        _check(spec)
        return f"pbkdf2_sha256${iterations}${_b64encode(salt)}${_b64encode(spec.derive(secret))}"
    raise ValueError(f"unknown secret hash scheme {scheme!r} (scrypt or pbkdf2_sha256)")


def parse_secret_hash(encoded: str) -> SecretHash:
    """Decode and bound-check an encoded hash; ValueError says what is wrong."""
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            spec = SecretHash("scrypt", _b64decode(parts[4]), _b64decode(parts[5]),
                              n=int(parts[1]), r=int(parts[2]), p=int(parts[3]))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            spec = SecretHash("pbkdf2_sha256", _b64decode(parts[2]), _b64decode(parts[3]),
                              iterations=int(parts[1]))
        else:
            raise ValueError(
                "expected scrypt$<n>$<r>$<p>$<salt>$<hash> or "
                "pbkdf2_sha256$<iterations>$<salt>$<hash>"
            )
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"malformed secret hash: {exc}") from None
    _check(spec)
    return spec


def _check(spec: SecretHash) -> None:
    if len(spec.salt) < 8:
        raise ValueError("secret hash salt must be at least 8 bytes")
    if len(spec.digest) < 16:
        raise ValueError("secret hash digest must be at least 16 bytes")
    if spec.scheme == "scrypt":
        if spec.n < 2**10 or spec.n & (spec.n - 1):
            raise ValueError("scrypt n must be a power of two >= 1024")
        if not 1 <= spec.r <= 32 or not 1 <= spec.p <= 16:
            raise ValueError("scrypt r must be 1-32 and p 1-16")
        if 128 * spec.n * spec.r > _SCRYPT_MAX_MEMORY:
            raise ValueError("scrypt n * r needs more than 64 MiB per check")
    elif not 10_000 <= spec.iterations <= 10_000_000:
        raise ValueError("pbkdf2 iterations must be 10000-10000000")


def verify_secret(secret: str, spec: SecretHash | str) -> bool:
    """Constant-time check of ``secret`` against its stored hash (CPU-heavy: call off-loop)."""
    parsed = parse_secret_hash(spec) if isinstance(spec, str) else spec
    return hmac.compare_digest(parsed.derive(secret), parsed.digest)
