"""GET /v1/ops/audit: the caller's tenant only, filters, cursor pages, problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, Response, post
from litestar.middleware import DefineMiddleware

from contracts.v1.audit import AuditPage
from policies.audit import AuditConfig, AuditMiddleware, MemoryAuditStore, audit_routes, make_entry
from policies.audit.store import AuditStore, AuditStoreError
from policies.route import governed
from tests.policies.audit.support import BrokenStore, FakeAuth

ACME = {"x-consumer": "acme/ops-console"}
GLOBEX = {"x-consumer": "globex/ops-console"}
ORDER_ID = "ord_01JDQ2C0000000000000000000"
PROBLEM = "application/problem+json"
NOW = [1_767_139_200.0]


@post("/v1/orders", opt=governed("orders:write"), operation_id="createOrder")
async def create_order() -> Response[Any]:
    return Response({"id": ORDER_ID}, status_code=201)


def app_for(store: AuditStore) -> Litestar:
    return Litestar(
        route_handlers=[create_order, *audit_routes(store, opt=governed("ops:read"))],
        middleware=[
            FakeAuth,
            DefineMiddleware(AuditMiddleware, config=AuditConfig(), store=store),
        ],
    )


async def client_for(store: AuditStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@pytest.fixture
def store() -> MemoryAuditStore:
    now = [NOW[0]]

    def clock() -> float:
        now[0] += 0.01  # every entry 10 ms after the previous one
        return now[0]

    return MemoryAuditStore(clock=clock)


@pytest.fixture
async def api(store: MemoryAuditStore) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(store):
        yield client


async def seed(store: AuditStore, tenant: str, n: int, **fields: Any) -> list[str]:
    ids = []
    for _ in range(n):
        values: dict[str, Any] = {
            "consumer": "crm-app",
            "operation": "createOrder",
            "status": 201,
            **fields,
        }
        ids.append(await store.append(make_entry(tenant=tenant, **values)))
    return ids


def page_of(response: httpx.Response) -> AuditPage:
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content, type=AuditPage)


async def test_a_write_then_shows_up_for_its_tenant_only(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/orders", headers=ACME)).status_code == 201
    acme = page_of(await api.get("/v1/ops/audit", headers=ACME))
    assert [(e.operation, e.resource_id, e.consumer) for e in acme.data] == [
        ("createOrder", ORDER_ID, "ops-console")
    ]
    assert acme.next_cursor is None
    assert page_of(await api.get("/v1/ops/audit", headers=GLOBEX)).data == []
    # Reading the trail is not a write: still one entry.
    assert len(page_of(await api.get("/v1/ops/audit", headers=ACME)).data) == 1


async def test_no_parameter_reaches_another_tenant(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    await seed(store, "globex", 3)
    response = await api.get(
        "/v1/ops/audit", params={"tenant": "globex", "consumer": "crm-app"}, headers=ACME
    )
    assert page_of(response).data == []


async def test_cursor_pages_cover_the_tenant_newest_first(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    acme: list[str] = []
    for _ in range(5):
        acme += await seed(store, "acme", 1)
        await seed(store, "globex", 1)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = page_of(await api.get("/v1/ops/audit", params=params, headers=ACME))
        seen += [e.id for e in page.data]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == acme[::-1]
    assert pages == 3


async def test_filters_by_consumer_resource_and_time(
    api: httpx.AsyncClient, store: MemoryAuditStore
) -> None:
    first = await seed(store, "acme", 2, resource_id=ORDER_ID)
    later = await seed(store, "acme", 2, consumer="partner")
    by_consumer = page_of(
        await api.get("/v1/ops/audit", params={"consumer": "partner"}, headers=ACME)
    )
    assert [e.id for e in by_consumer.data] == later[::-1]
    by_resource = page_of(
        await api.get("/v1/ops/audit", params={"resource_id": ORDER_ID}, headers=ACME)
    )
    assert [e.id for e in by_resource.data] == first[::-1]
    boundary = datetime.fromtimestamp(int(later[0].split("-")[0]) / 1000, UTC)
    since = page_of(
        await api.get("/v1/ops/audit", params={"since": boundary.isoformat()}, headers=ACME)
    )
    assert [e.id for e in since.data] == later[::-1]
    until = page_of(
        await api.get(
            "/v1/ops/audit",
            params={"until": boundary.isoformat().replace("+00:00", "Z")},
            headers=ACME,
        )
    )
    assert [e.id for e in until.data] == first[::-1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_invalid_queries_are_400_problems(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await api.get("/v1/ops/audit", params=params, headers=ACME)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400
    assert problem["errors"][0]["field"] == field


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"since": "yesterday"}])
async def test_parameter_validation_rejects_bad_values(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await api.get("/v1/ops/audit", params=params, headers=ACME)
    assert response.status_code == 400


async def test_an_unavailable_store_is_a_503_problem() -> None:
    async for client in client_for(BrokenStore(AuditStoreError("down"))):
        response = await client.get("/v1/ops/audit", headers=ACME)
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "AUDIT_STORE_UNAVAILABLE"
    assert response.json()["retryable"] is True


def test_the_operation_is_documented() -> None:
    schema = app_for(MemoryAuditStore()).openapi_schema.to_schema()
    operation = schema["paths"]["/v1/ops/audit"]["get"]
    assert operation["operationId"] == "listAuditEntries"
    assert operation["tags"] == ["operations"]
    assert set(operation["responses"]) >= {"200", "400", "503"}
    assert PROBLEM in operation["responses"]["400"]["content"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"consumer", "resource_id", "since", "until", "cursor", "limit"}
    assert params["limit"]["schema"]["maximum"] == 200
    assert params["since"]["schema"].get("format") == "date-time" or any(
        s.get("format") == "date-time" for s in params["since"]["schema"].get("oneOf", [])
    )
