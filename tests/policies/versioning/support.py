"""A small versioned app, a fake auth policy and a settable clock for the versioning tests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

from litestar import Litestar, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem
from policies.asgi import ASGIApp, Receive, Scope, Send, header
from policies.consumer import Consumer
from policies.context import request_context
from policies.route import governed

CONSUMER_HEADER = b"x-test-consumer"  # "tenant/client_id"

# Every handler counts its calls here, so a test can tell it did not run.
CALLS: Counter[str] = Counter()


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, now: str = "2025-01-01T00:00:00") -> None:
        self.now = at(now)

    def set(self, text: str) -> None:
        self.now = at(text)

    def __call__(self) -> float:
        return self.now


class FakeAuthMiddleware:
    """Stands in for auth: the consumer comes from a test header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = header(scope, CONSUMER_HEADER)
            if raw:
                tenant, client_id = raw.split("/")
                request_context(scope).consumer = Consumer(client_id=client_id, tenant=tenant)
        await self.app(scope, receive, send)


NOT_FOUND = {
    404: ResponseSpec(
        data_container=Problem,
        description="No such order",
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
}


@get("/orders", operation_id="listOrders", opt=governed("orders:read"), sync_to_thread=False)
def list_orders() -> dict[str, Any]:
    CALLS["listOrders"] += 1
    return {"data": []}


@post(
    "/orders",
    operation_id="createOrder",
    opt=governed("orders:write"),
    status_code=201,
    sync_to_thread=False,
)
def create_order() -> dict[str, Any]:
    CALLS["createOrder"] += 1
    return {"id": "ord_1"}


@get(
    "/orders/{order_id:str}",
    operation_id="getOrder",
    opt=governed("orders:read"),
    responses=NOT_FOUND,
    sync_to_thread=False,
)
def get_order(order_id: FromPath[str]) -> dict[str, Any]:
    CALLS["getOrder"] += 1
    raise NotFoundException(f"no order {order_id}")


@get("/prices", sync_to_thread=False)  # no operation_id: Litestar makes one up
def list_prices() -> dict[str, Any]:
    CALLS["listPrices"] += 1
    return {"data": []}


@post(
    "/orders",
    operation_id="createOrderV2",
    opt=governed("orders:write"),
    status_code=201,
    sync_to_thread=False,
)
def create_order_v2() -> dict[str, Any]:
    CALLS["createOrderV2"] += 1
    return {"id": "ord_2"}


@get("/health", operation_id="getHealth", sync_to_thread=False)
def health() -> dict[str, Any]:
    CALLS["getHealth"] += 1
    return {"status": "ok"}


def build_app(versioning: DefineMiddleware | None = None) -> Litestar:
    v1 = Router("/v1", route_handlers=[list_orders, create_order, get_order, list_prices])
    v2 = Router("/v2", route_handlers=[create_order_v2])
    middleware = [DefineMiddleware(cast("Any", FakeAuthMiddleware))]
    if versioning is not None:
        middleware.append(versioning)
    return Litestar(
        route_handlers=[v1, v2, health],
        middleware=middleware,
        logging_config=None,
    )
