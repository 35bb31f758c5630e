"""The tracing edge around a small Litestar app whose handler calls a system of record
through ``systems.upstream.Upstream`` (an httpx.MockTransport that records headers)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies.context import current_request, request_context
from policies.tracing import Tracer, TracingConfig, TracingMiddleware
from policies.tracing.context import parse_parent
from tests.policies.tracing.support import (
    PARENT,
    TOKEN,
    TRACE,
    FakeSor,
    build_app,
    client_for,
    spans,
    tracer_for,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
ACME = {"x-consumer": "acme/crm-app", "authorization": TOKEN}


def _one(items: list[Any], kind: str) -> Any:
    found = [item for item in items if item.kind == kind]
    assert len(found) == 1, found
    return found[0]


async def test_the_callers_trace_is_the_server_span_trace_and_reaches_the_sor() -> None:
    sor = FakeSor()
    with tracer_for() as tracer:  # default sampler: the caller's sampled flag is honoured
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get(
                "/v1/orders/ord_42",
                headers={
                    **ACME,
                    "traceparent": f"00-{TRACE}-{PARENT}-01",
                    "tracestate": "congo=t61rcWkgMzE",
                    "baggage": "userId=alice",
                    "x-request-id": "crm-req-7",
                },
            )
        assert response.status_code == 200
        assert response.headers["x-trace-id"] == TRACE
        assert response.headers["x-request-id"] == "crm-req-7"
        recorded = spans(tracer, TRACE)
    server = _one(recorded, "server")
    client_span = _one(recorded, "client")
    assert server.trace_id == TRACE
    assert server.parent_span_id == PARENT
    assert client_span.trace_id == TRACE
    assert client_span.parent_span_id == server.span_id
    [sent] = sor.requests
    assert sent.headers["traceparent"] == f"00-{TRACE}-{client_span.span_id}-01"
    assert sent.headers["tracestate"] == "congo=t61rcWkgMzE"
    assert sent.headers["baggage"] == "userId=alice"
    assert sent.headers["x-request-id"] == "crm-req-7"


async def test_span_names_use_the_route_template_and_attributes_describe_the_call() -> None:
    sor = FakeSor()
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get("/v1/orders/ord_42", headers=ACME)
        recorded = spans(tracer, response.headers["x-trace-id"])
    server = _one(recorded, "server")
    assert server.name == "GET /v1/orders/{order_id}"
    assert server.parent_span_id is None
    assert server.status == "unset"
    assert server.attributes["http.request.method"] == "GET"
    assert server.attributes["http.route"] == "/v1/orders/{order_id}"
    assert server.attributes["http.response.status_code"] == "200"
    assert server.attributes["url.path"] == "/v1/orders/ord_42"
    assert server.attributes["q2c.consumer"] == "crm-app"
    assert server.attributes["q2c.tenant"] == "acme"
    client_span = _one(recorded, "client")
    assert client_span.name == "sap_s4hana getSalesOrder"
    assert client_span.attributes["q2c.system"] == "sap_s4hana"
    assert client_span.attributes["http.request.method"] == "GET"
    assert client_span.attributes["server.address"] == "sap.example.test"
    assert client_span.attributes["server.port"] == "8443"
    assert client_span.attributes["url.full"] == (
        "https://sap.example.test:8443/sap/opu/odata/API_SALES_ORDER_SRV/A_SalesOrder('ord_42')"
    )
    shown = repr(recorded)
    for secret in ("s3cr3t", "token=abc", "sap-client", "eyJ", "Bearer"):
        assert secret not in shown


async def test_each_retry_is_its_own_client_span_and_the_sor_sees_it_as_parent() -> None:
    sor = FakeSor(statuses=[503, 200])
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get("/v1/orders/ord_42", headers=ACME)
        trace_id = response.headers["x-trace-id"]
        recorded = spans(tracer, trace_id)
    clients = [span for span in recorded if span.kind == "client"]
    server = _one(recorded, "server")
    assert response.status_code == 200
    assert len(clients) == 2
    assert all(span.parent_span_id == server.span_id for span in clients)
    parents = [parse_parent(request.headers["traceparent"]) for request in sor.requests]
    assert [(p.trace_id if p else None) for p in parents] == [trace_id, trace_id]
    assert [p.span_id if p else None for p in parents] == [span.span_id for span in clients]


async def test_unmatched_paths_are_named_by_method_never_by_raw_path() -> None:
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            response = await client.get("/v1/orders/ord_42/secret-path-segment", headers=ACME)
        recorded = spans(tracer, response.headers["x-trace-id"])
    assert response.status_code == 404
    server = _one(recorded, "server")
    assert server.name == "GET unmatched"
    assert "http.route" not in server.attributes
    assert server.attributes["http.response.status_code"] == "404"


async def test_problem_bodies_carry_the_trace_id_of_the_span() -> None:
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            missing = await client.get(
                "/v1/quotes/quo_1", headers={**ACME, "traceparent": f"00-{TRACE}-{PARENT}-01"}
            )
            broken = await client.get("/v1/boom", headers=ACME)
        assert missing.status_code == 404
        assert missing.json()["trace_id"] == TRACE == missing.headers["x-trace-id"]
        assert broken.status_code == 500
        assert broken.json()["trace_id"] == broken.headers["x-trace-id"]
        failed = _one(spans(tracer, broken.headers["x-trace-id"]), "server")
        not_found = _one(spans(tracer, TRACE), "server")
    assert failed.name == "GET /v1/boom"
    assert failed.status == "error"
    assert failed.attributes["error.type"] == "500"
    assert not_found.status == "unset"
    assert not_found.name == "GET /v1/quotes/{quote_id}"


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE.upper()}-{PARENT}-01",
        f"ff-{TRACE}-{PARENT}-01",
        "00-garbage",
    ],
)
async def test_invalid_or_all_zero_traceparents_start_a_new_trace(traceparent: str) -> None:
    sor = FakeSor()
    with tracer_for(sampler="always_on") as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get(
                "/v1/orders/ord_42",
                headers={**ACME, "traceparent": traceparent, "tracestate": "congo=t61"},
            )
        trace_id = response.headers["x-trace-id"]
        recorded = spans(tracer, trace_id)
    assert response.status_code == 200
    assert HEX32.fullmatch(trace_id)
    assert trace_id not in (TRACE, "0" * 32)
    assert _one(recorded, "server").parent_span_id is None
    [sent] = sor.requests
    assert sent.headers["traceparent"].startswith(f"00-{trace_id}-")
    assert "tracestate" not in sent.headers  # it belonged to the ignored parent


@pytest.mark.parametrize(
    ("config", "incoming"),
    [
        ({"sampler": "always_off"}, f"00-{TRACE}-{PARENT}-01"),
        ({"ratio": 0.0}, None),
        ({}, f"00-{TRACE}-{PARENT}-00"),  # the caller decided not to sample
    ],
)
async def test_unsampled_requests_record_nothing_but_still_propagate_ids(
    config: dict[str, Any], incoming: str | None
) -> None:
    sor = FakeSor()
    headers = dict(ACME)
    if incoming:
        headers["traceparent"] = incoming
    with tracer_for(**config) as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get("/v1/orders/ord_42", headers=headers)
            missing = await client.get("/v1/quotes/quo_1", headers=headers)
        assert len(tracer.ring or []) == 0
    trace_id = response.headers["x-trace-id"]
    if incoming:
        assert trace_id == TRACE
    assert missing.json()["trace_id"] == missing.headers["x-trace-id"]
    [sent] = sor.requests
    parent = parse_parent(sent.headers["traceparent"])
    assert parent is not None
    assert parent.trace_id == trace_id
    assert parent.sampled is False
    assert parent.span_id != PARENT  # the gateway's own span id, not the caller's


async def test_a_new_root_is_sampled_at_full_ratio_and_sampled_flag_goes_downstream() -> None:
    sor = FakeSor()
    with tracer_for(ratio=1.0) as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get("/v1/orders/ord_42", headers=ACME)
        recorded = spans(tracer, response.headers["x-trace-id"])
    assert {span.kind for span in recorded} == {"server", "client"}
    parent = parse_parent(sor.requests[0].headers["traceparent"])
    assert parent is not None
    assert parent.sampled


async def test_request_ids_that_are_unsafe_are_replaced_by_the_trace_id() -> None:
    with tracer_for(ring_size=0) as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            response = await client.get(
                "/v1/quotes/quo_1", headers={"x-request-id": "evil id<script>"}
            )
    assert response.headers["x-request-id"] == response.headers["x-trace-id"]


async def test_baggage_and_incoming_trace_are_dropped_when_the_caller_is_not_trusted() -> None:
    sor = FakeSor()
    with tracer_for(accept_incoming=False) as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get(
                "/v1/orders/ord_42",
                headers={**ACME, "traceparent": f"00-{TRACE}-{PARENT}-01", "baggage": "a=1"},
            )
    assert response.headers["x-trace-id"] != TRACE
    assert "baggage" not in sor.requests[0].headers


async def test_an_exception_from_the_app_ends_the_span_as_an_error_and_propagates() -> None:
    async def crashing_app(scope: Any, receive: Any, send: Any) -> None:
        assert current_request.get() is request_context(scope)
        raise RuntimeError("boom")

    with tracer_for(sampler="always_on") as tracer:
        middleware = TracingMiddleware(crashing_app, tracer.config, tracer=tracer)
        scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": "/v1/orders",
            "headers": [],
        }
        with pytest.raises(RuntimeError):
            await middleware(scope, _no_receive, _no_send)
        [server] = spans(tracer)
    assert current_request.get() is None
    assert server.name == "POST unmatched"
    assert server.status == "error"
    assert server.attributes["error.type"] == "RuntimeError"
    assert request_context(scope).trace_id == server.trace_id


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        assert current_request.get() is None

    with tracer_for(sampler="always_on") as tracer:
        await TracingMiddleware(app, tracer=tracer)({"type": "lifespan"}, _no_receive, _no_send)
        assert len(tracer.ring or []) == 0
    assert seen == ["lifespan"]


def test_the_middleware_builds_its_own_tracer_when_none_is_given() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    middleware = TracingMiddleware(app, TracingConfig(ratio=0.5))
    assert isinstance(middleware.tracer, Tracer)
    assert middleware.tracer.config.ratio == 0.5
    middleware.tracer.shutdown()


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _no_send(message: Any) -> None:
    return None
