"""Shared pieces of the tracing tests: a small governed app that calls a fake SoR."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, cast

import httpx
from litestar import Litestar, get
from litestar.params import PathParameter

from domains.errors import DependencyUnavailable, GatewayError, NotFound
from gateway.problems import EXCEPTION_HANDLERS
from policies.asgi import ASGIApp, Receive, Scope, Send, header
from policies.consumer import Consumer
from policies.context import request_context, sor_observer
from policies.route import governed
from policies.tracing import (
    Tracer,
    TracingConfig,
    TracingMiddleware,
    outbound_headers,
    sor_call_span,
    tracing_routes,
)
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
SOR_BASE = "https://integration:s3cr3t-pw@sap.example.test:8443/sap/opu/odata"
TOKEN = "Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"


class FakeAuth:
    """Stands in for the auth policy: ``X-Consumer: tenant/client`` names the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (name := header(scope, b"x-consumer")):
            tenant, _, client = name.partition("/")
            request_context(scope).consumer = Consumer(client_id=client, tenant=tenant)
        await self.app(scope, receive, send)


class FakeSor:
    """A system of record behind httpx.MockTransport that records what it was sent."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._statuses = list(statuses or [])

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self._statuses.pop(0) if self._statuses else 200
        return httpx.Response(status, json={"d": {"SalesOrder": "4711"}})

    def upstream(self) -> Upstream:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return Upstream(
            system="sap_s4hana",
            transport=HttpxTransport(http),
            base_url=SOR_BASE,
            config=UpstreamConfig(max_retries=2, backoff_seconds=0.001),
            translate=_translate,
            headers=outbound_headers,
            instrument=sor_call_span,
            observe=sor_observer(),
        )


def _translate(response: httpx.Response) -> GatewayError:
    return DependencyUnavailable(f"HTTP {response.status_code}", system="sap_s4hana")


def build_app(tracer: Tracer, sor: FakeSor, *, all_tenants: bool = False) -> Any:
    upstream = sor.upstream()

    @get("/v1/orders/{order_id:str}", opt=governed("orders:read"), operation_id="getOrder")
    async def get_order(order_id: Annotated[str, PathParameter()]) -> dict[str, Any]:
        await upstream.request(
            "GET",
            f"/API_SALES_ORDER_SRV/A_SalesOrder('{order_id}')?sap-client=100&token=abc",
            operation="getSalesOrder",
            retry_safe=True,
        )
        return {"id": order_id}

    @get("/v1/quotes/{quote_id:str}", opt=governed("quotes:read"), operation_id="getQuote")
    async def get_quote(quote_id: Annotated[str, PathParameter()]) -> dict[str, Any]:
        raise NotFound(f"no quote {quote_id}")

    @get("/v1/boom", opt=governed("orders:read"), operation_id="boom")
    async def boom() -> dict[str, Any]:
        raise RuntimeError("handler bug")

    app = Litestar(
        route_handlers=[
            get_order,
            get_quote,
            boom,
            *tracing_routes(tracer, opt=governed("ops:read"), all_tenants=all_tenants),
        ],
        middleware=[cast("Any", FakeAuth)],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # as the gateway: logging is configure_logging's
    )
    return TracingMiddleware(cast("Any", app), tracer.config, tracer=tracer)


@contextmanager
def tracer_for(**config: Any) -> Iterator[Tracer]:
    tracer = Tracer(TracingConfig(**config))
    try:
        yield tracer
    finally:
        tracer.shutdown()


@asynccontextmanager
async def client_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


def spans(tracer: Tracer, trace_id: str | None = None) -> list[Any]:
    """Finished spans, oldest first, as the ring view shows them."""
    return list(reversed(tracer.page(trace_id=trace_id, limit=500).data))
