"""The vendor's own client (the official ``stripe`` library) against the sandbox served over
real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import stripe

from sandboxes import demo_data
from sandboxes.stripe.app import API_KEY, StripeSandbox, create_app
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.e2e


@dataclass
class Account:
    sandbox: StripeSandbox
    client: stripe.StripeClient
    base_url: str


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    sandbox = StripeSandbox()
    with serve_in_thread(create_app(sandbox)) as base_url:
        client = stripe.StripeClient(
            API_KEY, base_addresses={"api": base_url}, max_network_retries=2
        )
        yield Account(sandbox, client, base_url)


def posts_with_key(account: Account, key: str) -> int:
    return sum(1 for _method, _path, k in account.sandbox.request_log if k == key)


def test_customers_create_retrieve_update_and_filter(account: Account) -> None:
    v1 = account.client.v1
    created = v1.customers.create(params={
        "name": "Python Client GmbH",
        "email": "ap@python-client.example",
        "address": {"line1": "Speicherstadt 1", "city": "Hamburg", "country": "DE"},
        "metadata": {"q2c_tax_id": "DE000000001"},
    })  # fmt: skip
    assert isinstance(created, stripe.Customer)
    assert created.id.startswith("cus_")
    assert created.livemode is False
    assert created.address is not None
    assert created.address.city == "Hamburg"
    assert created.metadata is not None
    assert created.metadata["q2c_tax_id"] == "DE000000001"
    fetched = v1.customers.retrieve(created.id)
    assert fetched.name == "Python Client GmbH"
    updated = v1.customers.update(created.id, params={"phone": "+49 40 1", "metadata": {"k": "v"}})
    assert updated.phone == "+49 40 1"
    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"q2c_tax_id": "DE000000001", "k": "v"}
    by_email = v1.customers.list(params={"email": "ap@python-client.example"})
    assert [c.id for c in by_email.data] == [created.id]


def test_list_pagination_with_auto_paging_iter(account: Account) -> None:
    before = len(account.sandbox.request_log)
    page = account.client.v1.customers.list(params={"limit": 4})
    assert page.has_more is True
    ids = [c.id for c in page.auto_paging_iter()]
    expected = [c["id"] for c in reversed(account.sandbox.objects("customer"))]
    assert ids == expected
    assert len(ids) >= 13
    requests = len(account.sandbox.request_log) - before
    assert requests == len(ids) // 4 + 1  # one request per page, no more


def test_invoice_items_invoice_finalize_and_pay(account: Account) -> None:
    v1 = account.client.v1
    customer = v1.customers.create(params={"name": "Invoice Flow BV"})
    product = demo_data.PRODUCTS[2]
    unit = Decimal(product.list_prices["EUR"]) * 100
    item = v1.invoice_items.create(params={
        "customer": customer.id, "currency": "eur", "unit_amount_decimal": unit,
        "quantity": 2, "description": product.name, "metadata": {"material": product.material},
    })  # fmt: skip
    assert isinstance(item, stripe.InvoiceItem)
    assert item.amount == 250000
    invoice = v1.invoices.create(params={
        "customer": customer.id, "currency": "eur", "collection_method": "send_invoice",
        "days_until_due": 30, "pending_invoice_items_behavior": "include",
        "metadata": {"order_id": "ord_py_1"},
    })  # fmt: skip
    assert isinstance(invoice, stripe.Invoice)
    assert invoice.id is not None
    assert invoice.status == "draft"
    assert invoice.total == 250000
    assert invoice.lines.data[0].description == product.name
    lines = v1.invoices.line_items.list(invoice.id)
    assert [line.amount for line in lines.data] == [250000]
    finalized = v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open"
    assert finalized.number is not None
    assert finalized.number.endswith("-0001")
    paid = v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    assert paid.amount_paid == 250000
    assert paid.amount_remaining == 0


def test_invoice_void_and_finalize_error(account: Account) -> None:
    v1 = account.client.v1
    customer = v1.customers.create(params={"name": "Void Flow Ltd"})
    v1.invoice_items.create(params={"customer": customer.id, "currency": "usd", "amount": 9900})
    invoice = v1.invoices.create(params={
        "customer": customer.id, "pending_invoice_items_behavior": "include"})  # fmt: skip
    assert invoice.id is not None
    v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.InvalidRequestError) as again:
        v1.invoices.finalize_invoice(invoice.id)
    assert again.value.http_status == 400
    assert again.value.code == "invoice_not_editable"
    voided = v1.invoices.void_invoice(invoice.id)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at is not None


def test_invoice_paid_by_card(account: Account) -> None:
    v1 = account.client.v1
    customer = v1.customers.create(params={"name": "Card Payer Inc"})
    v1.invoice_items.create(params={"customer": customer.id, "currency": "usd", "amount": 4200})
    invoice = v1.invoices.create(params={
        "customer": customer.id, "pending_invoice_items_behavior": "include"})  # fmt: skip
    assert invoice.id is not None
    paid = v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_mastercard",
                                               "expand": ["payments"]})  # fmt: skip
    assert paid.status == "paid"
    assert paid.payments is not None
    intent_id = paid.payments.data[0].payment.payment_intent
    assert isinstance(intent_id, str)
    intent = v1.payment_intents.retrieve(intent_id)
    assert intent.status == "succeeded"
    assert intent.amount_received == 4200


def test_payment_intent_create_confirm_and_refunds(account: Account) -> None:
    v1 = account.client.v1
    intent = v1.payment_intents.create(params={
        "amount": 12_000, "currency": "jpy", "payment_method": "pm_card_visa",
        "allowed_payment_method_types": ["card"], "metadata": {"order_id": "ord_py_2"},
    })  # fmt: skip
    assert intent.status == "requires_confirmation"
    confirmed = v1.payment_intents.confirm(intent.id)
    assert confirmed.status == "succeeded"
    assert isinstance(confirmed.latest_charge, str)
    partial = v1.refunds.create(params={"payment_intent": intent.id, "amount": 2_000})
    assert isinstance(partial, stripe.Refund)
    assert (partial.amount, partial.status) == (2_000, "succeeded")
    charge = v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2_000, False)
    rest = v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 10_000
    charge = v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (12_000, True)
    refunds = v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in refunds.data] == [rest.id, partial.id]
    with pytest.raises(stripe.InvalidRequestError) as again:
        v1.refunds.create(params={"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"


def test_declined_card_raises_card_error(account: Account) -> None:
    with pytest.raises(stripe.CardError) as declined:
        account.client.v1.payment_intents.create(params={
            "amount": 2_500, "currency": "usd", "payment_method": "pm_card_chargeDeclined",
            "confirm": True, "automatic_payment_methods": {"enabled": True,
                                                           "allow_redirects": "never"},
        })  # fmt: skip
    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"
    assert declined.value.error is not None
    assert declined.value.error.decline_code == "generic_decline"
    assert declined.value.error.payment_intent is not None
    assert declined.value.error.payment_intent.status == "requires_payment_method"


def test_idempotent_retry_creates_one_object(account: Account) -> None:
    v1 = account.client.v1
    params: stripe.params.CustomerCreateParams = {"name": "Idempotent Pty Ltd"}
    first = v1.customers.create(params=params, options={"idempotency_key": "py-idem-1"})
    second = v1.customers.create(params=params, options={"idempotency_key": "py-idem-1"})
    assert first.id == second.id
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert [c["name"] for c in account.sandbox.objects("customer")].count(params["name"]) == 1
    assert posts_with_key(account, "py-idem-1") == 2
    with pytest.raises(stripe.IdempotencyError):
        v1.customers.create(params={"name": "Someone Else"},
                            options={"idempotency_key": "py-idem-1"})  # fmt: skip


def test_library_retry_after_a_fault_is_deduplicated(account: Account) -> None:
    account.sandbox.faults.fail_next = 1
    intent = account.client.v1.payment_intents.create(
        params={"amount": 700, "currency": "eur", "allowed_payment_method_types": ["card"]},
        options={"idempotency_key": "py-fault-1"},
    )
    assert intent.status == "requires_payment_method"
    assert posts_with_key(account, "py-fault-1") == 2  # the 500, then the retry
    matching = [p for p in account.sandbox.objects("payment_intent") if p["id"] == intent.id]
    assert len(matching) == 1


def test_errors_map_to_the_library_exceptions(account: Account) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        account.client.v1.invoices.retrieve("in_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "invoice"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        account.client.v1.customers.create(params={"nickname": "x"})  # type: ignore
    assert unknown.value.code == "parameter_unknown"
    stranger = stripe.StripeClient(
        "sk_test_not_the_sandbox_key", base_addresses={"api": account.base_url}
    )
    with pytest.raises(stripe.AuthenticationError) as denied:
        stranger.v1.customers.list()
    assert denied.value.http_status == 401


def test_the_adapters_calls_through_the_library(account: Account) -> None:
    """Each request the Stripe adapter makes, made with the vendor's library at its
    pinned API version: the customer search and list, the invoice list and read, the
    card payment as the adapter creates it, its read and list, the charge, the refund,
    and the webhook endpoint and events the gateway registers and reads."""
    v1 = account.client.v1
    customer = v1.customers.create(params={
        "name": "Library Round Trip SA", "metadata": {"q2c_customer_id": "cus_01JLIB"}})
    found = v1.customers.search(params={"query": "metadata['q2c_customer_id']:'cus_01JLIB'"})
    assert [c.id for c in found.data] == [customer.id]
    assert customer.id in [c.id for c in v1.customers.list(params={"limit": 100}).data]

    invoice = v1.invoices.create(params={
        "customer": customer.id, "currency": "eur", "collection_method": "send_invoice",
        "days_until_due": 30, "pending_invoice_items_behavior": "exclude",
        "auto_advance": False, "metadata": {"q2c_invoice_id": "inv_01JLIB"}})  # fmt: skip
    assert invoice.id is not None
    v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                    "currency": "eur", "amount": 9_000})  # fmt: skip
    v1.invoices.finalize_invoice(invoice.id, params={"auto_advance": False})
    listed = v1.invoices.list(params={"customer": customer.id})
    assert [i.id for i in listed.data] == [invoice.id]
    assert v1.invoices.retrieve(invoice.id).status == "open"

    intent = v1.payment_intents.create(params={
        "amount": 9_000, "currency": "eur", "customer": customer.id,
        "payment_method": "pm_card_visa", "allowed_payment_method_types": ["card"],
        "confirm": True, "metadata": {"q2c_invoice": invoice.id},
        "description": f"Invoice {invoice.id}", "expand": ["latest_charge"]})  # fmt: skip
    assert intent.status == "succeeded"
    assert intent.allowed_payment_method_types == ["card"]
    assert isinstance(intent.latest_charge, stripe.Charge)
    assert intent.latest_charge.payment_method_details is not None
    assert intent.latest_charge.payment_method_details.card is not None
    assert intent.latest_charge.payment_method_details.card.last4 == "4242"
    again = v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    assert isinstance(again.latest_charge, stripe.Charge)
    assert [p.id for p in v1.payment_intents.list(params={"customer": customer.id}).data] == [
        intent.id
    ]
    refund = v1.refunds.create(params={"payment_intent": intent.id, "amount": 1_000})
    assert (refund.customer, refund.payment_method) == (customer.id, again.payment_method)
    paid = v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    with pytest.raises(stripe.InvalidRequestError) as removed:
        v1.payment_intents.create(params={
            "amount": 500, "currency": "eur",
            "payment_method_types": ["card"]})  # type: ignore[typeddict-unknown-key]
    assert removed.value.code == "payment_method_types_no_longer_supported"

    endpoint = v1.webhook_endpoints.create(params={
        "url": "https://gateway.example/hooks", "enabled_events": ["invoice.paid"]})
    assert endpoint.secret is not None
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.id in [e.id for e in v1.webhook_endpoints.list().data]
    events = v1.events.list(params={"type": "invoice.paid"})
    assert events.data[0].type == "invoice.paid"
    assert v1.events.retrieve(events.data[0].id).id == events.data[0].id
    assert v1.webhook_endpoints.delete(endpoint.id).deleted is True
