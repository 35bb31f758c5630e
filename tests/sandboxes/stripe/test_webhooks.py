"""Webhook endpoints, events and signed deliveries of the Stripe sandbox, checked with
the vendor's own verifier (``stripe.Webhook.construct_event``) and published types."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe

from sandboxes.stripe.app import API_KEY, StripeSandbox, create_app
from sandboxes.stripe.webhooks import WebhookDispatcher
from tests.sandboxes.stripe import conformance
from tests.support.servers import serve_in_thread


@dataclass
class Receiver:
    """A webhook receiver answering from a script of statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        self.received.append((url, dict(headers), body))
        return self.statuses.pop(0) if self.statuses else 200


@dataclass
class Env:
    sandbox: StripeSandbox
    http: httpx.AsyncClient
    receiver: Receiver

    async def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        if method in ("GET", "DELETE") or path.startswith("/v1/webhook_endpoints"):
            assert conformance.problems(method, path, status, response.json()) == []
        return response.json()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sandbox = StripeSandbox()
    receiver = Receiver()
    sandbox.webhooks.post = receiver.post
    sandbox.webhooks.retry_delays = (0.01, 0.01, 0.01)
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://stripe.sandbox",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as http:
        yield Env(sandbox, http, receiver)
    await sandbox.webhooks.aclose()


async def _register(env: Env, url: str, *events: str) -> dict[str, Any]:
    data = {"url": url, **{f"enabled_events[{i}]": e for i, e in enumerate(events)}}
    created: dict[str, Any] = await env.call("POST", "/v1/webhook_endpoints", data=data)
    return created


async def _paid_invoice(env: Env) -> None:
    customer = await env.call("POST", "/v1/customers", data={"name": "Hook AG"})
    invoice = await env.call("POST", "/v1/invoices", data={
        "customer": customer["id"], "collection_method": "send_invoice", "days_until_due": "30",
        "metadata[q2c_invoice_id]": "inv_01HOOK"})  # fmt: skip
    await env.call("POST", "/v1/invoiceitems", data={
        "customer": customer["id"], "invoice": invoice["id"], "amount": "5000"})  # fmt: skip
    await env.call("POST", f"/v1/invoices/{invoice['id']}/finalize")
    await env.call("POST", "/v1/payment_intents", data={
        "amount": "5000", "currency": "usd", "customer": customer["id"],
        "payment_method": "pm_card_visa", "allowed_payment_method_types[0]": "card",
        "confirm": "true", "metadata[q2c_payment_id]": "pay_01HOOK",
        "metadata[q2c_invoice]": invoice["id"]})  # fmt: skip
    await env.call("POST", "/v1/payment_intents", status=402, data={
        "amount": "5000", "currency": "usd", "customer": customer["id"],
        "payment_method": "pm_card_chargeDeclined", "allowed_payment_method_types[0]": "card",
        "confirm": "true"})  # fmt: skip
    await env.call("POST", f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"})


async def test_endpoints_are_created_with_a_secret_shown_once(env: Env) -> None:
    created = await _register(env, "https://gateway.example/v1/events/inbound/stripe",
                              "invoice.paid", "payment_intent.succeeded")  # fmt: skip
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "enabled"
    assert created["enabled_events"] == ["invoice.paid", "payment_intent.succeeded"]
    listed = await env.call("GET", "/v1/webhook_endpoints")
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    assert "secret" not in listed["data"][0]
    gone = await env.call("DELETE", f"/v1/webhook_endpoints/{created['id']}")
    assert gone == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await env.call("GET", "/v1/webhook_endpoints"))["data"] == []
    err = await env.call("POST", "/v1/webhook_endpoints", 400, data={
        "url": "https://x.example", "enabled_events[0]": "invoice.exploded"})  # fmt: skip
    assert err["error"]["param"] == "enabled_events[0]"


async def test_the_stripe_library_accepts_every_delivery(env: Env) -> None:
    endpoint = await _register(env, "https://gateway.example/hooks", "*")
    await _paid_invoice(env)
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    assert env.receiver.received
    types = []
    for url, headers, body in env.receiver.received:
        assert url == "https://gateway.example/hooks"
        assert headers["Content-Type"].startswith("application/json")
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"],
                                               endpoint["secret"])  # fmt: skip
        assert conformance.event_problems(json.loads(body)) == []
        types.append(event.type)
    assert types == [
        "customer.created", "invoice.created", "invoiceitem.created", "invoice.finalized",
        "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
        "payment_intent.created", "charge.failed", "payment_intent.payment_failed",
        "invoice.paid",
    ]  # fmt: skip
    _url, headers, body = env.receiver.received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_not_it")


async def test_events_are_listed_newest_first_and_filtered(env: Env) -> None:
    await _register(env, "https://gateway.example/hooks", "invoice.paid")
    await _paid_invoice(env)
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    events = await env.call("GET", "/v1/events", params={"limit": "100"})
    newest = [e["type"] for e in events["data"]][:2]
    assert newest == ["invoice.paid", "payment_intent.payment_failed"]
    paid = await env.call("GET", "/v1/events", params={"type": "invoice.*"})
    assert {e["type"] for e in paid["data"]} == {
        "invoice.created", "invoice.finalized", "invoice.paid"}  # fmt: skip
    some = await env.call("GET", "/v1/events", params={
        "types[0]": "charge.succeeded", "types[1]": "charge.failed"})  # fmt: skip
    assert [e["type"] for e in some["data"]] == ["charge.failed", "charge.succeeded"]
    delivered = await env.call("GET", "/v1/events", params={"delivery_success": "true"})
    (only,) = delivered["data"]
    assert (only["type"], only["pending_webhooks"]) == ("invoice.paid", 0)
    one = await env.call("GET", f"/v1/events/{only['id']}")
    assert one["data"]["object"]["metadata"] == {"q2c_invoice_id": "inv_01HOOK"}
    assert conformance.event_problems(one) == []
    assert all(conformance.event_problems(e) == [] for e in events["data"])


async def test_failed_deliveries_are_retried_a_bounded_number_of_times(env: Env) -> None:
    await _register(env, "https://flaky.example/hooks", "customer.created")
    env.receiver.statuses = [500, 503]  # then 200
    await env.call("POST", "/v1/customers", data={"name": "Retry Ltd"})
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    (delivery,) = env.sandbox.webhooks.history
    assert (delivery.statuses, delivery.delivered) == ([500, 503, 200], True)
    env.receiver.statuses = [500] * 10
    await env.call("POST", "/v1/customers", data={"name": "Down Inc"})
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    failed = env.sandbox.webhooks.history[-1]
    assert failed.statuses == [500, 500, 500, 500]  # the first try and three retries
    assert failed.delivered is False
    event = env.sandbox.objects("event")[-1]
    assert event["pending_webhooks"] == 1  # never delivered
    assert len(env.receiver.received) == 3 + 4


async def test_a_replayed_request_delivers_nothing_twice(env: Env) -> None:
    await _register(env, "https://gateway.example/hooks", "customer.created")
    for _ in range(2):
        await env.call("POST", "/v1/customers", data={"name": "Once"},
                       headers={"Idempotency-Key": "hook-once"})  # fmt: skip
    await asyncio.wait_for(env.sandbox.webhooks.drain(), 10)
    assert len(env.receiver.received) == 1
    event = json.loads(env.receiver.received[0][2])
    assert event["request"]["idempotency_key"] == "hook-once"


async def test_deliveries_go_over_real_http() -> None:
    """The default delivery: a real POST to a server, verified there by the library."""
    got: list[tuple[bytes, str]] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        got.append((body, headers["stripe-signature"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sandbox = StripeSandbox()
    assert isinstance(sandbox.webhooks, WebhookDispatcher)
    with serve_in_thread(receiver) as receiver_url, serve_in_thread(
        create_app(sandbox)
    ) as stripe_url:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_url})
        endpoint = client.v1.webhook_endpoints.create(params={
            "url": f"{receiver_url}/hooks", "enabled_events": ["customer.created"]})  # fmt: skip
        client.v1.customers.create(params={"name": "Over The Wire"})
        await asyncio.wait_for(sandbox.webhooks.drain(), 10)
    assert endpoint.secret is not None
    (body, header), = got
    event = stripe.Webhook.construct_event(body, header, endpoint.secret)
    assert event.type == "customer.created"
    assert sandbox.webhooks.history[0].statuses == [204]
