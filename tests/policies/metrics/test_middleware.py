"""Request metrics over HTTP: exact counters, bounded labels, gateway vs SoR time."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest

from policies.asgi import Receive, Scope, Send
from policies.context import sor_observer
from policies.metrics import GatewayMetrics, MetricsConfig, MetricsMiddleware
from tests.policies.metrics.support import (
    FakeClock,
    bearer,
    build_app,
    build_litestar,
    client,
    label_values,
    scrape,
    value,
)

ALICE_READ = bearer("alice", "quotes:read", "orders:write")
BOB_WRONG = bearer("bob", "orders:write")
BOB_READ = bearer("bob", "quotes:read")


def requests(text: str, api: str, version: str, operation: str, consumer: str, cls: str) -> float:
    return value(
        text,
        "q2c_requests_total",
        api=api,
        version=version,
        operation=operation,
        consumer=consumer,
        status_class=cls,
    )


async def test_scripted_calls_are_counted_exactly() -> None:
    metrics = GatewayMetrics(clock=FakeClock())
    async with client(build_app(metrics)) as http:
        for _ in range(3):
            assert (await http.get("/v1/quotes/q-1", headers=ALICE_READ)).status_code == 200
        assert (await http.get("/v1/quotes/q-2")).status_code == 401
        assert (await http.get("/v1/quotes/q-3", headers=BOB_WRONG)).status_code == 403
        assert (await http.get("/v1/nope/123")).status_code == 404
        assert (await http.post("/v1/nope/456")).status_code == 404
        limited = {**ALICE_READ, "x-test-limit": "1"}
        assert (await http.get("/v1/quotes/q-4", headers=limited)).status_code == 429
        busy = {**ALICE_READ, "idempotency-key": "busy"}
        assert (await http.post("/v1/orders", headers=busy)).status_code == 409
        fresh = {**ALICE_READ, "idempotency-key": "k-1"}
        assert (await http.post("/v1/orders", headers=fresh)).status_code == 201
        assert (await http.get("/v1/quotes/q-timeout", headers=BOB_READ)).status_code == 504
        assert (await http.get("/health/live")).status_code == 200

    text = scrape(metrics)
    assert requests(text, "quotes", "v1", "getQuote", "alice", "2xx") == 3
    assert requests(text, "quotes", "v1", "getQuote", "anonymous", "4xx") == 1  # 401
    assert requests(text, "quotes", "v1", "getQuote", "bob", "4xx") == 1  # 403
    assert requests(text, "quotes", "v1", "getQuote", "alice", "4xx") == 1  # 429
    assert requests(text, "quotes", "v1", "getQuote", "bob", "5xx") == 1  # 504
    assert requests(text, "orders", "v1", "createOrder", "alice", "4xx") == 1  # 409
    assert requests(text, "orders", "v1", "createOrder", "alice", "2xx") == 1
    assert requests(text, "unmatched", "none", "unmatched", "anonymous", "4xx") == 2
    assert requests(text, "operations", "none", "getLiveness", "anonymous", "2xx") == 1

    def cause(api: str, error_class: str) -> float:
        return value(
            text, "q2c_request_errors_total", api=api, version="v1", error_class=error_class
        )

    assert [cause("quotes", c) for c in ("401", "403", "429", "timeout", "504")] == [1, 1, 1, 1, 0]
    assert cause("orders", "409") == 1
    assert (
        value(text, "q2c_request_errors_total", api="unmatched", version="none", error_class="404")
        == 2
    )

    sor = "q2c_sor_calls_total"
    assert value(text, sor, system="salesforce", operation="getQuote", outcome="ok") == 3
    assert value(text, sor, system="salesforce", operation="getQuote", outcome="timeout") == 1
    assert value(text, "q2c_rate_limit_decisions_total", plan="default", outcome="limited") == 1
    assert value(text, "q2c_rate_limit_decisions_total", plan="default", outcome="admitted") == 6
    assert value(text, "q2c_idempotency_outcomes_total", outcome="in_flight") == 1
    assert value(text, "q2c_idempotency_outcomes_total", outcome="new") == 1
    assert value(text, "q2c_auth_failures_total", reason="token_missing") == 1
    assert value(text, "q2c_auth_failures_total", reason="insufficient_scope") == 1

    # Route templates, never raw paths or ids.
    labels = label_values(text)
    assert not {v for v in labels if "/" in v or v.startswith("q-") or v in ("123", "456")}


async def test_app_middleware_counts_matched_routes_only() -> None:
    metrics = GatewayMetrics(clock=FakeClock())
    app = build_litestar(metrics, app_level=True)
    async with client(app) as http:
        assert (await http.get("/v1/quotes/q-1", headers=ALICE_READ)).status_code == 200
        assert (await http.get("/v1/quotes/q-1")).status_code == 401
        assert (await http.get("/v1/nope/123")).status_code == 404
    text = scrape(metrics)
    assert requests(text, "quotes", "v1", "getQuote", "alice", "2xx") == 1
    assert requests(text, "quotes", "v1", "getQuote", "anonymous", "4xx") == 1
    # Litestar runs app middleware for matched routes only.
    assert requests(text, "unmatched", "none", "unmatched", "anonymous", "4xx") == 0


async def test_untagged_route_takes_path_segment_and_handler_name() -> None:
    metrics = GatewayMetrics()
    async with client(build_app(metrics)) as http:
        for widget in ("w-1", "w-2", "w-3"):
            response = await http.get(f"/v1/widgets/{widget}", headers=bearer("c", "widgets:read"))
            assert response.status_code == 200
    text = scrape(metrics)
    assert requests(text, "widgets", "v1", "get_widget", "c", "2xx") == 3
    assert not any(v.startswith("w-") for v in label_values(text))


async def test_consumers_beyond_the_cap_are_bucketed_as_other() -> None:
    metrics = GatewayMetrics(MetricsConfig(max_consumers=2))
    async with client(build_app(metrics)) as http:
        for name in ("c1", "c2", "c3", "c4", "c1", "c4"):
            response = await http.get("/v1/quotes/q-1", headers=bearer(name, "quotes:read"))
            assert response.status_code == 200
        assert (await http.get("/v1/quotes/q-1")).status_code == 401
    text = scrape(metrics)
    counts = {
        name: requests(text, "quotes", "v1", "getQuote", name, cls)
        for name, cls in [("c1", "2xx"), ("c2", "2xx"), ("other", "2xx"), ("anonymous", "4xx")]
    }
    assert counts == {"c1": 2, "c2": 1, "other": 3, "anonymous": 1}
    assert not {"c3", "c4"} & label_values(text)


async def test_gateway_time_excludes_sor_time() -> None:
    clock = FakeClock()
    metrics = GatewayMetrics(clock=clock)
    async with client(build_app(metrics, clock)) as http:
        assert (await http.get("/v1/quotes/q-1", headers=ALICE_READ)).status_code == 200
    text = scrape(metrics)
    route = {"api": "quotes", "version": "v1", "operation": "getQuote"}
    assert value(text, "q2c_gateway_latency_seconds_sum", **route) == pytest.approx(0.05)
    assert value(text, "q2c_gateway_latency_seconds_count", **route) == 1
    assert value(text, "q2c_sor_wait_seconds_sum", **route) == pytest.approx(0.1)
    sor = {"system": "salesforce", "operation": "getQuote"}
    assert value(text, "q2c_sor_latency_seconds_sum", **sor) == pytest.approx(0.1)
    assert value(text, "q2c_sor_latency_seconds_bucket", le="0.1", **sor) == 1
    assert value(text, "q2c_sor_latency_seconds_bucket", le="0.05", **sor) == 0


async def test_overlapping_sor_calls_count_once() -> None:
    clock = FakeClock()
    metrics = GatewayMetrics(clock=clock)
    async with client(build_app(metrics, clock)) as http:
        response = await http.get("/v1/quotes/q-1/fanout", headers=ALICE_READ)
        assert response.status_code == 200
    text = scrape(metrics)
    route = {"api": "quotes", "version": "v1", "operation": "fan_out"}
    # Total 0.17 s; calls cover [0, 0.1] and [0.05, 0.15]: 0.15 s waited, 0.02 s own.
    assert value(text, "q2c_sor_wait_seconds_sum", **route) == pytest.approx(0.15)
    assert value(text, "q2c_gateway_latency_seconds_sum", **route) == pytest.approx(0.02)
    assert value(
        text, "q2c_sor_latency_seconds_sum", system="sap_s4hana", operation="getSalesOrder"
    ) == pytest.approx(0.1)


async def test_real_clock_split_keeps_gateway_below_total() -> None:
    metrics = GatewayMetrics()
    observe = sor_observer(metrics.observe_sor_call)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        await asyncio.sleep(0.05)  # stands in for the SoR call
        observe("sap_s4hana", "getSalesOrder", time.perf_counter() - started, "ok")
        await asyncio.sleep(0.02)  # the gateway's own work
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    started = time.perf_counter()
    async with client(MetricsMiddleware(app, metrics=metrics)) as http:
        assert (await http.get("/anything")).status_code == 200
    total = time.perf_counter() - started
    text = scrape(metrics)
    route = {"api": "unmatched", "version": "none", "operation": "unmatched"}
    gateway = value(text, "q2c_gateway_latency_seconds_sum", **route)
    waited = value(text, "q2c_sor_wait_seconds_sum", **route)
    assert 0 < gateway < total
    assert 0 < waited < total
    assert gateway + waited <= total


async def test_handler_errors_count_as_5xx() -> None:
    metrics = GatewayMetrics()
    async with client(build_app(metrics)) as http:
        assert (await http.get("/v1/boom", headers=ALICE_READ)).status_code == 500
    text = scrape(metrics)
    assert requests(text, "quotes", "v1", "boom", "alice", "5xx") == 1
    assert value(text, "q2c_request_errors_total", api="quotes", version="v1", error_class="500")


async def test_escaping_exception_and_cancellation_are_recorded_and_reraised() -> None:
    metrics = GatewayMetrics()

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("no response")

    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        raise asyncio.CancelledError

    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/x", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        del message

    with pytest.raises(RuntimeError):
        await MetricsMiddleware(broken, metrics=metrics)(dict(scope), receive, send)
    with pytest.raises(asyncio.CancelledError):
        await MetricsMiddleware(cancelled, metrics=metrics)(dict(scope), receive, send)
    text = scrape(metrics)
    assert requests(text, "unmatched", "none", "unmatched", "anonymous", "5xx") == 1
    unmatched = {"api": "unmatched", "version": "none"}
    assert value(text, "q2c_request_errors_total", error_class="499", **unmatched) == 1


async def test_mounted_twice_counts_once_and_disabled_counts_nothing() -> None:
    metrics = GatewayMetrics()
    twice = MetricsMiddleware(cast(Any, build_litestar(metrics, app_level=True)), metrics=metrics)
    async with client(twice) as http:
        assert (await http.get("/health/live")).status_code == 200
    assert requests(scrape(metrics), "operations", "none", "getLiveness", "anonymous", "2xx") == 1

    off = GatewayMetrics(MetricsConfig(enabled=False))
    async with client(build_app(off)) as http:
        assert (await http.get("/v1/quotes/q-1", headers=ALICE_READ)).status_code == 200
    text = scrape(off)
    assert "q2c_requests_total{" not in text
    assert "q2c_sor_calls_total{" not in text


async def test_websocket_and_lifespan_pass_through() -> None:
    metrics = GatewayMetrics()
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    middleware = MetricsMiddleware(app, metrics=metrics)

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        del message

    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert seen == ["lifespan", "websocket"]
    assert "q2c_requests_total{" not in scrape(metrics)
