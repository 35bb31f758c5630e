"""What the quote domain needs from the CRM / CPQ that owns quotes."""

from __future__ import annotations

from typing import Protocol

import msgspec

from domains.positions import PositionedPage
from domains.quote.records import QuoteStatus


class QuoteLineRecord(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    sku: str | None
    description: str
    quantity: str
    unit_price: str
    discount_percent: str
    total: str


class QuoteRecord(msgspec.Struct, frozen=True, kw_only=True):
    system_id: str
    number: str
    name: str
    status: QuoteStatus
    account_id: str | None  # the customer's id in the same system
    currency: str
    valid_until: str | None = None
    lines: list[QuoteLineRecord] = []
    subtotal: str = "0"
    total: str = "0"
    created_at: str | None = None
    updated_at: str | None = None


class QuoteQuery(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str | None = None
    status: QuoteStatus | None = None


class QuoteProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far the quote-to-cash transaction has taken an accepted quote, for the CRM to
    show where sales works. An empty field is not known yet: writing it back leaves what
    the CRM holds, so progress only ever moves forward."""

    transaction_id: str
    order_number: str = ""
    invoice_number: str = ""
    payment_status: str = ""
    stage: str = ""


class QuoteSource(Protocol):
    system: str

    async def list_quotes(
        self, query: QuoteQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[QuoteRecord]:
        """Quote headers after the position ``after`` (or from the start), ``offset``
        records further on (see :mod:`domains.positions`); ``lines`` may be left empty
        in lists."""
        ...

    async def get_quote(self, system_id: str) -> QuoteRecord | None:
        """One quote with all its lines."""
        ...

    async def write_back(self, quote_system_id: str, progress: QuoteProgress) -> None:
        """Record ``progress`` on the quote (and on its opportunity while the quote is
        the one syncing with it). Idempotent: the same progress twice changes nothing."""
        ...
