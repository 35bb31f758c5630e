"""Composition root: the only place that builds clients, stores, adapters and services."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any

import httpx
import redis.asyncio as aioredis

from domains.customer.service import CustomerService
from domains.errors import StoreUnavailable
from domains.invoice.service import InvoiceService
from domains.order.service import OrderService
from domains.ownership import OwnershipMap
from domains.paging import Pager
from domains.payment.service import PaymentService
from domains.pricing.calculate import PriceCalculator
from domains.pricing.service import PriceService
from domains.product.service import ProductService
from domains.quote.service import QuoteService
from domains.submission import SubmissionLedger, SubmissionPolicy, Submissions
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway import embedded
from gateway.console.config import console_relying_party
from gateway.console.sessions import ConsoleSessionStore, CookieSigner
from gateway.home import local_secret
from gateway.routes.common import (
    INVOICE_CREATE,
    KEYED_OPERATIONS,
    ORDER_CREATE,
    PAYMENT_CREATE,
)
from gateway.settings import Settings, UpstreamClientSettings, cursor_key, env_secrets
from gateway.stores.cache import CachedCrosswalks, CachedRecordOwners, RedisCache
from gateway.stores.sql import migrate
from gateway.stores.sql.audit import SqlAuditStore
from gateway.stores.sql.authorization_codes import SqlAuthorizationCodes
from gateway.stores.sql.clients import SqlClientRegistry
from gateway.stores.sql.console_sessions import SqlConsoleSessions
from gateway.stores.sql.crosswalk import SqlCrosswalks, SqlRecordOwners
from gateway.stores.sql.engine import Database
from gateway.stores.sql.idempotency import SqlIdempotencyStore
from gateway.stores.sql.submissions import SqlSubmissionLedger
from policies.audit import AuditStore
from policies.audit.entry import make_entry, record
from policies.auth import (
    ClientRegistry,
    Issuer,
    MemoryClientRegistry,
    TokenVerifier,
    build_verifier,
)
from policies.auth.codes import AuthorizationCodeStore
from policies.auth.config import RelyingParty
from policies.auth.idp import OpenIdProvider, SignInEvent, SignInHook
from policies.context import sor_observer
from policies.idempotency import IdempotencyStore
from policies.idempotency.middleware import DEFAULT_LEASE_SECONDS
from policies.metrics import GatewayMetrics
from policies.rate_limit import MemoryRateLimitStore, RateLimitStore
from policies.rate_limit.redis import RedisRateLimitStore
from policies.tracing import Tracer, outbound_headers, sor_call_span
from systems.plugin import SecretReader
from systems.ports import SystemAdapters
from systems.registry import plugin_for
from systems.transport import AiohttpTransport, HttpxTransport, UpstreamTransport
from systems.upstream import Upstream, UpstreamConfig

if TYPE_CHECKING:
    from gateway.flow.runtime import Flow

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
    database: Database
    ledger: SubmissionLedger
    cache: RedisCache | None
    # The lease (and deadline) of each keyed operation, in seconds.
    leases: dict[str, float] = field(default_factory=dict)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    # The checks without which this process cannot serve at all (readiness fails on them).
    essential_checks: frozenset[str] = frozenset({"database"})
    sandboxes: dict[str, Any] = field(default_factory=dict)
    adapters: SystemAdapters = field(default_factory=SystemAdapters)
    # The quote-to-cash transactions ([flow]); None when disabled.
    flow: Flow | None = None
    # Clients registered at run time (the portal's sandbox apps), beside configured ones.
    client_registry: ClientRegistry = field(default_factory=MemoryClientRegistry)
    pager: Pager | None = None
    # The wall clock sessions and sign-in codes are timed by (tests move it).
    clock: Callable[[], float] = time.time
    # The built-in issuer as an OpenID provider, its codes, and the console's sessions.
    openid_provider: OpenIdProvider | None = None
    authorization_codes: AuthorizationCodeStore | None = None
    console_sessions: ConsoleSessionStore | None = None
    console_signer: CookieSigner | None = None

    async def start(self) -> None:
        if self.pager is not None:
            self.pager.key()  # a missing or short cursor key stops the start, by name
        await self.database.prepare()
        await self.verifier.warm_up()
        if self.settings.console.enabled and self.console_signer is not None:
            await self.console_signer.ready()  # a missing session key stops the start
        if self.flow is not None:
            await self.flow.open()

    async def close(self) -> None:
        """Release connections. The runtime stays usable: a later ``start`` (another
        lifespan of the same app) reconnects lazily."""
        if self.flow is not None:
            await self.flow.close()
        await self.clients.aclose()
        self.tracer.force_flush()
        if isinstance(self.rate_limit_store, RedisRateLimitStore):
            await self.rate_limit_store.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def prepare_database(settings: Settings) -> None:
    """The embedded SQLite file is brought to the current schema; a configured database
    must already be there (``q2c db upgrade``), or the gateway does not start."""
    url = settings.database_url()
    if settings.database is None:
        await asyncio.to_thread(migrate.upgrade, url)
        return
    try:
        await asyncio.to_thread(migrate.require_current, url)
    except migrate.SchemaBehind as behind:
        raise StoreUnavailable(str(behind)) from behind


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


def build_runtime(
    settings: Settings, *, role: str = "serve", run_workflows: bool | None = None
) -> Runtime:
    """``role`` names the process in executor ids (serve, worker); ``run_workflows``
    overrides whether this process runs the quote-to-cash workflows (the embedded
    default's ``q2c serve`` does, a configured one only starts them)."""
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

    # Durable records in the database; Redis (when configured) holds only what may be
    # lost: rate-limit state and the caches in front of the crosswalk and owners.
    database = Database(
        settings.database_url(),
        settings.database,
        before_first_use=lambda: prepare_database(settings),
    )
    redis_client: aioredis.Redis | None = None
    cache: RedisCache | None = None
    rate_limit_store: RateLimitStore = MemoryRateLimitStore()
    if settings.redis is not None:
        prefix = settings.redis.prefix
        redis_client = aioredis.Redis.from_url(
            settings.redis.url,
            decode_responses=True,
            socket_timeout=settings.redis.timeout_seconds,
            socket_connect_timeout=settings.redis.timeout_seconds,
        )
        cache = RedisCache(redis_client, prefix)
        # The one Redis command every governed request makes: auto-pipelined.
        rate_limit_store = RedisRateLimitStore(redis_client, key_prefix=prefix, pipelined=True)
    crosswalks: CrosswalkFactory = CachedCrosswalks(SqlCrosswalks(database), cache)
    owners: RecordOwners = CachedRecordOwners(SqlRecordOwners(database), cache)
    idempotency_store: IdempotencyStore = SqlIdempotencyStore(database)
    audit_store: AuditStore = SqlAuditStore(database, max_entries=settings.audit.max_entries)
    client_registry: ClientRegistry = SqlClientRegistry(database)
    ledger = SqlSubmissionLedger(database)
    leases = operation_leases(settings)
    windows = {name: system.commit_window_seconds for name, system in settings.systems.items()}

    def submissions(operation: str) -> Submissions:
        return Submissions(ledger, SubmissionPolicy(leases[operation], windows))

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
    checks["database"] = database.ping
    if redis_client is not None:
        client = redis_client

        async def ping_redis() -> None:
            await client.ping()

        checks["redis"] = ping_redis

    # Configuration, fixed for the life of the process: every service gets the value.
    ownership = settings.ownership_map()
    paging = settings.paging
    pager = Pager(lambda: cursor_key(paging), max_scan=paging.max_scan)
    customers = CustomerService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        masters=adapters.crm,
        pager=pager,
    )
    products = ProductService(
        crosswalks=crosswalks, ownership=ownership, catalogs=adapters.catalogs, pager=pager
    )
    prices = PriceService(
        crosswalks=crosswalks,
        ownership=ownership,
        books=adapters.crm,
        products=products,
        pager=pager,
    )
    quotes = QuoteService(
        crosswalks=crosswalks,
        ownership=ownership,
        sources=adapters.crm,
        products=products,
        pager=pager,
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
        pager=pager,
        submissions=submissions(ORDER_CREATE),
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
        pager=pager,
        submissions=submissions(INVOICE_CREATE),
    )
    payments = PaymentService(
        crosswalks=crosswalks,
        owners=owners,
        ownership=ownership,
        billing=adapters.billing,
        invoices=invoices,
        submissions=submissions(PAYMENT_CREATE),
    )
    pricing = PriceCalculator(
        ownership=ownership,
        books=adapters.crm,
        tax=adapters.tax,
        products=products,
        customers=customers,
    )
    runtime = Runtime(
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
        database=database,
        ledger=ledger,
        cache=cache,
        leases=leases,
        health_checks=checks,
        essential_checks=_essential_checks(settings),
        sandboxes=sandboxes,
        adapters=adapters,
        client_registry=client_registry,
        pager=pager,
    )
    if settings.console.enabled:
        runtime.console_sessions = SqlConsoleSessions(database)
        runtime.console_signer = CookieSigner(_console_key(settings, issuer))
    if issuer is not None:
        codes = SqlAuthorizationCodes(database)
        runtime.authorization_codes = codes
        audit = audit_store if settings.audit.enabled else None
        runtime.openid_provider = OpenIdProvider(
            issuer,
            settings.auth.builtin_issuer,
            issuer_url=settings.server.origin(),
            relying_parties=relying_parties(settings),
            codes=codes,
            clock=lambda: runtime.clock(),
            on_sign_in=_audited_sign_ins(audit, settings) if audit is not None else None,
        )
    if settings.flow.enabled:
        from gateway.flow.runtime import build_flow

        if run_workflows is None:
            embedded_worker = settings.flow.embedded_worker
            run_workflows = (
                settings.database is None if embedded_worker is None else embedded_worker
            )
        runtime.flow = build_flow(runtime, role=role, runs_workflows=run_workflows)
    return runtime


def relying_parties(settings: Settings) -> tuple[RelyingParty, ...]:
    """The built-in issuer's OpenID Connect clients: the configured ones, and the
    console when it signs in here and is not configured already."""
    configured = settings.auth.builtin_issuer.relying_parties
    console = console_relying_party(settings.console, settings.server.origin())
    if console is None or any(p.client_id == console.client_id for p in configured):
        return configured
    return (*configured, console)


def _console_key(settings: Settings, issuer: Issuer | None) -> Callable[[], bytes]:
    """The console's cookie-signing key: configured, else derived from the built-in
    issuer's key (every process sharing that file agrees), else generated once into
    the gateway's home folder (processes on this machine agree)."""
    name = settings.console.session_secret_env

    def key() -> bytes:
        if name is not None:
            value = os.environ.get(name, "")
            if len(value) < 32:
                raise SystemExit(f"console.session_secret_env: {name} must hold at least 32 "
                                 "characters")
            return value.encode()
        if issuer is not None:
            return issuer.derived_secret(b"console session")
        return local_secret("console-session.key")

    return key


def _audited_sign_ins(audit: AuditStore, settings: Settings) -> SignInHook:
    """Password sign-ins at the built-in issuer, in the audit trail: who (as typed),
    the tenant when the user exists, and whether it worked."""
    tenants = {user.username: user.tenant for user in settings.auth.builtin_issuer.users}

    async def audited(event: SignInEvent) -> None:
        signed_in = event.user is not None
        entry = make_entry(
            tenant=tenants.get(event.username, "-"),
            consumer=f"user:{event.username or '-'}",
            operation="idp.sign_in" if signed_in else "idp.sign_in_failed",
            status=303 if signed_in else 401,
            method="POST",
            route="/oauth/authorize",
            trace_id=event.trace_id,
        )
        await record(audit, entry)

    return audited


# Room for the gateway's own work (its database round trips) on top of the time the
# systems of record may take.
_OWN_WORK_SECONDS = 5.0
_MAX_PAUSE_SECONDS = 5.0  # systems/upstream.py caps each pause between attempts


def call_budget(config: UpstreamConfig) -> float:
    """The longest one system-of-record call can take: every attempt's timeout plus
    the (capped, jittered) pauses between them."""
    attempts = 1 + config.max_retries
    pauses = sum(
        min(_MAX_PAUSE_SECONDS, config.backoff_seconds * (2**i + 1))
        for i in range(config.max_retries)
    )
    return float(attempts * config.timeout_seconds + pauses)


def operation_leases(settings: Settings) -> dict[str, float]:
    """Each keyed operation's lease: the systems it may call for the slowest legal entity
    (one call budget each), plus the gateway's own work; a configured
    ``idempotency.lease_seconds`` applies to all instead."""
    if settings.idempotency.lease_seconds is not None:
        return dict.fromkeys(KEYED_OPERATIONS, float(settings.idempotency.lease_seconds))
    ownership = settings.ownership_map()
    entities: list[str | None] = [None, *sorted(ownership.legal_entities())]
    leases: dict[str, float] = {}
    for operation, domains in KEYED_OPERATIONS.items():
        slowest = 0.0
        for entity in entities:
            systems = {
                rule.by_legal_entity.get(entity or "", rule.system)
                for domain, rule in ownership.rules.items()
                if domain in domains
            }
            budget = sum(call_budget(settings.systems[name].upstream) for name in systems)
            slowest = max(slowest, budget)
        leases[operation] = slowest + _OWN_WORK_SECONDS if slowest else DEFAULT_LEASE_SECONDS
    return leases


def _essential_checks(settings: Settings) -> frozenset[str]:
    """Every call needs the database; Redis only when the rate limiter must refuse
    calls it cannot count (it is a cache otherwise). Systems of record are shared by
    every gateway: one that fails degrades the calls that need it, not the gateway."""
    limits = settings.rate_limit
    if settings.redis is not None and limits.enabled and limits.failure_mode == "closed":
        return frozenset({"database", "redis"})
    return frozenset({"database"})


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
