"""``create_app(settings)``: the gateway as one ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Contact, License, Server, Tag

from gateway.problems import EXCEPTION_HANDLERS
from gateway.routes.health import live, ready
from gateway.routes.v1.catalog import PriceController, ProductController
from gateway.routes.v1.customers import CustomerController
from gateway.routes.v1.sales import OrderController, QuoteController
from gateway.settings import Settings
from gateway.wiring import Runtime, build_runtime
from policies.tracing.middleware import TracingMiddleware

API_VERSION = "1.0.0"

TAGS = [
    Tag(name="customers", description="Customer masters (owned by the CRM)"),
    Tag(name="products", description="Sellable products (owned by the ERP)"),
    Tag(name="prices", description="Price-book entries (owned by the CRM / CPQ)"),
    Tag(name="quotes", description="Quotes with lines and totals (owned by the CRM / CPQ)"),
    Tag(name="orders", description="Sales orders (owned by the ERP per legal entity)"),
    Tag(name="operations", description="Health of the gateway and its dependencies"),
]


def openapi_config(version: str = "v1") -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Q2C Gateway",
        version=API_VERSION,
        summary="Governed quote-to-cash API facade",
        description=(
            "Canonical customer, product, price, quote and order APIs over the systems of "
            "record that own them. Errors are RFC 9457 problem details."
        ),
        contact=Contact(
            name="Q2C Gateway team", url="https://q2c.dev/support", email="api@q2c.dev"
        ),
        license=License(name="Apache-2.0", identifier="Apache-2.0"),
        servers=[Server(url="http://127.0.0.1:8080", description="Local embedded default")],
        tags=TAGS,
        path="/schema",
        use_handler_docstrings=False,
        create_examples=False,
    )


def create_litestar(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if app.state.runtime is not None:
            yield
            return
        app.state.runtime = await build_runtime(settings)
        try:
            yield
        finally:
            await app.state.runtime.close()
            app.state.runtime = None

    v1 = Router(
        path="/v1",
        route_handlers=[
            CustomerController,
            ProductController,
            PriceController,
            QuoteController,
            OrderController,
        ],
    )
    return Litestar(
        route_handlers=[v1, live, ready],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({"runtime": runtime, "settings": settings}),
        debug=False,
        logging_config=None,
    )


class Gateway:
    """The Litestar app behind the edge policies that must see every request."""

    def __init__(self, litestar: Litestar, settings: Settings) -> None:
        self.litestar = litestar
        self.settings = settings
        self._asgi = TracingMiddleware(litestar, settings.tracing)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Gateway:
    settings = settings or Settings()
    return Gateway(create_litestar(settings, runtime), settings)
