"""Invoicing on fulfilment (goods legal entities): the transaction waits, durably, for
the ERP to deliver; a delivery that does not come by the deadline is an exception for
fulfilment ops."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.flow.landscape import SAP_AUTH, Landscape, create_quote

pytestmark = [pytest.mark.postgres]

ON_FULFILMENT = """
fulfilment_poll_seconds = 0.2
fulfilment_deadline_seconds = {deadline}
[flow.policy.legal_entities."ACME-EU"]
invoice = "on_fulfilment"
payment_terms = "NET15"
"""


async def test_goods_are_invoiced_once_the_erp_delivers(land: Landscape, gateway_for: Any) -> None:
    quote = create_quote(land)
    async with gateway_for(ON_FULFILMENT.format(deadline=60)) as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        waiting = await gw.wait(txid, "awaiting_fulfilment")
        assert waiting["invoice_id"] is None
        assert waiting["owner_system"] == "sap_s4hana"
        await asyncio.sleep(0.5)  # a few polls: still not invoiced
        assert (await gw.transaction(txid))["state"] == "awaiting_fulfilment"

        order = waiting["external_references"][0]["id"]
        delivered = await asyncio.to_thread(
            httpx.post,
            f"{land.direct['sap_s4hana']}/sandbox/admin/orders/{order}/deliver",
            auth=SAP_AUTH,
            timeout=10,
        )
        assert delivered.status_code == 200, delivered.text
        done = await gw.wait(txid, "awaiting_payment")
        steps = [e["step"] for e in done["timeline"]]
        assert steps.index("fulfilment") < steps.index("invoice")
        events = (await gw.client.get("/v1/events")).json()["data"]
        assert "com.q2c.fulfillment.completed" in [e["type"] for e in events]


async def test_a_late_delivery_is_an_exception_for_fulfilment_ops(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land)
    async with gateway_for(ON_FULFILMENT.format(deadline=0.5)) as gw:
        started = time.monotonic()
        txid = (await gw.accept(quote))["transaction_id"]
        stopped = await gw.wait(txid, "exception")
        assert time.monotonic() - started >= 0.5
        [item] = await gw.exceptions(owner="fulfilment-ops")
        assert item["code"] == "FULFILMENT_OVERDUE"
        assert item["transaction_id"] == txid
        assert stopped["invoice_id"] is None
