"""OpenTelemetry wiring: one tracer provider per gateway, server and client spans.

Cost is the design constraint. The SDK spends microseconds even on a span it
will drop (context objects, a sampler call, id generation), so the sampling
decision is taken here first, with the same arithmetic as the configured SDK
sampler, and the SDK is only entered for requests that will be recorded. An
unsampled request costs two random ids and a few string operations.

The provider is never installed globally: tests and embedded gateways can hold
several, and nothing else in the process should start writing into ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import TracebackType
from urllib.parse import urlsplit

from opentelemetry import trace as otel
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind, Status, StatusCode, TraceFlags, TraceState

from policies.context import RequestContext, current_request
from policies.tracing.config import TracingConfig
from policies.tracing.context import RemoteParent
from policies.tracing.ring import TENANT_ATTRIBUTE, SpanRing
from policies.tracing.view import TracePage

INSTRUMENTATION_NAME = "q2c.gateway"
_LOW_64 = (1 << 64) - 1
_EMPTY = Context()
# The SDK picks a root's trace id itself; the middleware has already chosen it
# (and sampled on it), so the id generator hands that one over.
_preset_trace_id: ContextVar[int] = ContextVar("q2c_preset_trace_id", default=0)


class _PresetTraceIds(RandomIdGenerator):
    def generate_trace_id(self) -> int:
        return _preset_trace_id.get() or super().generate_trace_id()


def sdk_sampler(config: TracingConfig) -> Sampler:
    """The SDK sampler equivalent to ``Tracer.decide`` for ``config``."""
    if config.sampler == "always_on":
        return ALWAYS_ON
    if config.sampler == "always_off":
        return ALWAYS_OFF
    return ParentBased(TraceIdRatioBased(config.ratio))


class ServerSpan:
    """A recorded request's SERVER span and the tracer that records its SoR calls
    (``RequestContext.server_span``; only sampled, recorded requests have one)."""

    __slots__ = ("span", "tracer")

    def __init__(self, tracer: Tracer, span: otel.Span) -> None:
        self.tracer = tracer
        self.span = span


class Tracer:
    """Samples, records and keeps the gateway's spans (one per process)."""

    def __init__(self, config: TracingConfig | None = None) -> None:
        self.config = config = config or TracingConfig()
        self._mode = config.sampler
        self._bound = TraceIdRatioBased.get_bound_for_rate(config.ratio)
        self.ring: SpanRing | None = SpanRing(config.ring_size) if config.ring_size else None
        self.otlp_exporter: SpanExporter | None = None
        resource = (
            Resource.get_empty()
            .merge(OTELResourceDetector().detect())
            .merge(Resource({SERVICE_NAME: config.service_name}))
        )
        self.provider = TracerProvider(
            sampler=sdk_sampler(config),
            resource=resource,
            shutdown_on_exit=False,
            id_generator=_PresetTraceIds(),
            span_limits=SpanLimits(max_span_attributes=64, max_span_attribute_length=1024),
        )
        if self.ring is not None:
            self.provider.add_span_processor(self.ring)
        url = config.otlp_traces_url
        if url is not None:
            # Imported here: protobuf and the HTTP stack load only when exporting.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.otlp_exporter = OTLPSpanExporter(endpoint=url)
            self.provider.add_span_processor(BatchSpanProcessor(self.otlp_exporter))
        # With nowhere to send spans, building them would be pure cost.
        self.recording = self.ring is not None or self.otlp_exporter is not None
        self._tracer = self.provider.get_tracer(INSTRUMENTATION_NAME)

    def decide(self, parent: RemoteParent | None, trace_id: int) -> bool:
        """The sampling decision ``sdk_sampler(config)`` would take, without the SDK."""
        mode = self._mode
        if mode == "parent_based_ratio":
            if parent is not None:
                return parent.sampled
            return (trace_id & _LOW_64) < self._bound
        return mode == "always_on"

    def start_server_span(
        self,
        method: str,
        path: str,
        parent: RemoteParent | None,
        trace_id: int,
        tracestate: str,
    ) -> otel.Span | None:
        """A recording SERVER span for a request ``decide`` sampled, or None."""
        attributes = {"http.request.method": method, "url.path": path[:1024]}
        if parent is not None:
            remote = otel.SpanContext(
                trace_id=trace_id,
                span_id=int(parent.span_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED if parent.sampled else 0),
                trace_state=TraceState.from_header([tracestate]) if tracestate else None,
            )
            context = otel.set_span_in_context(otel.NonRecordingSpan(remote), _EMPTY)
            span = self._tracer.start_span(
                method, context=context, kind=SpanKind.SERVER, attributes=attributes
            )
        else:
            token = _preset_trace_id.set(trace_id)
            try:
                span = self._tracer.start_span(
                    method, context=_EMPTY, kind=SpanKind.SERVER, attributes=attributes
                )
            finally:
                _preset_trace_id.reset(token)
        return span if span.is_recording() else None

    def start_client_span(
        self,
        server: otel.Span,
        context: RequestContext,
        system: str,
        operation: str,
        method: str,
        url: str,
    ) -> otel.Span | None:
        consumer = context.consumer
        attributes: dict[str, str | int] = {
            "q2c.system": system,
            "q2c.operation": operation,
            "http.request.method": method,
            **_url_attributes(url),
        }
        if consumer is not None:
            attributes[TENANT_ATTRIBUTE] = consumer.tenant
        span = self._tracer.start_span(
            f"{system} {operation}",
            context=otel.set_span_in_context(server, _EMPTY),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        return span if span.is_recording() else None

    def page(
        self,
        *,
        trace_id: str | None = None,
        tenant: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> TracePage:
        """Recent finished spans from the ring, newest first (empty without a ring)."""
        if self.ring is None:
            return TracePage(data=[])
        return self.ring.page(trace_id=trace_id, tenant=tenant, before=before, limit=limit)

    def force_flush(self, timeout_millis: int = 5000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop the exporters; call once when the gateway stops."""
        self.provider.shutdown()


def finish_server_span(
    span: otel.Span,
    *,
    name: str,
    route: str | None,
    status: int,
    consumer: str,
    tenant: str | None,
    error_type: str | None,
) -> None:
    span.update_name(name)
    attributes: dict[str, str | int] = {"q2c.consumer": consumer}
    if status:
        attributes["http.response.status_code"] = status
    if route is not None:
        attributes["http.route"] = route
    if tenant is not None:
        attributes[TENANT_ATTRIBUTE] = tenant
    if error_type is None and status >= 500:
        error_type = str(status)
    if error_type is not None:
        attributes["error.type"] = error_type
        if status >= 500 or status == 0:
            span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(attributes)
    span.end()


def _url_attributes(url: str) -> dict[str, str | int]:
    """server.address, server.port and url.full without credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return {}
    shown_host = f"[{host}]" if ":" in host else host
    attributes: dict[str, str | int] = {
        "server.address": host,
        "url.full": f"{parts.scheme}://{shown_host}{f':{port}' if port else ''}{parts.path}",
    }
    if port:
        attributes["server.port"] = port
    return attributes


class _SorCall:
    """One attempt of a system-of-record call (see ``sor_call_span``)."""

    __slots__ = ("_args", "_span")

    def __init__(self, system: str, operation: str, method: str, url: str) -> None:
        self._args = (system, operation, method, url)
        self._span: otel.Span | None = None

    def __enter__(self) -> Mapping[str, str]:
        context = current_request.get()
        if context is None or not context.trace_id:
            return {}
        recorded: ServerSpan | None = context.server_span
        span = None
        if recorded is not None:
            span = self._span = recorded.tracer.start_client_span(
                recorded.span, context, *self._args
            )
        if span is not None:
            span_id = span.get_span_context().span_id
            headers = {"traceparent": f"00-{context.trace_id}-{span_id:016x}-01"}
        else:
            # Unrecorded: the SoR's parent is the server span, as outbound_headers says.
            headers = {"traceparent": context.traceparent()}
        if context.tracestate:
            headers["tracestate"] = context.tracestate
        return headers

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is not None:
            if exc_type is not None:
                span.set_attribute("error.type", exc_type.__qualname__)
                span.set_status(Status(StatusCode.ERROR))
            span.end()


def sor_call_span(system: str, operation: str, method: str, url: str) -> _SorCall:
    """``Upstream(instrument=...)``: a CLIENT span around one attempt of a SoR call.

    Yields the ``traceparent`` (and ``tracestate``) naming this attempt's span as
    the SoR's parent. Outside a request it yields nothing and records nothing; the
    attempt's time reaches the request's SoR tracker through the upstream observer
    (``policies.context.sor_observer``).
    """
    return _SorCall(system, operation, method, url)
