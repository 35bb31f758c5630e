"""Canonical ids: a short type prefix and a ULID (sortable, unique, URL-safe)."""

from __future__ import annotations

import hashlib
from typing import Literal

from ulid import ULID

Kind = Literal[
    "customer",
    "product",
    "price",
    "quote",
    "order",
    "invoice",
    "payment",
    "transaction",
    "exception",
    "event",
]

PREFIXES: dict[Kind, str] = {
    "customer": "cus",
    "product": "prd",
    "price": "prc",
    "quote": "quo",
    "order": "ord",
    "invoice": "inv",
    "payment": "pay",
    # The quote-to-cash transaction, its exceptions and its events.
    "transaction": "txn",
    "exception": "exc",
    "event": "evt",
}
KINDS_BY_PREFIX: dict[str, Kind] = {prefix: kind for kind, prefix in PREFIXES.items()}


def new_id(kind: Kind) -> str:
    return f"{PREFIXES[kind]}_{ULID()}"


def derived_id(kind: Kind, *parts: str) -> str:
    """A canonical id fixed by its inputs: every retry of one request gets the same id.

    Used for orders submitted under an Idempotency-Key, so that a retry after a
    crash looks up the ERP order the first attempt may have created.
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
    return f"{PREFIXES[kind]}_{ULID.from_bytes(digest)}"


def kind_of(canonical_id: str) -> Kind | None:
    prefix, _, body = canonical_id.partition("_")
    if len(body) != 26:
        return None
    return KINDS_BY_PREFIX.get(prefix)
