"""Signed events from other systems: the CRM's "quote accepted" and Stripe's webhooks.

Not behind a bearer token: the signature is the authentication. A missing or bad
signature (or one outside the timestamp tolerance) is a 401 before anything is
read, looked up or recorded.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.spec import Components, SecurityScheme

from contracts.v1 import transactions as v1
from domains.errors import BadRequest
from domains.invoice.ports import InvoicePaid
from domains.quote_to_cash.records import PaymentNotice
from gateway.flow.runtime import Flow
from gateway.flow.signatures import BadSignature, verify
from gateway.routes.common import problems
from gateway.routes.dependencies import Injected
from gateway.routes.v1.transactions import running
from policies.rate_limit.openapi import TOO_MANY_REQUESTS
from policies.route import public
from systems.stripe import webhooks
from systems.stripe.webhooks import WebhookRejected

CRM_SIGNATURE = "X-Q2C-Signature"
STRIPE_SIGNATURE = "Stripe-Signature"
CRM_SCHEME = "crmSignature"
STRIPE_SCHEME = "stripeSignature"
SIGNATURE_SCHEMES: dict[str, SecurityScheme] = {
    CRM_SCHEME: SecurityScheme(
        type="apiKey",
        name=CRM_SIGNATURE,
        security_scheme_in="header",
        description='`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the '
        "secret shared with the CRM; the timestamp must be within the tolerance.",
    ),
    STRIPE_SCHEME: SecurityScheme(
        type="apiKey",
        name=STRIPE_SIGNATURE,
        security_scheme_in="header",
        description="Stripe's webhook signature with the endpoint's signing secret (whsec_).",
    ),
}


def signature_components() -> Components:
    """The signature schemes of the inbound event routes, for the OpenAPI document."""
    return Components(security_schemes=dict(SIGNATURE_SCHEMES))


RESPONSES = {**problems(400, 401, 500, 503), **TOO_MANY_REQUESTS}


def _secret(env_name: str | None) -> str:
    return os.environ.get(env_name, "") if env_name else ""


def _check(flow: Flow, body: bytes, header: str | None, env_name: str | None) -> None:
    try:
        verify(body, header, _secret(env_name), flow.settings.signature_tolerance_seconds)
    except BadSignature as exc:
        raise NotAuthorizedException(detail=f"Invalid signature: {exc}.") from None


class InboundController(Controller):
    path = "/events/inbound"
    tags = ["transactions"]

    @post(
        "/crm",
        status_code=202,
        operation_id="receiveCrmEvent",
        summary="The CRM reports an accepted quote (HMAC-signed)",
        description=f"`{CRM_SIGNATURE}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
        '"<t>.<raw body>">` with the shared secret. The quote\'s transaction starts (once, '
        "however often the CRM repeats the event).",
        opt=public(),
        security=[{CRM_SCHEME: []}],
        responses=RESPONSES,
    )
    async def crm_event(
        self, request: Request[Any, Any, Any], flow: Injected[Flow | None]
    ) -> v1.InboundAccepted:
        flow = running(flow)
        body = await request.body()
        _check(flow, body, request.headers.get(CRM_SIGNATURE), flow.settings.crm_secret_env)
        try:
            event = msgspec.json.decode(body, type=v1.CrmQuoteAccepted)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Not a CRM quote event: {exc}", code="INVALID_EVENT") from None
        except msgspec.DecodeError as exc:
            raise BadRequest(f"Malformed JSON: {exc}", code="INVALID_EVENT") from None
        tenant = flow.settings.crm_tenant
        source_system = flow.extra["quote_system"]
        quote_id = await flow.extra["crosswalks"](tenant).ensure(
            "quote", source_system, event.quote_system_id
        )
        traceparent = request.headers.get("traceparent")
        record, _ = await flow.transactions.accept(
            tenant, quote_id, source="crm_event", traceparent=traceparent
        )
        return v1.InboundAccepted(received=True, transaction_id=record.id)

    @post(
        "/stripe",
        status_code=200,
        operation_id="receiveStripeEvent",
        summary="Stripe webhook (Stripe-Signature); invoice.paid settles the transaction",
        description="Verified like Stripe's own libraries verify it (the stripe library's "
        "`Webhook.construct_event` accepts the same). `invoice.paid` for an invoice a "
        "transaction waits on records its payment (once, however often Stripe delivers); "
        "other events are acknowledged and ignored.",
        responses=RESPONSES,
        security=[{STRIPE_SCHEME: []}],
        opt=public(),
    )
    async def stripe_event(
        self, request: Request[Any, Any, Any], flow: Injected[Flow | None]
    ) -> v1.InboundAccepted:
        flow = running(flow)
        body = await request.body()
        secret = _secret(flow.settings.stripe_webhook_secret_env)
        try:
            if not secret:
                raise WebhookRejected("No webhook signing secret is configured.")
            event = webhooks.verify(
                body,
                request.headers.get(STRIPE_SIGNATURE) or "",
                secret,
                flow.settings.signature_tolerance_seconds,
            )
        except WebhookRejected as exc:
            raise NotAuthorizedException(detail=f"Invalid signature: {exc.detail}") from None
        record = webhooks.billing_event(event)
        if not isinstance(record, InvoicePaid) or not record.invoice_id:
            return v1.InboundAccepted(received=True)  # not an event a transaction waits on
        notice = PaymentNotice(
            payment_id=None,
            invoice_id=record.invoice_id,
            amount=record.amount_paid,
            currency=record.currency,
            source="stripe_webhook",
            system_id=record.invoice_system_id,
            received_at=record.paid_at or "",
        )
        transaction_id = await flow.transactions.paid(None, notice)
        return v1.InboundAccepted(received=True, transaction_id=transaction_id)
