"""Composition root: the only place that builds clients, stores, adapters and services."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any

import httpx
import redis.asyncio as aioredis

from domains.customer.service import CustomerService
from domains.invoice.ports import BillingSystem
from domains.invoice.service import InvoiceService
from domains.order.ports import OrderSystem
from domains.order.service import OrderService
from domains.ownership import OwnershipStore
from domains.payment.service import PaymentService
from domains.pricing.calculate import PriceCalculator
from domains.pricing.service import PriceService
from domains.product.ports import ProductCatalog
from domains.product.service import ProductService
from domains.quote.service import QuoteService
from domains.tax.ports import TaxEngine
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway.http_transport import UpstreamTransport
from gateway.settings import (
    AvalaraSystem,
    NetSuiteSystem,
    SalesforceSystem,
    SapS4HanaSystem,
    Settings,
    StripeSystem,
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
from policies.auth import (
    ClientRegistry,
    Issuer,
    MemoryClientRegistry,
    TokenVerifier,
    build_verifier,
)
from policies.auth.registry_redis import RedisClientRegistry
from policies.idempotency import IdempotencyStore, MemoryIdempotencyStore
from policies.idempotency.redis import RedisIdempotencyStore
from policies.metrics import GatewayMetrics
from policies.rate_limit import MemoryRateLimitStore, RateLimitStore
from policies.rate_limit.redis import RedisRateLimitStore
from policies.tracing import Tracer, outbound_headers, sor_call_span
from systems.avalara.adapter import AvalaraAdapter
from systems.avalara.client import AvalaraAuth, AvalaraClient
from systems.avalara.errors import translate as translate_avalara
from systems.netsuite.adapter import NetSuiteAdapter
from systems.netsuite.client import NetSuiteAuth, NetSuiteClient
from systems.netsuite.errors import translate as translate_netsuite
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import translate as translate_salesforce
from systems.sap_s4hana.adapter import SapAdapter
from systems.sap_s4hana.client import SapAuth, SapClient
from systems.sap_s4hana.errors import translate as translate_sap
from systems.stripe.adapter import StripeAdapter
from systems.stripe.client import StripeAuth, StripeClient
from systems.stripe.errors import translate as translate_stripe
from systems.upstream import ErrorTranslator, Upstream

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


class SystemAdapters:
    """The adapters of every configured system, grouped by the ports they implement."""

    def __init__(self) -> None:
        self.crm: dict[str, SalesforceAdapter] = {}
        self.catalogs: dict[str, ProductCatalog] = {}
        self.erps: dict[str, OrderSystem] = {}
        self.billing: dict[str, BillingSystem] = {}
        self.tax: dict[str, TaxEngine] = {}

    def add(self, name: str, system: SystemSettings, upstream: Upstream) -> HealthCheck:
        """Build the adapter for one system; returns its readiness probe."""
        if isinstance(system, SalesforceSystem):
            auth = _salesforce_auth(name, system)
            self.crm[name] = SalesforceAdapter(SalesforceClient(upstream, auth, system.api_version))
            return _probe(upstream, "/services/data/")
        if isinstance(system, SapS4HanaSystem):
            sap_auth = _sap_auth(name, system)
            sap = SapAdapter(
                SapClient(upstream, sap_auth), system.sales_area, dict(system.sales_areas)
            )
            self.catalogs[name] = self.erps[name] = sap
            return _probe(
                upstream,
                "/sap/opu/odata/sap/API_PRODUCT_SRV/$metadata",
                {"Authorization": _basic(sap_auth.user, sap_auth.password)},
            )
        if isinstance(system, NetSuiteSystem):
            token = _secret_or(
                system.sandbox,
                system.access_token_env,
                f"systems.{name}",
                _sandbox_secret("netsuite"),
            )
            self.erps[name] = NetSuiteAdapter(
                NetSuiteClient(upstream, NetSuiteAuth(access_token=token)),
                subsidiaries=dict(system.subsidiaries),
                default_subsidiary=system.default_subsidiary,
            )
            return _probe(
                upstream,
                "/services/rest/record/v1/subsidiary/1",
                {"Authorization": f"Bearer {token}"},
            )
        if isinstance(system, StripeSystem):
            key = _secret_or(
                system.sandbox, system.api_key_env, f"systems.{name}", _sandbox_secret("stripe")
            )
            self.billing[name] = StripeAdapter(StripeClient(upstream, StripeAuth(api_key=key)))
            return _probe(upstream, "/v1/customers?limit=1", {"Authorization": f"Bearer {key}"})
        account = _secret_or(
            system.sandbox,
            system.account_id_env,
            f"systems.{name}",
            _sandbox_secret("avalara_account"),
        )
        license_key = _secret_or(
            system.sandbox,
            system.license_key_env,
            f"systems.{name}",
            _sandbox_secret("avalara_license"),
        )
        self.tax[name] = AvalaraAdapter(
            AvalaraClient(upstream, AvalaraAuth(account_id=account, license_key=license_key)),
            company_codes=dict(system.company_codes),
            default_company=system.default_company,
        )
        return _probe(
            upstream, "/api/v2/utilities/ping", {"Authorization": _basic(account, license_key)}
        )


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
    tracer: Tracer
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    sandboxes: dict[str, Any] = field(default_factory=dict)
    # Clients registered at run time (the portal's sandbox apps), beside configured ones.
    client_registry: ClientRegistry = field(default_factory=MemoryClientRegistry)

    async def start(self) -> None:
        if isinstance(self.ownership, RedisOwnershipStore):
            # The configuration is the source of truth for ownership at start-up.
            await self.ownership.save(self.settings.ownership_map())
        await self.verifier.warm_up()

    async def close(self) -> None:
        """Release connections. The runtime stays usable: a later ``start`` (another
        lifespan of the same app) reconnects lazily."""
        await self.upstream_transport.aclose()
        self.tracer.force_flush()
        if self.redis is not None:
            await self.redis.aclose()


def _sandbox_app(system: SystemSettings) -> tuple[Any, Any]:
    """(sandbox state, ASGI app) for an embedded simulator of this kind of system."""
    if isinstance(system, SalesforceSystem):
        from systems.salesforce import sandbox as sf

        return _pair(sf.SalesforceSandbox(), sf.create_app)
    if isinstance(system, SapS4HanaSystem):
        from systems.sap_s4hana import sandbox as sap

        return _pair(sap.SapSandbox(), sap.create_app)
    if isinstance(system, NetSuiteSystem):
        from systems.netsuite import sandbox as ns

        return _pair(ns.NetSuiteSandbox(), ns.create_app)
    if isinstance(system, StripeSystem):
        from systems.stripe import sandbox as stripe

        return _pair(stripe.StripeSandbox(), stripe.create_app)
    from systems.avalara import sandbox as avalara

    return _pair(avalara.AvalaraSandbox(), avalara.create_app)


def _pair(state: Any, factory: Any) -> tuple[Any, Any]:
    return state, factory(state)


class _NoCookies(CookieJar):
    """Systems of record get no shared cookie jar: the SAP client carries its own
    session cookie, and a jar read and written on every call costs measurable CPU."""

    def add_cookie_header(self, request: Any) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


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
        transport=transport,
        mounts=mounts or None,
        follow_redirects=False,
        trust_env=False,
        cookies=_NoCookies(),
    )
    return client, transport


def build_runtime(settings: Settings) -> Runtime:
    sandboxes: dict[str, Any] = {}
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for name, system in settings.systems.items():
        if system.sandbox:
            state, app = _sandbox_app(system)
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
        ownership = RedisOwnershipStore(redis_client, prefix)
        rate_limit_store = RedisRateLimitStore(redis_client, key_prefix=prefix)
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
        ownership = MemoryOwnershipStore(settings.ownership_map())
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
    for name, system in settings.systems.items():
        upstream = Upstream(
            system=name,
            http=http,
            base_url=system.base_url,
            config=system.upstream,
            translate=_TRANSLATORS[type(system)],
            headers=outbound_headers,
            observe=metrics.observe_sor_call,
            instrument=sor_call_span,
        )
        checks[name] = adapters.add(name, system, upstream)
    if redis_client is not None:
        client = redis_client

        async def ping_redis() -> None:
            await client.ping()

        checks["redis"] = ping_redis

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
        upstream_transport=transport,
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


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _secret_or(sandbox: bool, env_name: str | None, what: str, sandbox_value: str) -> str:
    return sandbox_value if sandbox else secret(env_name, what)


def _sandbox_secret(which: str) -> str:
    """The well-known credentials of the embedded simulators."""
    if which == "netsuite":
        from systems.netsuite.sandbox import ACCESS_TOKEN

        return ACCESS_TOKEN
    if which == "stripe":
        from systems.stripe.sandbox import API_KEY

        return API_KEY
    from systems.avalara.sandbox import ACCOUNT_ID, LICENSE_KEY

    return ACCOUNT_ID if which == "avalara_account" else LICENSE_KEY


_TRANSLATORS: dict[type, ErrorTranslator] = {
    SalesforceSystem: translate_salesforce,
    SapS4HanaSystem: translate_sap,
    NetSuiteSystem: translate_netsuite,
    StripeSystem: translate_stripe,
    AvalaraSystem: translate_avalara,
}


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
