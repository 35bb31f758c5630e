"""A small governed app, fake auth / rate-limit / idempotency policies, and
exposition parsing for the metrics tests."""

from __future__ import annotations

from typing import Any, cast

import httpx
from litestar import Litestar, Request, get, post
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath
from prometheus_client.parser import text_string_to_metric_families

from policies.asgi import ASGIApp, Receive, Scope, Send, header, send_problem
from policies.consumer import Consumer
from policies.context import request_context, sor_observer
from policies.metrics import GatewayMetrics, MetricsMiddleware, governance_route, metrics_route
from policies.route import governed, public, route_policy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bearer(client: str, *scopes: str) -> dict[str, str]:
    return {"authorization": f"Bearer {client}:{','.join(scopes)}"}


class FakeAuth:
    """Auth stand-in: ``Bearer <client>[@<tenant>]:<scope>,<scope>`` (tenant "acme" when
    left out); sets the consumer, then checks scopes (as the real policy does, so a 403
    is attributed to the caller)."""

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = route_policy(scope)
        if scope["type"] != "http" or policy is None or policy.get("public"):
            await self.app(scope, receive, send)
            return
        raw = header(scope, b"authorization")
        if not raw or not raw.startswith("Bearer "):
            self.metrics.auth_failure("token_missing")
            await send_problem(scope, send, status=401, code="TOKEN_MISSING", title="No token")
            return
        client, _, scopes = raw[7:].partition(":")
        client, _, tenant = client.partition("@")
        granted = frozenset(s for s in scopes.split(",") if s)
        request_context(scope).consumer = Consumer(
            client_id=client, tenant=tenant or "acme", scopes=granted
        )
        if not set(policy.get("scopes", ())) <= granted:
            self.metrics.auth_failure("insufficient_scope")
            await send_problem(scope, send, status=403, code="FORBIDDEN", title="Scope missing")
            return
        await self.app(scope, receive, send)


class FakeRateLimit:
    """Limits a call when it carries ``x-test-limit``."""

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        consumer = request_context(scope).consumer
        if scope["type"] != "http" or consumer is None:
            await self.app(scope, receive, send)
            return
        if header(scope, b"x-test-limit"):
            self.metrics.rate_limit_decision(consumer.plan, "limited")
            await send_problem(
                scope, send, status=429, code="QUOTA_EXCEEDED", title="Too many requests"
            )
            return
        self.metrics.rate_limit_decision(consumer.plan, "admitted")
        await self.app(scope, receive, send)


class FakeIdempotency:
    """Key "busy" is in flight (409); any other key is new."""

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = route_policy(scope)
        if scope["type"] != "http" or not policy or policy.get("idempotency") != "required":
            await self.app(scope, receive, send)
            return
        if header(scope, b"idempotency-key") == "busy":
            self.metrics.idempotency_outcome("in_flight")
            await send_problem(scope, send, status=409, code="IDEMPOTENCY_IN_FLIGHT", title="Busy")
            return
        self.metrics.idempotency_outcome("new")
        await self.app(scope, receive, send)


def build_litestar(
    metrics: GatewayMetrics, clock: FakeClock | None = None, *, app_level: bool = False
) -> Litestar:
    """The governed test app; ``app_level`` mounts metrics as Litestar app middleware."""

    # How the gateway wires the upstream client's observer: the request's SoR
    # tracker first, then the per-call metrics.
    observe = sor_observer(metrics.observe_sor_call)

    def advance(seconds: float) -> None:
        if clock is not None:
            clock.now += seconds

    @get(
        "/v1/quotes/{quote_id:str}",
        opt=governed("quotes:read"),
        operation_id="getQuote",
        tags=["quotes"],
    )
    async def get_quote(quote_id: FromPath[str]) -> dict[str, Any]:
        # One CRM call of 100 ms, then 50 ms of the gateway's own work.
        advance(0.1)
        if quote_id == "q-timeout":
            observe("salesforce", "getQuote", 0.1, "timeout")
            raise HTTPException(status_code=504, detail="CRM timed out")
        observe("salesforce", "getQuote", 0.1, "ok")
        advance(0.05)
        return {"id": quote_id}

    @get("/v1/quotes/{quote_id:str}/fanout", opt=governed("quotes:read"), tags=["quotes"])
    async def fan_out(quote_id: FromPath[str]) -> dict[str, Any]:
        # Two overlapping calls: [0, 0.1] and [0.05, 0.15]; 0.15 s of waiting, not 0.2.
        advance(0.1)
        observe("salesforce", "getQuote", 0.1, "ok")
        advance(0.05)
        observe("sap_s4hana", "getSalesOrder", 0.1, "ok")
        advance(0.02)
        return {"id": quote_id}

    @post(
        "/v1/orders",
        opt=governed("orders:write", idempotency="required"),
        operation_id="createOrder",
        tags=["orders"],
        status_code=201,
    )
    async def create_order() -> dict[str, Any]:
        return {"id": "ord_1"}

    @get("/v1/widgets/{widget_id:str}", opt=governed("widgets:read"))
    async def get_widget(widget_id: FromPath[str]) -> dict[str, Any]:
        return {"id": widget_id}

    @get("/v1/prices", opt=governed("prices:read"), operation_id="listPrices", tags=["prices"])
    async def list_prices(request: Request[Any, Any, Any]) -> dict[str, Any]:
        consumer = request_context(request.scope).consumer
        metrics.deprecated_call("listPrices", consumer.client_id if consumer else "anonymous")
        return {"data": []}

    @get("/v1/boom", opt=governed("quotes:read"), operation_id="boom", tags=["quotes"])
    async def boom() -> None:
        raise RuntimeError("bug")

    @get("/health/live", opt=public(), operation_id="getLiveness", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    policies = [
        DefineMiddleware(cast(Any, FakeAuth), metrics=metrics),
        DefineMiddleware(cast(Any, FakeRateLimit), metrics=metrics),
        DefineMiddleware(cast(Any, FakeIdempotency), metrics=metrics),
    ]
    if app_level:
        policies.insert(0, DefineMiddleware(cast(Any, MetricsMiddleware), metrics=metrics))
    return Litestar(
        route_handlers=[
            get_quote,
            fan_out,
            create_order,
            get_widget,
            list_prices,
            boom,
            live,
            metrics_route(metrics, opt=governed("ops:read")),
            governance_route(metrics, opt=governed("ops:read")),
        ],
        middleware=policies,
        debug=False,
        logging_config=None,
    )


def build_app(metrics: GatewayMetrics, clock: FakeClock | None = None) -> Any:
    """Metrics wrapped around the whole app, as the gateway mounts it."""
    return MetricsMiddleware(cast(Any, build_litestar(metrics, clock)), metrics=metrics)


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def scrape(metrics: GatewayMetrics) -> str:
    return metrics.exposition()[0].decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` whose labels are exactly ``labels`` (0 when absent); without
    a ``tenant`` among ``labels``, the sum over every tenant."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found = dict(sample.labels)
            if "tenant" not in labels:
                found.pop("tenant", None)
            if sample.name == name and found == labels:
                total += float(sample.value)
    return total


def label_values(text: str) -> set[str]:
    return {
        v
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for k, v in sample.labels.items()
        if k != "le"
    }
