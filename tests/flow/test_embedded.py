"""The embedded default (``make serve``): one worker inside the gateway, DBOS on a
SQLite file under .q2c/, the sandboxes in-process: a demo quote goes to cash."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.flow.settings import FlowSettings
from gateway.wiring import build_runtime
from tests.conftest import bearer
from tests.support.settings import gateway_settings


async def test_embedded_default_carries_a_demo_quote_to_cash(gateway_home: Path) -> None:
    runtime = build_runtime(gateway_settings(flow=FlowSettings(polling_interval_seconds=0.05)))
    assert runtime.flow is not None
    assert runtime.flow.runs_workflows
    await runtime.start()
    try:
        app = create_app(runtime.settings, runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway.test",
            headers=bearer(runtime),
        ) as api:
            quotes = (await api.get("/v1/quotes", params={"status": "accepted"})).json()["data"]
            accepted = await api.post(
                f"/v1/quotes/{quotes[0]['id']}/accept", headers={"Idempotency-Key": '"demo"'}
            )
            assert accepted.status_code == 202, accepted.text
            location = accepted.headers["location"]
            body = await _until(api, location, "awaiting_payment")
            paid = await api.post(
                "/v1/payments",
                json={"invoice_id": body["invoice_id"], "payment_method": "pm_card_visa"},
                headers={"Idempotency-Key": '"demo-pay"'},
            )
            assert paid.status_code == 201, paid.text
            done = await _until(api, location, "completed")
            assert done["timeline"][-1]["step"] == "completed"
    finally:
        await runtime.close()
    assert (gateway_home / "dbos.sqlite").exists()


async def _until(api: httpx.AsyncClient, location: str, state: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = (await api.get(location)).json()
        if body["state"] == state:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {state}: {body}")
