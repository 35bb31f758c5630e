"""The governance report's numbers from known metric fills."""

from __future__ import annotations

import msgspec
import pytest

from policies.metrics import (
    GatewayMetrics,
    GovernanceReport,
    MetricsConfig,
    governance_report,
    governance_report_from_text,
    render_text,
)
from policies.metrics.report import ApiSummary


def _fill() -> GatewayMetrics:
    metrics = GatewayMetrics(MetricsConfig(latency_buckets=(0.1, 0.2, 0.4, 0.8)))
    requests = metrics.requests
    for consumer, status_class, calls in [
        ("alice", "2xx", 60),
        ("bob", "2xx", 20),
        ("carol", "2xx", 5),
        ("alice", "4xx", 10),
        ("bob", "5xx", 5),
    ]:
        requests.labels("quotes", "v1", "getQuote", consumer, status_class, "acme").inc(calls)
    for error_class, calls in [("429", 6), ("401", 4), ("timeout", 3), ("http_5xx", 2)]:
        metrics.request_errors.labels("quotes", "v1", error_class, "acme").inc(calls)
    gateway = metrics.gateway_latency.labels("quotes", "v1", "getQuote", "acme")
    for seconds, times in [(0.05, 50), (0.15, 40), (0.3, 10)]:
        for _ in range(times):
            gateway.observe(seconds)
    wait = metrics.sor_wait.labels("quotes", "v1", "getQuote", "acme")
    for seconds in [0.05] * 10 + [0.3] * 10:
        wait.observe(seconds)

    requests.labels("prices", "v1", "listPrices", "crm", "2xx", "acme").inc(4)
    requests.labels("prices", "v1", "getPrice", "crm", "2xx", "acme").inc(1)
    requests.labels("prices", "v2", "getPrice", "crm", "2xx", "acme").inc(1)
    for _ in range(4):
        metrics.deprecated_call("listPrices", "crm")
    metrics.deprecated_call("getPrice", "crm")

    for seconds in [0.05] * 18:
        metrics.observe_sor_call("salesforce", "getQuote", seconds, "ok")
    for seconds in [0.7, 0.7]:
        metrics.observe_sor_call("salesforce", "getQuote", seconds, "timeout")

    for plan, outcome, calls in [
        ("default", "admitted", 90),
        ("default", "limited", 10),
        ("gold", "admitted", 50),
    ]:
        for _ in range(calls):
            metrics.rate_limit_decision(plan, outcome)
    for outcome, calls in [("new", 5), ("replayed", 2)]:
        for _ in range(calls):
            metrics.idempotency_outcome(outcome)
    for reason, calls in [("token_expired", 3), ("insufficient_scope", 1)]:
        for _ in range(calls):
            metrics.auth_failure(reason)
    for outcome in ["ok"] * 4 + ["failed"]:
        metrics.flow_step("quote_to_cash", "order_accepted", outcome)
    metrics.sla_breach("quote_to_cash", "invoice_generated")
    metrics.sla_breach("quote_to_cash", "invoice_generated")
    metrics.set_dlq_depth("q2c.dlq", 3)
    return metrics


def _api(report: GovernanceReport, api: str, version: str) -> ApiSummary:
    return next(a for a in report.apis if (a.api, a.version) == (api, version))


def test_per_api_volume_errors_latency_and_consumers() -> None:
    report = governance_report(_fill(), top_consumers=2)
    assert [(a.api, a.version) for a in report.apis] == [
        ("prices", "v1"),
        ("prices", "v2"),
        ("quotes", "v1"),
    ]
    quotes = _api(report, "quotes", "v1")
    assert quotes.calls == 100
    assert quotes.error_rate == 0.15
    assert [(s.status_class, s.calls, s.rate) for s in quotes.by_status_class] == [
        ("2xx", 85, 0.85),
        ("4xx", 10, 0.1),
        ("5xx", 5, 0.05),
    ]
    assert [(e.error_class, e.calls, e.rate) for e in quotes.errors_by_class] == [
        ("429", 6, 0.06),
        ("401", 4, 0.04),
        ("timeout", 3, 0.03),
        ("http_5xx", 2, 0.02),
    ]
    assert quotes.rate_limited_share == 0.06
    # 50 <= 0.1, 90 <= 0.2, 100 <= 0.4: rank 95 is half-way into (0.2, 0.4].
    assert quotes.p95_gateway_latency_seconds == pytest.approx(0.3)
    # 10 <= 0.1, 20 <= 0.4: rank 19 is 9 of 10 into (0.2, 0.4].
    assert quotes.p95_sor_latency_seconds == pytest.approx(0.38)
    assert [(c.consumer, c.calls, c.share) for c in quotes.top_consumers] == [
        ("alice", 70, 0.7),
        ("bob", 25, 0.25),
    ]
    assert _api(report, "prices", "v1").p95_gateway_latency_seconds is None


def test_deprecated_usage_is_attributed_when_the_operation_is_unambiguous() -> None:
    report = governance_report(_fill())
    assert [
        (d.operation, d.consumer, d.calls, d.api, d.version) for d in report.deprecated_usage
    ] == [
        ("listPrices", "crm", 4, "prices", "v1"),
        ("getPrice", "crm", 1, "", ""),  # getPrice exists in v1 and v2
    ]
    assert [(d.operation, d.calls) for d in _api(report, "prices", "v1").deprecated_calls] == [
        ("listPrices", 4),
    ]
    assert _api(report, "prices", "v2").deprecated_calls == []


def test_systems_rate_limits_and_other_policies() -> None:
    report = governance_report(_fill())
    (salesforce,) = report.systems
    assert (salesforce.system, salesforce.calls, salesforce.error_rate) == ("salesforce", 20, 0.1)
    assert [(e.error_class, e.calls) for e in salesforce.errors_by_class] == [("timeout", 2)]
    # 18 <= 0.1, 20 <= 0.8: rank 19 is half-way into (0.4, 0.8].
    assert salesforce.p95_latency_seconds == pytest.approx(0.6)

    limits = report.rate_limits
    assert (limits.decisions, limits.limited, limits.limited_share) == (150, 10, 0.0667)
    assert [(p.plan, p.decisions, p.limited, p.limited_share) for p in limits.by_plan] == [
        ("default", 100, 10, 0.1),
        ("gold", 50, 0, 0.0),
    ]
    assert [(o.outcome, o.count) for o in report.idempotency] == [("new", 5), ("replayed", 2)]
    assert [(r.reason, r.count) for r in report.auth_failures] == [
        ("token_expired", 3),
        ("insufficient_scope", 1),
    ]
    assert [
        (f.step, [(o.outcome, o.count) for o in f.outcomes], f.sla_breaches) for f in report.flows
    ] == [("invoice_generated", [], 2), ("order_accepted", [("ok", 4), ("failed", 1)], 0)]
    assert [(d.stream, d.depth) for d in report.dead_letters] == [("q2c.dlq", 3)]


def test_scraped_text_gives_the_same_report() -> None:
    metrics = _fill()
    live = governance_report(metrics)
    scraped = governance_report_from_text(metrics.exposition()[0].decode())
    same_time = {"generated_at": live.generated_at}
    assert msgspec.structs.replace(scraped, **same_time) == live


def test_report_json_is_snake_case_and_valid_against_its_own_schema() -> None:
    report = governance_report(_fill())
    body = msgspec.json.encode(report)
    assert b'"p95_gateway_latency_seconds"' in body
    assert b'"rate_limited_share"' in body
    assert msgspec.json.decode(body, type=GovernanceReport) == report


def test_empty_registry_gives_an_empty_report() -> None:
    report = governance_report(GatewayMetrics())
    assert report.apis == []
    assert report.systems == []
    assert report.rate_limits.limited_share == 0.0
    assert "no calls yet" in render_text(report)


def test_render_text() -> None:
    text = render_text(governance_report(_fill(), top_consumers=2))
    assert (
        "  quotes v1: 100 calls, 15.0% errors (2xx 85.0%, 4xx 10.0%, 5xx 5.0%), "
        "6.0% rate-limited\n" in text
    )
    assert "    p95 gateway 300.0 ms, p95 SoR 380.0 ms\n" in text
    assert (
        "    errors by class: 429 6 (6.0%), 401 4 (4.0%), timeout 3 (3.0%), "
        "http_5xx 2 (2.0%)\n" in text
    )
    assert "    top consumers: alice 70 (70.0%), bob 25 (25.0%)\n" in text
    assert "  salesforce: 20 calls, 10.0% errors (timeout 2), p95 600.0 ms\n" in text
    assert (
        "Rate limits: 150 decisions, 10 limited (6.7%); by plan: default 10.0% of 100, "
        "gold 0.0% of 50\n" in text
    )
    assert "  listPrices (prices v1) by crm: 4\n" in text
    assert "  getPrice by crm: 1\n" in text
    assert "Auth failures: token_expired 3, insufficient_scope 1\n" in text
    assert "  quote_to_cash/order_accepted: ok 4, failed 1; SLA breaches 0\n" in text
    assert "Dead letters: q2c.dlq 3\n" in text
