"""The ownership map is configuration: each process routes by its own, nothing shared."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import redis.asyncio as aioredis

from gateway.app import create_app
from gateway.settings import RedisSettings
from gateway.wiring import Runtime, build_runtime
from tests.conftest import REDIS_URL, bearer
from tests.support.settings import gateway_settings

# Every domain where the embedded default puts it, except that ACME-UK's orders
# stay in SAP S/4HANA instead of going to NetSuite.
SAP_ONLY = {
    "customers": "salesforce",
    "prices": "salesforce",
    "quotes": "salesforce",
    "products": "sap_s4hana",
    "orders": "sap_s4hana",
    "erp_customers": "sap_s4hana",
    "invoices": "stripe",
    "payments": "stripe",
    "tax": "avalara",
}


async def _uk_order(runtime: Runtime) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", headers=bearer(runtime)
    ) as api:
        [uk] = (await api.get("/v1/customers", params={"name": "Fabrikam"})).json()["data"]
        products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
        product = next(p for p in products if p["sku"] == "Q2C-1003")
        response = await api.post(
            "/v1/orders",
            json={
                "customer_id": uk["id"],
                "currency": "GBP",
                "lines": [{"product_id": product["id"], "quantity": "1"}],
            },
            headers={"Idempotency-Key": f'"{uuid.uuid4()}"'},
        )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_processes_with_different_maps_route_by_their_own(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    shared = RedisSettings(url=REDIS_URL, prefix=redis_prefix)
    default = build_runtime(gateway_settings(redis=shared))
    sap_only = build_runtime(gateway_settings(redis=shared, ownership=SAP_ONLY))
    await default.start()
    await sap_only.start()
    try:
        assert default.ownership.owner("orders", "ACME-UK") == "netsuite"
        assert sap_only.ownership.owner("orders", "ACME-UK") == "sap_s4hana"
        # Started last, the second process changes nothing for the first.
        first = await _uk_order(default)
        second = await _uk_order(sap_only)
    finally:
        await sap_only.close()
        await default.close()
    assert [r["system"] for r in first["external_references"]] == ["netsuite"]
    assert [r["system"] for r in second["external_references"]] == ["sap_s4hana"]
    assert not [key async for key in redis_client.scan_iter(match=f"{redis_prefix}ownership*")]
