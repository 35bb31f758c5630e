"""A step that fails for good after the ERP order exists is never a silent partial:
the transaction needs attention, the configured compensation runs (or is offered),
and the billing team owns it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.flow.landscape import Landscape, create_quote, sap_orders

pytestmark = [pytest.mark.postgres]

STRIPE_REFUSES = json.dumps(
    {
        "error": {
            "type": "invalid_request_error",
            "code": "customer_tax_location_invalid",
            "message": "The customer's address is not a valid tax location.",
            "param": "customer",
        }
    }
).encode()


async def test_invoice_failing_for_good_needs_attention_and_cancels_the_order(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land)
    land.proxies["stripe"].fail("POST", r"/v1/invoices$", status=400, body=STRIPE_REFUSES)
    async with gateway_for() as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        stopped = await gw.wait(txid, "needs_attention")
        assert stopped["order_id"]
        assert stopped["invoice_id"] is None
        steps = [(e["step"], e["status"]) for e in stopped["timeline"]]
        assert ("compensate", "succeeded") in steps
        assert ("invoice", "failed") in steps

        [item] = await gw.exceptions(owner="billing-ops")
        assert item["transaction_id"] == txid
        assert item["class"] == "data_quality"
        assert item["compensation"].startswith("ran: cancel_order:sap_s4hana:")
        assert item["context"]["order"]["order_id"] == stopped["order_id"]

        erp = gw.runtime.adapters.erps["sap_s4hana"]
        order = await erp.get_order(stopped["external_references"][0]["id"])
        assert order is not None
        assert order.status == "cancelled"

        types = [e["type"] for e in (await gw.client.get("/v1/events")).json()["data"]]
        assert "com.q2c.transaction.compensated" in types
        assert "com.q2c.transaction.needs_attention" in types

        closed = await gw.client.post(
            f"/v1/ops/exceptions/{item['id']}/resolve", json={"note": "re-quoted"}
        )
        assert closed.status_code == 202
        assert (await gw.wait(txid, "closed"))["ended_at"]
    assert len(sap_orders(land, stopped["order_id"])) == 1
