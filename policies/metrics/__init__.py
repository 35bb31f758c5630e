"""Prometheus governance metrics and the governance report.

Wiring (composition root), one ``GatewayMetrics`` per process:

* wrap the Litestar app as tracing is, right inside it:
  ``TracingMiddleware(MetricsMiddleware(litestar, metrics=metrics), ...)`` so even
  unmatched paths are counted (as app middleware only matched routes are);
* pass the hooks: ``Upstream(observe=sor_observer(metrics.observe_sor_call))``
  (``policies.context``: the request's SoR tracker first, then the per-call metrics),
  ``RateLimitMiddleware(on_decision=metrics.rate_limit_decision)``,
  ``IdempotencyMiddleware(on_outcome=metrics.idempotency_outcome)``, and
  ``auth_failure`` / ``deprecated_call`` / ``flow_step`` / ``set_dlq_depth`` /
  ``sla_breach`` to auth, versioning and the flow engine;
* mount ``metrics_route(metrics, opt=governed("ops:read"))`` and
  ``governance_route(metrics, opt=governed("ops:read"))``, and/or start a
  ``MetricsListener`` in the lifespan when ``config.listen_port`` is set.
"""

from policies.metrics.config import DEFAULT_LATENCY_BUCKETS, MetricsConfig
from policies.metrics.listener import MetricsListener
from policies.metrics.middleware import MetricsMiddleware
from policies.metrics.registry import GatewayMetrics, prepare_multiprocess_dir
from policies.metrics.report import (
    GovernanceReport,
    build_report,
    governance_report,
    governance_report_from_text,
    render_text,
)
from policies.metrics.routes import GOVERNANCE_PATH, governance_route, metrics_route

__all__ = [
    "DEFAULT_LATENCY_BUCKETS",
    "GOVERNANCE_PATH",
    "GatewayMetrics",
    "GovernanceReport",
    "MetricsConfig",
    "MetricsListener",
    "MetricsMiddleware",
    "build_report",
    "governance_report",
    "governance_report_from_text",
    "governance_route",
    "metrics_route",
    "prepare_multiprocess_dir",
    "render_text",
]
