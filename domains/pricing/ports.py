"""What pricing needs from the system that keeps price books (the CRM / CPQ)."""

from __future__ import annotations

from typing import Protocol

import msgspec

from domains.positions import PositionedPage


class PriceRecord(msgspec.Struct, frozen=True, kw_only=True):
    system_id: str
    sku: str
    price_list: str
    unit_price: str  # exact decimal string
    currency: str
    active: bool = True


class PriceQuery(msgspec.Struct, frozen=True, kw_only=True):
    sku: str | None = None
    price_list: str | None = None
    currency: str | None = None


class PriceBook(Protocol):
    system: str

    async def list_prices(
        self, query: PriceQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[PriceRecord]:
        """Up to ``limit`` prices after the position ``after`` (or from the start),
        ``offset`` records further on (see :mod:`domains.positions`)."""
        ...
