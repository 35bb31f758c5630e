"""The governance report: what the live metrics say, per API and version.

Built only from the metric families (``GatewayMetrics.collect()``, or a scraped
exposition text), so it works the same for one process and, in multiprocess
mode, for the sum over all workers. Served as JSON at GET /v1/ops/governance and
printed by ``q2c governance report`` via ``render_text``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from policies.metrics.quantile import histogram_quantile
from policies.metrics.registry import GatewayMetrics, tenant_view

# Bounds for the documented schema; lists are cut to them when built.
MAX_APIS = 1000
MAX_CLASSES = 250
MAX_CONSUMERS = 100
MAX_USAGE = 500
MAX_SMALL = 200

Label = Annotated[str, msgspec.Meta(max_length=256)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Rate = Annotated[float, msgspec.Meta(ge=0, le=1, description="Share between 0 and 1")]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e6)]


class StatusClassShare(msgspec.Struct, frozen=True, kw_only=True):
    status_class: Annotated[str, msgspec.Meta(max_length=3, examples=["4xx"])]
    calls: Count
    rate: Rate


class ErrorClassShare(msgspec.Struct, frozen=True, kw_only=True):
    error_class: Annotated[
        Label,
        msgspec.Meta(
            description="SoR error class (timeout, unavailable, http_5xx, http_4xx) when a "
            "system of record failed during the request, else the HTTP status code",
            examples=["timeout", "429"],
        ),
    ]
    calls: Count
    rate: Rate


class ConsumerVolume(msgspec.Struct, frozen=True, kw_only=True):
    consumer: Annotated[
        Label, msgspec.Meta(description='Client id; "other" holds clients beyond the label cap')
    ]
    calls: Count
    share: Rate


class DeprecatedUsage(msgspec.Struct, frozen=True, kw_only=True):
    operation: Label
    consumer: Label
    calls: Count
    # Empty when the operation id is not seen in exactly one API and version.
    api: Label = ""
    version: Label = ""


class ApiSummary(msgspec.Struct, frozen=True, kw_only=True):
    api: Label
    version: Annotated[str, msgspec.Meta(max_length=16, examples=["v1", "none"])]
    calls: Count
    error_rate: Annotated[Rate, msgspec.Meta(description="Share of calls answered 4xx or 5xx")]
    by_status_class: Annotated[list[StatusClassShare], msgspec.Meta(max_length=10)]
    errors_by_class: Annotated[list[ErrorClassShare], msgspec.Meta(max_length=MAX_CLASSES)]
    rate_limited_share: Annotated[Rate, msgspec.Meta(description="Share of calls answered 429")]
    p95_gateway_latency_seconds: Seconds | None
    p95_sor_latency_seconds: Annotated[
        Seconds | None,
        msgspec.Meta(description="Over the calls that reached a system of record"),
    ]
    top_consumers: Annotated[list[ConsumerVolume], msgspec.Meta(max_length=MAX_CONSUMERS)]
    deprecated_calls: Annotated[list[DeprecatedUsage], msgspec.Meta(max_length=MAX_USAGE)]


class SystemSummary(msgspec.Struct, frozen=True, kw_only=True):
    system: Label
    calls: Annotated[Count, msgspec.Meta(description="Calls, each retry attempt counted")]
    error_rate: Rate
    errors_by_class: Annotated[list[ErrorClassShare], msgspec.Meta(max_length=MAX_CLASSES)]
    p95_latency_seconds: Seconds | None


class PlanDecisions(msgspec.Struct, frozen=True, kw_only=True):
    plan: Label
    decisions: Count
    limited: Count
    limited_share: Rate


class RateLimitSummary(msgspec.Struct, frozen=True, kw_only=True):
    decisions: Count
    limited: Count
    limited_share: Rate
    by_plan: Annotated[list[PlanDecisions], msgspec.Meta(max_length=MAX_SMALL)]


class OutcomeCount(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Label
    count: Count


class ReasonCount(msgspec.Struct, frozen=True, kw_only=True):
    reason: Label
    count: Count


class FlowStepSummary(msgspec.Struct, frozen=True, kw_only=True):
    flow: Label
    step: Label
    outcomes: Annotated[list[OutcomeCount], msgspec.Meta(max_length=MAX_SMALL)]
    sla_breaches: Count


class DeadLetterDepth(msgspec.Struct, frozen=True, kw_only=True):
    stream: Label
    depth: Count


class GovernanceReport(msgspec.Struct, frozen=True, kw_only=True):
    """Governance summary of the live metrics since the gateway (or its workers) started."""

    generated_at: Annotated[
        str, msgspec.Meta(max_length=40, description="RFC 3339 UTC timestamp")
    ]
    apis: Annotated[list[ApiSummary], msgspec.Meta(max_length=MAX_APIS)]
    systems: Annotated[list[SystemSummary], msgspec.Meta(max_length=MAX_SMALL)]
    rate_limits: RateLimitSummary
    deprecated_usage: Annotated[list[DeprecatedUsage], msgspec.Meta(max_length=MAX_USAGE)]
    idempotency: Annotated[list[OutcomeCount], msgspec.Meta(max_length=MAX_SMALL)]
    auth_failures: Annotated[list[ReasonCount], msgspec.Meta(max_length=MAX_SMALL)]
    flows: Annotated[list[FlowStepSummary], msgspec.Meta(max_length=MAX_APIS)]
    dead_letters: Annotated[list[DeadLetterDepth], msgspec.Meta(max_length=MAX_SMALL)]


# -- building -------------------------------------------------------------------------

Buckets = dict[float, float]


@dataclass
class _Api:
    status: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    consumers: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    errors: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    gateway: Buckets = field(default_factory=lambda: defaultdict(float))
    sor: Buckets = field(default_factory=lambda: defaultdict(float))


@dataclass
class _System:
    outcomes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    latency: Buckets = field(default_factory=lambda: defaultdict(float))


@dataclass
class _Tally:
    apis: dict[tuple[str, str], _Api] = field(default_factory=lambda: defaultdict(_Api))
    operations: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    systems: dict[str, _System] = field(default_factory=lambda: defaultdict(_System))
    plans: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    idempotency: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    auth: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    deprecated: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    steps: dict[tuple[str, str], dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    sla: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    dlq: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, labels: dict[str, str], value: float) -> None:
        get = labels.get
        if name == "q2c_requests_total":
            key = (get("api", ""), get("version", ""))
            api = self.apis[key]
            api.status[get("status_class", "")] += value
            api.consumers[get("consumer", "")] += value
            self.operations[get("operation", "")].add(key)
        elif name == "q2c_request_errors_total":
            self.apis[(get("api", ""), get("version", ""))].errors[get("error_class", "")] += value
        elif name == "q2c_gateway_latency_seconds_bucket":
            key = (get("api", ""), get("version", ""))
            self.apis[key].gateway[float(get("le", "+Inf"))] += value
        elif name == "q2c_sor_wait_seconds_bucket":
            key = (get("api", ""), get("version", ""))
            self.apis[key].sor[float(get("le", "+Inf"))] += value
        elif name == "q2c_sor_calls_total":
            self.systems[get("system", "")].outcomes[get("outcome", "")] += value
        elif name == "q2c_sor_latency_seconds_bucket":
            self.systems[get("system", "")].latency[float(get("le", "+Inf"))] += value
        elif name == "q2c_rate_limit_decisions_total":
            self.plans[get("plan", "")][get("outcome", "")] += value
        elif name == "q2c_idempotency_outcomes_total":
            self.idempotency[get("outcome", "")] += value
        elif name == "q2c_auth_failures_total":
            self.auth[get("reason", "")] += value
        elif name == "q2c_deprecated_calls_total":
            self.deprecated[(get("operation", ""), get("consumer", ""))] += value
        elif name == "q2c_flow_steps_total":
            self.steps[(get("flow", ""), get("step", ""))][get("outcome", "")] += value
        elif name == "q2c_sla_breaches_total":
            self.sla[(get("flow", ""), get("step", ""))] += value
        elif name == "q2c_dlq_depth":
            self.dlq[get("stream", "")] = value


def _rate(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _by_count(counts: dict[str, float]) -> list[tuple[str, int]]:
    return sorted(((k, int(v)) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))


def build_report(families: Iterable[Metric], *, top_consumers: int = 5) -> GovernanceReport:
    """The report from metric families (a registry's ``collect()`` or parsed text)."""
    top = max(0, min(top_consumers, MAX_CONSUMERS))
    tally = _Tally()
    for family in families:
        for sample in family.samples:
            tally.add(sample.name, sample.labels, float(sample.value))

    deprecated: list[DeprecatedUsage] = []
    for (operation, consumer), calls in sorted(
        tally.deprecated.items(), key=lambda item: (-item[1], item[0])
    )[:MAX_USAGE]:
        owners = tally.operations.get(operation, set())
        owner = next(iter(owners)) if len(owners) == 1 else ("", "")
        deprecated.append(
            DeprecatedUsage(
                operation=operation,
                consumer=consumer,
                calls=int(calls),
                api=owner[0],
                version=owner[1],
            )
        )

    apis: list[ApiSummary] = []
    for (name, version), api in sorted(tally.apis.items())[:MAX_APIS]:
        calls = sum(api.status.values())
        errors = sum(v for k, v in api.status.items() if k in ("4xx", "5xx"))
        apis.append(
            ApiSummary(
                api=name,
                version=version,
                calls=int(calls),
                error_rate=_rate(errors, calls),
                by_status_class=[
                    StatusClassShare(status_class=k, calls=int(v), rate=_rate(v, calls))
                    for k, v in sorted(api.status.items())
                    if v > 0
                ][:10],
                errors_by_class=[
                    ErrorClassShare(error_class=k, calls=v, rate=_rate(v, calls))
                    for k, v in _by_count(api.errors)[:MAX_CLASSES]
                ],
                rate_limited_share=_rate(api.errors.get("429", 0.0), calls),
                p95_gateway_latency_seconds=_seconds(histogram_quantile(0.95, api.gateway)),
                p95_sor_latency_seconds=_seconds(histogram_quantile(0.95, api.sor)),
                top_consumers=[
                    ConsumerVolume(consumer=k, calls=v, share=_rate(v, calls))
                    for k, v in _by_count(api.consumers)[:top]
                ],
                deprecated_calls=[
                    d for d in deprecated if (d.api, d.version) == (name, version)
                ],
            )
        )

    systems: list[SystemSummary] = []
    for system_name, system in sorted(tally.systems.items())[:MAX_SMALL]:
        calls = sum(system.outcomes.values())
        failures = {k: v for k, v in system.outcomes.items() if k != "ok"}
        systems.append(
            SystemSummary(
                system=system_name,
                calls=int(calls),
                error_rate=_rate(sum(failures.values()), calls),
                errors_by_class=[
                    ErrorClassShare(error_class=k, calls=v, rate=_rate(v, calls))
                    for k, v in _by_count(failures)[:MAX_CLASSES]
                ],
                p95_latency_seconds=_seconds(histogram_quantile(0.95, system.latency)),
            )
        )

    by_plan = [
        PlanDecisions(
            plan=plan,
            decisions=int(sum(outcomes.values())),
            limited=int(outcomes.get("limited", 0.0)),
            limited_share=_rate(outcomes.get("limited", 0.0), sum(outcomes.values())),
        )
        for plan, outcomes in sorted(tally.plans.items())[:MAX_SMALL]
    ]
    decisions = sum(p.decisions for p in by_plan)
    limited = sum(p.limited for p in by_plan)

    flows = [
        FlowStepSummary(
            flow=flow,
            step=step,
            outcomes=[OutcomeCount(outcome=k, count=v) for k, v in _by_count(outcomes)][:MAX_SMALL],
            sla_breaches=int(tally.sla.get((flow, step), 0.0)),
        )
        for (flow, step), outcomes in sorted(
            {**{key: {} for key in tally.sla}, **tally.steps}.items()
        )[:MAX_APIS]
    ]

    return GovernanceReport(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        apis=apis,
        systems=systems,
        rate_limits=RateLimitSummary(
            decisions=decisions,
            limited=limited,
            limited_share=_rate(limited, decisions),
            by_plan=by_plan,
        ),
        deprecated_usage=deprecated,
        idempotency=[
            OutcomeCount(outcome=k, count=v) for k, v in _by_count(tally.idempotency)
        ][:MAX_SMALL],
        auth_failures=[ReasonCount(reason=k, count=v) for k, v in _by_count(tally.auth)][
            :MAX_SMALL
        ],
        flows=flows,
        dead_letters=[
            DeadLetterDepth(stream=k, depth=max(0, int(v))) for k, v in sorted(tally.dlq.items())
        ][:MAX_SMALL],
    )


def governance_report(
    metrics: GatewayMetrics, *, top_consumers: int = 5, tenant: str | None = None
) -> GovernanceReport:
    """The report from the live registry (all workers' in multiprocess mode); with
    ``tenant``, of that tenant's calls alone."""
    families = metrics.collect()
    if tenant is not None:
        families = tenant_view(families, tenant)
    return build_report(families, top_consumers=top_consumers)


def governance_report_from_text(text: str, *, top_consumers: int = 5) -> GovernanceReport:
    """The report from a scraped /metrics body (Prometheus text format)."""
    return build_report(text_string_to_metric_families(text), top_consumers=top_consumers)


# -- rendering --------------------------------------------------------------------------


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _calls(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def render_text(report: GovernanceReport) -> str:
    """Plain text for ``q2c governance report``."""
    lines = [f"Q2C governance report, from live metrics at {report.generated_at}", ""]
    lines.append("APIs")
    if not report.apis:
        lines.append("  no calls yet")
    for api in report.apis:
        classes = ", ".join(f"{s.status_class} {_pct(s.rate)}" for s in api.by_status_class)
        lines.append(
            f"  {api.api} {api.version}: {_calls(api.calls)}, {_pct(api.error_rate)} errors"
            f" ({classes}), {_pct(api.rate_limited_share)} rate-limited"
        )
        lines.append(
            f"    p95 gateway {_ms(api.p95_gateway_latency_seconds)}, "
            f"p95 SoR {_ms(api.p95_sor_latency_seconds)}"
        )
        if api.errors_by_class:
            causes = ", ".join(
                f"{e.error_class} {e.calls} ({_pct(e.rate)})" for e in api.errors_by_class
            )
            lines.append(f"    errors by class: {causes}")
        if api.top_consumers:
            lines.append(
                "    top consumers: "
                + ", ".join(f"{c.consumer} {c.calls} ({_pct(c.share)})" for c in api.top_consumers)
            )
        for usage in api.deprecated_calls:
            lines.append(f"    deprecated {usage.operation} by {usage.consumer}: {usage.calls}")
    lines.append("")
    lines.append("Systems of record")
    if not report.systems:
        lines.append("  no calls yet")
    for system in report.systems:
        failures = ", ".join(f"{e.error_class} {e.calls}" for e in system.errors_by_class)
        lines.append(
            f"  {system.system}: {_calls(system.calls)}, {_pct(system.error_rate)} errors"
            + (f" ({failures})" if failures else "")
            + f", p95 {_ms(system.p95_latency_seconds)}"
        )
    limits = report.rate_limits
    plans = ", ".join(f"{p.plan} {_pct(p.limited_share)} of {p.decisions}" for p in limits.by_plan)
    lines += [
        "",
        f"Rate limits: {limits.decisions} decisions, {limits.limited} limited "
        f"({_pct(limits.limited_share)})" + (f"; by plan: {plans}" if plans else ""),
    ]
    lines.append("Deprecated API usage:" + ("" if report.deprecated_usage else " none"))
    for usage in report.deprecated_usage:
        where = f" ({usage.api} {usage.version})" if usage.api else ""
        lines.append(f"  {usage.operation}{where} by {usage.consumer}: {usage.calls}")
    lines.append(
        "Idempotency: "
        + (", ".join(f"{o.outcome} {o.count}" for o in report.idempotency) or "none")
    )
    lines.append(
        "Auth failures: "
        + (", ".join(f"{r.reason} {r.count}" for r in report.auth_failures) or "none")
    )
    if report.flows:
        lines.append("Flows:")
        for step in report.flows:
            outcomes = ", ".join(f"{o.outcome} {o.count}" for o in step.outcomes)
            lines.append(
                f"  {step.flow}/{step.step}: {outcomes or 'no runs'}; "
                f"SLA breaches {step.sla_breaches}"
            )
    if report.dead_letters:
        lines.append(
            "Dead letters: " + ", ".join(f"{d.stream} {d.depth}" for d in report.dead_letters)
        )
    return "\n".join(lines) + "\n"
