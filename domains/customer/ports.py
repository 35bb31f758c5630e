"""What the customer domain needs from the system that masters customers."""

from __future__ import annotations

from typing import Protocol

import msgspec

from contracts.v1.common import Address
from contracts.v1.customers import CustomerCreate, CustomerUpdate
from domains.positions import PositionedPage


class CustomerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as the owning system holds it, keyed by that system's id."""

    system_id: str
    name: str
    country: str
    tax_id: str | None = None
    website: str | None = None
    industry: str | None = None
    phone: str | None = None
    address: Address | None = None
    legal_entity: str | None = None
    canonical_id: str | None = None  # the external id field, when the system keeps one
    created_at: str | None = None
    updated_at: str | None = None


class CustomerQuery(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    country: str | None = None
    tax_id: str | None = None


class IdentityProbe(msgspec.Struct, frozen=True, kw_only=True):
    """What identity matching asks the master for: every plausible twin."""

    tax_ids: list[str]
    name_prefix: str
    country: str
    domain: str | None


class CustomerMaster(Protocol):
    system: str

    async def list_customers(
        self, query: CustomerQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[CustomerRecord]:
        """Up to ``limit`` customers, resuming after the position ``after`` (or at the
        start), ``offset`` records further on. Deep lists page by ``after``; see
        :mod:`domains.positions`."""
        ...

    async def get_customer(self, system_id: str) -> CustomerRecord | None: ...

    async def find_candidates(self, probe: IdentityProbe) -> list[CustomerRecord]: ...

    async def create_customer(self, canonical_id: str, data: CustomerCreate) -> CustomerRecord:
        """Create idempotently: a retry with the same canonical id finds the first record."""
        ...

    async def update_customer(self, system_id: str, changes: CustomerUpdate) -> CustomerRecord: ...
