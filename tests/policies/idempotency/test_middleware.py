"""The policy in a small Litestar app whose handlers count their side effects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar, Request, Response, get, post
from litestar.middleware import DefineMiddleware
from litestar.params import JSONBody

from policies.asgi import ASGIApp, Receive, Scope, Send, header
from policies.consumer import Consumer
from policies.context import request_context
from policies.idempotency import (
    BeginResult,
    IdempotencyConfig,
    IdempotencyMiddleware,
    MemoryIdempotencyStore,
    StoredResponse,
)
from policies.route import governed

PROBLEM = "application/problem+json"
Body = JSONBody[dict[str, Any]]


class FakeAuth:
    """Stands in for the auth policy: the caller names itself in X-Consumer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (name := header(scope, b"x-consumer")):
            request_context(scope).consumer = Consumer(client_id=name, tenant="acme")
        await self.app(scope, receive, send)


class CountingStore(MemoryIdempotencyStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BeginResult:
        self.calls += 1
        return await super().begin(key, fingerprint, owner, lease_seconds)

    async def complete(
        self, key: str, owner: str, response: StoredResponse, retention_seconds: float
    ) -> bool:
        self.calls += 1
        return await super().complete(key, owner, response, retention_seconds)

    async def release(self, key: str, owner: str) -> None:
        self.calls += 1
        await super().release(key, owner)


@dataclass
class World:
    store: CountingStore = field(default_factory=CountingStore)
    side_effects: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    flaky_statuses: list[int] = field(default_factory=list)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    proceed: asyncio.Event = field(default_factory=asyncio.Event)


def build_app(world: World) -> Litestar:
    def effect(request: Request[Any, Any, Any], data: dict[str, Any]) -> dict[str, Any]:
        world.side_effects.append(request.url.path)
        number = len(world.side_effects)
        return {
            "id": f"ord_{number}",
            "idempotency_key": request_context(cast("Scope", request.scope)).idempotency_key,
            "received": data,
        }

    @post("/orders", opt=governed("orders:write", idempotency="required"))
    async def create_order(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        body = effect(request, data)
        return Response(
            body,
            status_code=201,
            headers={
                "Location": f"/orders/{body['id']}",
                "ETag": '"v1"',
                "Set-Cookie": "session=first-caller",
                "RateLimit": '"default";r=9;t=60',
                "X-Debug": "per-request",
            },
        )

    @post("/notes", opt=governed("orders:write", idempotency="optional"))
    async def create_note(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        return Response(effect(request, data), status_code=201)

    @post("/plain", opt=governed("orders:write"))
    async def plain(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        return Response(effect(request, data), status_code=201)

    @get("/orders", opt=governed("orders:read"))
    async def list_orders() -> dict[str, Any]:
        return {"data": []}

    @post("/flaky", opt=governed("orders:write", idempotency="required"))
    async def flaky(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        status = world.flaky_statuses.pop(0)
        return Response(effect(request, data), status_code=status)

    @post("/rules", opt=governed("orders:write", idempotency="required"))
    async def rules(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        effect(request, data)
        problem = {"status": 422, "code": "CREDIT_LIMIT_EXCEEDED", "title": "Over limit"}
        return Response(problem, status_code=422, media_type=PROBLEM)

    @post("/slow", opt=governed("orders:write", idempotency="required"))
    async def slow(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        world.entered.set()
        await world.proceed.wait()
        return Response(effect(request, data), status_code=201)

    versioned = governed("orders:write", idempotency="required", idempotency_scope="things")

    @post("/v1/things", opt=versioned)
    async def thing_v1(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        world.entered.set()
        await world.proceed.wait()
        return Response(effect(request, data), status_code=201)

    @post("/v2/things", opt=versioned)
    async def thing_v2(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        return Response(effect(request, data), status_code=201)

    @post("/stuck", opt=governed("orders:write", idempotency="required", idempotency_scope="stuck"))
    async def stuck(request: Request[Any, Any, Any], data: Body) -> Response[Any]:
        world.entered.set()
        try:
            await world.proceed.wait()
        except asyncio.CancelledError:
            world.side_effects.append("cancelled")
            raise
        return Response(effect(request, data), status_code=201)

    return Litestar(
        route_handlers=[
            create_order, create_note, plain, list_orders, flaky, rules, slow,
            thing_v1, thing_v2, stuck,
        ],
        middleware=[
            DefineMiddleware(FakeAuth),
            DefineMiddleware(
                IdempotencyMiddleware,
                config=IdempotencyConfig(max_body_bytes=1024),
                store=world.store,
                on_outcome=world.outcomes.append,
                leases={"stuck": 0.6},
            ),
        ],
    )


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


def keyed(key: str, consumer: str = "crm") -> dict[str, str]:
    return {"Idempotency-Key": key, "X-Consumer": consumer}


async def test_missing_key_on_a_required_route_is_400(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post("/orders", json={"sku": "A"}, headers={"X-Consumer": "crm"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "IDEMPOTENCY_KEY_MISSING"
    assert response.json()["type"].endswith("/idempotency")
    assert world.side_effects == []
    assert world.outcomes == ["missing"]


@pytest.mark.parametrize("value", ['"unterminated', '"with space"', "k" * 256, '"caf\u00e9"'])
async def test_malformed_key_is_400(client: httpx.AsyncClient, world: World, value: str) -> None:
    response = await client.post(
        "/orders", json={"sku": "A"}, headers={b"Idempotency-Key": value.encode("utf-8")}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert world.side_effects == []


async def test_two_key_fields_are_invalid(client: httpx.AsyncClient, world: World) -> None:
    fields = [("Idempotency-Key", '"a"'), ("Idempotency-Key", '"b"')]
    response = await client.post("/orders", json={"sku": "A"}, headers=fields)
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"


async def test_optional_route_runs_without_a_key(client: httpx.AsyncClient, world: World) -> None:
    for _ in range(2):
        response = await client.post("/notes", json={"text": "hi"})
        assert response.status_code == 201
        assert response.json()["idempotency_key"] is None
    assert len(world.side_effects) == 2
    assert world.store.calls == 0


async def test_optional_route_with_a_key_is_deduplicated(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await client.post("/notes", json={"text": "hi"}, headers=keyed('"n1"'))
    again = await client.post("/notes", json={"text": "hi"}, headers=keyed('"n1"'))
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert len(world.side_effects) == 1


async def test_routes_without_idempotency_never_touch_the_store(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.post("/plain", json={}, headers=keyed('"p"'))).status_code == 201
    assert (await client.post("/plain", json={}, headers=keyed('"p"'))).status_code == 201
    assert (await client.get("/orders", headers=keyed('"p"'))).status_code == 200
    assert (await client.get("/nowhere", headers=keyed('"p"'))).status_code == 404
    assert len(world.side_effects) == 2
    assert world.store.calls == 0
    assert world.outcomes == []


async def test_retry_replays_the_first_response_and_runs_the_handler_once(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await client.post("/orders", json={"sku": "A", "qty": 2}, headers=keyed('"k-1"'))
    assert first.status_code == 201
    assert first.json()["idempotency_key"] == "k-1"
    assert "idempotent-replayed" not in first.headers

    # A bare token names the same key as the sf-string.
    for value in ('"k-1"', "k-1"):
        again = await client.post("/orders", json={"sku": "A", "qty": 2}, headers=keyed(value))
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        for name in ("location", "content-type", "etag"):
            assert again.headers[name] == first.headers[name]
        assert int(again.headers["content-length"]) == len(first.content)
        for name in ("set-cookie", "ratelimit", "x-debug"):
            assert name in first.headers
            assert name not in again.headers
    assert world.side_effects == ["/orders"]
    assert world.outcomes == ["new", "replayed", "replayed"]
    # begin + complete for the first call, one begin per replay: one round trip each.
    assert world.store.calls == 4


async def test_same_key_with_another_body_or_query_is_422(
    client: httpx.AsyncClient, world: World
) -> None:
    await client.post("/orders", json={"sku": "A"}, headers=keyed('"k-2"'))
    other_body = await client.post("/orders", json={"sku": "B"}, headers=keyed('"k-2"'))
    other_query = await client.post("/orders?x=1", json={"sku": "A"}, headers=keyed('"k-2"'))
    for response in (other_body, other_query):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    assert len(world.side_effects) == 1
    assert world.outcomes == ["new", "mismatch", "mismatch"]


async def test_same_json_in_another_key_order_or_spacing_replays(
    client: httpx.AsyncClient, world: World
) -> None:
    """A client library that re-serialises its retry sends the same request, not a new one."""
    first = await client.post(
        "/orders", content=b'{"sku": "A", "lines": [{"qty": 2, "id": "x"}]}',
        headers={**keyed('"k-json"'), "content-type": "application/json"},
    )
    again = await client.post(
        "/orders", content=b'{\n  "lines":[{"id":"x","qty":2}],\n  "sku":"A"\n}',
        headers={**keyed('"k-json"'), "content-type": "application/json"},
    )
    changed = await client.post(
        "/orders", content=b'{"lines":[{"id":"x","qty":3}],"sku":"A"}',
        headers={**keyed('"k-json"'), "content-type": "application/json"},
    )
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert changed.status_code == 422
    assert changed.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    assert world.side_effects == ["/orders"]


async def test_same_key_on_another_endpoint_is_another_operation(
    client: httpx.AsyncClient, world: World
) -> None:
    orders = await client.post("/orders", json={"sku": "A"}, headers=keyed('"k-3"'))
    notes = await client.post("/notes", json={"sku": "A"}, headers=keyed('"k-3"'))
    assert orders.status_code == notes.status_code == 201
    assert "idempotent-replayed" not in notes.headers
    assert world.side_effects == ["/orders", "/notes"]


async def test_retry_while_the_first_is_in_flight_is_409(
    client: httpx.AsyncClient, world: World
) -> None:
    first = asyncio.create_task(client.post("/slow", json={"sku": "A"}, headers=keyed('"k-4"')))
    try:
        await asyncio.wait_for(world.entered.wait(), timeout=5)
        busy = await client.post("/slow", json={"sku": "A"}, headers=keyed('"k-4"'))
        assert busy.status_code == 409
        # The rest of the running request's lease (60 s, just started), not a guess.
        assert 59 <= int(busy.headers["retry-after"]) <= 60
        assert busy.json()["code"] == "IDEMPOTENCY_REQUEST_IN_FLIGHT"
        assert busy.json()["retryable"] is True
    finally:
        world.proceed.set()
        done = await first
    assert done.status_code == 201
    replay = await client.post("/slow", json={"sku": "A"}, headers=keyed('"k-4"'))
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == done.content
    assert len(world.side_effects) == 1
    assert world.outcomes == ["new", "in_flight", "replayed"]


async def test_unavailable_dependency_releases_the_key_so_a_retry_runs_again(
    client: httpx.AsyncClient, world: World
) -> None:
    world.flaky_statuses[:] = [503, 201]
    failed = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-5"'))
    assert failed.status_code == 503
    retried = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-5"'))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    replay = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-5"'))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == retried.content
    assert world.side_effects == ["/flaky", "/flaky"]
    assert world.outcomes == ["new", "released", "new", "replayed"]


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_server_error_is_never_stored_and_a_retry_runs_again(
    client: httpx.AsyncClient, world: World, status: int
) -> None:
    """Issue 13 item 5: a transient 500 used to be replayed for 24 h although its body
    said retryable. A 5xx is released whatever the configuration lists; whether its
    handler had reached a system of record is the submission ledger's business."""
    world.flaky_statuses[:] = [status, 201]
    failed = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-6"'))
    retried = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-6"'))
    assert failed.status_code == status
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    replay = await client.post("/flaky", json={"sku": "A"}, headers=keyed('"k-6"'))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == retried.content
    assert world.outcomes == ["new", "released", "new", "replayed"]


async def test_business_rule_failure_is_stored_and_replayed(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await client.post("/rules", json={"amount": "1e9"}, headers=keyed('"k-7"'))
    again = await client.post("/rules", json={"amount": "1e9"}, headers=keyed('"k-7"'))
    assert first.status_code == again.status_code == 422
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["code"] == "CREDIT_LIMIT_EXCEEDED"
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert world.side_effects == ["/rules"]


async def test_keys_of_two_consumers_do_not_collide(
    client: httpx.AsyncClient, world: World
) -> None:
    crm = await client.post("/orders", json={"sku": "A"}, headers=keyed('"same"', "crm"))
    shop = await client.post("/orders", json={"sku": "A"}, headers=keyed('"same"', "webshop"))
    anonymous = await client.post("/orders", json={"sku": "A"}, headers={"Idempotency-Key": "same"})
    assert crm.status_code == shop.status_code == anonymous.status_code == 201
    assert len({crm.json()["id"], shop.json()["id"], anonymous.json()["id"]}) == 3
    for response in (shop, anonymous):
        assert "idempotent-replayed" not in response.headers
    assert len(world.side_effects) == 3


async def test_body_over_the_limit_is_413_before_anything_runs(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post("/orders", json={"x": "y" * 2000}, headers=keyed('"big"'))
    assert response.status_code == 413
    # The same code and type as the gateway's own 413 (Litestar's body limit).
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["type"] == "http://127.0.0.1:8080/problems/payload-too-large"
    assert world.side_effects == []
    assert world.store.calls == 0


async def test_versions_of_one_operation_share_their_keys(
    client: httpx.AsyncClient, world: World
) -> None:
    """Issue 13 item 1: the record was keyed by route template, so one key on v1 and v2
    ran twice. Both versions name one operation now: while v1 runs, v2 with the same key
    is refused (its body is another request: 422), and nothing runs twice."""
    first = asyncio.create_task(
        client.post("/v1/things", json={"sku": "A"}, headers=keyed('"k-v"'))
    )
    try:
        await asyncio.wait_for(world.entered.wait(), timeout=5)
        other = await client.post("/v2/things", json={"sku": "A"}, headers=keyed('"k-v"'))
        assert other.status_code == 422
        assert other.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    finally:
        world.proceed.set()
    assert (await first).status_code == 201
    again = await client.post("/v2/things", json={"sku": "A"}, headers=keyed('"k-v"'))
    assert again.status_code == 422
    assert world.side_effects == ["/v1/things"]


async def test_the_lease_is_the_deadline(client: httpx.AsyncClient, world: World) -> None:
    """A request still running when its lease is about to lapse is cancelled and
    answered 504; its key is free for the retry, which cannot overlap it."""
    response = await client.post("/stuck", json={"sku": "A"}, headers=keyed('"k-d"'))
    assert response.status_code == 504
    assert response.json()["code"] == "REQUEST_DEADLINE_EXCEEDED"
    assert response.json()["retryable"] is True
    assert response.headers["retry-after"] == "1"
    assert world.side_effects == ["cancelled"]
    world.proceed.set()
    retried = await client.post("/stuck", json={"sku": "A"}, headers=keyed('"k-d"'))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert world.outcomes == ["new", "released", "new"]
