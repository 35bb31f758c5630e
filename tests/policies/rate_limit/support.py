"""A fake auth policy and a small governed app for the rate-limit tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Litestar, get, post
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware

from policies.asgi import ASGIApp, Receive, Scope, Send, header
from policies.consumer import Consumer
from policies.context import request_context
from policies.route import governed, public

CONSUMER_HEADER = b"x-test-consumer"  # "tenant/client_id/plan"


class FakeAuthMiddleware:
    """Stands in for auth: the consumer comes from a test header, or is fixed."""

    def __init__(self, app: ASGIApp, *, fixed: Consumer | None = None) -> None:
        self.app = app
        self.fixed = fixed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            consumer = self.fixed
            raw = header(scope, CONSUMER_HEADER)
            if raw:
                tenant, client_id, plan = raw.split("/")
                consumer = Consumer(client_id=client_id, tenant=tenant, plan=plan)
            if consumer is not None:
                request_context(scope).consumer = consumer
        await self.app(scope, receive, send)


@get("/orders", opt=governed("orders:read"))
async def list_orders() -> dict[str, Any]:
    return {"data": []}


@post("/orders", opt=governed("orders:write", cost=3), status_code=201)
async def create_order() -> dict[str, Any]:
    return {"id": "ord_1"}


@post("/reports", opt=governed("ops:write", cost=50), status_code=201)
async def create_report() -> dict[str, Any]:
    return {"id": "rep_1"}


@get("/orders/missing", opt=governed("orders:read"))
async def missing_order() -> None:
    raise NotFoundException("no such order")


@get("/token", opt=public())
async def token() -> dict[str, Any]:
    return {"access_token": "t"}


@get("/plain")
async def plain() -> dict[str, Any]:
    return {"ok": True}


ROUTES = [list_orders, create_order, create_report, missing_order, token, plain]


def build_app(
    rate_limit: DefineMiddleware,
    *,
    fixed: Consumer | None = None,
    on_shutdown: list[Callable[[], Awaitable[Any]]] | None = None,
) -> Litestar:
    return Litestar(
        route_handlers=ROUTES,
        on_shutdown=on_shutdown or [],
        # The policies type ASGI loosely; Litestar's ASGIApp type is stricter.
        middleware=[DefineMiddleware(cast("Any", FakeAuthMiddleware), fixed=fixed), rate_limit],
        logging_config=None,  # leave logging (and pytest's capture) alone
    )
