"""SLA targets per stage: a breach shows on the transaction, in the operations report
and in the flow metrics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flow.landscape import Landscape, create_quote

pytestmark = [pytest.mark.postgres]

TIGHT_ORDER_SLA = """
[flow.policy.sla]
accepted_to_order = 0.001
"""


async def test_sla_breach_is_visible_on_the_transaction_report_and_metrics(
    land: Landscape, gateway_for: Any
) -> None:
    quotes = [create_quote(land), create_quote(land, price_factor="0.5")]
    async with gateway_for(TIGHT_ORDER_SLA) as gw:
        ordered = (await gw.accept(quotes[0]))["transaction_id"]
        stopped = (await gw.accept(quotes[1]))["transaction_id"]
        done = await gw.wait(ordered, "awaiting_payment")
        await gw.wait(stopped, "exception")

        sla = {s["stage"]: s for s in done["sla"]}
        assert sla["accepted_to_order"]["status"] == "breached"
        assert sla["accepted_to_order"]["elapsed_seconds"] > 0.001
        assert sla["order_to_invoice"]["status"] == "met"
        assert sla["invoice_to_paid"]["status"] == "running"
        assert done["sla_breached"] is True

        report = (await gw.client.get("/v1/ops/sla")).json()
        assert report["transactions"] == 2
        stages = {s["stage"]: s for s in report["stages"]}
        assert stages["accepted_to_order"]["breached"] == 2  # the stopped one is late too
        assert stages["accepted_to_order"]["completed"] == 1
        assert (
            stages["accepted_to_order"]["p95_seconds"] >= stages["accepted_to_order"]["p50_seconds"]
        )
        assert report["order_fallout_rate"] == 0.5
        assert report["manual_touch_rate"] == 0.0
        assert report["open_exceptions"] == 1

        metrics = (await gw.client.get("/metrics")).text
        breaches = [
            line
            for line in metrics.splitlines()
            if line.startswith("q2c_sla_breaches_total") and "accepted_to_order" in line
        ]
        assert breaches
        assert float(breaches[0].rsplit(" ", 1)[1]) >= 1
