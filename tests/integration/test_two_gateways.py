"""Two gateway processes sharing one PostgreSQL and one Redis: limits, idempotency and
ids hold across them.

Each test drives two real ``q2c serve`` processes (separate PIDs) started from
configurations in one folder, so they share the issuer key and every token works
on both, one database per module (idempotency records, the crosswalk, the ledger)
and one Redis key prefix per module (rate-limit counters, caches). Salesforce runs
as a sandbox process; the
SAP sandbox is served in a thread of the test process so the tests can slow it
down, hold a response and look at its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gateway.stores.sql import migrate
from sandboxes.sap_s4hana.app import SapSandbox, create_app
from tests.support.databases import scratch_database
from tests.support.processes import (
    E2E_CLIENT,
    E2E_SECRET,
    SANDBOX_ENV,
    ServerProcess,
    config_for,
    gateway,
    running,
    running_together,
    sandbox,
)
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SAP_ORDERS = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
PROBLEM_JSON = "application/problem+json"
HOLD_SECONDS = 15.0  # upper bound on how long a held SAP response waits for release

# A long window so the refill during the test is negligible even on a slow machine:
# one unit comes back every 36 s.
TIGHT_PLANS = """
[rate_limit]
default_plan = "default"
ip_plan = "anonymous"

[rate_limit.plans.default]
quota = 600
window_seconds = 60
burst = 100

[rate_limit.plans.anonymous]
quota = 60
window_seconds = 60

[rate_limit.plans.tight]
quota = 100
window_seconds = 3600
burst = 100
"""

SHORT_LEASE = """
[idempotency]
lease_seconds = 3
"""


# -- the SAP sandbox, served in a thread, with a response that can be held -------------


class HeldOrderResponse:
    """ASGI wrapper around the SAP sandbox.

    Once armed, the next ``POST .../A_SalesOrder`` runs in the sandbox (so the
    order exists) but its response is held back until ``release`` is set (or
    ``HOLD_SECONDS`` pass), as if the network or the caller stalled right after
    the ERP committed. Every other request passes straight through.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.created = threading.Event()
        self.release = threading.Event()
        self.held_body = b""
        self._armed = False

    def arm(self) -> None:
        self.created.clear()
        self.release.clear()
        self.held_body = b""
        self._armed = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (
            self._armed
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/A_SalesOrder")
        ):
            await self.app(scope, receive, send)
            return
        self._armed = False  # one-shot: a second order POST would not be held
        messages: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        self.held_body = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        self.created.set()
        deadline = time.monotonic() + HOLD_SECONDS
        while not self.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for message in messages:
            await send(message)  # uvicorn drops sends to a peer that went away


@dataclass
class Sap:
    url: str
    sandbox: SapSandbox
    hold: HeldOrderResponse

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, auth=("Q2C_GATEWAY", "sandbox"), timeout=20)


async def sap_orders_with_reference(sap: Sap, reference: str) -> list[dict[str, Any]]:
    """Sales orders whose PurchaseOrderByCustomer is ``reference``, over SAP's OData API."""
    async with sap.api() as api:
        response = await api.get(
            SAP_ORDERS,
            params={
                "$filter": f"PurchaseOrderByCustomer eq '{reference}'",
                "$format": "json",
            },
        )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["d"]["results"]
    return results


async def sap_order_count(sap: Sap) -> int:
    async with sap.api() as api:
        response = await api.get(f"{SAP_ORDERS}/$count")
    assert response.status_code == 200, response.text
    return int(response.text)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    """This module's Redis key prefix; every key under it is deleted afterwards.

    Without Redis the module is skipped, except in CI (CI=true) where it fails.
    """
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        client.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and did not answer at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"q2c-test:two-gw-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """This module's own PostgreSQL database, migrated; dropped afterwards."""
    with scratch_database("q2c_two_gw") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="module")
def salesforce() -> Iterator[ServerProcess]:
    server = sandbox("salesforce")
    with running(server):
        yield server


@pytest.fixture(scope="module")
def sap() -> Iterator[Sap]:
    tenant = SapSandbox()
    hold = HeldOrderResponse(create_app(tenant))
    with serve_in_thread(hold) as url:
        try:
            yield Sap(url, tenant, hold)
        finally:
            tenant.faults.latency_seconds = 0.0
            hold.release.set()  # let a held response finish so the server can stop


@dataclass
class Pair:
    """Two gateway processes from one configuration, and a token both accept."""

    a: ServerProcess
    b: ServerProcess
    token: str

    def client(self, server: ServerProcess, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=server.url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )


def client_credentials_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(E2E_CLIENT, E2E_SECRET),
        timeout=20,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@contextlib.contextmanager
def two_gateways(
    folder: Path,
    *,
    salesforce: str,
    sap: str,
    prefix: str,
    database: str,
    extra: str = "",
    plan: str = "gold",
) -> Iterator[Pair]:
    config = config_for(
        folder / "gateway.toml",
        salesforce=salesforce,
        sap=sap,
        redis_prefix=prefix,
        extra=extra,
        plan=plan,
        database_url=database,
    )
    a, b = gateway(config, SANDBOX_ENV), gateway(config, SANDBOX_ENV)
    with running_together(a, b):
        assert a.process is not None
        assert b.process is not None
        assert a.process.pid != b.process.pid
        assert a.port != b.port
        for server in (a, b):  # both reach Redis and the systems before a test starts
            ready = httpx.get(f"{server.url}/health/ready", timeout=20)
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready", ready.text
        yield Pair(a, b, client_credentials_token(a.url))


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    prefix: str,
    database: str,
    salesforce: ServerProcess,
    sap: Sap,
) -> Iterator[Pair]:
    """Two gateways with the computed idempotency lease and the generous "gold" plan."""
    with two_gateways(
        tmp_path_factory.mktemp("pair"),
        salesforce=salesforce.url,
        sap=sap.url,
        prefix=prefix,
        database=database,
    ) as gateways:
        yield gateways


def key_header() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


async def accepted_quote(api: httpx.AsyncClient, index: int = 0) -> dict[str, Any]:
    """The ``index``-th accepted quote: each test orders its own, since an accepted quote
    becomes one order."""
    response = await api.get("/v1/quotes", params={"status": "accepted", "limit": "50"})
    assert response.status_code == 200, response.text
    quotes: list[dict[str, Any]] = response.json()["data"]
    assert len(quotes) > index, "the Salesforce sandbox has too few accepted quotes"
    return quotes[index]


def order_body(quote: dict[str, Any]) -> bytes:
    """The exact bytes of every attempt: the idempotency fingerprint covers the body."""
    return json.dumps({"customer_id": quote["customer_id"], "quote_id": quote["id"]}).encode()


# -- tests ------------------------------------------------------------------------------


async def test_rate_limit_is_exact_across_two_gateways(
    tmp_path: Path, prefix: str, database: str, salesforce: ServerProcess, sap: Sap
) -> None:
    """400 calls against a 100-call budget, split over two processes: exactly 100 pass."""
    with two_gateways(
        tmp_path,
        salesforce=salesforce.url,
        sap=sap.url,
        prefix=prefix,
        database=database,
        extra=TIGHT_PLANS,
        plan="tight",
    ) as gateways:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        gate = asyncio.Semaphore(32)
        async with (
            gateways.client(gateways.a, limits=limits) as api_a,
            gateways.client(gateways.b, limits=limits) as api_b,
        ):

            async def call(api: httpx.AsyncClient) -> httpx.Response:
                async with gate:
                    return await api.get("/v1/products", params={"limit": "1"})

            responses = await asyncio.gather(
                *(call(api_a if i % 2 == 0 else api_b) for i in range(400))
            )

    statuses = Counter(r.status_code for r in responses)
    by_gateway = Counter((str(r.request.url.port), r.status_code) for r in responses)
    print(f"\nrate limit: statuses={dict(statuses)} by (port, status)={dict(by_gateway)}")
    assert statuses[200] == 100, statuses
    assert statuses[429] == 300, statuses
    admitted_by = {port for port, status in by_gateway if status == 200}
    assert admitted_by == {str(gateways.a.port), str(gateways.b.port)}, by_gateway
    for response in responses:
        assert response.headers["ratelimit-policy"] == '"tight";q=100;w=3600'
        assert response.headers["ratelimit"].startswith('"tight";r=')
        if response.status_code == 200:
            continue
        assert response.headers["content-type"] == PROBLEM_JSON
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["ratelimit"].startswith('"tight";r=0;')
        problem = response.json()
        assert problem["status"] == 429
        assert problem["code"] == "QUOTA_EXCEEDED"
        assert problem["violated_policies"] == ["tight"]


async def test_fifty_concurrent_posts_with_one_key_make_one_sap_order(pair: Pair, sap: Sap) -> None:
    """Same key, same body, 50 times over two processes: one execution, one ERP order."""
    async with pair.client(pair.a) as api_a, pair.client(pair.b) as api_b:
        quote = await accepted_quote(api_a)
        body = order_body(quote)
        headers = {**key_header(), "Content-Type": "application/json"}
        before = await sap_order_count(sap)
        sap.sandbox.faults.latency_seconds = 0.2  # every SAP call: widen the race
        try:

            async def post(index: int) -> httpx.Response:
                # Five waves of ten, so that (with SAP's latency) some requests
                # arrive while the first one runs and some after it has finished.
                await asyncio.sleep((index // 10) * 0.5)
                api = api_a if index % 2 == 0 else api_b
                return await api.post("/v1/orders", content=body, headers=headers)

            responses = await asyncio.gather(*(post(i) for i in range(50)))
        finally:
            sap.sandbox.faults.latency_seconds = 0.0

        originals = [
            r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
        ]
        replays = [
            r
            for r in responses
            if r.status_code == 201 and r.headers.get("idempotent-replayed") == "true"
        ]
        in_flight = [r for r in responses if r.status_code == 409]
        print(
            f"\n50 POSTs: original={len(originals)} (took "
            f"{[round(r.elapsed.total_seconds(), 2) for r in originals]} s) "
            f"replayed={len(replays)} "
            f"in_flight={len(in_flight)} statuses={dict(Counter(r.status_code for r in responses))}"
        )
        assert len(originals) == 1, [(r.status_code, r.text) for r in originals]
        assert len(originals) + len(replays) + len(in_flight) == 50, [
            (r.status_code, r.text) for r in responses
        ]
        [original] = originals
        order = original.json()
        for replay in replays:
            assert replay.content == original.content
            assert replay.headers["location"] == original.headers["location"]
            assert replay.headers["etag"] == original.headers["etag"]
        for conflict in in_flight:
            assert conflict.headers["content-type"] == PROBLEM_JSON
            # What is left of the first request's lease, never more than the lease.
            assert 1 <= int(conflict.headers["retry-after"]) <= 60
            assert conflict.json()["code"] == "IDEMPOTENCY_REQUEST_IN_FLIGHT"

        # Once settled, both processes replay the one stored response.
        for api in (api_a, api_b):
            again = await api.post("/v1/orders", content=body, headers=headers)
            assert again.status_code == 201, again.text
            assert again.headers["idempotent-replayed"] == "true"
            assert again.content == original.content

    [sap_order] = await sap_orders_with_reference(sap, order["id"])
    assert order["external_references"] == [{"system": "sap_s4hana", "id": sap_order["SalesOrder"]}]
    assert await sap_order_count(sap) == before + 1


async def test_gateway_killed_after_sap_commit_retry_elsewhere_finds_the_order(
    tmp_path: Path, prefix: str, database: str, salesforce: ServerProcess, sap: Sap
) -> None:
    """Gateway A dies after SAP created the order but before it answered; the same
    request retried on gateway B waits out A's lease and returns A's SAP order."""
    with two_gateways(
        tmp_path,
        salesforce=salesforce.url,
        sap=sap.url,
        prefix=prefix,
        database=database,
        extra=SHORT_LEASE,
    ) as gateways:
        async with gateways.client(gateways.a) as api_a, gateways.client(gateways.b) as api_b:
            quote = await accepted_quote(api_b, 1)
            body = order_body(quote)
            headers = {**key_header(), "Content-Type": "application/json"}
            before = await sap_order_count(sap)

            sap.hold.arm()
            try:
                first = asyncio.create_task(api_a.post("/v1/orders", content=body, headers=headers))
                deadline = time.monotonic() + 20
                while not sap.hold.created.is_set():
                    if first.done():
                        response = first.result()
                        pytest.fail(
                            f"gateway A answered before SAP created the order: "
                            f"{response.status_code} {response.text}"
                        )
                    assert time.monotonic() < deadline, "SAP never received the order POST"
                    await asyncio.sleep(0.02)
                held = json.loads(sap.hold.held_body)["d"]
                reference, sales_order = held["PurchaseOrderByCustomer"], held["SalesOrder"]
                assert [
                    o["SalesOrder"] for o in await sap_orders_with_reference(sap, reference)
                ] == [sales_order]

                gateways.a.kill()  # SIGKILL: no response, no release of the key
                with pytest.raises(httpx.TransportError):
                    await asyncio.wait_for(first, timeout=20)

                in_flight = 0
                deadline = time.monotonic() + 30
                while True:
                    retry = await api_b.post("/v1/orders", content=body, headers=headers)
                    if retry.status_code != 409:
                        break
                    assert retry.json()["code"] == "IDEMPOTENCY_REQUEST_IN_FLIGHT"
                    in_flight += 1
                    assert time.monotonic() < deadline, "gateway A's lease never lapsed"
                    await asyncio.sleep(0.25)
            finally:
                sap.hold.release.set()
            print(f"\nkilled gateway: retries answered 409 in flight {in_flight} time(s)")

            assert in_flight >= 1, "the retry right after the crash must find A's lease alive"
            assert retry.status_code == 201, retry.text
            assert "idempotent-replayed" not in retry.headers
            order = retry.json()
            assert order["id"] == reference
            assert order["external_references"] == [{"system": "sap_s4hana", "id": sales_order}]

            replay = await api_b.post("/v1/orders", content=body, headers=headers)
            assert replay.status_code == 201, replay.text
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.content == retry.content

    assert [o["SalesOrder"] for o in await sap_orders_with_reference(sap, reference)] == [
        sales_order
    ]
    assert await sap_order_count(sap) == before + 1


async def test_two_gateways_agree_on_canonical_ids(pair: Pair) -> None:
    async with pair.client(pair.a) as api_a, pair.client(pair.b) as api_b:
        products_a = (await api_a.get("/v1/products", params={"limit": "5"})).json()["data"]
        products_b = (await api_b.get("/v1/products", params={"limit": "5"})).json()["data"]
        assert [p["id"] for p in products_a] == [p["id"] for p in products_b]
        assert products_a

        name = f"Two Gateways {uuid.uuid4().hex[:10]} GmbH"
        created = await api_a.post("/v1/customers", json={"name": name, "country": "DE"})
        assert created.status_code == 201, created.text
        customer = created.json()

        through_b = await api_b.get(f"/v1/customers/{customer['id']}")
        assert through_b.status_code == 200, through_b.text
        through_a = await api_a.get(f"/v1/customers/{customer['id']}")
        assert through_a.status_code == 200, through_a.text
        assert through_b.json()["id"] == customer["id"]
        assert through_b.json()["name"] == name
        assert through_b.headers["etag"] == through_a.headers["etag"]
        assert through_b.json() == through_a.json()

        listed = await api_b.get("/v1/customers", params={"name": name})
        assert [c["id"] for c in listed.json()["data"]] == [customer["id"]]
