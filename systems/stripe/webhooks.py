"""Stripe webhooks on the gateway's side: verify a delivery, read the events the
quote-to-cash transaction needs as billing records, and register the gateway's endpoint.

A delivery is trusted only when its ``Stripe-Signature`` holds a ``v1`` HMAC-SHA256 of
``"<t>.<raw body>"`` under the endpoint's signing secret, compared in constant time, and
``t`` is within the tolerance of now (a replayed old delivery is refused). The body must
be the bytes as received: re-serialised JSON no longer matches its signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from contextlib import aclosing

import msgspec

from domains.errors import BadRequest
from domains.invoice.ports import BillingEvent, InvoicePaid, PaymentFailed, PaymentReceived
from systems.stripe.client import Invoice, PaymentIntent, StripeClient, decode, path
from systems.stripe.errors import SYSTEM
from systems.stripe.mapping import (
    INVOICE_KEY,
    PAYMENT_INVOICE_KEY,
    PAYMENT_KEY,
    canonical_currency,
    from_minor,
    timestamp,
)

#: What the quote-to-cash transaction listens to.
TRANSACTION_EVENTS: tuple[str, ...] = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.voided",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)
#: Metadata marking the endpoints the gateway registered itself.
ENDPOINT_KEY = "q2c_endpoint"
_SCHEME = "v1"


class WebhookRejected(BadRequest):
    """A delivery that cannot be trusted or read (answer 400: Stripe retries, then gives up)."""

    code = "WEBHOOK_REJECTED"


class EventData(msgspec.Struct, frozen=True):
    object: msgspec.Raw  # decoded per event type


class StripeEvent(msgspec.Struct, frozen=True):
    id: str
    type: str
    created: int
    data: EventData
    api_version: str | None = None
    livemode: bool = False


class WebhookEndpoint(msgspec.Struct, frozen=True):
    id: str
    url: str
    enabled_events: list[str] = []
    status: str = "enabled"
    metadata: dict[str, str] = {}
    secret: str | None = None  # only in the answer to the create


class WebhookRegistration(msgspec.Struct, frozen=True):
    endpoint_id: str
    url: str
    secret: str


_event = msgspec.json.Decoder(StripeEvent)


def verify(
    payload: bytes,
    header: str,
    secret: str,
    tolerance_s: int = 300,
    *,
    now: float | None = None,
) -> StripeEvent:
    """The event a delivery carries, once its signature and timestamp check out.

    ``header`` is ``Stripe-Signature`` (``t=...,v1=...[,v1=...]``: during a secret roll
    Stripe signs with several secrets, and any one matching is enough). Raises
    :class:`WebhookRejected` otherwise."""
    issued, signatures = _parse(header)
    if issued is None or not signatures:
        raise WebhookRejected(f"Stripe-Signature carries no timestamp or {_SCHEME} signature.")
    signed = f"{issued}.".encode() + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    # Every candidate is compared, in constant time each, so timing says nothing.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise WebhookRejected("No Stripe-Signature matches the payload and the signing secret.")
    current = time.time() if now is None else now
    if tolerance_s > 0 and abs(current - issued) > tolerance_s:
        raise WebhookRejected(
            f"The Stripe-Signature timestamp is {int(current - issued)} s from now, "
            f"outside the tolerance of {tolerance_s} s (a replayed or delayed delivery)."
        )
    try:
        return _event.decode(payload)
    except msgspec.DecodeError as exc:
        raise WebhookRejected(f"The event cannot be read: {exc}") from None


def _parse(header: str) -> tuple[int | None, list[str]]:
    issued: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            issued = int(value)
        elif key == _SCHEME and value:
            signatures.append(value)
    return issued, signatures


def billing_event(event: StripeEvent) -> BillingEvent | None:
    """The canonical record of an event the transaction needs; None for any other."""
    if event.type == "invoice.paid":
        invoice = decode(event.data.object, Invoice)
        paid_at = invoice.status_transitions.paid_at if invoice.status_transitions else None
        return InvoicePaid(
            system=SYSTEM,
            event_id=event.id,
            invoice_system_id=invoice.id,
            invoice_id=invoice.metadata.get(INVOICE_KEY) or None,
            amount_paid=from_minor(invoice.amount_paid, invoice.currency),
            currency=canonical_currency(invoice.currency),
            paid_at=timestamp(paid_at or event.created),
        )
    if event.type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        intent = decode(event.data.object, PaymentIntent)
        payment_id = intent.metadata.get(PAYMENT_KEY) or None
        invoice_system_id = intent.metadata.get(PAYMENT_INVOICE_KEY) or None
        if event.type == "payment_intent.succeeded":
            return PaymentReceived(
                system=SYSTEM,
                event_id=event.id,
                payment_system_id=intent.id,
                amount=from_minor(intent.amount_received, intent.currency),
                currency=canonical_currency(intent.currency),
                payment_id=payment_id,
                invoice_system_id=invoice_system_id,
                received_at=timestamp(event.created),
            )
        error = intent.last_payment_error
        return PaymentFailed(
            system=SYSTEM,
            event_id=event.id,
            payment_system_id=intent.id,
            amount=from_minor(intent.amount, intent.currency),
            currency=canonical_currency(intent.currency),
            payment_id=payment_id,
            invoice_system_id=invoice_system_id,
            failure_message=error.message if error is not None else None,
            failed_at=timestamp(event.created),
        )
    return None


async def register_endpoint(
    client: StripeClient,
    url: str,
    events: Sequence[str] = TRANSACTION_EVENTS,
    *,
    description: str = "Q2C gateway",
) -> WebhookRegistration:
    """Register ``url`` for ``events`` and return its signing secret.

    Stripe shows a secret only when the endpoint is created, so an endpoint the gateway
    registered earlier for the same URL (marked in its metadata) is deleted and a new one
    created: each start-up gets a secret it knows, and deliveries never go twice."""
    listing = client.iterate(
        path("webhook_endpoints"), WebhookEndpoint, operation="webhook_endpoints.list"
    )
    async with aclosing(listing) as endpoints:
        earlier = [e.id async for e in endpoints if e.url == url and e.metadata.get(ENDPOINT_KEY)]
    for endpoint_id in earlier:
        await client.request(
            "DELETE",
            path("webhook_endpoints", endpoint_id),
            operation="webhook_endpoints.delete",
            accept=frozenset({404}),
        )
    created = await client.post(
        path("webhook_endpoints"),
        WebhookEndpoint,
        {
            "url": url,
            "enabled_events": list(events),
            "description": description,
            "metadata": {ENDPOINT_KEY: "gateway"},
        },
        # One registration per call: a retry of this call reuses the key, a restart does not.
        idempotency_key=f"q2c-webhook-endpoint-{uuid.uuid4()}",
        operation="webhook_endpoints.create",
    )
    if not created.secret:
        raise WebhookRejected("Stripe created the webhook endpoint without a signing secret.")
    return WebhookRegistration(endpoint_id=created.id, url=created.url, secret=created.secret)
