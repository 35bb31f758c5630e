"""Quotes (TMF648 states, simplified): mastered in the CRM / CPQ."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import (
    MAX_PAGE_SIZE,
    CalendarDate,
    CurrencyCode,
    Cursor,
    CustomerId,
    DecimalString,
    ExternalReferences,
    Money,
    ProductId,
    QuoteId,
    Timestamp,
)
from contracts.v1.products import Sku

QuoteStatus = Literal["pending", "in_progress", "approved", "accepted", "rejected", "cancelled"]


class QuoteLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    product_id: ProductId | None
    sku: Sku | None
    description: Annotated[str, msgspec.Meta(max_length=255)] = ""
    quantity: DecimalString
    unit_price: Money
    discount_percent: DecimalString
    total: Money


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    id: QuoteId
    number: Annotated[str, msgspec.Meta(max_length=40)]
    name: Annotated[str, msgspec.Meta(max_length=255)]
    status: QuoteStatus
    customer_id: CustomerId | None
    currency: CurrencyCode
    valid_until: CalendarDate | None = None
    lines: Annotated[list[QuoteLine], msgspec.Meta(max_length=1000)] = []
    subtotal: Money
    total: Money
    # Single-quote reads add the tax engine's estimate for the customer's address;
    # lists leave them out (one tax call per quote would make lists slow).
    tax: Annotated[Money | None, msgspec.Meta(description="Estimated tax")] = None
    total_with_tax: Money | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    external_references: ExternalReferences = []


class QuotePage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Quote], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None
