"""Invoices (TMF678) and payments: owned by the billing system."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import (
    MAX_PAGE_SIZE,
    CalendarDate,
    Cursor,
    CustomerId,
    ExternalReferences,
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
    customer_id: CustomerId | None
    order_id: OrderId | None = None
    amount_due: Money
    amount_remaining: Money
    tax: Money
    total: Money
    due_date: CalendarDate | None = None
    created_at: Timestamp | None = None
    external_references: ExternalReferences = []


class InvoicePage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Invoice], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None


class InvoiceCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Invoice an order in full: its lines, plus tax from the tax engine."""

    order_id: OrderId
    days_until_due: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: PaymentId
    invoice_id: InvoiceId | None
    status: PaymentStatus
    amount: Money
    amount_refunded: Money | None = None
    failure_reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    created_at: Timestamp | None = None
    external_references: ExternalReferences = []


PaymentMethodToken = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^pm_[A-Za-z0-9_]{1,100}$",
        max_length=103,
        description="A payment-method token from the billing system's client-side SDK",
        examples=["pm_card_visa"],
    ),
]


class PaymentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Collect payment for an open invoice; without ``amount`` the remaining balance."""

    invoice_id: InvoiceId
    payment_method: PaymentMethodToken
    amount: Money | None = None


class RefundCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Refund a payment; without ``amount`` whatever is not yet refunded."""

    amount: Money | None = None


class PaymentPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Payment], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None
