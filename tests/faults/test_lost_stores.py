"""Redis lost (restarted empty, then paused) and PostgreSQL restarted, both mid-load.

Issue 13 item 3: Redis restarted empty made every domain call 500 for good, changed
every canonical id and let one tenant list another's orders. Redis now holds only what
may be lost; the database holds the rest. A database restart answers 503 with
Retry-After while it is down and loses or duplicates nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from gateway.stores.sql import migrate
from tests.faults.harness import (
    Figures,
    SapControl,
    gateways,
    key,
    order_body,
    sap_server,
    until_done,
)
from tests.faults.servers import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.support.processes import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LOAD_SECONDS = 9.0


async def snapshot(api: httpx.AsyncClient) -> dict[str, list[str]]:
    """The canonical ids clients hold: products and customers, as listed."""
    products = await api.get("/v1/products", params={"limit": "20"})
    customers = await api.get("/v1/customers", params={"limit": "20"})
    assert products.status_code == customers.status_code == 200
    return {
        "products": [p["id"] for p in products.json()["data"]],
        "customers": [c["id"] for c in customers.json()["data"]],
    }


async def run_load(
    workers: list[Callable[[], Awaitable[None]]], faults: Callable[[], Awaitable[None]]
) -> None:
    stop = time.monotonic() + LOAD_SECONDS

    async def loop(work: Callable[[], Awaitable[None]]) -> None:
        while time.monotonic() < stop:
            await work()

    await asyncio.gather(faults(), *(loop(w) for w in workers))


def assert_one_order_each(sap: SapControl, order_ids: list[str]) -> None:
    for order_id in order_ids:
        assert len(sap.orders_with_reference(order_id)) == 1, order_id


async def test_redis_restarted_empty_and_paused_mid_load(
    tmp_path: Path,
    salesforce: ServerProcess,
    database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = Figures("redis_lost_mid_load")
    redis: PrivateRedis
    with private_redis() as redis, sap_server() as (sap_url, sap), gateways(
        tmp_path,
        count=2,
        salesforce=salesforce.url,
        sap=sap_url,
        database=database,
        redis_url=redis.url,
        redis_prefix="q2c:",
    ) as pair:
        globex = pair.token_for("globex")
        async with pair.client(0) as a, pair.client(1) as b, pair.client(1, globex) as other:
            body = await order_body(a)
            # The same SAP customer, under globex's own canonical id.
            theirs = await other.get("/v1/customers", params={"name": "Datum"})
            their_customer = theirs.json()["data"][0]["id"]
            assert their_customer != json.loads(body)["customer_id"]
            before = await snapshot(a)
            placed: list[tuple[dict[str, str], httpx.Response]] = []
            for _ in range(3):
                headers = key()
                response = figures.record(
                    await a.post("/v1/orders", content=body, headers=headers)
                )
                assert response.status_code == 201, response.text
                placed.append((headers, response))
            made: list[str] = [r.json()["id"] for _, r in placed]
            replays: list[httpx.Response] = []
            seen: list[dict[str, list[str]]] = []

            async def read() -> None:
                for api in (a, b):
                    figures.record(await api.get("/v1/products", params={"limit": "20"}))
                    figures.record(await api.get(f"/v1/orders/{made[0]}"))
                seen.append(await snapshot(b))
                await asyncio.sleep(0.05)

            async def write() -> None:
                headers = key()
                done = await until_done(
                    lambda: b.post("/v1/orders", content=body, headers=headers), figures
                )
                assert done.status_code == 201, done.text
                made.append(done.json()["id"])

            async def replay() -> None:
                headers, first = placed[len(replays) % len(placed)]
                again = figures.record(await b.post("/v1/orders", content=body, headers=headers))
                replays.append(again)
                assert again.status_code == 201, again.text
                assert again.content == first.content
                await asyncio.sleep(0.1)

            async def trespass() -> None:
                denied = figures.record(await other.get(f"/v1/orders/{made[0]}"))
                assert denied.status_code == 404, denied.text
                await asyncio.sleep(0.1)

            async def faults() -> None:
                await asyncio.sleep(2.0)
                redis.shutdown_nosave()  # every key gone
                figures.faults += 1
                await asyncio.sleep(1.0)
                redis.start()  # back, empty
                await asyncio.sleep(2.5)
                redis.pause()  # SIGSTOP: connections hang
                figures.faults += 1
                await asyncio.sleep(1.5)
                redis.resume()

            await run_load([read, read, write, write, replay, trespass], faults)
            after = await snapshot(a)
            listed_by_other = await other.get(
                "/v1/orders", params={"customer_id": their_customer, "limit": "200"}
            )
            reads_after = [figures.record(await a.get(f"/v1/orders/{i}")) for i in made]
    figures.duplicates = sap.duplicates()
    figures.notes["orders"] = len(made)
    figures.notes["replays"] = len(replays)
    figures.report(capsys)
    assert figures.statuses[500] == 0, figures.line()
    assert after == before  # no canonical id changed
    assert all(s == before for s in seen), "an id changed while Redis was away"
    assert all(r.headers["idempotent-replayed"] == "true" for r in replays)
    assert [r.status_code for r in reads_after] == [200] * len(made)
    assert listed_by_other.status_code == 200
    assert not {o["id"] for o in listed_by_other.json()["data"]} & set(made)
    assert_one_order_each(sap, made)
    assert figures.duplicates == 0


async def test_postgres_restarted_mid_load(
    tmp_path: Path,
    salesforce: ServerProcess,
    shared_redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = Figures("postgres_restarted_mid_load")
    postgres: PrivatePostgres
    with private_postgres() as postgres, sap_server() as (sap_url, sap):
        url = postgres.create_database("q2c")
        migrate.upgrade(url)
        with gateways(
            tmp_path,
            count=2,
            salesforce=salesforce.url,
            sap=sap_url,
            database=url,
            redis_prefix=shared_redis_prefix,
            extra="[idempotency]\nlease_seconds = 6\n",
            sap_commit_window=2.0,
        ) as pair:
            async with pair.client(0) as a, pair.client(1) as b:
                body = await order_body(a)
                before = await snapshot(a)
                made: list[str] = []
                unavailable: list[httpx.Response] = []

                async def write(api: httpx.AsyncClient) -> None:
                    headers = key()

                    async def send() -> httpx.Response:
                        response = await api.post("/v1/orders", content=body, headers=headers)
                        if response.status_code == 503:
                            unavailable.append(response)
                        return response

                    done = await until_done(send, figures, deadline_seconds=60)
                    assert done.status_code == 201, done.text
                    made.append(done.json()["id"])

                async def read() -> None:
                    for api in (a, b):
                        figures.record(await api.get("/v1/products", params={"limit": "20"}))
                    await asyncio.sleep(0.05)

                async def faults() -> None:
                    await asyncio.sleep(1.5)
                    postgres.stop("fast")
                    figures.faults += 1
                    await asyncio.sleep(2.5)
                    postgres.start()

                await run_load(
                    [lambda: write(a), lambda: write(b), lambda: write(a), read], faults
                )
                after = await snapshot(b)
                reads_after = [figures.record(await b.get(f"/v1/orders/{i}")) for i in made]
    figures.duplicates = sap.duplicates()
    figures.notes["orders"] = len(made)
    figures.notes["503_while_down"] = len(unavailable)
    figures.report(capsys)
    assert figures.statuses[500] == 0, figures.line()
    assert unavailable, "the outage was not noticed"
    assert all(int(r.headers["retry-after"]) >= 1 for r in unavailable)
    assert all(r.json()["retryable"] is True for r in unavailable)
    assert after == before
    assert [r.status_code for r in reads_after] == [200] * len(made)
    assert len(set(made)) == len(made)
    assert_one_order_each(sap, made)
    assert figures.duplicates == 0

