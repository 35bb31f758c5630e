"""An invoice as the gateway knows it (owned by the billing system)."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.v1.common import ExternalReference, Money

InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, inv_...
    number: str | None = None
    status: InvoiceStatus
    customer_id: str | None
    order_id: str | None = None
    amount_due: Money
    amount_remaining: Money
    tax: Money
    total: Money
    due_date: str | None = None
    created_at: str | None = None
    external_references: list[ExternalReference] = []
