"""Canonical ids: a short type prefix and a ULID (sortable, unique, URL-safe)."""

from __future__ import annotations

from typing import Literal

from ulid import ULID

Kind = Literal["customer", "product", "price", "quote", "order", "invoice", "payment"]

PREFIXES: dict[Kind, str] = {
    "customer": "cus",
    "product": "prd",
    "price": "prc",
    "quote": "quo",
    "order": "ord",
    "invoice": "inv",
    "payment": "pay",
}
KINDS_BY_PREFIX: dict[str, Kind] = {prefix: kind for kind, prefix in PREFIXES.items()}


def new_id(kind: Kind) -> str:
    return f"{PREFIXES[kind]}_{ULID()}"


def kind_of(canonical_id: str) -> Kind | None:
    prefix, _, body = canonical_id.partition("_")
    if len(body) != 26:
        return None
    return KINDS_BY_PREFIX.get(prefix)
