"""GET /metrics and GET /v1/ops/governance: scope, content types, OpenAPI."""

from __future__ import annotations

import msgspec
from litestar import Litestar

from policies.metrics import GatewayMetrics, GovernanceReport, governance_route, metrics_route
from policies.route import public
from tests.policies.metrics.support import bearer, build_app, build_litestar, client, value

OPS = bearer("prometheus", "ops:read", "ops:admin")


async def test_metrics_needs_the_ops_scope_and_is_prometheus_text() -> None:
    metrics = GatewayMetrics()
    async with client(build_app(metrics)) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers=bearer("crm", "quotes:read"))).status_code == 403
        response = await http.get("/metrics", headers=OPS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "# TYPE q2c_requests_total counter" in response.text
    assert value(response.text, "q2c_auth_failures_total", reason="token_missing") == 1


async def test_openmetrics_on_request() -> None:
    metrics = GatewayMetrics()
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    async with client(build_app(metrics)) as http:
        response = await http.get("/metrics", headers={**OPS, "accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )
    assert response.text.endswith("# EOF\n")


async def test_governance_report_route() -> None:
    metrics = GatewayMetrics()
    async with client(build_app(metrics)) as http:
        for _ in range(3):
            response = await http.get("/v1/quotes/q-1", headers=bearer("crm", "quotes:read"))
            assert response.status_code == 200
        assert (await http.get("/v1/ops/governance")).status_code == 401
        response = await http.get("/v1/ops/governance", headers=OPS)
        too_many = await http.get("/v1/ops/governance?top_consumers=101", headers=OPS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    report = msgspec.json.decode(response.content, type=GovernanceReport)
    quotes = next(a for a in report.apis if a.api == "quotes")
    assert (quotes.version, quotes.calls, quotes.top_consumers[0].consumer) == ("v1", 3, "crm")
    assert report.systems[0].system == "salesforce"
    assert report.systems[0].calls == 3
    assert too_many.status_code == 400


async def test_a_tenant_sees_its_own_calls_and_consumers_and_nothing_shared() -> None:
    metrics = GatewayMetrics()
    async with client(build_app(metrics)) as http:
        for caller, times in (("crm@acme", 3), ("erp@acme", 1), ("rival@globex", 5)):
            for _ in range(times):
                await http.get("/v1/quotes/q-1", headers=bearer(caller, "quotes:read"))
        await http.get("/metrics")  # an auth failure: shared, no tenant
        acme = bearer("dashboard@acme", "ops:read")
        scraped = (await http.get("/metrics", headers=acme)).text
        report = msgspec.json.decode(
            (await http.get("/v1/ops/governance", headers=acme)).content, type=GovernanceReport
        )
        everyone = msgspec.json.decode(
            (await http.get("/v1/ops/governance", headers=OPS)).content, type=GovernanceReport
        )
    for theirs in ("rival", "globex", "q2c_sor_calls_total{", "q2c_auth_failures_total{"):
        assert theirs not in scraped
    labels = {"api": "quotes", "version": "v1", "operation": "getQuote", "consumer": "crm"}
    assert value(scraped, "q2c_requests_total", **labels, status_class="2xx", tenant="acme") == 3
    quotes = next(a for a in report.apis if a.api == "quotes")
    assert quotes.calls == 4
    assert {c.consumer for c in quotes.top_consumers} == {"crm", "erp"}
    assert report.systems == []
    assert report.auth_failures == []
    # acme's 4 quote calls, its scrape and this report; never globex's 5.
    assert sum(p.decisions for p in report.rate_limits.by_plan) == 6
    everywhere = next(a for a in everyone.apis if a.api == "quotes")
    assert everywhere.calls == 9
    assert "rival" in {c.consumer for c in everywhere.top_consumers}
    assert everyone.systems
    assert everyone.auth_failures


def test_routes_are_documented() -> None:
    schema = build_litestar(GatewayMetrics()).openapi_schema.to_schema()
    scrape = schema["paths"]["/metrics"]["get"]
    assert scrape["operationId"] == "getMetrics"
    assert scrape["tags"] == ["operations"]
    assert "text/plain; version=0.0.4; charset=utf-8" in scrape["responses"]["200"]["content"]
    report = schema["paths"]["/v1/ops/governance"]["get"]
    assert report["operationId"] == "getGovernanceReport"
    assert report["tags"] == ["operations"]
    ok = report["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/GovernanceReport"}
    documented = schema["components"]["schemas"]["GovernanceReport"]
    assert {"apis", "systems", "rate_limits", "deprecated_usage"} <= set(documented["properties"])
    assert documented["properties"]["apis"]["maxItems"] == 1000
    assert [p["name"] for p in report["parameters"]] == ["top_consumers"]


def test_route_path_and_opt_are_the_callers() -> None:
    metrics = GatewayMetrics()
    scrape = metrics_route(metrics, opt=public(), path="/internal/metrics")
    report = governance_route(metrics, opt=public(), path="/ops/governance")
    app = Litestar(route_handlers=[scrape, report])
    assert set(app.openapi_schema.to_schema()["paths"]) == {"/internal/metrics", "/ops/governance"}
    assert scrape.opt["policy"]["public"] is True
