"""The gateway's Stripe webhook verifier, the event mapping and the endpoint registration,
on deliveries the Stripe sandbox really sent (their signatures checked by the vendor's
own library in tests/sandboxes/stripe/test_webhooks.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from domains.errors import BadRequest
from domains.invoice.ports import (
    BillingParty,
    InvoiceDraft,
    InvoiceLineDraft,
    InvoicePaid,
    PaymentFailed,
    PaymentReceived,
    PaymentRequest,
)
from sandboxes.stripe.app import API_KEY, StripeSandbox, create_app
from systems.stripe.adapter import StripeAdapter
from systems.stripe.client import StripeAuth, StripeClient
from systems.stripe.errors import SYSTEM, translate
from systems.stripe.webhooks import (
    ENDPOINT_KEY,
    TRANSACTION_EVENTS,
    WebhookRejected,
    billing_event,
    register_endpoint,
    verify,
)
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://stripe.sandbox"
URL = "https://gateway.example/v1/events/inbound/stripe"


@dataclass
class Delivered:
    headers: dict[str, str]
    body: bytes

    @property
    def signed_at(self) -> int:
        return int(self.headers["Stripe-Signature"].split(",")[0][2:])

    @property
    def type(self) -> str:
        kind: str = json.loads(self.body)["type"]
        return kind


@dataclass
class Env:
    sandbox: StripeSandbox
    client: StripeClient
    adapter: StripeAdapter
    delivered: list[Delivered] = field(default_factory=list)

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        self.delivered.append(Delivered(dict(headers), body))
        return 200

    def of_type(self, kind: str) -> Delivered:
        return next(d for d in self.delivered if d.type == kind)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sandbox = StripeSandbox()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox))) as http:
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )
        client = StripeClient(upstream, StripeAuth(API_KEY))
        value = Env(sandbox, client, StripeAdapter(client))
        sandbox.webhooks.post = value.post
        yield value
    await sandbox.webhooks.aclose()


async def _collect(env: Env) -> str:
    """An invoice, a paid and a declined payment; the endpoint's secret."""
    registration = await register_endpoint(env.client, URL)
    account = await env.adapter.create_account(
        BillingParty(canonical_id="cus_01JHOOK", name="Hook GmbH", country="DE")
    )
    invoice = await env.adapter.create_invoice(InvoiceDraft(
        invoice_id="inv_01JHOOK", order_id="ord_01JHOOK", account=account, currency="EUR",
        lines=[InvoiceLineDraft(description="Widget", sku="W-1", quantity="2", amount="100.00")],
        tax="19.00", tax_document="inv_01JHOOK",
    ))  # fmt: skip
    for payment_id, method in (("pay_01JDECLINE", "pm_card_chargeDeclined"),
                               ("pay_01JHOOK", "pm_card_visa")):  # fmt: skip
        await env.adapter.collect_payment(PaymentRequest(
            payment_id=payment_id, invoice_system_id=invoice.system_id, account=account,
            amount=invoice.amount_remaining, currency="EUR", payment_method=method,
        ))  # fmt: skip
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    return registration.secret


async def test_registration_subscribes_the_transaction_events(env: Env) -> None:
    registration = await register_endpoint(env.client, URL)
    assert registration.secret.startswith("whsec_")
    (endpoint,) = env.sandbox.objects("webhook_endpoint")
    assert (endpoint["url"], endpoint["enabled_events"]) == (URL, list(TRANSACTION_EVENTS))
    assert endpoint["metadata"] == {ENDPOINT_KEY: "gateway"}


async def test_registering_again_replaces_only_the_gateways_endpoint(env: Env) -> None:
    first = await register_endpoint(env.client, URL)
    foreign = await env.client.post(
        "/v1/webhook_endpoints", dict, {"url": URL, "enabled_events": ["*"]},
        idempotency_key="someone-else", operation="webhook_endpoints.create",
    )  # fmt: skip
    second = await register_endpoint(env.client, URL)
    assert second.endpoint_id != first.endpoint_id
    assert second.secret != first.secret
    ids = {e["id"] for e in env.sandbox.objects("webhook_endpoint")}
    assert ids == {second.endpoint_id, foreign["id"]}


async def test_a_genuine_delivery_verifies(env: Env) -> None:
    secret = await _collect(env)
    assert {d.type for d in env.delivered} == set(TRANSACTION_EVENTS) - {"invoice.voided"}
    for delivery in env.delivered:
        event = verify(delivery.body, delivery.headers["Stripe-Signature"], secret,
                       now=delivery.signed_at + 5)  # fmt: skip
        assert event.type == delivery.type


async def test_a_bad_signature_an_old_timestamp_or_a_changed_body_is_rejected(env: Env) -> None:
    secret = await _collect(env)
    delivery = env.of_type("invoice.paid")
    header, body, at = delivery.headers["Stripe-Signature"], delivery.body, delivery.signed_at
    with pytest.raises(WebhookRejected, match="No Stripe-Signature matches"):
        verify(body, header, "whsec_someone_elses_secret", now=at)
    with pytest.raises(WebhookRejected, match="outside the tolerance"):
        verify(body, header, secret, now=at + 301)
    with pytest.raises(WebhookRejected, match="outside the tolerance"):
        verify(body, header, secret, tolerance_s=60, now=at - 61)  # from the future
    changed = body.replace(b'"livemode":false', b'"livemode":true ')
    assert changed != body
    with pytest.raises(WebhookRejected, match="No Stripe-Signature matches"):
        verify(changed, header, secret, now=at)
    with pytest.raises(WebhookRejected, match="no timestamp"):
        verify(body, header.split(",")[1], secret, now=at)
    assert issubclass(WebhookRejected, BadRequest)  # the edge answers 400


async def test_any_one_of_several_signatures_is_enough(env: Env) -> None:
    secret = await _collect(env)
    delivery = env.of_type("invoice.paid")
    stamp, signature = delivery.headers["Stripe-Signature"].split(",")
    rolled = f"{stamp},v1={'0' * 64},{signature},v0=ignored"
    assert verify(delivery.body, rolled, secret, now=delivery.signed_at).type == "invoice.paid"


async def test_the_transaction_events_map_to_billing_records(env: Env) -> None:
    secret = await _collect(env)

    def record(kind: str) -> Any:
        delivery = env.of_type(kind)
        event = verify(delivery.body, delivery.headers["Stripe-Signature"], secret,
                       now=delivery.signed_at)  # fmt: skip
        return billing_event(event)

    paid = record("invoice.paid")
    assert isinstance(paid, InvoicePaid)
    assert (paid.system, paid.invoice_id, paid.amount_paid, paid.currency) == (
        "stripe", "inv_01JHOOK", "119.00", "EUR")  # fmt: skip
    assert paid.paid_at is not None
    assert paid.paid_at.endswith("Z")
    received = record("payment_intent.succeeded")
    assert isinstance(received, PaymentReceived)
    assert (received.payment_id, received.amount, received.currency) == (
        "pay_01JHOOK", "119.00", "EUR")  # fmt: skip
    assert received.invoice_system_id == paid.invoice_system_id
    failed = record("payment_intent.payment_failed")
    assert isinstance(failed, PaymentFailed)
    assert (failed.payment_id, failed.failure_message) == (
        "pay_01JDECLINE", "Your card was declined.")  # fmt: skip
    assert record("invoice.finalized") is None  # delivered, but no billing record
