"""The customer as the gateway knows it: one canonical record over the systems
that hold it."""

from __future__ import annotations

import msgspec

from contracts.v1.common import Address, ExternalReference


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, cus_...
    name: str
    country: str
    tax_id: str | None = None
    website: str | None = None
    industry: str | None = None
    phone: str | None = None
    address: Address | None = None
    legal_entity: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    external_references: list[ExternalReference] = []
