"""A system of record that is down: bounded retries with backoff, then a dead letter
that an operator replays from the failed step; never a second order."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import Any

import pytest

from tests.flow.landscape import Landscape, create_quote, sap_orders
from tests.support.processes import Q2C

pytestmark = [pytest.mark.postgres]

FAST_RETRIES = """
[flow.policy.step_retry.submit_order]
max_attempts = 5
interval_seconds = 0.05
backoff_rate = 2.0
"""
SAP_DOWN = json.dumps(
    {"error": {"code": "/IWFND/CM_BEC/026", "message": {"lang": "en", "value": "Maintenance"}}}
).encode()


async def test_erp_down_for_a_while_is_retried_into_exactly_one_order(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land)
    sap = land.proxies["sap_s4hana"]
    sap.fail("POST", r"/A_SalesOrder$", status=503, body=SAP_DOWN, times=3)
    async with gateway_for(FAST_RETRIES) as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        done = await gw.wait(txid, "awaiting_payment")
        [order_step] = [e for e in done["timeline"] if e["step"] == "submit_order"]
        assert order_step["status"] == "succeeded"
        assert order_step["attempts"] == 4
        assert await gw.exceptions() == []
    assert [c.answered for c in sap.calls("POST", r"/A_SalesOrder$")] == [503, 503, 503, 201]
    assert len(sap_orders(land, done["order_id"])) == 1


async def test_erp_down_past_the_budget_dead_letters_and_replays_into_one_order(
    land: Landscape, gateway_for: Any, make_config: Any
) -> None:
    quote = create_quote(land)
    sap = land.proxies["sap_s4hana"]
    outage = sap.fail("POST", r"/A_SalesOrder$", status=503, body=SAP_DOWN)
    async with gateway_for(FAST_RETRIES) as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        parked = await gw.wait(txid, "dead_lettered")
        assert parked["stage"] == "submit_order"
        letters = (await gw.client.get("/v1/ops/dead-letters")).json()["data"]
        [letter] = [d for d in letters if d["transaction_id"] == txid]
        assert letter["kind"] == "dead_letter"
        assert letter["owner"] == "integration-ops"
        assert [e["class"] for e in letter["errors"]] == ["dependency_unavailable"] * 5
        assert len(sap.calls("POST", r"/A_SalesOrder$")) == 5
        events = (await gw.client.get("/v1/events")).json()["data"]
        assert "com.q2c.transaction.dead_lettered" in [e["type"] for e in events]
        assert await _dlq_depth(gw) == 1.0  # the flow metrics, from the heartbeat

        sap.rules.remove(outage)  # the ERP is back
        config = make_config(FAST_RETRIES, name="cli.toml")
        env = {**os.environ}
        listed = await _q2c("dlq", "list", "--config", str(config), env=env)
        assert json.loads(listed.splitlines()[0])["id"] == letter["id"]
        replayed = await _q2c("dlq", "replay", letter["id"], "--config", str(config), env=env)
        assert f"replaying {txid} from step submit_order" in replayed

        done = await gw.wait(txid, "awaiting_payment")
        steps = [e["step"] for e in done["timeline"]]
        assert steps.count("validate") == 1  # completed steps are not repeated
        assert steps.count("erp_customer") == 1
        letter = (await gw.client.get(f"/v1/ops/exceptions/{letter['id']}")).json()
        assert letter["state"] == "resolved"
    assert len(sap_orders(land, done["order_id"])) == 1


async def _dlq_depth(gw: Any) -> float:
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        metrics = (await gw.client.get("/metrics")).text
        for line in metrics.splitlines():
            if line.startswith('q2c_dlq_depth{stream="quote_to_cash"}'):
                value = float(line.rsplit(" ", 1)[1])
                if value or asyncio.get_running_loop().time() > deadline:
                    return value
        if asyncio.get_running_loop().time() > deadline:
            return -1.0
        await asyncio.sleep(0.1)


async def _q2c(*args: str, env: dict[str, str]) -> str:
    result = await asyncio.to_thread(
        subprocess.run,
        [Q2C, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
