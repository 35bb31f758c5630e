"""The gateway's Prometheus metric families and the hooks other components call.

Each ``GatewayMetrics`` owns a ``CollectorRegistry`` of its own (never the global
default), so several apps in one process, and tests, do not collide.

Multi-process: with several server workers each process counts on its own. When
``PROMETHEUS_MULTIPROC_DIR`` is set before the process starts (it must be set
before ``prometheus_client`` is first imported, and the directory must be emptied
before the server starts), every worker writes its values to files there and
every scrape (and the governance report) reads the sum over all workers:
counters and histograms add up; ``q2c_dlq_depth`` uses the "mostrecent" mode, so
it shows the last value any worker set (it describes one shared stream, not a
per-process quantity). Consumer label capping stays per process, so N workers
can label up to N x ``max_consumers`` distinct consumers. Keep one
``GatewayMetrics`` per process in that mode (two would write the same file slots).

Tenancy: every family that counts callers' requests carries a ``tenant`` label (the
caller's tenant; empty for anonymous calls), so a tenant's view (``tenant_view``)
is those samples alone. Families about shared things (systems of record, auth
failures, flows, dead letters) have no tenant and belong to the global view only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from policies.consumer import ANONYMOUS
from policies.context import SorTracker, current_request
from policies.metrics.config import MetricsConfig
from policies.metrics.labels import RouteLabels, route_labels

OTHER_CONSUMERS = "other"
# Tenants beyond ``max_tenants``; no tenant can be named so (tenant names start with
# a letter or digit), so no tenant's view ever shows it.
OTHER_TENANTS = "_other"
TENANT_LABEL = "tenant"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Clock = Callable[[], float]


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "5xx"


def _multiprocess_dir() -> str | None:
    """The shared directory when prometheus_client runs in multiprocess mode."""
    path = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    active = values.ValueClass is not values.MutexValue
    if active and not path:
        raise ValueError(f"prometheus_client is in multiprocess mode but {MULTIPROC_ENV} is unset")
    if path and not active:
        raise ValueError(
            f"{MULTIPROC_ENV} was set after prometheus_client was imported; set it before "
            "the server process starts"
        )
    if path and not os.path.isdir(path):
        raise ValueError(f"{MULTIPROC_ENV}={path!r} is not a directory")
    return path


class _Children:
    """Label children by label values; ``.labels()`` validates and locks on every call."""

    __slots__ = ("_cache", "_family")

    def __init__(self, family: Any) -> None:
        self._family = family
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *label_values: str) -> Any:
        child = self._cache.get(label_values)
        if child is None:
            child = self._cache[label_values] = self._family.labels(*label_values)
        return child


class GatewayMetrics:
    """Metric families, the hooks that feed them, and their exposition."""

    def __init__(
        self,
        config: MetricsConfig | None = None,
        *,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.config = config or MetricsConfig()
        self.enabled = self.config.enabled
        self.clock = clock
        self.multiprocess_dir = _multiprocess_dir()
        self.registry = CollectorRegistry(auto_describe=True)
        self._max_consumers = self.config.max_consumers
        self._consumers: set[str] = set()
        self._consumer_lock = threading.Lock()
        self._max_tenants = self.config.max_tenants
        self._tenants: set[str] = set()
        self._routes: dict[tuple[int, str], tuple[Any, RouteLabels]] = {}
        buckets = self.config.latency_buckets
        reg = self.registry

        self.requests = Counter(
            "q2c_requests_total",
            "Requests answered, by matched route (template, not path), consumer and status class.",
            ["api", "version", "operation", "consumer", "status_class", TENANT_LABEL],
            registry=reg,
        )
        self.request_errors = Counter(
            "q2c_request_errors_total",
            "Error responses by cause: the SoR error class when a system of record failed "
            "during the request, else the HTTP status code.",
            ["api", "version", "error_class", TENANT_LABEL],
            registry=reg,
        )
        self.gateway_latency = Histogram(
            "q2c_gateway_latency_seconds",
            "Request time spent in the gateway itself: total minus time waiting on "
            "systems of record.",
            ["api", "version", "operation", TENANT_LABEL],
            buckets=buckets,
            registry=reg,
        )
        self.sor_wait = Histogram(
            "q2c_sor_wait_seconds",
            "Per request that called a system of record: wall time with at least one "
            "SoR call outstanding.",
            ["api", "version", "operation", TENANT_LABEL],
            buckets=buckets,
            registry=reg,
        )
        self.sor_latency = Histogram(
            "q2c_sor_latency_seconds",
            "Duration of each call (each attempt) to a system of record.",
            ["system", "operation"],
            buckets=buckets,
            registry=reg,
        )
        self.sor_calls = Counter(
            "q2c_sor_calls_total",
            "Calls (attempts) to systems of record by outcome: ok or the error class.",
            ["system", "operation", "outcome"],
            registry=reg,
        )
        self.rate_limit_decisions = Counter(
            "q2c_rate_limit_decisions_total",
            "Rate-limit decisions by plan and outcome (admitted, limited, error_open, "
            "error_closed).",
            ["plan", "outcome", TENANT_LABEL],
            registry=reg,
        )
        self.idempotency_outcomes = Counter(
            "q2c_idempotency_outcomes_total",
            "Idempotency-Key handling outcomes (new, replayed, mismatch, in_flight, ...).",
            ["outcome", TENANT_LABEL],
            registry=reg,
        )
        self.auth_failures = Counter(
            "q2c_auth_failures_total",
            "Rejected authentications and authorizations by reason.",
            ["reason"],
            registry=reg,
        )
        self.deprecated_calls = Counter(
            "q2c_deprecated_calls_total",
            "Calls to deprecated operations by consumer.",
            ["operation", "consumer", TENANT_LABEL],
            registry=reg,
        )
        self.flow_steps = Counter(
            "q2c_flow_steps_total",
            "Quote-to-cash flow steps by outcome.",
            ["flow", "step", "outcome"],
            registry=reg,
        )
        self.dlq_depth = Gauge(
            "q2c_dlq_depth",
            "Events waiting in a dead-letter stream.",
            ["stream"],
            registry=reg,
            multiprocess_mode="mostrecent",
        )
        self.sla_breaches = Counter(
            "q2c_sla_breaches_total",
            "Flow steps that missed their SLA.",
            ["flow", "step"],
            registry=reg,
        )
        self._requests = _Children(self.requests)
        self._request_errors = _Children(self.request_errors)
        self._gateway_latency = _Children(self.gateway_latency)
        self._sor_wait = _Children(self.sor_wait)
        self._sor_latency = _Children(self.sor_latency)
        self._sor_calls = _Children(self.sor_calls)
        self._rate_limit = _Children(self.rate_limit_decisions)
        self._idempotency = _Children(self.idempotency_outcomes)
        self._auth = _Children(self.auth_failures)
        self._deprecated = _Children(self.deprecated_calls)
        self._flow_steps = _Children(self.flow_steps)
        self._dlq = _Children(self.dlq_depth)
        self._sla = _Children(self.sla_breaches)

    # -- hooks for other policies, adapters and the flow engine -------------------

    def observe_sor_call(self, system: str, operation: str, seconds: float, outcome: str) -> None:
        """One call (attempt) to a system of record; the upstream client reports it
        through ``policies.context.sor_observer(metrics.observe_sor_call)``."""
        if not self.enabled:
            return
        self._sor_latency(system, operation).observe(max(0.0, seconds))
        self._sor_calls(system, operation, outcome).inc()

    def rate_limit_decision(self, plan: str, outcome: str) -> None:
        if self.enabled:
            self._rate_limit(plan, outcome, self._current_tenant()).inc()

    def idempotency_outcome(self, outcome: str) -> None:
        if self.enabled:
            self._idempotency(outcome, self._current_tenant()).inc()

    def auth_failure(self, reason: str) -> None:
        if self.enabled:
            self._auth(reason).inc()

    def deprecated_call(self, operation: str, consumer: str) -> None:
        if self.enabled:
            label = self.consumer_label(consumer)
            self._deprecated(operation, label, self._current_tenant()).inc()

    def flow_step(self, flow: str, step: str, outcome: str) -> None:
        if self.enabled:
            self._flow_steps(flow, step, outcome).inc()

    def set_dlq_depth(self, stream: str, depth: int) -> None:
        if self.enabled:
            self._dlq(stream).set(depth)

    def sla_breach(self, flow: str, step: str) -> None:
        if self.enabled:
            self._sla(flow, step).inc()

    # -- used by the middleware ----------------------------------------------------

    def consumer_label(self, client_id: str | None) -> str:
        """The client id while fewer than ``max_consumers`` are labelled, else "other"."""
        if not client_id or client_id == ANONYMOUS:
            return ANONYMOUS
        if client_id in self._consumers:
            return client_id
        with self._consumer_lock:
            if client_id in self._consumers:
                return client_id
            if len(self._consumers) < self._max_consumers:
                self._consumers.add(client_id)
                return client_id
        return OTHER_CONSUMERS

    def tenant_label(self, tenant: str | None) -> str:
        """The tenant while fewer than ``max_tenants`` are labelled, else OTHER_TENANTS;
        empty for calls without a consumer."""
        if not tenant:
            return ""
        if tenant in self._tenants:
            return tenant
        with self._consumer_lock:
            if tenant in self._tenants:
                return tenant
            if len(self._tenants) < self._max_tenants:
                self._tenants.add(tenant)
                return tenant
        return OTHER_TENANTS

    def _current_tenant(self) -> str:
        """The tenant of the request being served (hooks are called inside it)."""
        context = current_request.get()
        consumer = context.consumer if context is not None else None
        return self.tenant_label(consumer.tenant if consumer is not None else None)

    def labels_for(self, handler: Any, path_template: str) -> RouteLabels:
        key = (id(handler), path_template)
        cached = self._routes.get(key)
        # The handler is kept in the entry so a recycled id() cannot alias it.
        if cached is not None and cached[0] is handler:
            return cached[1]
        labels = route_labels(handler, path_template)
        self._routes[key] = (handler, labels)
        return labels

    def record_request(
        self,
        labels: RouteLabels,
        consumer: str,
        status: int,
        seconds: float,
        wait: SorTracker,
        ended: float,
        tenant: str = "",
    ) -> None:
        api, version, operation = labels
        self._requests(api, version, operation, consumer, status_class(status), tenant).inc()
        waited = wait.waited(ended) if wait.calls else 0.0
        latency = self._gateway_latency(api, version, operation, tenant)
        latency.observe(max(0.0, seconds - waited))
        if wait.calls:
            self._sor_wait(api, version, operation, tenant).observe(waited)
        if status >= 400:
            cause = wait.failure or str(status)
            self._request_errors(api, version, cause, tenant).inc()

    # -- exposition ----------------------------------------------------------------

    @property
    def multiprocess(self) -> bool:
        return self.multiprocess_dir is not None

    def collector(self) -> Collector:
        """What a scrape reads: this registry, or the sum over all workers' files."""
        if self.multiprocess_dir is None:
            return self.registry
        # A fresh registry per scrape, as prometheus_client documents for this mode.
        aggregate = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(aggregate, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return aggregate

    def collect(self) -> Iterable[Metric]:
        return self.collector().collect()

    def exposition(
        self, accept: str | None = None, *, tenant: str | None = None
    ) -> tuple[bytes, str]:
        """(body, content type) for a scrape; OpenMetrics when the scraper asks for it.
        With ``tenant``, only that tenant's samples (``tenant_view``)."""
        encoder, content_type = choose_encoder(accept or "")
        source = self.collector()
        if tenant is not None:
            source = _TenantOnly(source, tenant)
        if not content_type.startswith("application/openmetrics-text"):
            source = _WithoutCreated(source)
        return encoder(source), content_type


class _WithoutCreated:
    """Drops the ``*_created`` samples of counters and histograms.

    OpenMetrics carries them as creation timestamps; the classic text format can
    only show them as extra gauge series, doubling the series count for nothing.
    """

    def __init__(self, inner: Collector) -> None:
        self._inner = inner

    def collect(self) -> Iterable[Metric]:
        for family in self._inner.collect():
            if family.type in ("counter", "histogram"):
                trimmed = Metric(family.name, family.documentation, family.type, family.unit)
                trimmed.samples = [s for s in family.samples if not s.name.endswith("_created")]
                family = trimmed
            yield family


def tenant_view(families: Iterable[Metric], tenant: str) -> Iterable[Metric]:
    """The samples of ``tenant`` alone; families without a tenant label are left out
    (they describe what every tenant shares)."""
    for family in families:
        samples = [s for s in family.samples if s.labels.get(TENANT_LABEL) == tenant]
        if samples:
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = samples
            yield kept


class _TenantOnly:
    def __init__(self, inner: Collector, tenant: str) -> None:
        self._inner = inner
        self._tenant = tenant

    def collect(self) -> Iterable[Metric]:
        return tenant_view(self._inner.collect(), self._tenant)


def prepare_multiprocess_dir(path: str) -> None:
    """Empty the shared directory before the server (not a worker) starts.

    Files left by a previous run would be added to the new run's counters.
    """
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
