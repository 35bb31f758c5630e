"""The hot path stays cheap: a governed GET whose crosswalk entries are cached (in the
process, or in Redis for a process that has not seen them) sends nothing to the
database. Counted with the database's own statement counter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import RedisSettings, Settings
from gateway.stores.sql.config import DatabaseSettings
from gateway.wiring import Runtime, build_runtime
from tests.conftest import REDIS_URL, bearer
from tests.support.databases import truncate_all
from tests.support.settings import gateway_settings

READS = ("/v1/products?limit=5", "/v1/customers?limit=5", "/v1/quotes?limit=5")


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, runtime))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers=bearer(runtime)
        ) as api:
            yield runtime, api
    finally:
        await runtime.close()


async def round_trips(runtime: Runtime, api: httpx.AsyncClient, path: str) -> int:
    before = runtime.database.round_trips
    response = await api.get(path)
    assert response.status_code == 200, response.text
    return runtime.database.round_trips - before


async def test_warm_reads_send_nothing_to_the_database_in_the_embedded_default() -> None:
    async with gateway(gateway_settings()) as (runtime, api):
        for path in READS:
            assert await round_trips(runtime, api, path) > 0, path  # cold: ids minted
            assert await round_trips(runtime, api, path) == 0, path
        customer = (await api.get("/v1/customers", params={"name": "Datum"})).json()["data"][0]
        product = (await api.get("/v1/products", params={"limit": "50"})).json()["data"][0]
        created = await api.post(
            "/v1/orders",
            json={
                "customer_id": customer["id"],
                "currency": "USD",
                "lines": [{"product_id": product["id"], "quantity": "1"}],
            },
            headers={"Idempotency-Key": '"round-trips-1"'},
        )
        assert created.status_code == 201, created.text
        order = f"/v1/orders/{created.json()['id']}"
        await round_trips(runtime, api, order)
        assert await round_trips(runtime, api, order) == 0


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_process_with_cold_memory_reads_the_crosswalk_from_redis(
    postgres_url: str, redis_prefix: str
) -> None:
    truncate_all(postgres_url)
    settings = gateway_settings(
        database=DatabaseSettings(url=postgres_url),
        redis=RedisSettings(url=REDIS_URL, prefix=redis_prefix),
    )
    async with gateway(settings) as (first, api):
        for path in READS:
            await round_trips(first, api, path)  # mints the ids, fills Redis
    # Another process (its memory cold) on the same database and Redis.
    async with gateway(settings) as (second, api):
        for path in READS:
            assert await round_trips(second, api, path) == 0, path
