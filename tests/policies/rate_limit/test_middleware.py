"""The policy over HTTP: headers, 429 problems, plans, per-IP limits, store outages."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as aioredis
from litestar.middleware import DefineMiddleware
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from policies.rate_limit.config import Plan, RateLimitConfig
from policies.rate_limit.memory import MemoryRateLimitStore
from policies.rate_limit.middleware import RateLimitMiddleware
from policies.rate_limit.redis import RedisRateLimitStore
from policies.rate_limit.store import RateLimitStore
from tests.policies.rate_limit.support import CONSUMER_HEADER, build_app
from tests.support.servers import free_port

# draft-ietf-httpapi-ratelimit-headers-10: a List of one Item, a String with
# Integer parameters.
POLICY_SYNTAX = re.compile(r'^"(?P<name>[A-Za-z0-9_.-]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
LIMIT_SYNTAX = re.compile(r'^"(?P<name>[A-Za-z0-9_.-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')

PLANS = {
    "default": Plan(quota=600, window_seconds=60, burst=5),
    "gold": Plan(quota=6000, window_seconds=60, burst=3),
    "anonymous": Plan(quota=60, window_seconds=60, burst=2),
    "slow": Plan(quota=6, window_seconds=60, burst=3),
}
ALICE = {CONSUMER_HEADER.decode(): "acme/alice/gold"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


Decisions = list[tuple[str, str]]
Factory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def decisions() -> Decisions:
    return []


@pytest.fixture
async def make_client(decisions: Decisions) -> AsyncIterator[Factory]:
    """Clients over ASGI against one app; each may have its own peer address."""
    clients: list[httpx.AsyncClient] = []

    def make(
        config: RateLimitConfig | None = None,
        store: RateLimitStore | None = None,
        peer: str = "192.0.2.1",
        app: Any = None,
    ) -> httpx.AsyncClient:
        if app is None:
            middleware = DefineMiddleware(
                cast("Any", RateLimitMiddleware),
                config=config or RateLimitConfig(plans=PLANS),
                store=store or MemoryRateLimitStore(FakeClock()),
                on_decision=lambda plan, outcome: decisions.append((plan, outcome)),
            )
            app = build_app(middleware)
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        client.app = app  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def policy_of(response: httpx.Response) -> re.Match[str]:
    match = POLICY_SYNTAX.match(response.headers["ratelimit-policy"])
    assert match, response.headers["ratelimit-policy"]
    return match


def limit_of(response: httpx.Response) -> re.Match[str]:
    match = LIMIT_SYNTAX.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return match


async def test_admitted_response_carries_both_fields(
    make_client: Factory, decisions: Decisions
) -> None:
    client = make_client()
    response = await client.get("/orders", headers=ALICE)
    assert response.status_code == 200
    assert response.headers["ratelimit-policy"] == '"gold";q=6000;w=60'
    assert response.headers["ratelimit"] == '"gold";r=2;t=1'
    assert policy_of(response)["name"] == limit_of(response)["name"] == "gold"
    assert "retry-after" not in response.headers
    assert decisions == [("gold", "admitted")]


async def test_handler_errors_carry_the_fields_too(make_client: Factory) -> None:
    client = make_client()
    response = await client.get("/orders/missing", headers=ALICE)
    assert response.status_code == 404
    assert limit_of(response)["r"] == "2"
    assert policy_of(response)["q"] == "6000"


async def test_rejection_is_a_quota_exceeded_problem(
    make_client: Factory, decisions: Decisions
) -> None:
    client = make_client()
    for _ in range(3):
        assert (await client.get("/orders", headers=ALICE)).status_code == 200
    response = await client.get("/orders", headers=ALICE)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    limit = limit_of(response)
    assert (limit["name"], limit["r"]) == ("gold", "0")
    assert int(retry_after) >= int(limit["t"])  # Retry-After never earlier than t
    assert response.headers["ratelimit-policy"] == '"gold";q=6000;w=60'
    body = response.json()
    assert body["status"] == 429
    assert body["code"] == "QUOTA_EXCEEDED"
    assert body["type"].endswith("/quota-exceeded")
    assert body["violated_policies"] == ["gold"]
    assert body["retryable"] is True
    assert body["instance"] == "/orders"
    assert decisions[-2:] == [("gold", "admitted"), ("gold", "limited")]


async def test_unknown_plan_falls_back_to_the_default_plan(make_client: Factory) -> None:
    client = make_client()
    response = await client.get("/orders", headers={CONSUMER_HEADER.decode(): "acme/bob/zinc"})
    assert response.headers["ratelimit-policy"] == '"default";q=600;w=60'
    assert limit_of(response)["r"] == "4"


async def test_route_cost_is_spent_and_capped_at_the_burst(make_client: Factory) -> None:
    client = make_client()
    bob = {CONSUMER_HEADER.decode(): "acme/bob/default"}
    created = await client.post("/orders", headers=bob)
    assert (created.status_code, limit_of(created)["r"]) == (201, "2")
    refused = await client.post("/orders", headers=bob)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # one more 0.1 s unit, rounded up
    carol = {CONSUMER_HEADER.decode(): "acme/carol/default"}
    report = await client.post("/reports", headers=carol)  # cost 50 > burst 5
    assert (report.status_code, limit_of(report)["r"]) == (201, "0")


async def test_consumers_and_tenants_have_their_own_buckets(make_client: Factory) -> None:
    client = make_client()
    for _ in range(3):
        await client.get("/orders", headers=ALICE)
    assert (await client.get("/orders", headers=ALICE)).status_code == 429
    other_tenant = {CONSUMER_HEADER.decode(): "globex/alice/gold"}
    assert (await client.get("/orders", headers=other_tenant)).status_code == 200


async def test_public_route_is_limited_per_client_ip(
    make_client: Factory, decisions: Decisions
) -> None:
    first = make_client(peer="198.51.100.1")
    second = make_client(peer="198.51.100.2", app=first.app)  # type: ignore[attr-defined]
    for _ in range(2):
        response = await first.get("/token", headers=ALICE)  # a consumer does not matter here
        assert response.headers["ratelimit-policy"] == '"anonymous";q=60;w=60'
    refused = await first.get("/token")
    assert refused.status_code == 429
    assert refused.json()["violated_policies"] == ["anonymous"]
    assert (await second.get("/token")).status_code == 200
    assert decisions[-2:] == [("anonymous", "limited"), ("anonymous", "admitted")]


async def test_forwarded_for_is_ignored_unless_trusted(make_client: Factory) -> None:
    client = make_client(peer="10.0.0.9")
    for n in range(2):
        response = await client.get("/token", headers={"x-forwarded-for": f"203.0.113.{n}"})
        assert response.status_code == 200
    assert (
        await client.get("/token", headers={"x-forwarded-for": "203.0.113.9"})
    ).status_code == 429


async def test_trusted_forwarded_for_uses_the_left_most_entry(make_client: Factory) -> None:
    client = make_client(RateLimitConfig(plans=PLANS, trust_forwarded_for=True), peer="10.0.0.9")
    chain = {"x-forwarded-for": "203.0.113.7, 10.0.0.8"}
    for _ in range(2):
        assert (await client.get("/token", headers=chain)).status_code == 200
    assert (await client.get("/token", headers=chain)).status_code == 429
    other = {"x-forwarded-for": "203.0.113.8, 10.0.0.8"}
    assert (await client.get("/token", headers=other)).status_code == 200
    # Junk is not a key: it falls back to the peer address, which has quota left.
    junk = {"x-forwarded-for": "not-an-ip" * 100}
    assert (await client.get("/token", headers=junk)).status_code == 200
    assert (await client.get("/token", headers=junk)).status_code == 200
    assert (await client.get("/token", headers=junk)).status_code == 429


async def test_governed_route_without_a_consumer_is_limited_per_ip(make_client: Factory) -> None:
    client = make_client()
    response = await client.get("/orders")
    assert response.headers["ratelimit-policy"] == '"anonymous";q=60;w=60'
    assert limit_of(response)["r"] == "1"


async def test_undeclared_routes_and_disabled_policy_add_nothing(
    make_client: Factory, decisions: Decisions
) -> None:
    client = make_client()
    plain = await client.get("/plain", headers=ALICE)
    assert plain.status_code == 200
    assert "ratelimit" not in plain.headers
    disabled = make_client(RateLimitConfig(plans=PLANS, enabled=False))
    for _ in range(5):
        response = await disabled.get("/orders", headers=ALICE)
        assert response.status_code == 200
        assert "ratelimit-policy" not in response.headers
    assert decisions == []


async def test_non_http_scopes_pass_straight_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    class Exploding:
        async def acquire(self, *args: Any) -> Any:
            raise AssertionError("no decision for non-http scopes")

    middleware = RateLimitMiddleware(app, config=RateLimitConfig(), store=Exploding())
    for kind in ("lifespan", "websocket"):
        await middleware({"type": kind}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan", "websocket"]


# --- store outages -----------------------------------------------------------


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a hung Redis)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture(params=["refused", "timeout"])
def broken_port(request: pytest.FixtureRequest) -> int:
    if request.param == "refused":
        return free_port()  # nothing listens there
    port: int = request.getfixturevalue("silent_port")
    return port


@pytest.fixture
async def broken_redis(broken_port: int) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(
        host="127.0.0.1",
        port=broken_port,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    yield client
    await client.aclose()


async def test_fail_open_admits_without_ratelimit_values(
    make_client: Factory,
    decisions: Decisions,
    broken_redis: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisRateLimitStore(broken_redis, key_prefix="q2c-test:unreachable:")
    client = make_client(RateLimitConfig(plans=PLANS, failure_mode="open"), store)
    with caplog.at_level(logging.WARNING, logger="q2c.policies.rate_limit"):
        for _ in range(3):
            response = await client.get("/orders", headers=ALICE)
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"gold";q=6000;w=60'
            assert "ratelimit" not in response.headers
    assert decisions == [("gold", "error_open")] * 3
    warnings = [r for r in caplog.records if r.name == "q2c.policies.rate_limit"]
    assert len(warnings) == 1  # rate-limited logging, not one line per request
    assert "failing open" in warnings[0].getMessage()


async def test_fail_closed_answers_503(
    make_client: Factory, decisions: Decisions, broken_redis: aioredis.Redis
) -> None:
    store = RedisRateLimitStore(broken_redis, key_prefix="q2c-test:unreachable:")
    client = make_client(RateLimitConfig(plans=PLANS, failure_mode="closed"), store)
    response = await client.get("/orders", headers=ALICE)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["retryable"]) == ("RATE_LIMITER_UNAVAILABLE", True)
    assert response.headers["ratelimit-policy"] == '"gold";q=6000;w=60'
    assert "ratelimit" not in response.headers
    assert decisions == [("gold", "error_closed")]


async def test_redis_backed_policy_over_http(
    make_client: Factory, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    client = make_client(store=RedisRateLimitStore(redis_client, key_prefix=redis_prefix))
    dave = {CONSUMER_HEADER.decode(): "acme/dave/slow"}
    responses = [await client.get("/orders", headers=dave) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [limit_of(r)["r"] for r in responses] == ["2", "1", "0", "0", "0"]
    assert responses[-1].headers["retry-after"] == "10"
    assert await redis_client.exists(f"{redis_prefix}rl:slow:c:acme/dave") == 1
