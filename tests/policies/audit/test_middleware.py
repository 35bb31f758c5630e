"""The audit middleware in a small Litestar app behind tracing and a fake auth policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from litestar import Litestar, Response, get, patch, post
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.params import PathParameter

from contracts.v1.common import ExternalReference
from policies.asgi import Message, Receive, Scope, Send
from policies.audit import AuditConfig, AuditMiddleware, MemoryAuditStore
from policies.audit.store import AuditStore, AuditStoreError
from policies.idempotency import IdempotencyConfig, IdempotencyMiddleware, MemoryIdempotencyStore
from policies.route import governed, public
from policies.tracing.middleware import TracingMiddleware
from tests.policies.audit.support import BrokenStore, FakeAuth

ORDER_ID = "ord_01JDQ2C0000000000000000000"
CUSTOMER_ID = "cus_01JDQ2C0000000000000000000"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ACME = {"x-consumer": "acme/crm-app", "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
PROBLEM = "application/problem+json"


@post(
    "/v1/orders", opt=governed("orders:write", idempotency="optional"), operation_id="createOrder"
)
async def create_order() -> Response[Any]:
    body = {
        "id": ORDER_ID,
        "status": "acknowledged",
        "external_references": [
            {"system": "sap_s4hana", "id": "0000004711"},
            {"system": "Not A System", "id": "x"},
        ],
    }
    return Response(body, status_code=201)


@post("/v1/orders/{order_id:str}/cancel", opt=governed("orders:write"), operation_id="cancelOrder")
async def cancel_order(order_id: Annotated[str, PathParameter()]) -> Response[Any]:
    problem = {
        "status": 409,
        "code": "ORDER_NOT_CANCELLABLE",
        "title": "Already shipped",
        "type": "http://127.0.0.1:8080/problems/conflict",
        "id": "not-the-resource",
    }
    return Response(problem, status_code=409, media_type=PROBLEM)


@post("/v1/quotes/{quote_id:str}/accept", opt=governed("quotes:write"), operation_id="acceptQuote")
async def accept_quote(quote_id: Annotated[str, PathParameter()]) -> None:
    raise NotFoundException("no such quote")


@patch("/v1/customers/{customer_id:str}", opt=governed("customers:write"))
async def update_customer(customer_id: Annotated[str, PathParameter()]) -> Response[Any]:
    return Response({"id": customer_id, "name": "Northwind"}, status_code=200)


@post("/v1/payments", opt=governed("payments:write"), operation_id="createPayment")
async def create_payment() -> Response[Any]:
    problem = {
        "status": 503,
        "code": "DEPENDENCY_UNAVAILABLE",
        "title": "Stripe is down",
        "type": "http://127.0.0.1:8080/problems/dependency-unavailable",
    }
    return Response(problem, status_code=503, media_type=PROBLEM)


@post("/v1/exports", opt=governed("ops:write"), operation_id="createExport")
async def create_export() -> Response[Any]:
    return Response(
        {"id": "prd_01JDQ2C0000000000000000000", "blob": "x" * 300_000}, status_code=202
    )


@get("/v1/orders", opt=governed("orders:read"), operation_id="listOrders")
async def list_orders() -> dict[str, Any]:
    return {"data": []}


@post("/oauth/token", opt=public(), operation_id="createToken")
async def token() -> dict[str, Any]:
    return {"access_token": "t"}


@post("/v1/undeclared", operation_id="undeclared")
async def undeclared() -> dict[str, Any]:
    return {"id": ORDER_ID}


HANDLERS = [
    create_order,
    cancel_order,
    accept_quote,
    update_customer,
    create_payment,
    create_export,
    list_orders,
    token,
    undeclared,
]


def build(
    store: AuditStore,
    *,
    audit_outside_idempotency: bool = False,
    config: AuditConfig | None = None,
    errors: list[Exception] | None = None,
) -> Any:
    audit = DefineMiddleware(
        AuditMiddleware,
        config=config or AuditConfig(),
        store=store,
        on_error=errors.append if errors is not None else None,
    )
    idempotency = DefineMiddleware(
        IdempotencyMiddleware, config=IdempotencyConfig(), store=MemoryIdempotencyStore()
    )
    chain = [audit, idempotency] if audit_outside_idempotency else [idempotency, audit]
    return TracingMiddleware(Litestar(route_handlers=HANDLERS, middleware=[FakeAuth, *chain]))


async def client_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@pytest.fixture
def store() -> MemoryAuditStore:
    return MemoryAuditStore()


@pytest.fixture
async def api(store: MemoryAuditStore) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(build(store)):
        yield client


async def test_a_create_records_who_what_ids_outcome_trace_and_key(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    response = await api.post("/v1/orders", headers={**ACME, "Idempotency-Key": '"k-1"'})
    assert response.status_code == 201
    [entry], cursor = await store.query("acme")
    assert cursor is None
    assert entry.tenant == "acme"
    assert entry.consumer == "crm-app"
    assert entry.operation == "createOrder"
    assert entry.method == "POST"
    assert entry.route == "/v1/orders"
    assert entry.resource_id == ORDER_ID
    assert entry.system_refs == [ExternalReference(system="sap_s4hana", id="0000004711")]
    assert entry.outcome == "succeeded"
    assert entry.status == 201
    assert entry.trace_id == TRACE
    assert entry.idempotency_key == "k-1"
    assert entry.replayed is False
    assert entry.id


async def test_a_rejected_write_is_recorded_with_the_path_id_and_route_template(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    response = await api.post(f"/v1/orders/{ORDER_ID}/cancel", headers=ACME)
    assert response.status_code == 409
    [entry], _ = await store.query("acme")
    assert entry.outcome == "rejected"
    assert entry.status == 409
    assert entry.operation == "cancelOrder"
    assert entry.route == "/v1/orders/{order_id}/cancel"
    # The problem body is not a resource; the id comes from the path.
    assert entry.resource_id == ORDER_ID
    assert entry.idempotency_key is None
    assert entry.system_refs == []


async def test_an_error_raised_by_the_handler_is_recorded_with_its_status(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    quote_id = "quo_01JDQ2C0000000000000000000"
    assert (await api.post(f"/v1/quotes/{quote_id}/accept", headers=ACME)).status_code == 404
    [entry], _ = await store.query("acme")
    assert (entry.status, entry.outcome, entry.resource_id) == (404, "rejected", quote_id)
    assert entry.operation == "acceptQuote"


async def test_failed_updates_and_other_methods(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    assert (await api.post("/v1/payments", headers=ACME)).status_code == 503
    assert (await api.patch(f"/v1/customers/{CUSTOMER_ID}", headers=ACME)).status_code == 200
    update, payment = (await store.query("acme"))[0]
    assert (payment.operation, payment.outcome, payment.status) == ("createPayment", "failed", 503)
    assert (update.method, update.outcome, update.resource_id) == (
        "PATCH",
        "succeeded",
        CUSTOMER_ID,
    )
    assert update.operation == "update_customer"  # no operationId: the handler's name


async def test_large_bodies_are_not_parsed(api: httpx.AsyncClient, store: MemoryAuditStore) -> None:
    response = await api.post("/v1/exports", headers=ACME)
    assert response.status_code == 202
    assert len(response.content) > 256 * 1024
    [entry], _ = await store.query("acme")
    assert entry.resource_id is None
    assert entry.outcome == "succeeded"


async def test_reads_public_and_undeclared_routes_are_not_recorded(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    assert (await api.get("/v1/orders", headers=ACME)).status_code == 200
    assert (await api.post("/oauth/token", headers=ACME)).status_code == 201
    assert (await api.post("/v1/undeclared", headers=ACME)).status_code == 201
    assert (await api.post("/v1/nowhere", headers=ACME)).status_code == 404
    assert [e async for e in store.export(None)] == []


async def test_a_caller_without_consumer_is_recorded_in_the_default_tenant(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    assert (await api.post("/v1/orders")).status_code == 201
    [entry], _ = await store.query("default")
    assert entry.consumer == "anonymous"


async def test_configured_methods_and_the_off_switch(store: MemoryAuditStore) -> None:
    only_post = AuditConfig(methods=("POST",))
    async for client in client_for(build(store, config=only_post)):
        await client.patch(f"/v1/customers/{CUSTOMER_ID}", headers=ACME)
        await client.post("/v1/orders", headers=ACME)
    assert [e.method async for e in store.export(None)] == ["POST"]
    async for client in client_for(build(store, config=AuditConfig(enabled=False))):
        await client.post("/v1/orders", headers=ACME)
    assert len([e async for e in store.export(None)]) == 1


@pytest.mark.parametrize("error", [AuditStoreError("down"), RuntimeError("bug")])
async def test_a_failing_store_does_not_change_the_response(error: Exception) -> None:
    reference = MemoryAuditStore()
    errors: list[Exception] = []
    async for healthy in client_for(build(reference)):
        expected = await healthy.post("/v1/orders", headers=ACME)
        expected_rejection = await healthy.post(f"/v1/orders/{ORDER_ID}/cancel", headers=ACME)
    async for broken in client_for(build(BrokenStore(error), errors=errors)):
        actual = await broken.post("/v1/orders", headers=ACME)
        actual_rejection = await broken.post(f"/v1/orders/{ORDER_ID}/cancel", headers=ACME)
    assert (actual.status_code, actual.content) == (expected.status_code, expected.content)
    assert (actual_rejection.status_code, actual_rejection.content) == (
        expected_rejection.status_code,
        expected_rejection.content,
    )
    assert actual.headers["content-type"] == expected.headers["content-type"]
    assert errors == [error, error]


async def test_inside_idempotency_only_executions_are_recorded(store: MemoryAuditStore) -> None:
    async for client in client_for(build(store)):
        first = await client.post("/v1/orders", headers={**ACME, "Idempotency-Key": '"k-2"'})
        again = await client.post("/v1/orders", headers={**ACME, "Idempotency-Key": '"k-2"'})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    [entry], _ = await store.query("acme")
    assert (entry.idempotency_key, entry.replayed) == ("k-2", False)


async def test_outside_idempotency_replays_are_recorded_as_replayed(
    store: MemoryAuditStore,
) -> None:
    async for client in client_for(build(store, audit_outside_idempotency=True)):
        await client.post("/v1/orders", headers={**ACME, "Idempotency-Key": '"k-3"'})
        again = await client.post("/v1/orders", headers={**ACME, "Idempotency-Key": '"k-3"'})
        other = await client.post("/v1/orders", headers={**ACME, "Idempotency-Key": "bare-key"})
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 201
    latest, replay, first = (await store.query("acme"))[0]
    assert (first.idempotency_key, first.replayed) == ("k-3", False)
    assert (replay.idempotency_key, replay.replayed, replay.status) == ("k-3", True, 201)
    assert replay.resource_id == ORDER_ID
    assert replay.operation == "createOrder"
    assert latest.idempotency_key == "bare-key"


def _raw_scope() -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/v1/orders",
        "path_template": "/v1/orders",
        "path_params": {},
        "headers": [],
        "state": {},
        "route_handler": SimpleNamespace(opt=governed("orders:write"), operation_id="createOrder"),
    }


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_the_entry_is_appended_after_the_last_body_chunk_was_sent() -> None:
    sent: list[Message] = []
    seen_at_append: list[int] = []

    class WatchingStore(MemoryAuditStore):
        async def append(self, entry: Any) -> str:
            seen_at_append.append(len(sent))
            return await super().append(entry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id": "ord_', "more_body": True})
        await send({"type": "http.response.body", "body": b'01JDQ2C0000000000000000000"}'})

    async def send(message: Message) -> None:
        sent.append(message)

    store = WatchingStore()
    middleware = AuditMiddleware(app, config=AuditConfig(), store=store)
    await middleware(_raw_scope(), _no_body, send)
    assert seen_at_append == [3]
    [entry], _ = await store.query("default")
    assert entry.resource_id == ORDER_ID


async def test_a_crashing_handler_is_recorded_as_failed_and_still_raises() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("handler bug")

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    store = MemoryAuditStore()
    middleware = AuditMiddleware(app, config=AuditConfig(), store=store)
    with pytest.raises(RuntimeError, match="handler bug"):
        await middleware(_raw_scope(), _no_body, send)
    [entry], _ = await store.query("default")
    assert (entry.status, entry.outcome) == (500, "failed")


async def test_non_http_scopes_pass_through() -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["type"])

    store = MemoryAuditStore()
    middleware = AuditMiddleware(app, config=AuditConfig(), store=store)
    await middleware({"type": "lifespan"}, _no_body, _no_body)  # type: ignore[arg-type]
    assert calls == ["lifespan"]
    assert [e async for e in store.export(None)] == []
