"""Invoices (TMF678) and payments: owned by the billing system."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import (
    CalendarDate,
    Cursor,
    CustomerId,
    ExternalReference,
    InvoiceId,
    Money,
    OrderId,
    PaymentId,
    Timestamp,
)

InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]
PaymentStatus = Literal["pending", "succeeded", "failed", "refunded", "partially_refunded"]


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    id: InvoiceId
    number: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    status: InvoiceStatus
    customer_id: CustomerId
    order_id: OrderId | None = None
    amount_due: Money
    amount_remaining: Money
    tax: Money
    total: Money
    due_date: CalendarDate | None = None
    created_at: Timestamp | None = None
    external_references: list[ExternalReference] = []


class InvoicePage(msgspec.Struct, frozen=True, kw_only=True):
    data: list[Invoice]
    next_cursor: Cursor | None = None


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: PaymentId
    invoice_id: InvoiceId
    status: PaymentStatus
    amount: Money
    amount_refunded: Money | None = None
    created_at: Timestamp | None = None
    external_references: list[ExternalReference] = []


class PaymentPage(msgspec.Struct, frozen=True, kw_only=True):
    data: list[Payment]
    next_cursor: Cursor | None = None
