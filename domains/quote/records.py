"""A quote as the gateway knows it (mastered in the CRM / CPQ)."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.v1.common import ExternalReference, Money

QuoteStatus = Literal["pending", "in_progress", "approved", "accepted", "rejected", "cancelled"]


class QuoteLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    product_id: str | None
    sku: str | None
    description: str = ""
    quantity: str  # decimal string
    unit_price: Money
    discount_percent: str
    total: Money


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, quo_...
    number: str
    name: str
    status: QuoteStatus
    customer_id: str | None
    currency: str
    valid_until: str | None = None
    lines: list[QuoteLine] = []
    subtotal: Money
    total: Money
    # The tax engine's estimate, on single-quote reads only.
    tax: Money | None = None
    total_with_tax: Money | None = None
    created_at: str | None = None
    updated_at: str | None = None
    external_references: list[ExternalReference] = []
