"""GET /v1/ops/traces: the ring of recent spans, filtered by trace id and tenant."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import Litestar

from policies.route import governed
from policies.tracing import TracePage, tracing_routes
from tests.policies.tracing.support import (
    PARENT,
    TRACE,
    FakeSor,
    build_app,
    client_for,
    spans,
    tracer_for,
)

OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def _traceparent(trace_id: str) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{PARENT}-01"}


async def test_the_view_filters_by_trace_id() -> None:
    with tracer_for() as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            await client.get("/v1/orders/ord_1", headers=_traceparent(TRACE))
            await client.get("/v1/orders/ord_2", headers=_traceparent(OTHER_TRACE))
            response = await client.get("/v1/ops/traces", params={"trace_id": TRACE})
    assert response.status_code == 200
    page = msgspec.json.decode(response.content, type=TracePage)
    assert {span.trace_id for span in page.data} == {TRACE}
    assert [span.kind for span in page.data] == ["server", "client"]  # newest first
    assert page.data[0].name == "GET /v1/orders/{order_id}"
    assert page.next_cursor is None


async def test_a_caller_sees_only_its_own_tenants_spans_unless_all_tenants() -> None:
    for all_tenants, expected in ((False, {"acme"}), (True, {"acme", "globex", None})):
        with tracer_for(sampler="always_on") as tracer:
            async with client_for(build_app(tracer, FakeSor(), all_tenants=all_tenants)) as c:
                await c.get("/v1/orders/ord_1", headers={"x-consumer": "acme/crm"})
                await c.get("/v1/orders/ord_2", headers={"x-consumer": "globex/erp"})
                await c.get("/v1/orders/ord_3")  # anonymous: no tenant on its spans
                response = await c.get("/v1/ops/traces", headers={"x-consumer": "acme/ops"})
        data = response.json()["data"]
        assert {span["attributes"].get("q2c.tenant") for span in data} == expected
        assert {span["kind"] for span in data} == {"server", "client"}


async def test_pages_follow_the_cursor_to_older_spans() -> None:
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            for n in range(3):
                await client.get(f"/v1/orders/ord_{n}", headers=_traceparent(TRACE))
            seen: list[dict[str, Any]] = []
            cursor = None
            while True:
                params: dict[str, Any] = {"trace_id": TRACE, "limit": 4}
                if cursor:
                    params["cursor"] = cursor
                page = (await client.get("/v1/ops/traces", params=params)).json()
                seen.extend(page["data"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
    assert len(seen) == 6
    assert len({span["span_id"] for span in seen}) == 6
    # Newest finished first: the last request's server span leads.
    assert seen[0]["attributes"]["url.path"] == "/v1/orders/ord_2"
    assert seen[-1]["kind"] == "client"


@pytest.mark.parametrize(
    "params",
    [
        {"trace_id": TRACE.upper()},
        {"trace_id": "abc"},
        {"limit": 0},
        {"limit": 501},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_invalid_filters_are_rejected(params: dict[str, Any]) -> None:
    with tracer_for() as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            response = await client.get("/v1/ops/traces", params=params)
    assert response.status_code == 400


async def test_the_ring_keeps_only_the_newest_spans() -> None:
    with tracer_for(sampler="always_on", ring_size=3) as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            for n in range(4):
                await client.get(f"/v1/orders/ord_{n}")
        kept = spans(tracer)
    assert len(kept) == 3
    assert kept[-1].attributes["url.path"] == "/v1/orders/ord_3"


async def test_without_a_ring_the_view_is_empty() -> None:
    with tracer_for(sampler="always_on", ring_size=0) as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            await client.get("/v1/orders/ord_1")
            response = await client.get("/v1/ops/traces")
    assert response.json() == {"data": [], "next_cursor": None}


def test_the_operation_is_documented_with_a_200_schema() -> None:
    with tracer_for() as tracer:
        app = Litestar(route_handlers=tracing_routes(tracer, opt=governed("ops:read")))
        document = app.openapi_schema.to_schema()
    operation = document["paths"]["/v1/ops/traces"]["get"]
    assert operation["operationId"] == "listTraces"
    assert operation["tags"] == ["operations"]
    assert "200" in operation["responses"]
    assert operation["responses"]["400"]["content"].keys() == {"application/problem+json"}
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == 500
    assert parameters["trace_id"]["schema"]["pattern"] == "^[0-9a-f]{32}$"
    assert "TracePage" in str(operation["responses"]["200"])
