"""GatewayMetrics: hooks, private registries, label caching, multiprocess guard."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from policies.metrics import GatewayMetrics, MetricsConfig
from tests.policies.metrics.support import scrape, value


def test_hooks_feed_their_families() -> None:
    metrics = GatewayMetrics()
    metrics.observe_sor_call("sap_s4hana", "createSalesOrder", 0.2, "ok")
    metrics.observe_sor_call("sap_s4hana", "createSalesOrder", 1.5, "http_5xx")
    metrics.rate_limit_decision("gold", "admitted")
    metrics.idempotency_outcome("replayed")
    metrics.auth_failure("token_expired")
    metrics.deprecated_call("listPrices", "crm-app")
    metrics.flow_step("quote_to_cash", "order_accepted", "ok")
    metrics.set_dlq_depth("q2c.dlq", 7)
    metrics.sla_breach("quote_to_cash", "invoice_generated")
    text = scrape(metrics)
    sor = {"system": "sap_s4hana", "operation": "createSalesOrder"}
    assert value(text, "q2c_sor_calls_total", outcome="ok", **sor) == 1
    assert value(text, "q2c_sor_calls_total", outcome="http_5xx", **sor) == 1
    assert value(text, "q2c_sor_latency_seconds_count", **sor) == 2
    assert value(text, "q2c_sor_latency_seconds_sum", **sor) == pytest.approx(1.7)
    assert value(text, "q2c_rate_limit_decisions_total", plan="gold", outcome="admitted") == 1
    assert value(text, "q2c_idempotency_outcomes_total", outcome="replayed") == 1
    assert value(text, "q2c_auth_failures_total", reason="token_expired") == 1
    assert (
        value(text, "q2c_deprecated_calls_total", operation="listPrices", consumer="crm-app") == 1
    )
    flow = {"flow": "quote_to_cash"}
    assert value(text, "q2c_flow_steps_total", step="order_accepted", outcome="ok", **flow) == 1
    assert value(text, "q2c_dlq_depth", stream="q2c.dlq") == 7
    assert value(text, "q2c_sla_breaches_total", step="invoice_generated", **flow) == 1


def test_hook_signatures_match_the_upstream_observer() -> None:
    signature = inspect.signature(GatewayMetrics.observe_sor_call)
    assert list(signature.parameters) == ["self", "system", "operation", "seconds", "outcome"]
    assert list(inspect.signature(GatewayMetrics.rate_limit_decision).parameters)[1:] == [
        "plan",
        "outcome",
    ]
    assert list(inspect.signature(GatewayMetrics.deprecated_call).parameters)[1:] == [
        "operation",
        "consumer",
    ]


def test_each_instance_has_its_own_registry() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.auth_failure("token_invalid")
    assert value(scrape(first), "q2c_auth_failures_total", reason="token_invalid") == 1
    assert value(scrape(second), "q2c_auth_failures_total", reason="token_invalid") == 0
    assert first.registry is not REGISTRY
    assert "q2c_auth_failures_total" not in {
        s.name for family in REGISTRY.collect() for s in family.samples
    }


def test_label_children_are_cached() -> None:
    metrics = GatewayMetrics()
    metrics.auth_failure("token_expired")
    child = metrics._auth("token_expired")
    metrics.auth_failure("token_expired")
    assert metrics._auth("token_expired") is child
    assert value(scrape(metrics), "q2c_auth_failures_total", reason="token_expired") == 2


def test_deprecated_usage_shares_the_consumer_cap() -> None:
    metrics = GatewayMetrics(MetricsConfig(max_consumers=1))
    for consumer in ("crm-app", "partner-1", "partner-2", "anonymous"):
        metrics.deprecated_call("listPrices", consumer)
    text = scrape(metrics)
    usage = {"operation": "listPrices"}
    assert value(text, "q2c_deprecated_calls_total", consumer="crm-app", **usage) == 1
    assert value(text, "q2c_deprecated_calls_total", consumer="other", **usage) == 2
    assert value(text, "q2c_deprecated_calls_total", consumer="anonymous", **usage) == 1


def test_disabled_hooks_record_nothing() -> None:
    metrics = GatewayMetrics(MetricsConfig(enabled=False))
    metrics.observe_sor_call("sap_s4hana", "x", 0.1, "ok")
    metrics.rate_limit_decision("gold", "limited")
    metrics.set_dlq_depth("q2c.dlq", 3)
    assert "q2c_sor_calls_total{" not in scrape(metrics)
    assert "q2c_dlq_depth{" not in scrape(metrics)


def test_multiproc_dir_set_after_import_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prometheus_client chose its in-process values at import; files would stay empty.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR was set after"):
        GatewayMetrics()


def test_openmetrics_keeps_created_and_text_drops_it() -> None:
    metrics = GatewayMetrics()
    metrics.auth_failure("token_expired")
    text, content_type = metrics.exposition("text/plain")
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert b"_created" not in text
    om, om_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert om_type.startswith("application/openmetrics-text; version=1.0.0")
    assert b"q2c_auth_failures_created" in om
    assert om.endswith(b"# EOF\n")
