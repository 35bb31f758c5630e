"""Signed inbound events: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``.

The scheme Stripe uses for ``Stripe-Signature``, and the one the gateway asks the
CRM to use for ``X-Q2C-Signature`` (one shared secret per sender). Several ``v1``
values are accepted (secret rotation); the timestamp must be within the tolerance
either way, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time


class BadSignature(Exception):
    pass


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def verify(payload: bytes, header: str | None, secret: str, tolerance_s: int = 300) -> int:
    """The signed timestamp when ``header`` signs ``payload`` with ``secret``."""
    if not header or not secret:
        raise BadSignature("missing signature")
    stamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            stamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if stamp is None or not candidates:
        raise BadSignature("malformed signature header")
    if abs(time.time() - stamp) > tolerance_s:
        raise BadSignature("signature timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise BadSignature("signature does not match")
    return stamp
