"""One SAP order per canonical order id, whatever the version, the timing or a crash
(issue 13 items 1 and 2, and a gateway killed mid-order), over two gateway processes
on one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import (
    Figures,
    gateways,
    key,
    order_body,
    sap_server,
    until_done,
)
from tests.support.processes import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_one_key_on_v1_and_v2_at_once_over_two_gateways_makes_one_sap_order(
    tmp_path: Path,
    salesforce: ServerProcess,
    database: str,
    shared_redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13 item 1: the same Idempotency-Key on POST /v1/orders and /v2/orders at
    once made two SAP orders (5 of 5 runs). Here: 12 keys, each sent four times at once,
    v1 and v2 on both gateways, with SAP slow enough for every request to overlap."""
    figures = Figures("v1_v2_same_key")
    with sap_server() as (sap_url, sap), gateways(
        tmp_path,
        count=2,
        salesforce=salesforce.url,
        sap=sap_url,
        database=database,
        redis_prefix=shared_redis_prefix,
    ) as pair:
        async with pair.client(0) as a, pair.client(1) as b:
            body = await order_body(a)
            sap.sandbox.faults.latency_seconds = 0.15
            figures.faults = 1  # SAP slowed for the whole run

            async def race() -> list[httpx.Response]:
                headers = key()
                return [
                    figures.record(r)
                    for r in await asyncio.gather(
                        a.post("/v1/orders", content=body, headers=headers),
                        b.post("/v2/orders", content=body, headers=headers),
                        b.post("/v1/orders", content=body, headers=headers),
                        a.post("/v2/orders", content=body, headers=headers),
                    )
                ]

            rounds = await asyncio.gather(*(race() for _ in range(12)))
            sap.sandbox.faults.latency_seconds = 0.0
    figures.duplicates = sap.duplicates()
    created = [
        {r.json()["id"] for r in responses if r.status_code == 201} for responses in rounds
    ]
    figures.notes["sap_orders"] = len(sap.sandbox.sales_orders())
    figures.report(capsys)
    assert figures.statuses[500] == 0
    assert set(figures.statuses) <= {201, 409, 422}, figures.statuses
    for ids in created:
        [order_id] = ids  # every round made its order, under one id
        assert len(sap.orders_with_reference(order_id)) == 1
    assert figures.duplicates == 0


async def test_sap_slower_than_the_gateway_timeout_makes_one_order(
    tmp_path: Path,
    salesforce: ServerProcess,
    database: str,
    shared_redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13 item 2: SAP commits each order POST 2.5 s after it arrives while the
    gateway gives up after 1 s. Every first attempt is 504 with Retry-After; retries
    are told to wait while the order may still be committing, find it once it is, and
    the list shows each canonical id once."""
    figures = Figures("sap_slower_than_timeout")
    with sap_server() as (sap_url, sap), gateways(
        tmp_path,
        count=2,
        salesforce=salesforce.url,
        sap=sap_url,
        database=database,
        redis_prefix=shared_redis_prefix,
        sap_timeout=1.0,
        sap_commit_window=4.0,
    ) as pair:
        async with pair.client(0) as a, pair.client(1) as b:
            body = await order_body(a)
            customer_id = json.loads(body)["customer_id"]
            sap.commit_after_seconds = 2.5
            firsts: list[httpx.Response] = []

            async def order(index: int) -> httpx.Response:
                headers = key()
                api = (a, b)[index % 2]
                first = figures.record(await api.post("/v1/orders", content=body, headers=headers))
                firsts.append(first)
                other = (b, a)[index % 2]  # the retry goes to the other gateway
                return await until_done(
                    lambda: other.post("/v1/orders", content=body, headers=headers), figures
                )

            finals = await asyncio.gather(*(order(i) for i in range(4)))
            figures.faults = sap.order_posts  # each order POST answered too late
            sap.commit_after_seconds = 0.0
            listed = await a.get("/v1/orders", params={"customer_id": customer_id, "limit": 200})
    figures.duplicates = sap.duplicates()
    figures.report(capsys)
    assert [r.status_code for r in firsts] == [504] * 4, [r.text for r in firsts]
    for first in firsts:
        assert first.json()["code"] == "DEPENDENCY_TIMEOUT"
        assert int(first.headers["retry-after"]) >= 1
    assert [r.status_code for r in finals] == [201] * 4, [r.text for r in finals]
    assert figures.statuses[500] == 0
    ids = [r.json()["id"] for r in finals]
    for order_id in ids:
        assert len(sap.orders_with_reference(order_id)) == 1
    assert figures.duplicates == 0
    assert listed.status_code == 200, listed.text
    counted = Counter(o["id"] for o in listed.json()["data"])
    assert all(counted[order_id] == 1 for order_id in ids), counted
    # Four concurrent first orders of one customer made one SAP customer, not four.
    assert len({o["SoldToParty"] for o in sap.sandbox.sales_orders()}) == 1
    assert figures.statuses[503] >= 1  # a retry was told to wait for the commit window


async def test_a_gateway_killed_mid_order_and_the_retry_elsewhere_make_one_order(
    tmp_path: Path,
    salesforce: ServerProcess,
    database: str,
    shared_redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SAP has created the order and gateway A is SIGKILLed before it answers; the
    client's retry on gateway B is told to wait the lease out, then returns A's order."""
    figures = Figures("gateway_sigkill_mid_order")
    with sap_server() as (sap_url, sap), gateways(
        tmp_path,
        count=2,
        salesforce=salesforce.url,
        sap=sap_url,
        database=database,
        redis_prefix=shared_redis_prefix,
        extra="[idempotency]\nlease_seconds = 4\n",
    ) as pair:
        async with pair.client(0) as a, pair.client(1) as b:
            body = await order_body(b)
            headers = key()
            sap.hold = asyncio.Event()
            first = asyncio.create_task(a.post("/v1/orders", content=body, headers=headers))
            for _ in range(200):
                if sap.held:
                    break
                await asyncio.sleep(0.05)
            assert sap.held == 1, "SAP never received the order POST"
            figures.statuses["sent"] = 1  # the first request, never answered
            [sap_order] = sap.sandbox.sales_orders()[-1:]
            pair.servers[0].kill()
            figures.faults = 1
            with pytest.raises(httpx.TransportError):
                await asyncio.wait_for(first, 20)
            done = await until_done(
                lambda: b.post("/v1/orders", content=body, headers=headers), figures
            )
            sap.hold.set()
    del figures.statuses["sent"]
    figures.notes["in_flight_409"] = figures.statuses[409]
    figures.duplicates = sap.duplicates()
    figures.report(capsys)
    assert done.status_code == 201, done.text
    order = done.json()
    assert order["id"] == sap_order["PurchaseOrderByCustomer"]
    assert order["external_references"] == [
        {"system": "sap_s4hana", "id": sap_order["SalesOrder"]}
    ]
    assert len(sap.orders_with_reference(order["id"])) == 1
    assert figures.statuses[409] >= 1  # the lease of the dead gateway was respected
    assert figures.statuses[500] == 0
    assert figures.duplicates == 0
