"""Composition root: the only place that builds clients, stores, adapters and services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis

from domains.customer.service import CustomerService
from domains.order.service import OrderService
from domains.ownership import OwnershipStore
from domains.pricing.service import PriceService
from domains.product.service import ProductService
from domains.quote.service import QuoteService
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway.http_transport import UpstreamTransport
from gateway.settings import (
    SalesforceSystem,
    SapS4HanaSystem,
    Settings,
    SystemSettings,
    UpstreamClientSettings,
    secret,
)
from gateway.stores.crosswalk import (
    MemoryCrosswalks,
    MemoryRecordOwners,
    RedisCrosswalks,
    RedisRecordOwners,
)
from gateway.stores.ownership import MemoryOwnershipStore, RedisOwnershipStore
from policies.audit import AuditStore, MemoryAuditStore
from policies.audit.redis import RedisAuditStore
from policies.auth import Issuer, TokenVerifier, build_verifier
from policies.idempotency import IdempotencyStore, MemoryIdempotencyStore
from policies.idempotency.redis import RedisIdempotencyStore
from policies.metrics import GatewayMetrics
from policies.rate_limit import MemoryRateLimitStore, RateLimitStore
from policies.rate_limit.redis import RedisRateLimitStore
from policies.tracing.context import outbound_headers
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import translate as translate_salesforce
from systems.sap_s4hana.adapter import SapAdapter
from systems.sap_s4hana.client import SapAuth, SapClient
from systems.sap_s4hana.errors import translate as translate_sap
from systems.upstream import Upstream

HealthCheck = Callable[[], Awaitable[None]]


@dataclass
class Services:
    customers: CustomerService
    products: ProductService
    prices: PriceService
    quotes: QuoteService
    orders: OrderService


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
    ownership: OwnershipStore
    http: httpx.AsyncClient
    upstream_transport: httpx.AsyncBaseTransport
    redis: aioredis.Redis | None
    issuer: Issuer | None
    verifier: TokenVerifier
    rate_limit_store: RateLimitStore
    idempotency_store: IdempotencyStore
    audit_store: AuditStore
    metrics: GatewayMetrics
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    sandboxes: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        if isinstance(self.ownership, RedisOwnershipStore):
            # The configuration is the source of truth for ownership at start-up.
            await self.ownership.save(self.settings.ownership_map())
        await self.verifier.warm_up()

    async def close(self) -> None:
        """Release connections. The runtime stays usable: a later ``start`` (another
        lifespan of the same app) reconnects lazily."""
        await self.upstream_transport.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def _sandbox_app(name: str, system: SystemSettings) -> tuple[Any, Any]:
    """(sandbox state, ASGI app) for an embedded simulator."""
    if isinstance(system, SalesforceSystem):
        from systems.salesforce import sandbox as sf_sandbox

        sf_state = sf_sandbox.SalesforceSandbox()
        return sf_state, sf_sandbox.create_app(sf_state)
    from systems.sap_s4hana import sandbox as sap_sandbox

    sap_state = sap_sandbox.SapSandbox()
    return sap_state, sap_sandbox.create_app(sap_state)


def build_http_client(
    config: UpstreamClientSettings, mounts: dict[str, httpx.AsyncBaseTransport]
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport]:
    """One pooled client for every system of record (and its network transport);
    sandboxes are mounted in-process."""
    limits = httpx.Limits(
        max_connections=config.max_connections,
        max_keepalive_connections=config.max_keepalive_connections,
        keepalive_expiry=config.keepalive_seconds,
    )
    transport: httpx.AsyncBaseTransport
    if config.transport == "aiohttp":
        transport = UpstreamTransport(limits=limits, trust_env=False)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    client = httpx.AsyncClient(
        transport=transport, mounts=mounts or None, follow_redirects=False, trust_env=False
    )
    return client, transport


def build_runtime(settings: Settings) -> Runtime:
    sandboxes: dict[str, Any] = {}
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for name, system in settings.systems.items():
        if system.sandbox:
            state, app = _sandbox_app(name, system)
            sandboxes[name] = state
            mounts[system.base_url.rstrip("/")] = httpx.ASGITransport(app=app)
    http, transport = build_http_client(settings.http_client, mounts)

    redis_client: aioredis.Redis | None = None
    crosswalks: CrosswalkFactory
    owners: RecordOwners
    ownership: OwnershipStore
    rate_limit_store: RateLimitStore
    idempotency_store: IdempotencyStore
    audit_store: AuditStore
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
        ownership = RedisOwnershipStore(redis_client, prefix)
        rate_limit_store = RedisRateLimitStore(redis_client, key_prefix=prefix)
        idempotency_store = RedisIdempotencyStore(redis_client, prefix=prefix)
        audit_store = RedisAuditStore(
            redis_client,
            prefix=prefix,
            max_entries=audit.max_entries_for("redis"),
            max_scan=audit.max_scan,
        )
    else:
        crosswalks = MemoryCrosswalks()
        owners = MemoryRecordOwners()
        ownership = MemoryOwnershipStore(settings.ownership_map())
        rate_limit_store = MemoryRateLimitStore()
        idempotency_store = MemoryIdempotencyStore()
        audit_store = MemoryAuditStore(
            max_entries=audit.max_entries_for("memory"), max_scan=audit.max_scan
        )
    metrics = GatewayMetrics(settings.metrics)

    issuer = Issuer.from_config(settings.auth) if settings.auth.builtin_issuer.enabled else None
    verifier = build_verifier(settings.auth, http_client=http, issuer=issuer)

    salesforce: dict[str, SalesforceAdapter] = {}
    sap: dict[str, SapAdapter] = {}
    checks: dict[str, HealthCheck] = {}
    for name, system in settings.systems.items():
        if isinstance(system, SalesforceSystem):
            upstream = Upstream(
                system=name,
                http=http,
                base_url=system.base_url,
                config=system.upstream,
                translate=translate_salesforce,
                headers=outbound_headers,
                observe=metrics.observe_sor_call,
            )
            salesforce[name] = SalesforceAdapter(
                SalesforceClient(upstream, _salesforce_auth(name, system), system.api_version)
            )
            checks[name] = _probe(upstream, "/services/data/")
        elif isinstance(system, SapS4HanaSystem):
            upstream = Upstream(
                system=name,
                http=http,
                base_url=system.base_url,
                config=system.upstream,
                translate=translate_sap,
                headers=outbound_headers,
                observe=metrics.observe_sor_call,
            )
            sap_auth = _sap_auth(name, system)
            sap[name] = SapAdapter(
                SapClient(upstream, sap_auth), system.sales_area, dict(system.sales_areas)
            )
            checks[name] = _probe(
                upstream,
                "/sap/opu/odata/sap/API_PRODUCT_SRV/$metadata",
                {"Authorization": _basic(sap_auth)},
            )
    if redis_client is not None:
        client = redis_client

        async def ping_redis() -> None:
            await client.ping()

        checks["redis"] = ping_redis

    customers = CustomerService(
        crosswalks=crosswalks, owners=owners, ownership=ownership, masters=salesforce
    )
    products = ProductService(crosswalks=crosswalks, ownership=ownership, catalogs=sap)
    prices = PriceService(
        crosswalks=crosswalks, ownership=ownership, books=salesforce, products=products
    )
    quotes = QuoteService(
        crosswalks=crosswalks, ownership=ownership, sources=salesforce, products=products
    )
    orders = OrderService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        erps=sap,
        customers=customers,
        products=products,
        quotes=quotes,
    )
    return Runtime(
        settings=settings,
        services=Services(customers, products, prices, quotes, orders),
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        http=http,
        upstream_transport=transport,
        redis=redis_client,
        issuer=issuer,
        verifier=verifier,
        rate_limit_store=rate_limit_store,
        idempotency_store=idempotency_store,
        audit_store=audit_store,
        metrics=metrics,
        health_checks=checks,
        sandboxes=sandboxes,
    )


def _salesforce_auth(name: str, system: SalesforceSystem) -> SalesforceAuth:
    if system.sandbox:
        from systems.salesforce.sandbox import STATIC_TOKEN

        return SalesforceAuth(access_token=STATIC_TOKEN)
    if system.access_token_env:
        return SalesforceAuth(access_token=secret(system.access_token_env, f"systems.{name}"))
    return SalesforceAuth(
        client_id=secret(system.client_id_env, f"systems.{name}.client_id_env"),
        client_secret=secret(system.client_secret_env, f"systems.{name}.client_secret_env"),
    )


def _sap_auth(name: str, system: SapS4HanaSystem) -> SapAuth:
    if system.sandbox:
        return SapAuth(user="Q2C_GATEWAY", password="sandbox")  # noqa: S106 - simulator
    return SapAuth(
        user=secret(system.user_env, f"systems.{name}.user_env"),
        password=secret(system.password_env, f"systems.{name}.password_env"),
    )


def _basic(auth: SapAuth) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{auth.user}:{auth.password}".encode()).decode()


def _probe(upstream: Upstream, path: str, headers: dict[str, str] | None = None) -> HealthCheck:
    async def check() -> None:
        await upstream.request(
            "GET",
            path,
            operation="health",
            retry_safe=False,
            headers=headers or {},
            accept_statuses=frozenset({401, 404}),
        )

    return check
