"""What invoicing and payments need from the billing system (Stripe, or another)."""

from __future__ import annotations

from typing import Protocol

import msgspec

from contracts.v1.common import Address
from domains.invoice.records import InvoiceStatus
from domains.paging import Page
from domains.payment.records import PaymentStatus


class BillingParty(msgspec.Struct, frozen=True, kw_only=True):
    canonical_id: str  # the canonical customer id, kept on the billing customer
    name: str
    country: str
    tax_id: str | None = None
    email: str | None = None
    address: Address | None = None
    currency: str | None = None


class InvoiceLineDraft(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    sku: str | None
    quantity: str  # decimal string
    amount: str  # the line's total in major units, decimal string (exact)


class InvoiceDraft(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str  # canonical; every write derives its vendor idempotency key from it
    order_id: str
    account: str  # the billing system's customer id
    currency: str
    lines: list[InvoiceLineDraft]
    tax: str  # total tax in major units (from the tax engine), a separate line
    tax_document: str  # the tax engine's document code, for reconciliation
    days_until_due: int = 30


class InvoiceRecord(msgspec.Struct, frozen=True, kw_only=True):
    system_id: str
    number: str | None
    status: InvoiceStatus
    account: str
    currency: str
    subtotal: str  # major units, decimal strings
    tax: str
    total: str
    amount_due: str
    amount_paid: str
    amount_remaining: str
    invoice_id: str | None = None  # the canonical id kept in the vendor's metadata
    order_id: str | None = None
    due_date: str | None = None  # YYYY-MM-DD
    created_at: str | None = None


class PaymentRecord(msgspec.Struct, frozen=True, kw_only=True):
    system_id: str
    invoice_system_id: str | None
    status: PaymentStatus
    currency: str
    amount: str  # major units
    amount_refunded: str = "0"
    payment_id: str | None = None  # the canonical id kept in the vendor's metadata
    failure_message: str | None = None
    created_at: str | None = None


class PaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str  # canonical; the vendor idempotency key derives from it
    invoice_system_id: str
    account: str
    amount: str  # major units
    currency: str
    payment_method: str  # a vendor payment-method token, e.g. "pm_card_visa"


class InvoicePaid(msgspec.Struct, frozen=True, kw_only=True):
    """The billing system reports an invoice paid in full (a webhook event)."""

    system: str
    event_id: str  # the vendor's event id: consumers dedupe on it
    invoice_system_id: str
    amount_paid: str  # major units
    currency: str
    invoice_id: str | None = None  # the canonical id kept in the vendor's metadata
    paid_at: str | None = None  # RFC 3339


class PaymentReceived(msgspec.Struct, frozen=True, kw_only=True):
    """The billing system reports money collected (a webhook event)."""

    system: str
    event_id: str
    payment_system_id: str
    amount: str  # major units, what was received
    currency: str
    payment_id: str | None = None  # the canonical id kept in the vendor's metadata
    invoice_system_id: str | None = None
    received_at: str | None = None


class PaymentFailed(msgspec.Struct, frozen=True, kw_only=True):
    """The billing system reports a payment attempt that failed (a webhook event)."""

    system: str
    event_id: str
    payment_system_id: str
    amount: str
    currency: str
    payment_id: str | None = None
    invoice_system_id: str | None = None
    failure_message: str | None = None
    failed_at: str | None = None


BillingEvent = InvoicePaid | PaymentReceived | PaymentFailed


class BillingSystem(Protocol):
    system: str

    async def find_account(self, party: BillingParty) -> str | None:
        """The billing customer already created for this canonical customer, if any."""
        ...

    async def create_account(self, party: BillingParty) -> str: ...

    async def find_invoice(self, invoice_id: str, account: str) -> InvoiceRecord | None:
        """The invoice an earlier attempt created for this canonical invoice id."""
        ...

    async def create_draft_invoice(self, draft: InvoiceDraft) -> InvoiceRecord:
        """Create the invoice with every line and the tax line, as a draft (nothing owed
        yet). Each write carries a vendor idempotency key derived from draft.invoice_id,
        and an earlier attempt's draft is found and completed, so a retry after any
        failure creates nothing twice."""
        ...

    async def finalize_invoice(self, draft: InvoiceDraft, system_id: str) -> InvoiceRecord:
        """Set the tax line to ``draft.tax`` (the committed tax) and finalise the draft
        ``system_id`` (status open: the customer owes it). Finalising an invoice that is
        final already returns it."""
        ...

    async def get_invoice(self, system_id: str) -> InvoiceRecord | None: ...

    async def list_invoices(self, account: str, offset: int, limit: int) -> Page[InvoiceRecord]: ...

    async def collect_payment(self, request: PaymentRequest) -> PaymentRecord:
        """Charge the amount with the payment method (a PaymentIntent) and, when it
        succeeds, settle the invoice. A declined card is a PaymentRecord with status
        "failed" and a failure_message, not an exception."""
        ...

    async def get_payment(self, system_id: str) -> PaymentRecord | None: ...

    async def refund(
        self, payment_system_id: str, amount: str | None, idempotency_key: str
    ) -> PaymentRecord:
        """Refund all (amount None) or part of a payment; returns the updated payment."""
        ...
