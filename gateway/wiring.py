"""Composition root: the only place that builds clients, stores, adapters and services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any

import httpx
import redis.asyncio as aioredis

from domains.customer.service import CustomerService
from domains.invoice.service import InvoiceService
from domains.order.service import OrderService
from domains.ownership import OwnershipMap
from domains.payment.service import PaymentService
from domains.pricing.calculate import PriceCalculator
from domains.pricing.service import PriceService
from domains.product.service import ProductService
from domains.quote.service import QuoteService
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway import embedded
from gateway.settings import Settings, UpstreamClientSettings, env_secrets
from gateway.stores.crosswalk import (
    MemoryCrosswalks,
    MemoryRecordOwners,
    RedisCrosswalks,
    RedisRecordOwners,
)
from policies.audit import AuditStore, MemoryAuditStore
from policies.audit.redis import RedisAuditStore
from policies.auth import (
    ClientRegistry,
    Issuer,
    MemoryClientRegistry,
    TokenVerifier,
    build_verifier,
)
from policies.auth.registry_redis import RedisClientRegistry
from policies.context import sor_observer
from policies.idempotency import IdempotencyStore, MemoryIdempotencyStore
from policies.idempotency.redis import RedisIdempotencyStore
from policies.metrics import GatewayMetrics
from policies.rate_limit import MemoryRateLimitStore, RateLimitStore
from policies.rate_limit.redis import RedisRateLimitStore
from policies.tracing import Tracer, outbound_headers, sor_call_span
from systems.plugin import SecretReader
from systems.ports import SystemAdapters
from systems.registry import plugin_for
from systems.transport import AiohttpTransport, HttpxTransport, UpstreamTransport
from systems.upstream import Upstream

HealthCheck = Callable[[], Awaitable[None]]


@dataclass
class Services:
    customers: CustomerService
    products: ProductService
    prices: PriceService
    quotes: QuoteService
    orders: OrderService
    invoices: InvoiceService
    payments: PaymentService
    pricing: PriceCalculator


@dataclass
class Runtime:
    """Everything built for one gateway process, and how to start and close it.

    Building does no I/O (clients connect lazily), so the app can be assembled
    before an event loop runs; ``start`` does the first round trips.
    """

    settings: Settings
    services: Services
    crosswalks: CrosswalkFactory
    owners: RecordOwners
    ownership: OwnershipMap
    http: httpx.AsyncClient
    clients: HttpClients
    redis: aioredis.Redis | None
    issuer: Issuer | None
    verifier: TokenVerifier
    rate_limit_store: RateLimitStore
    idempotency_store: IdempotencyStore
    audit_store: AuditStore
    metrics: GatewayMetrics
    tracer: Tracer
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    sandboxes: dict[str, Any] = field(default_factory=dict)
    # Clients registered at run time (the portal's sandbox apps), beside configured ones.
    client_registry: ClientRegistry = field(default_factory=MemoryClientRegistry)

    async def start(self) -> None:
        await self.verifier.warm_up()

    async def close(self) -> None:
        """Release connections. The runtime stays usable: a later ``start`` (another
        lifespan of the same app) reconnects lazily."""
        await self.clients.aclose()
        self.tracer.force_flush()
        if isinstance(self.rate_limit_store, RedisRateLimitStore):
            await self.rate_limit_store.aclose()
        if self.redis is not None:
            await self.redis.aclose()


class _NoCookies(CookieJar):
    """Systems of record get no shared cookie jar: the SAP client carries its own
    session cookie, and a jar read and written on every call costs measurable CPU."""

    def add_cookie_header(self, request: Any) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


@dataclass
class HttpClients:
    """The pooled HTTP clients of one gateway process."""

    http: httpx.AsyncClient  # the identity provider's JWKS; sandboxes mounted in-process
    network: UpstreamTransport  # systems of record over the network
    sandboxes: UpstreamTransport  # systems of record mounted in ``http``
    pool: httpx.AsyncBaseTransport  # ``http``'s own connections

    async def aclose(self) -> None:
        """Release every connection; each client reconnects on its next call."""
        await self.network.aclose()
        await self.pool.aclose()


def build_http_client(
    config: UpstreamClientSettings, mounts: dict[str, httpx.AsyncBaseTransport]
) -> HttpClients:
    """One pooled transport for every system of record reached over the network
    (aiohttp's, or httpx's with ``transport = "httpx"``); sandboxes are mounted
    in-process by base URL on the httpx client."""
    pool = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_keepalive_connections,
            keepalive_expiry=config.keepalive_seconds,
        ),
        trust_env=False,
    )
    http = httpx.AsyncClient(
        transport=pool,
        mounts=mounts or None,
        follow_redirects=False,
        trust_env=False,
        cookies=_NoCookies(),
    )
    through_httpx = HttpxTransport(http)
    network: UpstreamTransport = through_httpx
    if config.transport == "aiohttp":
        network = AiohttpTransport(
            max_connections=config.max_connections,
            keepalive_seconds=config.keepalive_seconds,
            ssl_context=httpx.create_ssl_context(trust_env=False),  # the same CAs as httpx
        )
    return HttpClients(http=http, network=network, sandboxes=through_httpx, pool=pool)


def build_runtime(settings: Settings) -> Runtime:
    sandboxes: dict[str, Any] = {}
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    secrets: dict[str, SecretReader] = {}
    for name, system in settings.systems.items():
        if system.sandbox:
            sandbox = embedded.start(plugin_for(system), name)
            sandboxes[name] = sandbox.state
            mounts[system.base_url.rstrip("/")] = httpx.ASGITransport(app=sandbox.app)
            secrets[name] = sandbox.secrets
        else:
            secrets[name] = env_secrets(name, system)
    clients = build_http_client(settings.http_client, mounts)
    http = clients.http

    redis_client: aioredis.Redis | None = None
    crosswalks: CrosswalkFactory
    owners: RecordOwners
    rate_limit_store: RateLimitStore
    idempotency_store: IdempotencyStore
    audit_store: AuditStore
    client_registry: ClientRegistry
    audit = settings.audit
    if settings.redis is not None:
        prefix = settings.redis.prefix
        redis_client = aioredis.Redis.from_url(
            settings.redis.url,
            decode_responses=True,
            socket_timeout=settings.redis.timeout_seconds,
            socket_connect_timeout=settings.redis.timeout_seconds,
        )
        crosswalks = RedisCrosswalks(redis_client, prefix)
        owners = RedisRecordOwners(redis_client, prefix)
        # The one Redis command every governed request makes: auto-pipelined.
        rate_limit_store = RedisRateLimitStore(redis_client, key_prefix=prefix, pipelined=True)
        idempotency_store = RedisIdempotencyStore(redis_client, prefix=prefix)
        audit_store = RedisAuditStore(
            redis_client,
            prefix=prefix,
            max_entries=audit.max_entries_for("redis"),
            max_scan=audit.max_scan,
        )
        client_registry = RedisClientRegistry(redis_client, prefix)
    else:
        crosswalks = MemoryCrosswalks()
        owners = MemoryRecordOwners()
        rate_limit_store = MemoryRateLimitStore()
        idempotency_store = MemoryIdempotencyStore()
        audit_store = MemoryAuditStore(
            max_entries=audit.max_entries_for("memory"), max_scan=audit.max_scan
        )
        client_registry = MemoryClientRegistry()
    metrics = GatewayMetrics(settings.metrics)

    issuer = Issuer.from_config(settings.auth) if settings.auth.builtin_issuer.enabled else None
    verifier = build_verifier(settings.auth, http_client=http, issuer=issuer)

    adapters = SystemAdapters()
    checks: dict[str, HealthCheck] = {}
    # Each SoR call counts toward its request's SoR tracker, then the per-call metrics.
    observe = sor_observer(metrics.observe_sor_call)
    for name, system in settings.systems.items():
        plugin = plugin_for(system)
        upstream = Upstream(
            system=name,
            transport=clients.sandboxes if system.sandbox else clients.network,
            base_url=system.base_url,
            config=system.upstream,
            translate=plugin.translate,
            headers=outbound_headers,
            observe=observe,
            instrument=sor_call_span,
        )
        adapter = plugin.build(system, upstream, secrets[name])
        for port in plugin.ports:
            port.register(adapters, name, adapter)
        probe = plugin.probe(secrets[name])
        checks[name] = _probe(upstream, probe.path, probe.headers)
    if redis_client is not None:
        client = redis_client

        async def ping_redis() -> None:
            await client.ping()

        checks["redis"] = ping_redis

    # Configuration, fixed for the life of the process: every service gets the value.
    ownership = settings.ownership_map()
    customers = CustomerService(
        crosswalks=crosswalks, owners=owners, ownership=ownership, masters=adapters.crm
    )
    products = ProductService(
        crosswalks=crosswalks, ownership=ownership, catalogs=adapters.catalogs
    )
    prices = PriceService(
        crosswalks=crosswalks, ownership=ownership, books=adapters.crm, products=products
    )
    quotes = QuoteService(
        crosswalks=crosswalks,
        ownership=ownership,
        sources=adapters.crm,
        products=products,
        customers=customers,
        tax=adapters.tax,
    )
    orders = OrderService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        erps=adapters.erps,
        customers=customers,
        products=products,
        quotes=quotes,
    )
    invoices = InvoiceService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        billing=adapters.billing,
        tax=adapters.tax,
        orders=orders,
        customers=customers,
        products=products,
    )
    payments = PaymentService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        billing=adapters.billing,
        invoices=invoices,
    )
    pricing = PriceCalculator(
        ownership=ownership,
        books=adapters.crm,
        tax=adapters.tax,
        products=products,
        customers=customers,
    )
    return Runtime(
        settings=settings,
        services=Services(customers, products, prices, quotes, orders, invoices, payments, pricing),
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        http=http,
        clients=clients,
        redis=redis_client,
        issuer=issuer,
        verifier=verifier,
        rate_limit_store=rate_limit_store,
        idempotency_store=idempotency_store,
        audit_store=audit_store,
        metrics=metrics,
        tracer=Tracer(settings.tracing),
        health_checks=checks,
        sandboxes=sandboxes,
        client_registry=client_registry,
    )


def _probe(upstream: Upstream, path: str, headers: Mapping[str, str]) -> HealthCheck:
    async def check() -> None:
        await upstream.request(
            "GET",
            path,
            operation="health",
            retry_safe=False,
            headers=dict(headers),
            accept_statuses=frozenset({401, 404}),
        )

    return check
