"""An accepted quote carried to cash: order, invoice, payment, CRM write-back, with the
whole timeline and every canonical event, once."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from tests.flow.landscape import STRIPE_KEY, Landscape, create_quote, sap_orders

pytestmark = [pytest.mark.postgres]

EXPECTED_EVENTS = [
    "com.q2c.quote.accepted",
    "com.q2c.customer.validated",
    "com.q2c.order.accepted",
    "com.q2c.invoice.generated",
    "com.q2c.payment.received",
    "com.q2c.transaction.completed",
]


async def test_accepted_quote_to_payment_with_timeline_and_events(
    land: Landscape, gateway_for: Any, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    quote = create_quote(land)
    async with gateway_for() as gw:
        accepted = await gw.accept(quote)
        again = await gw.accept(quote, key="another-key")  # same quote: one transaction
        assert again["transaction_id"] == accepted["transaction_id"]
        assert again["created"] is False
        txid = accepted["transaction_id"]

        invoiced = await gw.wait(txid, "awaiting_payment")
        assert invoiced["order_id"]
        assert invoiced["invoice_id"]
        assert invoiced["owner_system"] == "stripe"
        pay = await gw.client.post(
            "/v1/payments",
            json={"invoice_id": invoiced["invoice_id"], "payment_method": "pm_card_visa"},
            headers={"Idempotency-Key": '"pay-1"'},
        )
        assert pay.status_code == 201, pay.text
        done = await gw.wait(txid, "completed")

        steps = [(e["step"], e["status"]) for e in done["timeline"]]
        assert [s for s, _ in steps] == [
            "accepted",
            "validate",
            "erp_customer",
            "submit_order",
            "invoice",
            "write_back",
            "payment",
            "write_back",
            "completed",
        ]
        order_step = next(e for e in done["timeline"] if e["step"] == "submit_order")
        assert order_step["system"] == "sap_s4hana"
        assert order_step["system_ids"]["order"] == done["external_references"][0]["id"]
        assert done["paid_at"]
        assert done["invoiced_at"]
        assert done["ordered_at"]
        assert {s["stage"]: s["status"] for s in done["sla"]} == {
            "accepted_to_order": "met",
            "order_to_invoice": "met",
            "invoice_to_paid": "met",
        }
        assert len(sap_orders(land, done["order_id"])) == 1
        # The transaction is the trace's business key in every system-of-record call.
        # (SAP hears only from the flow here; Stripe also from the POST /v1/payments.)
        sent = land.proxies["sap_s4hana"].headers
        assert sent
        assert {h.get("x-request-id") for h in sent} == {txid}
        assert {h["traceparent"].split("-")[1] for h in sent} == {done["trace_id"]}
        assert txid in {h.get("x-request-id") for h in land.proxies["stripe"].headers}

        events = (await gw.client.get("/v1/events", params={"after": 0, "limit": 100})).json()
        mine = [e for e in events["data"] if e["transactionid"] == txid]
        assert [e["type"] for e in mine] == EXPECTED_EVENTS
        assert all(e["specversion"] == "1.0" and e["tenant"] == "sandbox" for e in mine)
        assert len({e["id"] for e in mine}) == len(mine)
        later = (await gw.client.get("/v1/events", params={"after": events["next_after"]})).json()
        assert later["data"] == []

    stream = await redis_client.xrange(f"{redis_prefix}events:sandbox")
    streamed = [msgspec.json.decode(fields["event"]) for _, fields in stream]
    assert [e["type"] for e in streamed if e["transactionid"] == txid] == EXPECTED_EVENTS


async def test_waiting_transactions_do_not_hold_the_workers_capacity(
    land: Landscape, gateway_for: Any
) -> None:
    """Two steps at a time per worker, four transactions: the first two wait for their
    payment (for days, in real life) while the other two still go through."""
    quotes = [create_quote(land) for _ in range(4)]
    async with gateway_for(flow="worker_concurrency = 2") as gw:
        ids = [(await gw.accept(quote))["transaction_id"] for quote in quotes]
        for txid in ids:
            await gw.wait(txid, "awaiting_payment")


async def test_each_step_is_a_span_of_the_accepting_trace_keyed_by_the_transaction(
    land: Landscape, gateway_for: Any
) -> None:
    """The transaction id is the trace's business key: every step attempt is a span
    under the request that accepted the quote, and the step's SoR calls are its children."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    quote = create_quote(land)
    async with gateway_for() as gw:
        quote_id = await gw.quote_id(quote)
        response = await gw.client.post(
            f"/v1/quotes/{quote_id}/accept",
            headers={
                "Idempotency-Key": '"traced"',
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            },
        )
        assert response.status_code == 202, response.text
        txid = response.json()["transaction_id"]
        invoiced = await gw.wait(txid, "awaiting_payment")
        ring = gw.runtime.tracer.ring
        assert ring is not None
        spans = ring.page(trace_id=trace_id, limit=1000).data
    steps = {s.attributes["q2c.step"]: s for s in spans if s.name.startswith("q2c.flow ")}
    assert {"validate", "erp_customer", "submit_order", "invoice"} <= set(steps)
    assert all(s.attributes["q2c.transaction_id"] == txid for s in steps.values())
    assert all(s.attributes["q2c.tenant"] == "sandbox" for s in steps.values())
    server = next(s for s in spans if s.kind == "server")
    assert all(s.parent_span_id == server.span_id for s in steps.values())
    clients = [s for s in spans if s.kind == "client"]
    sap_calls = [s for s in clients if s.attributes["q2c.system"] == "sap_s4hana"]
    assert sap_calls
    submit = steps["submit_order"].span_id
    assert any(s.parent_span_id == submit for s in sap_calls)
    assert {s.parent_span_id for s in sap_calls} <= {st.span_id for st in steps.values()}
    # ... and Stripe, which has a field for it, records it on the invoice.
    with httpx.Client(base_url=land.direct["stripe"], auth=(STRIPE_KEY, ""), timeout=10) as api:
        invoices = api.get("/v1/invoices", params={"limit": 100}).json()["data"]
    mine = invoiced["invoice_id"]
    [invoice] = [i for i in invoices if i["metadata"].get("q2c_invoice_id") == mine]
    assert invoice["metadata"]["q2c_transaction_id"] == txid
    land.reset()
