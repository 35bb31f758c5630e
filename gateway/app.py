"""``create_app(settings)``: the gateway as one ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Contact, License, Tag

from gateway.console import console_router
from gateway.openapi_governance import SERVERS, document_policies
from gateway.policy_chain import edge, policy_middleware
from gateway.portal.routes import Portal, PortalSchemaViewer, portal_routes
from gateway.problems import EXCEPTION_HANDLERS
from gateway.routes.dependencies import route_dependencies
from gateway.routes.health import live, ready
from gateway.routes.v1.billing import InvoiceController, PaymentController, PricingController
from gateway.routes.v1.catalog import PriceController, ProductController
from gateway.routes.v1.customers import CustomerController
from gateway.routes.v1.inbound import InboundController, signature_components
from gateway.routes.v1.operations import (
    DeadLetterController,
    ExceptionController,
    SlaController,
)
from gateway.routes.v1.sales import OrderController, QuoteController
from gateway.routes.v1.transactions import (
    EventController,
    QuoteAcceptController,
    TransactionController,
)
from gateway.routes.v2.orders import OrderControllerV2
from gateway.settings import Settings, embedded_settings
from gateway.wiring import Runtime, build_runtime
from policies.audit import audit_routes
from policies.auth.idp_routes import openid_routes
from policies.auth.openapi import security_components
from policies.auth.routes import issuer_routes
from policies.metrics import MetricsListener, governance_route, metrics_route
from policies.metrics.routes import caller_view
from policies.problems import set_problem_type_base
from policies.route import RoutePolicy, governed, public
from policies.tracing import tracing_routes
from policies.versioning.openapi import document_deprecations

API_VERSION = "1.0.0"

TAGS = [
    Tag(name="customers", description="Customer masters (owned by the CRM)"),
    Tag(name="products", description="Sellable products (owned by the ERP)"),
    Tag(name="prices", description="Price-book entries (owned by the CRM / CPQ)"),
    Tag(name="quotes", description="Quotes with lines and totals (owned by the CRM / CPQ)"),
    Tag(name="orders", description="Sales orders (owned by the ERP per legal entity)"),
    Tag(name="invoices", description="Invoices with tax (owned by the billing system)"),
    Tag(name="payments", description="Payments and refunds (owned by the billing system)"),
    Tag(
        name="transactions",
        description="Quote-to-cash transactions: accept a quote, follow its timeline, events",
    ),
    Tag(
        name="operations",
        description="Health, metrics, the governance report and the audit trail",
    ),
    Tag(name="auth", description="The built-in OAuth 2.0 token issuer"),
]


def openapi_config(version: str = "v1") -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Q2C Gateway",
        version=API_VERSION,
        summary="Governed quote-to-cash API facade",
        description=(
            "Canonical customer, product, price, quote and order APIs over the systems of "
            "record that own them. Every call needs a bearer token (client credentials at "
            "/oauth/token) with the operation's scopes; responses carry RateLimit headers; "
            "order creation needs an Idempotency-Key. Errors are RFC 9457 problem details. "
            "A query parameter an operation does not declare, or one given twice, is refused "
            "(400)."
        ),
        contact=Contact(
            name="Q2C Gateway team", url="https://q2c.dev/support", email="api@q2c.dev"
        ),
        license=License(name="Apache-2.0", identifier="Apache-2.0"),
        servers=list(SERVERS),
        tags=TAGS,
        components=[security_components(), signature_components()],
        path="/schema",
        # The portal's offline Swagger UI at /schema (no CDN); /schema/openapi.json as before.
        render_plugins=[PortalSchemaViewer()],
        use_handler_docstrings=False,
        create_examples=False,
    )


def create_litestar(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The Litestar application; ``runtime`` is injected by tests that drive it in-process."""
    owns_runtime = runtime is None
    runtime = runtime or build_runtime(settings)
    set_problem_type_base(settings.server.problem_type_base())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if not owns_runtime:
            yield
            return
        await runtime.start()
        listener = None
        if settings.metrics.enabled and settings.metrics.listen_port is not None:
            listener = MetricsListener(runtime.metrics)
            await listener.start()
        try:
            yield
        finally:
            if listener is not None:
                await listener.stop()
            await runtime.close()

    v1 = Router(
        path="/v1",
        route_handlers=[
            CustomerController,
            ProductController,
            PriceController,
            QuoteController,
            OrderController,
            InvoiceController,
            PaymentController,
            PricingController,
            QuoteAcceptController,
            TransactionController,
            EventController,
            InboundController,
            ExceptionController,
            DeadLetterController,
            SlaController,
        ],
    )
    v2 = Router(path="/v2", route_handlers=[OrderControllerV2])
    handlers: list[Any] = [v1, v2, live, ready, *ops_routes(runtime)]
    if runtime.issuer is not None:
        handlers.extend(issuer_routes(runtime.issuer, settings.auth, runtime.client_registry,
                                      runtime.openid_provider))
    if runtime.openid_provider is not None:
        handlers.extend(openid_routes(runtime.openid_provider))
    if settings.console.enabled:
        handlers.append(console_router(settings, runtime))
    if settings.portal.enabled:
        handlers.extend(portal_routes(Portal(settings, runtime.client_registry, runtime.issuer)))
    app = Litestar(
        route_handlers=handlers,
        middleware=policy_middleware(runtime),
        dependencies=route_dependencies(runtime.services, runtime.flow),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({"runtime": runtime, "settings": settings}),
        debug=False,
        logging_config=None,
    )
    document_policies(app.openapi_schema, declared_policies(app))
    document_deprecations(app.openapi_schema, settings.versioning)
    return app


def declared_policies(app: Litestar) -> dict[str, RoutePolicy]:
    """operationId -> the policy its route declares."""
    found: dict[str, RoutePolicy] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            policy = handler.opt.get("policy")
            if isinstance(handler.operation_id, str) and policy:
                found[handler.operation_id] = policy
    return found


def ops_routes(runtime: Runtime) -> list[Any]:
    """Operations endpoints: metrics, the governance report and the audit trail."""
    routes: list[Any] = [
        *audit_routes(runtime.audit_store, opt=governed("ops:read")),
        *tracing_routes(runtime.tracer, opt=governed("ops:read")),
    ]
    config = runtime.settings.metrics
    if config.enabled:
        scope = config.required_scope
        # Tenants see their own calls; ops:admin (or no tenancy: auth off) sees all.
        view = caller_view(tenancy=runtime.settings.auth.enabled)
        routes.append(
            metrics_route(
                runtime.metrics, opt=governed(scope) if scope else public(), view=view
            )
        )
        routes.append(governance_route(runtime.metrics, opt=governed("ops:read"), view=view))
    return routes


class Gateway:
    """The Litestar app behind the edge policies that must see every request."""

    def __init__(self, litestar: Litestar, settings: Settings) -> None:
        self.litestar = litestar
        self.settings = settings
        self._asgi = edge(litestar, self.runtime)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.litestar.state.runtime
        return runtime

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Gateway:
    settings = settings or embedded_settings()
    return Gateway(create_litestar(settings, runtime), settings)
