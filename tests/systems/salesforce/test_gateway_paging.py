"""Through the gateway: /v1/customers follows next_cursor past Salesforce's 2,000-row
OFFSET cap (the embedded Salesforce sandbox refuses deeper OFFSETs like the real API)."""

from __future__ import annotations

import httpx

from gateway.wiring import Runtime
from sandboxes.salesforce.app import STATIC_TOKEN, create_app
from tests.support.salesforce import seed_accounts

DEEP = 2_250  # the page at offset 2,200 is past the cap


async def test_customer_cursors_reach_every_account_past_2000(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    sandbox = runtime.sandboxes["salesforce"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)),
        base_url="http://salesforce.sandbox",
        headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
    ) as direct:
        seeded = set(await seed_accounts(direct, DEEP, prefix="Gateway Deep"))
    expected = {account["Id"] for account in sandbox.records("Account")}
    assert seeded <= expected
    seen: list[str] = []
    params = {"limit": "200"}
    while True:
        response = await api.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(
            ref["id"]
            for customer in body["data"]
            for ref in customer["external_references"]
            if ref["system"] == "salesforce"
        )
        if body["next_cursor"] is None:
            break
        params = {"limit": "200", "cursor": body["next_cursor"]}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
