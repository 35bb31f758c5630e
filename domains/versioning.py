"""Representation versions for optimistic concurrency (ETag / If-Match)."""

from __future__ import annotations

import hashlib

import msgspec

from domains.errors import PreconditionFailed, PreconditionRequired

_encoder = msgspec.json.Encoder(order="deterministic")


def version_tag(representation: msgspec.Struct) -> str:
    """A strong validator: changes whenever any member of the representation does."""
    return hashlib.blake2b(_encoder.encode(representation), digest_size=12).hexdigest()


def check_precondition(current: str, expected: list[str] | None) -> None:
    """Lost-update guard: ``expected`` is the parsed If-Match list (``*`` matches any)."""
    if expected is None:
        raise PreconditionRequired(
            "This update needs an If-Match header carrying the ETag from a recent GET.",
            code="IF_MATCH_REQUIRED",
        )
    if "*" in expected or current in expected:
        return
    raise PreconditionFailed(
        "The resource changed since it was read; GET it again and retry with the new ETag.",
        code="ETAG_MISMATCH",
    )
