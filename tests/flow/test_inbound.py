"""Signed inbound events: the CRM's accepted quote and Stripe's invoice.paid. A
repeated event is one transaction (or one payment); a bad signature is a 401 that
leaves nothing behind."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.flow import tables
from gateway.flow.signatures import sign
from tests.flow.landscape import ENV, Landscape, create_quote

pytestmark = [pytest.mark.postgres]

CRM_SECRET = ENV["Q2C_CRM_WEBHOOK_SECRET"]
STRIPE_SECRET = ENV["Q2C_STRIPE_WEBHOOK_SECRET"]


def crm_event(quote: str, event_id: str) -> bytes:
    return json.dumps({"id": event_id, "type": "quote.accepted", "quote_system_id": quote}).encode()


async def _count(gw: Any, table: sa.Table) -> int:
    async with gw.runtime.database.reading() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar())


async def test_duplicate_crm_event_is_one_transaction(land: Landscape, gateway_for: Any) -> None:
    quote = create_quote(land)
    async with gateway_for() as gw:
        ids = set()
        for event_id in ("evt-1", "evt-1", "evt-2"):  # a redelivery, then a second event
            body = crm_event(quote, event_id)
            response = await gw.client.post(
                "/v1/events/inbound/crm",
                content=body,
                headers={
                    "X-Q2C-Signature": sign(body, CRM_SECRET),
                    "content-type": "application/json",
                    "Authorization": "",
                },
            )
            assert response.status_code == 202, response.text
            ids.add(response.json()["transaction_id"])
        [txid] = ids
        quote_id = await gw.quote_id(quote)
        listed = (await gw.client.get("/v1/transactions", params={"quote_id": quote_id})).json()
        assert [t["id"] for t in listed["data"]] == [txid]
        assert listed["data"][0]["source"] == "crm_event"
        await gw.wait(txid, "awaiting_payment")
        assert await _count(gw, tables.transactions) == 1


async def test_bad_or_missing_signature_is_401_and_nothing_is_recorded(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land)
    body = crm_event(quote, "evt-forged")
    stale = sign(body, CRM_SECRET, timestamp=int(time.time()) - 3600)
    async with gateway_for() as gw:
        for headers in (
            {},  # missing
            {"X-Q2C-Signature": sign(body, "not-the-secret")},  # another secret
            {"X-Q2C-Signature": stale},  # replayed an hour later
            {"X-Q2C-Signature": sign(body + b" ", CRM_SECRET)},  # another body
            {"X-Q2C-Signature": "v1=deadbeef"},  # malformed
        ):
            response = await gw.client.post(
                "/v1/events/inbound/crm",
                content=body,
                headers={**headers, "content-type": "application/json", "Authorization": ""},
            )
            assert response.status_code == 401, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        stripe = await gw.client.post(
            "/v1/events/inbound/stripe",
            content=b'{"type": "invoice.paid"}',
            headers={"Stripe-Signature": sign(b'{"type": "invoice.paid"}', "whsec_wrong")},
        )
        assert stripe.status_code == 401
        assert await _count(gw, tables.transactions) == 0
        assert await _count(gw, tables.events) == 0
        assert (
            await gw.runtime.crosswalks("sandbox").canonical_id("quote", "salesforce", quote)
            is None
        )


async def test_duplicate_stripe_webhook_settles_the_transaction_once(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land)
    async with gateway_for() as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        invoiced = await gw.wait(txid, "awaiting_payment")
        invoice = invoiced["external_references"][1]["id"]
        event = {
            "id": "evt_q2c_test_1",
            "object": "event",
            "type": "invoice.paid",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": invoice,
                    "object": "invoice",
                    "customer": "cus_q2c_test",
                    "currency": "eur",
                    "amount_paid": 1234500,
                    "payment_intent": "pi_q2c_test",
                    "metadata": {"q2c_invoice_id": invoiced["invoice_id"]},
                }
            },
        }
        body = json.dumps(event).encode()
        for _ in range(2):  # Stripe delivers at least once
            response = await gw.client.post(
                "/v1/events/inbound/stripe",
                content=body,
                headers={
                    "Stripe-Signature": sign(body, STRIPE_SECRET),
                    "content-type": "application/json",
                },
            )
            assert response.status_code == 200, response.text
            assert response.json()["transaction_id"] == txid
        done = await gw.wait(txid, "completed")
        payments = [e for e in done["timeline"] if e["step"] == "payment"]
        assert len(payments) == 1
        assert payments[0]["detail"] == "12345.00 EUR via stripe_webhook"
        events = (await gw.client.get("/v1/events", params={"limit": 200})).json()["data"]
        assert [e["type"] for e in events].count("com.q2c.payment.received") == 1
