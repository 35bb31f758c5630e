"""Redis paused (SIGSTOP, a private redis-server): every GET and POST route answers
without a 500, every 503/504 says when to retry, readiness says not ready and names
the store, and the gateway serves again once Redis is back."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from gateway.app import create_app
from gateway.flow.settings import FlowSettings
from gateway.settings import RedisSettings
from gateway.wiring import Runtime, build_runtime
from policies.rate_limit import RateLimitConfig
from tests.conftest import bearer
from tests.faults.redis_server import PrivateRedis, private_redis
from tests.support.settings import gateway_settings

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


def settings_for(server: PrivateRedis, **overrides: Any) -> Any:
    redis = RedisSettings(url=server.url, prefix="q2c-fault:", timeout_seconds=0.3)
    return gateway_settings(redis=redis, **overrides)


async def open_gateway(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime.settings, runtime)),
        base_url="http://gateway.test",
        headers=bearer(runtime),
        timeout=30,
    )


async def seed(api: httpx.AsyncClient) -> dict[str, str]:
    """Records for every path parameter, made while Redis answers."""
    customer = (await api.get("/v1/customers", params={"limit": "1"})).json()["data"][0]
    product = (await api.get("/v1/products", params={"limit": "1"})).json()["data"][0]
    quote = (await api.get("/v1/quotes", params={"status": "accepted"})).json()["data"][0]
    order = await api.post(
        "/v1/orders",
        json={"customer_id": quote["customer_id"], "quote_id": quote["id"]},
        headers={"Idempotency-Key": '"seed-order"'},
    )
    assert order.status_code == 201, order.text
    invoice = await api.post(
        "/v1/invoices", json={"order_id": order.json()["id"]},
        headers={"Idempotency-Key": '"seed-invoice"'},
    )  # fmt: skip
    assert invoice.status_code == 201, invoice.text
    payment = await api.post(
        "/v1/payments",
        json={"invoice_id": invoice.json()["id"], "payment_method": "pm_card_visa"},
        headers={"Idempotency-Key": '"seed-payment"'},
    )
    assert payment.status_code == 201, payment.text
    return {
        "customer_id": customer["id"],
        "product_id": product["id"],
        "quote_id": quote["id"],
        "quote_customer_id": quote["customer_id"],
        "order_id": order.json()["id"],
        "invoice_id": invoice.json()["id"],
        "payment_id": payment.json()["id"],
        # Well-formed ids of records that do not exist: their routes still run to the
        # store (a 404, never a 500).
        "transaction_id": "txn_01JDQ2C0000000000000000000",
        "exception_id": "exc_01JDQ2C0000000000000000000",
        # The console's action and static routes.
        "action": "comment",
        "file_path": "console.css",
    }


def bodies(ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "/v1/customers": {"name": "Paused Store GmbH", "country": "DE"},
        "/v1/orders": {"customer_id": ids["quote_customer_id"], "quote_id": ids["quote_id"]},
        "/v2/orders": {"customer_id": ids["quote_customer_id"], "quote_id": ids["quote_id"]},
        "/v1/invoices": {"order_id": ids["order_id"]},
        "/v1/payments": {"invoice_id": ids["invoice_id"], "payment_method": "pm_card_visa"},
        "/v1/payments/{payment_id}/refunds": {},
        "/v1/pricing/calculate": {
            "customer_id": ids["customer_id"],
            "currency": "EUR",
            "lines": [{"product_id": ids["product_id"], "quantity": "1"}],
        },
    }


def every_call(runtime: Runtime, ids: dict[str, str]) -> list[tuple[str, str, str]]:
    """(method, template, path) for every GET and POST route of the app."""
    from gateway.app import create_litestar

    calls = []
    for route in create_litestar(runtime.settings, runtime).routes:
        template = route.path_format
        if template == "/" or template.startswith(("/schema", "/portal", "/problems")):
            continue  # pages and documents: nothing of theirs touches Redis
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
        for method in sorted(set(getattr(route, "methods", ())) & {"GET", "POST"}):
            calls.append((method, template, path))
    return calls


async def call(
    api: httpx.AsyncClient, method: str, template: str, path: str, ids: dict[str, str], n: int
) -> httpx.Response:
    if method == "GET":
        needed = {"customer_id": ids["customer_id"]} if template == "/v1/invoices" else {}
        return await api.get(path, params=needed)
    if template == "/oauth/token":
        return await api.post(
            path, data={"grant_type": "client_credentials"},
            auth=("sandbox-client", "sandbox-secret"),
            headers={"Authorization": ""},
        )  # fmt: skip
    return await api.post(
        path, json=bodies(ids).get(template, {}), headers={"Idempotency-Key": f'"paused-{n}"'}
    )


async def test_every_route_answers_without_a_500_while_redis_is_paused(
    redis_server: PrivateRedis,
) -> None:
    # The quote-to-cash routes too: the flow enqueues here, no worker runs its steps.
    flow = FlowSettings(enabled=True, embedded_worker=False)
    runtime = build_runtime(settings_for(redis_server, flow=flow))
    await runtime.start()
    api = await open_gateway(runtime)
    try:
        ids = await seed(api)
        calls = every_call(runtime, ids)
        assert len(calls) >= 25
        redis_server.pause()
        statuses: Counter[int] = Counter()
        failures = []
        started = time.monotonic()
        for n, (method, template, path) in enumerate(calls):
            response = await call(api, method, template, path, ids, n)
            statuses[response.status_code] += 1
            if response.status_code >= 500 and response.status_code not in (503, 504):
                failures.append((method, path, response.status_code, response.text[:300]))
            if response.status_code in (503, 504) and "retry-after" not in response.headers:
                failures.append((method, path, "no Retry-After", response.text[:300]))
        ready = await api.get("/health/ready")
        print(
            f"\nredis paused: {len(calls)} requests over every GET/POST route in "
            f"{time.monotonic() - started:.1f}s; statuses {dict(sorted(statuses.items()))}; "
            f"5xx other than 503/504: {sum(1 for f in failures if f[2] != 'no Retry-After')}"
        )
        assert failures == []
        # Redis is a cache here (the rate limiter fails open): degraded, still in rotation.
        assert ready.status_code == 200
        report = ready.json()
        assert report["status"] == "degraded"
        assert report["checks"]["redis"]["kind"] == "store"
        assert report["checks"]["redis"]["status"] == "failing"
        assert report["checks"]["redis"]["essential"] is False
        assert report["checks"]["salesforce"] == {
            "kind": "system", "status": "ok", "detail": "", "essential": False
        }

        redis_server.resume()
        assert (await api.get("/health/ready")).status_code == 200
        again = await api.get(f"/v1/customers/{ids['customer_id']}")
        assert again.status_code == 200, again.text
    finally:
        redis_server.resume()
        await api.aclose()
        await runtime.close()


async def test_a_fail_closed_rate_limiter_answers_503_with_retry_after(
    redis_server: PrivateRedis,
) -> None:
    base = settings_for(redis_server)
    closed = msgspec.structs.replace(base.rate_limit, failure_mode="closed")
    assert isinstance(closed, RateLimitConfig)
    runtime = build_runtime(msgspec.structs.replace(base, rate_limit=closed))
    api = await open_gateway(runtime)
    try:
        assert (await api.get("/v1/products")).status_code == 200
        redis_server.pause()
        response = await api.get("/v1/products")
        assert response.status_code == 503
        assert response.json()["code"] == "RATE_LIMITER_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
        # Every governed call now needs Redis: the gateway is not ready, and says why.
        ready = await api.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["checks"]["redis"]["essential"] is True
        assert int(ready.headers["retry-after"]) >= 1
    finally:
        redis_server.resume()
        await api.aclose()
        await runtime.close()


async def test_a_fail_open_rate_limiter_serves_what_needs_no_store(
    redis_server: PrivateRedis,
) -> None:
    runtime = build_runtime(settings_for(redis_server))
    api = await open_gateway(runtime)
    try:
        assert (await api.get("/v1/products")).status_code == 200
        redis_server.pause()
        # The limiter admits without RateLimit values; the crosswalk then needs Redis.
        response = await api.get("/v1/products")
        assert response.status_code in (200, 503, 504), response.text
        assert "ratelimit" not in response.headers
        assert "ratelimit-policy" in response.headers
        if response.status_code != 200:
            assert response.json()["code"] in ("STORE_UNAVAILABLE", "STORE_TIMEOUT")
            assert "retry-after" in response.headers
    finally:
        redis_server.resume()
        await api.aclose()
        await runtime.close()


async def test_redis_gone_costs_nothing_but_the_cache(redis_server: PrivateRedis) -> None:
    """Redis holds only caches and limits: with it gone, the crosswalk answers from the
    database, the same canonical id, and the limiter fails open as configured."""
    runtime = build_runtime(settings_for(redis_server))
    api = await open_gateway(runtime)
    try:
        customer = (await api.get("/v1/customers", params={"limit": "1"})).json()["data"][0]
        assert redis_server.process is not None
        redis_server.process.terminate()
        redis_server.process.wait(timeout=10)
        response = await api.get(f"/v1/customers/{customer['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == customer["id"]
        ready = (await api.get("/health/ready")).json()
        assert ready["checks"]["redis"]["status"] == "failing"
        assert ready["checks"]["database"] == {
            "kind": "store", "status": "ok", "detail": "", "essential": True
        }
    finally:
        await api.aclose()
        await runtime.close()


async def test_the_database_gone_is_a_503_store_unavailable_with_retry_after(
    redis_server: PrivateRedis,
) -> None:
    from gateway.stores.sql.config import DatabaseSettings
    from tests.support.servers import free_port

    dead = DatabaseSettings(url=f"postgresql://postgres@127.0.0.1:{free_port()}/gone")
    runtime = build_runtime(settings_for(redis_server, database=dead))
    api = await open_gateway(runtime)
    try:
        response = await api.get("/v1/customers", params={"limit": "1"})
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "STORE_UNAVAILABLE"
        assert response.json()["retryable"] is True
        assert response.headers["retry-after"] == "2"
    finally:
        await api.aclose()
        await runtime.close()
