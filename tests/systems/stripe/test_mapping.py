"""Canonical <-> Stripe mapping, field by field: money in minor units, statuses, bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts.v1.common import Address
from domains.invoice.ports import BillingParty, InvoiceDraft, InvoiceLineDraft, PaymentRequest
from systems.stripe.client import API_VERSION, Charge, Invoice, PaymentIntent
from systems.stripe.mapping import (
    calendar_date,
    customer_params,
    from_minor,
    invoice_params,
    invoice_status,
    line_item_params,
    minor_unit_exponent,
    payment_intent_params,
    payment_status,
    tax_item_params,
    timestamp,
    to_invoice_record,
    to_minor,
    to_payment_record,
)
from tests.sandboxes.stripe import conformance

# ------------------------------------------------------------------ minor units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "eur", 1250),
        ("0.01", "USD", 1),
        ("-3.20", "USD", -320),
        ("1000", "USD", 100000),
        ("1e3", "USD", 100000),
        ("0", "GBP", 0),
        ("12000", "JPY", 12000),
        ("12000.000", "jpy", 12000),
        ("1", "KRW", 1),
        ("999", "XOF", 999),
        ("1.230", "KWD", 1230),
        ("1.23", "BHD", 1230),
        ("0.010", "TND", 10),
        ("250", "ISK", 25000),
        (Decimal("19.99"), "CHF", 1999),
        ("123456789012.34", "EUR", 12345678901234),
    ],
)
def test_to_minor_is_exact(amount: str | Decimal, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("12.505", "EUR", "minor units"),
        ("0.001", "USD", "minor units"),
        ("1200.5", "JPY", "minor units"),
        ("0.1", "KRW", "minor units"),
        ("1.2345", "KWD", "minor units"),
        ("1.234", "KWD", "last digit of 0"),  # Stripe's rule for three-decimal currencies
        ("0.005", "OMR", "last digit of 0"),
        ("10.50", "ISK", "whole units"),
        ("abc", "EUR", "not a decimal"),
        ("", "EUR", "not a decimal"),
        ("1,50", "EUR", "not a decimal"),
        ("NaN", "EUR", "finite"),
        ("Infinity", "EUR", "finite"),
        ("1e999999", "EUR", "too large"),
        # Past Decimal's 28-digit context: must refuse, not round to a whole number.
        ("1234567890123456789012345678.9", "EUR", "too large"),
    ],
)
def test_to_minor_refuses_what_stripe_cannot_take_exactly(
    amount: str, currency: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        to_minor(amount, currency)


def test_to_minor_never_rounds_past_decimal_precision() -> None:
    with pytest.raises(ValueError, match="minor units"):
        to_minor("0.1234567890123456789012345678901", "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1250, "eur", "12.50"),
        (1, "usd", "0.01"),
        (0, "usd", "0.00"),
        (-5, "usd", "-0.05"),
        (100000, "USD", "1000.00"),
        (12000, "jpy", "12000"),
        (0, "JPY", "0"),
        (1230, "kwd", "1.230"),
        (10, "bhd", "0.010"),
        (25000, "isk", "250.00"),
    ],
)
def test_from_minor_is_exact(minor: int, currency: str, text: str) -> None:
    assert from_minor(minor, currency) == text
    assert to_minor(text, currency) == minor  # and it round-trips


@pytest.mark.parametrize("bad", [True, 1.5, "100"])
def test_from_minor_takes_integers_only(bad: Any) -> None:
    with pytest.raises(ValueError, match="integers"):
        from_minor(bad, "usd")


def test_exponents_follow_stripe_not_iso() -> None:
    assert [minor_unit_exponent(c) for c in ("JPY", "ugx", "KWD", "EUR", "ISK", "HUF")] == [
        0,
        0,
        3,
        2,
        2,
        2,
    ]


def test_times() -> None:
    assert timestamp(1767603600) == "2026-01-05T09:00:00Z"
    assert calendar_date(1767603600 + 30 * 86400) == "2026-02-04"
    assert timestamp(None) is None
    assert calendar_date(None) is None


# -------------------------------------------------------------------- statuses


@pytest.mark.parametrize("status", ["draft", "open", "paid", "void", "uncollectible"])
def test_invoice_statuses_map_one_to_one(status: str) -> None:
    assert invoice_status(status) == status


def test_invoice_status_none_is_draft_and_unknown_is_refused() -> None:
    assert invoice_status(None) == "draft"
    with pytest.raises(ValueError, match="deleted"):
        invoice_status("deleted")


@pytest.mark.parametrize(
    ("status", "declined", "captured", "refunded", "expected"),
    [
        ("succeeded", False, 1000, 0, "succeeded"),
        ("succeeded", False, 1000, 1, "partially_refunded"),
        ("succeeded", False, 1000, 999, "partially_refunded"),
        ("succeeded", False, 1000, 1000, "refunded"),
        ("requires_payment_method", True, 0, 0, "failed"),
        ("requires_payment_method", False, 0, 0, "pending"),
        ("canceled", False, 0, 0, "failed"),
        ("processing", False, 0, 0, "pending"),
        ("requires_action", False, 0, 0, "pending"),
        ("requires_confirmation", False, 0, 0, "pending"),
        ("requires_capture", False, 0, 0, "pending"),
    ],
)
def test_payment_status(
    status: str, declined: bool, captured: int, refunded: int, expected: str
) -> None:
    assert (
        payment_status(
            status, declined=declined, amount_captured=captured, amount_refunded=refunded
        )
        == expected
    )


# --------------------------------------------------------------------- records


def _invoice(**overrides: Any) -> Invoice:
    body: dict[str, Any] = {
        "id": "in_1",
        "customer": "cus_1",
        "currency": "eur",
        "status": "open",
        "number": "ABC-0001",
        "subtotal": 53546,
        "subtotal_excluding_tax": 53546,
        "total": 53546,
        "total_excluding_tax": 53546,
        "total_taxes": [],
        "amount_due": 53546,
        "amount_paid": 0,
        "amount_remaining": 53546,
        "due_date": 1767603600 + 30 * 86400,
        "created": 1767603600,
        "metadata": {"q2c_invoice_id": "inv_1", "q2c_order_id": "ord_1"},
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {"id": "il_3", "amount": 8549, "metadata": {"q2c_line": "tax"}},
                {"id": "il_2", "amount": 15000, "metadata": {"q2c_line": "2"}},
                {"id": "il_1", "amount": 29997, "metadata": {"q2c_line": "1"}},
            ],
        },
        "an_unknown_field": {"nested": 1.5},
    }
    body.update(overrides)
    return msgspec.json.decode(msgspec.json.encode(body), type=Invoice)


def test_invoice_record_splits_our_tax_line_from_the_subtotal() -> None:
    record = to_invoice_record(_invoice())
    assert record.system_id == "in_1"
    assert record.number == "ABC-0001"
    assert record.status == "open"
    assert record.account == "cus_1"
    assert record.currency == "EUR"
    assert (record.subtotal, record.tax, record.total) == ("449.97", "85.49", "535.46")
    assert (record.amount_due, record.amount_paid, record.amount_remaining) == (
        "535.46",
        "0.00",
        "535.46",
    )
    assert (record.invoice_id, record.order_id) == ("inv_1", "ord_1")
    assert record.due_date == "2026-02-04"
    assert record.created_at == "2026-01-05T09:00:00Z"


def test_invoice_record_counts_stripe_computed_taxes_too() -> None:
    invoice = _invoice(
        total=55000,
        total_excluding_tax=53546,
        total_taxes=[{"amount": 1000}, {"amount": 454}],
    )
    record = to_invoice_record(invoice)
    assert (record.subtotal, record.tax, record.total) == ("449.97", "100.03", "550.00")


def test_invoice_record_without_total_excluding_tax_uses_total_minus_taxes() -> None:
    invoice = _invoice(total=11000, total_excluding_tax=None, total_taxes=[{"amount": 1000}])
    invoice = msgspec.structs.replace(
        invoice, lines=msgspec.convert({"data": []}, type(invoice.lines))
    )
    record = to_invoice_record(invoice)
    assert (record.subtotal, record.tax, record.total) == ("100.00", "10.00", "110.00")


def test_invoice_record_in_yen_and_without_our_metadata() -> None:
    invoice = _invoice(
        currency="jpy",
        total=16995,
        total_excluding_tax=16995,
        metadata={},
        lines={"data": [{"id": "il_9", "amount": 1545, "metadata": {"q2c_line": "tax"}}]},
    )
    record = to_invoice_record(invoice)
    assert (record.currency, record.subtotal, record.tax, record.total) == (
        "JPY",
        "15450",
        "1545",
        "16995",
    )
    assert record.invoice_id is None
    assert record.order_id is None


def test_invoice_record_with_an_expanded_customer() -> None:
    record = to_invoice_record(_invoice(customer={"id": "cus_9", "object": "customer"}))
    assert record.account == "cus_9"


def _intent(**overrides: Any) -> PaymentIntent:
    body: dict[str, Any] = {
        "id": "pi_1",
        "amount": 53546,
        "currency": "eur",
        "status": "succeeded",
        "customer": "cus_1",
        "created": 1767603600,
        "metadata": {"q2c_payment_id": "pay_1", "q2c_invoice": "in_1"},
        "latest_charge": {"id": "ch_1", "amount": 53546, "amount_refunded": 0},
        "last_payment_error": None,
    }
    body.update(overrides)
    return msgspec.convert(body, PaymentIntent)


def test_payment_record_succeeded() -> None:
    record = to_payment_record(_intent())
    assert record.system_id == "pi_1"
    assert record.status == "succeeded"
    assert (record.currency, record.amount, record.amount_refunded) == ("EUR", "535.46", "0.00")
    assert (record.payment_id, record.invoice_system_id) == ("pay_1", "in_1")
    assert record.failure_message is None
    assert record.created_at == "2026-01-05T09:00:00Z"


def test_payment_record_refunds_come_from_the_charge() -> None:
    partial = to_payment_record(
        _intent(latest_charge={"id": "ch_1", "amount": 53546, "amount_refunded": 10000})
    )
    assert (partial.status, partial.amount_refunded) == ("partially_refunded", "100.00")
    full = to_payment_record(
        _intent(latest_charge={"id": "ch_1", "amount": 53546, "amount_refunded": 53546})
    )
    assert (full.status, full.amount_refunded) == ("refunded", "535.46")


def test_payment_record_after_a_decline_is_failed_with_the_message() -> None:
    record = to_payment_record(
        _intent(
            status="requires_payment_method",
            latest_charge="ch_1",
            last_payment_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        )
    )
    assert record.status == "failed"
    assert record.failure_message == "Your card has insufficient funds."
    assert record.amount_refunded == "0.00"


def test_payment_record_canceled_is_failed() -> None:
    record = to_payment_record(
        _intent(status="canceled", latest_charge=None, cancellation_reason="abandoned")
    )
    assert (record.status, record.failure_message) == (
        "failed",
        "The payment was canceled (abandoned).",
    )


def test_payment_record_fresh_intent_is_pending_and_standalone() -> None:
    record = to_payment_record(
        _intent(status="requires_payment_method", latest_charge=None, metadata={})
    )
    assert (record.status, record.failure_message) == ("pending", None)
    assert record.invoice_system_id is None
    assert record.payment_id is None


def test_charge_decodes_from_localstripe_shape() -> None:
    # localstripe always embeds the charge object and adds fields Stripe does not have.
    charge = msgspec.convert(
        {
            "id": "ch_1",
            "amount": 100,
            "amount_refunded": 40,
            "refunds": {"data": []},
            "status": "succeeded",
            "paid": True,
        },
        Charge,
    )
    assert (charge.amount, charge.amount_refunded) == (100, 40)


# ----------------------------------------------------------------------- bodies

_PARTY = BillingParty(
    canonical_id="cus_01JABC",
    name="Globex GmbH",
    country="DE",
    tax_id="DE123456789",
    email="billing@globex.example",
    address=Address(country="DE", city="Berlin", street="Unter den Linden 1", postal_code=""),
)
_DRAFT = InvoiceDraft(
    invoice_id="inv_01JABC",
    order_id="ord_01JABC",
    account="cus_S1",
    currency="EUR",
    lines=[
        InvoiceLineDraft(description="Widget", sku="WID-1", quantity="3", amount="299.97"),
        InvoiceLineDraft(description="Setup", sku=None, quantity="1.5", amount="150.00"),
    ],
    tax="85.49",
    tax_document="inv_01JABC",
    days_until_due=14,
)


def test_customer_params() -> None:
    assert customer_params(_PARTY) == {
        "name": "Globex GmbH",
        "email": "billing@globex.example",
        "address": {"line1": "Unter den Linden 1", "city": "Berlin", "country": "DE"},
        "metadata": {"q2c_customer_id": "cus_01JABC", "q2c_tax_id": "DE123456789"},
    }
    bare = customer_params(BillingParty(canonical_id="cus_2", name="X", country="US"))
    assert bare["address"] == {"country": "US"}
    assert bare["email"] is None
    assert bare["metadata"]["q2c_tax_id"] is None


def test_invoice_and_item_params() -> None:
    assert invoice_params(_DRAFT) == {
        "customer": "cus_S1",
        "currency": "eur",
        "collection_method": "send_invoice",
        "days_until_due": 14,
        "pending_invoice_items_behavior": "exclude",
        "auto_advance": False,
        "metadata": {
            "q2c_invoice_id": "inv_01JABC",
            "q2c_order_id": "ord_01JABC",
            "q2c_tax_document": "inv_01JABC",
        },
    }
    assert line_item_params(_DRAFT, "in_1", 1, 29997) == {
        "customer": "cus_S1",
        "invoice": "in_1",
        "currency": "eur",
        "amount": 29997,
        "description": "Widget (qty 3, SKU WID-1)",
        "metadata": {
            "q2c_invoice_id": "inv_01JABC",
            "q2c_line": "1",
            "sku": "WID-1",
            "quantity": "3",
        },
    }
    second = line_item_params(_DRAFT, "in_1", 2, 15000)
    assert second["description"] == "Setup (qty 1.5)"
    assert second["metadata"]["sku"] is None
    assert second["metadata"]["q2c_line"] == "2"
    tax = tax_item_params(_DRAFT, "in_1", 8549)
    assert tax["description"] == "Tax"
    assert tax["amount"] == 8549
    assert tax["metadata"] == {
        "q2c_invoice_id": "inv_01JABC",
        "q2c_line": "tax",
        "q2c_tax_document": "inv_01JABC",
    }


def test_payment_intent_params() -> None:
    request = PaymentRequest(
        payment_id="pay_1",
        invoice_system_id="in_1",
        account="cus_S1",
        amount="535.46",
        currency="EUR",
        payment_method="pm_card_visa",
    )
    body = payment_intent_params(request, 53546)
    assert body == {
        "amount": 53546,
        "currency": "eur",
        "customer": "cus_S1",
        "payment_method": "pm_card_visa",
        "allowed_payment_method_types": ["card"],
        "confirm": True,
        "metadata": {"q2c_payment_id": "pay_1", "q2c_invoice": "in_1"},
        "description": "Invoice in_1 (pay_1)",
        "expand": ["latest_charge"],
    }
    standalone = msgspec.structs.replace(request, invoice_system_id="")
    quiet = payment_intent_params(standalone, 53546, look_alike=True)
    assert quiet["metadata"] == {"q2c_payment_id": "pay_1", "q2c_invoice": None}
    assert quiet["description"] is None
    assert quiet["allowed_payment_method_types"] is None


def test_every_request_parameter_is_known_to_the_pinned_version() -> None:
    """What the adapter sends, against what Stripe publishes for the version it pins."""
    assert conformance.document()["info"]["version"] == API_VERSION
    request = PaymentRequest(
        payment_id="pay_1", invoice_system_id="in_1", account="cus_S1",
        amount="10.00", currency="EUR", payment_method="pm_card_visa",
    )  # fmt: skip
    party = BillingParty(canonical_id="cus_01J", name="Acme", country="DE")
    draft = InvoiceDraft(
        invoice_id="inv_01J", order_id="ord_01J", account="cus_S1", currency="EUR",
        lines=[InvoiceLineDraft(description="Widget", sku="W-1", quantity="1", amount="10.00")],
        tax="1.90", tax_document="inv_01J",
    )  # fmt: skip
    sent = {
        ("POST", "/v1/payment_intents"): payment_intent_params(request, 1000),
        ("POST", "/v1/customers"): customer_params(party),
        ("POST", "/v1/invoices"): invoice_params(draft),
        ("POST", "/v1/invoiceitems"): line_item_params(draft, "in_1", 1, 1000),
    }
    for (method, template), params in sent.items():
        names = {name for name, value in params.items() if value is not None}
        assert names <= conformance.accepted_parameters(method, template), template
