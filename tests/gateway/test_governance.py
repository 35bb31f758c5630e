"""Operational visibility on the assembled gateway: metrics, audit, deprecation, v1/v2."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.settings import Settings
from gateway.wiring import Runtime, build_runtime
from policies.auth.scopes import ALL_SCOPES
from policies.rate_limit import Plan
from policies.versioning import Deprecation, VersioningConfig
from tests.conftest import bearer
from tests.support.settings import gateway_settings

NOW = datetime.now(UTC)


def _settings() -> Settings:
    base = gateway_settings()
    plans = {**base.rate_limit.plans, "tiny": Plan(quota=3, window_seconds=3600, burst=3)}
    versioning = VersioningConfig(
        deprecations=[
            Deprecation(
                operation="listPrices",
                deprecated_at=NOW - timedelta(days=1),
                sunset=NOW + timedelta(days=90),
                link="https://q2c.dev/deprecations/prices",
                replacement="GET /v2/prices",
            ),
            Deprecation(
                operation="getQuote",
                deprecated_at=NOW - timedelta(days=30),
                sunset=NOW - timedelta(days=1),
                link="https://q2c.dev/deprecations/quotes",
                replacement="GET /v1/quotes?customer_id=...",
            ),
        ]
    )
    return msgspec.structs.replace(
        base,
        rate_limit=msgspec.structs.replace(base.rate_limit, plans=plans),
        versioning=versioning,
    )


@pytest.fixture
async def governed() -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = build_runtime(_settings())
    await runtime.start()
    app = create_app(runtime.settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        yield runtime, client
    await runtime.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return sum(
        value
        for (sample, items), value in samples.items()
        if sample == name and all(dict(items).get(k) == v for k, v in labels.items())
    )


async def test_metrics_count_a_scripted_set_of_calls(
    governed: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, api = governed
    gold = bearer(runtime)
    tiny = bearer(runtime, client_id="tiny-client", plan="tiny")
    no_scope = bearer(runtime, client_id="narrow", scopes=frozenset({"orders:read"}))

    assert (await api.get("/v1/products")).status_code == 401
    assert (await api.get("/v1/products", headers=no_scope)).status_code == 403
    statuses = [(await api.get("/v1/products", headers=tiny)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]

    quote = (await api.get("/v1/quotes", params={"status": "accepted"}, headers=gold)).json()
    body = {"customer_id": quote["data"][0]["customer_id"], "quote_id": quote["data"][0]["id"]}
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"', **gold}
    first = await api.post("/v1/orders", json=body, headers=key)
    replay = await api.post("/v1/orders", json=body, headers=key)
    mismatch = await api.post("/v1/orders", json={**body, "currency": "USD"}, headers=key)
    assert (first.status_code, replay.status_code, mismatch.status_code) == (201, 201, 422)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()

    exposition = await api.get("/metrics", headers=gold)
    assert exposition.status_code == 200
    samples = _samples(exposition.text)
    requests = "q2c_requests_total"
    assert _value(samples, requests, operation="listProducts", status_class="2xx") == 3
    assert _value(samples, requests, operation="listProducts", status_class="4xx") == 3
    assert _value(samples, requests, operation="listProducts", consumer="tiny-client") == 4
    assert _value(samples, requests, operation="createOrder", status_class="2xx") == 2
    assert _value(samples, "q2c_auth_failures_total", reason="TOKEN_MISSING") == 1
    assert _value(samples, "q2c_auth_failures_total", reason="INSUFFICIENT_SCOPE") == 1
    assert _value(samples, "q2c_rate_limit_decisions_total", plan="tiny", outcome="admitted") == 3
    assert _value(samples, "q2c_rate_limit_decisions_total", plan="tiny", outcome="limited") == 1
    assert _value(samples, "q2c_idempotency_outcomes_total", outcome="new") == 1
    assert _value(samples, "q2c_idempotency_outcomes_total", outcome="replayed") == 1
    assert _value(samples, "q2c_idempotency_outcomes_total", outcome="mismatch") == 1
    assert _value(samples, "q2c_sor_calls_total", system="sap_s4hana", outcome="ok") > 0
    assert _value(samples, "q2c_sor_latency_seconds_count", system="salesforce") > 0
    # Route templates, never raw ids, label the series.
    assert not [name for name, labels in samples if any("ord_" in v for _, v in labels)]

    report = (await api.get("/v1/ops/governance", headers=gold)).json()
    v1 = next(a for a in report["apis"] if a["api"] == "products" and a["version"] == "v1")
    assert v1["calls"] == 6
    assert v1["error_rate"] == pytest.approx(0.5)
    assert v1["rate_limited_share"] == pytest.approx(1 / 6, abs=1e-4)  # rounded to 4 places


async def test_audit_records_writes_per_tenant(
    governed: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, api = governed
    mine, theirs = bearer(runtime), bearer(runtime, tenant="globex", client_id="globex-app")
    key = f"audit-{uuid.uuid4()}"
    created = await api.post(
        "/v1/customers",
        json={"name": "Audit Trail Oy", "country": "FI"},
        headers={**mine, "Idempotency-Key": f'"{key}"'},
    )
    assert created.status_code == 201
    customer = created.json()
    await api.get(f"/v1/customers/{customer['id']}", headers=mine)  # reads are not audited

    entries = (await api.get("/v1/ops/audit", headers=mine)).json()["data"]
    assert len(entries) == 1
    [entry] = entries
    assert entry["operation"] == "createCustomer"
    assert entry["tenant"] == "sandbox"
    assert entry["consumer"] == "sandbox-client"
    assert entry["resource_id"] == customer["id"]
    assert entry["system_refs"] == customer["external_references"]
    assert entry["outcome"] == "succeeded"
    assert entry["idempotency_key"] == key
    assert entry["trace_id"] == created.headers["x-trace-id"]
    by_resource = await api.get(
        "/v1/ops/audit", params={"resource_id": customer["id"]}, headers=mine
    )
    assert len(by_resource.json()["data"]) == 1
    assert (await api.get("/v1/ops/audit", headers=theirs)).json()["data"] == []


async def test_deprecated_and_sunset_operations(
    governed: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, api = governed
    gold = bearer(runtime)
    prices = await api.get("/v1/prices", headers=gold)
    assert prices.status_code == 200
    assert prices.headers["deprecation"] == f"@{int((NOW - timedelta(days=1)).timestamp())}"
    assert prices.headers["sunset"].endswith(" GMT")
    assert 'rel="deprecation"' in prices.headers["link"]

    quotes = (await api.get("/v1/quotes", headers=gold)).json()["data"]
    gone = await api.get(f"/v1/quotes/{quotes[0]['id']}", headers=gold)
    assert gone.status_code == 410
    problem = gone.json()
    assert problem["code"] == "API_SUNSET"
    assert "GET /v1/quotes?customer_id=" in problem["detail"]

    samples = _samples((await api.get("/metrics", headers=gold)).text)
    assert (
        _value(
            samples, "q2c_deprecated_calls_total", operation="listPrices", consumer="sandbox-client"
        )
        == 1
    )

    document = (await api.get("/schema/openapi.json")).json()
    assert document["paths"]["/v1/prices"]["get"]["deprecated"] is True
    assert "Sunset" in document["paths"]["/v1/prices"]["get"]["responses"]["200"]["headers"]
    assert "410" in document["paths"]["/v1/quotes/{quote_id}"]["get"]["responses"]


async def test_v1_and_v2_orders_side_by_side(api: httpx.AsyncClient) -> None:
    quote = (await api.get("/v1/quotes", params={"status": "accepted"})).json()["data"][1]
    created = await api.post(
        "/v2/orders",
        json={"customer_id": quote["customer_id"], "quote_id": quote["id"]},
        headers={"Idempotency-Key": f'"{uuid.uuid4()}"'},
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["fulfillment_status"] == "unfulfilled"
    assert created.headers["location"] == f"/v2/orders/{order['id']}"
    v1 = (await api.get(f"/v1/orders/{order['id']}")).json()
    v2 = (await api.get(f"/v2/orders/{order['id']}")).json()
    assert "fulfillment_status" not in v1
    assert v2 == order
    assert {k: v for k, v in v2.items() if k != "fulfillment_status"} == v1


def test_every_governed_route_declares_scopes() -> None:
    app = create_app(gateway_settings())
    for route in app.litestar.routes:
        for handler in getattr(route, "route_handlers", []):
            path = route.path
            if set(handler.http_methods) <= {"OPTIONS", "HEAD"}:
                continue  # Litestar's automatic CORS preflight handler
            policy = handler.opt.get("policy")
            if path.startswith("/v1/events/inbound/"):
                # Other systems' signed events: the signature is the authentication.
                assert policy == {"public": True, "scopes": ()}, path
                assert handler.security, f"{path} documents no signature scheme"
                continue
            if path.startswith(("/v1", "/v2")):
                assert policy is not None, f"{path} has no route policy"
                assert policy.get("scopes"), f"{path} declares no scope"
                assert set(policy["scopes"]) <= set(ALL_SCOPES), path
