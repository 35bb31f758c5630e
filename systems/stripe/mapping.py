"""Canonical <-> Stripe: money in minor units, statuses, and the request bodies.

Canonical amounts are exact decimal strings in major units ("12.50"); Stripe's are
integers in the currency's minor unit as Stripe defines it (which is not always ISO
4217's: see ``minor_unit_exponent``). A conversion either is exact or refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.v1.billing import InvoiceStatus, PaymentStatus
from domains.invoice.ports import (
    BillingParty,
    InvoiceDraft,
    InvoiceLineDraft,
    InvoiceRecord,
    PaymentRecord,
    PaymentRequest,
)
from systems.stripe.client import Charge, Invoice, InvoiceLine, PaymentIntent

# Stripe's currency rules (https://docs.stripe.com/currencies): amounts are whole units
# in these "zero-decimal" currencies ...
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# ... thousandths in these, whose last digit must be 0 (Stripe's rounding rule for its
# payment partners: 5.124 KWD must be sent as 5120, i.e. rounded to 5.120 by the caller) ...
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# ... and cents everywhere else, with ISK a special case: two decimals on the wire but
# only whole krónur can be charged (amounts divisible by 100).
_WHOLE_UNITS_IN_CENTS = frozenset({"ISK"})
# Far above any Stripe amount (8 digits for a charge); refuses "1e999999" before computing it.
_MAX_DIGITS = 18

# Metadata keys the gateway writes and reads back (keys <= 40 chars, values <= 500).
CUSTOMER_KEY = "q2c_customer_id"
TAX_ID_KEY = "q2c_tax_id"
INVOICE_KEY = "q2c_invoice_id"
ORDER_KEY = "q2c_order_id"
TAX_DOCUMENT_KEY = "q2c_tax_document"
LINE_KEY = "q2c_line"  # "1", "2", ... per draft line; "tax" for the tax line
TAX_LINE = "tax"
PAYMENT_KEY = "q2c_payment_id"
PAYMENT_INVOICE_KEY = "q2c_invoice"
TRANSACTION_KEY = "q2c_transaction_id"  # the quote-to-cash transaction, when in one
REFUND_KEY = "q2c_refund_key"

INVOICE_STATUS: dict[str, InvoiceStatus] = {
    "draft": "draft",
    "open": "open",
    "paid": "paid",
    "void": "void",
    "uncollectible": "uncollectible",
}


# --------------------------------------------------------------------- money


def minor_unit_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor(amount: str | Decimal, currency: str) -> int:
    """``"12.50" EUR`` -> ``1250``; ``"1200" JPY`` -> ``1200``; ``"1.230" KWD`` -> ``1230``.

    Raises ValueError for anything Stripe cannot take exactly: a fraction of the minor
    unit (``"12.505" EUR``, ``"1200.5" JPY``), a three-decimal amount whose last digit is
    not 0 (``"1.234" KWD``), a fraction of a króna, or text that is not a finite number.
    Nothing is ever rounded here.
    """
    code = currency.upper()
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a finite amount")
    # Integer arithmetic on the digits: Decimal.scaleb would round past 28 digits.
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + minor_unit_exponent(code)
    if coefficient and len(digits) + shift > _MAX_DIGITS:
        raise ValueError(f"{value} {code} is too large for Stripe")
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        minor = coefficient * scale
    else:
        minor, rest = divmod(coefficient, scale)
        if rest:
            raise ValueError(
                f"{value} {code} is not a whole number of minor units "
                f"({minor_unit_exponent(code)} decimals in Stripe)"
            )
    minor = -minor if sign else minor
    if code in THREE_DECIMAL_CURRENCIES and minor % 10:
        raise ValueError(
            f"{value} {code}: Stripe takes three-decimal amounts only with a last digit of 0 "
            "(round to 0.010 first)"
        )
    if code in _WHOLE_UNITS_IN_CENTS and minor % 100:
        raise ValueError(f"{value} {code}: Stripe charges whole units of {code} only")
    return minor


def from_minor(amount: int, currency: str) -> str:
    """``1250, "eur"`` -> ``"12.50"``; ``1200, "jpy"`` -> ``"1200"``; ``1230, "kwd"`` ->
    ``"1.230"``: exact, with the currency's decimals."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"Stripe amounts are integers, not {amount!r}")
    return format(Decimal(amount).scaleb(-minor_unit_exponent(currency)), "f")


def stripe_currency(currency: str) -> str:
    return currency.lower()


def canonical_currency(currency: str) -> str:
    return currency.upper()


# ---------------------------------------------------------------------- time


def timestamp(epoch: int | None) -> str | None:
    """Unix seconds -> RFC 3339 UTC (``2026-01-05T09:00:00Z``)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar_date(epoch: int | None) -> str | None:
    """Unix seconds -> the UTC calendar date (``2026-02-04``)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


# ------------------------------------------------------------------ invoices


def invoice_status(status: str | None) -> InvoiceStatus:
    """Stripe's invoice status (``None`` only on invoices before finalisation in old API
    versions, so: draft)."""
    if status is None:
        return "draft"
    try:
        return INVOICE_STATUS[status]
    except KeyError:
        raise ValueError(f"unknown Stripe invoice status {status!r}") from None


def tax_of(invoice: Invoice, lines: list[InvoiceLine]) -> tuple[int, int]:
    """(tax from our tax line, tax Stripe computed itself in ``total_taxes``)."""
    tax_line = sum(line.amount for line in lines if line.metadata.get(LINE_KEY) == TAX_LINE)
    stripe_tax = sum(tax.amount for tax in invoice.total_taxes or ())
    return tax_line, stripe_tax


def to_invoice_record(invoice: Invoice, lines: list[InvoiceLine] | None = None) -> InvoiceRecord:
    """``lines`` must be every line of the invoice when it has more than the embedded
    page (the tax line may be anywhere)."""
    lines = invoice.lines.data if lines is None else lines
    currency = invoice.currency
    tax_line, stripe_tax = tax_of(invoice, lines)
    excluding_tax = (
        invoice.total_excluding_tax
        if invoice.total_excluding_tax is not None
        else invoice.total - stripe_tax
    )
    return InvoiceRecord(
        system_id=invoice.id,
        number=invoice.number,
        status=invoice_status(invoice.status),
        account=invoice.customer_id,
        currency=canonical_currency(currency),
        subtotal=from_minor(excluding_tax - tax_line, currency),
        tax=from_minor(tax_line + stripe_tax, currency),
        total=from_minor(invoice.total, currency),
        amount_due=from_minor(invoice.amount_due, currency),
        amount_paid=from_minor(invoice.amount_paid, currency),
        amount_remaining=from_minor(invoice.amount_remaining, currency),
        invoice_id=invoice.metadata.get(INVOICE_KEY) or None,
        order_id=invoice.metadata.get(ORDER_KEY) or None,
        due_date=calendar_date(invoice.due_date),
        created_at=timestamp(invoice.created),
    )


def customer_params(party: BillingParty) -> dict[str, Any]:
    address = party.address
    fields = {
        "line1": address.street if address else "",
        "city": address.city if address else "",
        "postal_code": address.postal_code if address else "",
        "country": address.country if address else party.country,
    }
    return {
        "name": party.name,
        "email": party.email or None,
        "address": {k: v for k, v in fields.items() if v},
        "metadata": {CUSTOMER_KEY: party.canonical_id, TAX_ID_KEY: party.tax_id or None},
    }


def _in_transaction(metadata: dict[str, Any], transaction_id: str | None) -> dict[str, Any]:
    """``metadata`` plus the quote-to-cash transaction's id when the call is part of one."""
    return {**metadata, TRANSACTION_KEY: transaction_id} if transaction_id else metadata


def invoice_params(draft: InvoiceDraft, transaction_id: str | None = None) -> dict[str, Any]:
    return {
        "customer": draft.account,
        "currency": stripe_currency(draft.currency),
        "collection_method": "send_invoice",
        "days_until_due": draft.days_until_due,
        # Only the items added below, never other pending items of the customer.
        "pending_invoice_items_behavior": "exclude",
        "auto_advance": False,
        "metadata": _in_transaction(
            {
                INVOICE_KEY: draft.invoice_id,
                ORDER_KEY: draft.order_id,
                TAX_DOCUMENT_KEY: draft.tax_document,
            },
            transaction_id,
        ),
    }


def line_description(line: InvoiceLineDraft) -> str:
    """``Widget Pro (qty 3, SKU WID-PRO)``: Stripe shows the description on the invoice;
    a fixed-amount item has no quantity of its own."""
    detail = f"qty {line.quantity}" + (f", SKU {line.sku}" if line.sku else "")
    return f"{line.description} ({detail})"


def line_item_params(
    draft: InvoiceDraft, invoice_system_id: str, number: int, amount: int
) -> dict[str, Any]:
    line = draft.lines[number - 1]
    return {
        "customer": draft.account,
        "invoice": invoice_system_id,
        "currency": stripe_currency(draft.currency),
        "amount": amount,
        "description": line_description(line),
        "metadata": {
            INVOICE_KEY: draft.invoice_id,
            LINE_KEY: str(number),
            "sku": line.sku or None,
            "quantity": line.quantity,
        },
    }


def tax_item_params(draft: InvoiceDraft, invoice_system_id: str, amount: int) -> dict[str, Any]:
    return {
        "customer": draft.account,
        "invoice": invoice_system_id,
        "currency": stripe_currency(draft.currency),
        "amount": amount,
        "description": "Tax",
        "metadata": {
            INVOICE_KEY: draft.invoice_id,
            LINE_KEY: TAX_LINE,
            TAX_DOCUMENT_KEY: draft.tax_document,
        },
    }


# ------------------------------------------------------------------ payments


def payment_intent_params(
    request: PaymentRequest,
    amount: int,
    *,
    look_alike: bool = False,
    transaction_id: str | None = None,
) -> dict[str, Any]:
    """The PaymentIntent create body for the pinned API version (2026-10-28.endive).

    ``look_alike``: for a Stripe look-alike serving an API from before 2026-09-30.endive
    (localstripe), which refuses ``description`` and ``allowed_payment_method_types``."""
    invoice = request.invoice_system_id or None
    return {
        "amount": amount,
        "currency": stripe_currency(request.currency),
        "customer": request.account,
        "payment_method": request.payment_method,
        # Cards only: no redirect-based methods, so no return_url is needed to confirm.
        # Since 2026-09-30.endive this is ``allowed_payment_method_types``: Stripe refuses
        # the former ``payment_method_types`` (payment_method_types_no_longer_supported).
        "allowed_payment_method_types": None if look_alike else ["card"],
        "confirm": True,
        "metadata": _in_transaction(
            {PAYMENT_KEY: request.payment_id, PAYMENT_INVOICE_KEY: invoice}, transaction_id
        ),
        "description": (
            None
            if look_alike
            else (f"Invoice {invoice}" if invoice else "Payment") + f" ({request.payment_id})"
        ),
        "expand": ["latest_charge"],
    }


def payment_status(
    status: str,
    *,
    declined: bool,
    amount_captured: int,
    amount_refunded: int,
) -> PaymentStatus:
    """A PaymentIntent's status (and its charge's refunds) -> the canonical status.

    ``requires_payment_method`` is where Stripe leaves an intent after a decline (then
    ``last_payment_error`` is set: failed) and where a fresh intent starts (pending).
    """
    if status == "succeeded":
        if amount_refunded <= 0:
            return "succeeded"
        return "refunded" if amount_refunded >= amount_captured else "partially_refunded"
    if status == "canceled":
        return "failed"
    if status == "requires_payment_method" and declined:
        return "failed"
    return "pending"


def to_payment_record(intent: PaymentIntent) -> PaymentRecord:
    """``latest_charge`` should be expanded: refunds are counted on the charge."""
    charge = intent.latest_charge if isinstance(intent.latest_charge, Charge) else None
    refunded = charge.amount_refunded if charge is not None else 0
    captured = charge.amount if charge is not None and charge.amount else intent.amount
    error = intent.last_payment_error
    status = payment_status(
        intent.status,
        declined=error is not None,
        amount_captured=captured,
        amount_refunded=refunded,
    )
    message = None
    if status == "failed":
        if error is not None and error.message:
            message = error.message
        elif intent.status == "canceled":
            reason = intent.cancellation_reason
            message = "The payment was canceled" + (f" ({reason})." if reason else ".")
        else:
            message = "The payment failed."
    return PaymentRecord(
        system_id=intent.id,
        invoice_system_id=intent.metadata.get(PAYMENT_INVOICE_KEY) or None,
        status=status,
        currency=canonical_currency(intent.currency),
        amount=from_minor(intent.amount, intent.currency),
        amount_refunded=from_minor(refunded, intent.currency),
        payment_id=intent.metadata.get(PAYMENT_KEY) or None,
        failure_message=message,
        created_at=timestamp(intent.created),
    )
