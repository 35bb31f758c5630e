"""OpenTelemetry wiring: one tracer provider per gateway, server and client spans.

Every request starts its SERVER span through the SDK, so the SDK's sampler
(``ParentBased(TraceIdRatioBased(ratio))`` by default) takes the decision and
the SDK's id generator picks the ids. An unsampled request gets the SDK's
``NonRecordingSpan``: ids and a sampled flag to pass on, a few microseconds,
nothing recorded or exported (bench/edge_overhead.py measures it).

The provider is never installed globally: tests and embedded gateways can hold
several, and nothing else in the process should start writing into ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from urllib.parse import urlsplit

from opentelemetry import trace as otel
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from policies.context import RequestContext, current_request
from policies.tracing.config import TracingConfig
from policies.tracing.context import EMPTY, PROPAGATOR, remote_parent, trace_headers
from policies.tracing.ring import TENANT_ATTRIBUTE, SpanRing
from policies.tracing.view import TracePage

INSTRUMENTATION_NAME = "q2c.gateway"
TRANSACTION_ATTRIBUTE = "q2c.transaction_id"


def sdk_sampler(config: TracingConfig) -> Sampler:
    """The SDK sampler for ``config``: it decides for every request."""
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


class StepSpan:
    """A flow step's span: the trace context its calls carry and, when recorded, the
    ``RequestContext.server_span`` under which its SoR calls are recorded."""

    __slots__ = ("recorded", "span", "trace")

    def __init__(self, span: otel.Span, trace: Context, recorded: ServerSpan | None) -> None:
        self.span = span
        self.trace = trace
        self.recorded = recorded

    def end(self, error: BaseException | None) -> None:
        if error is not None:
            self.span.set_attribute("error.type", type(error).__qualname__)
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()


class Tracer:
    """Samples, records and keeps the gateway's spans (one per process)."""

    def __init__(self, config: TracingConfig | None = None) -> None:
        self.config = config = config or TracingConfig()
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
        # With nowhere to keep spans, a sampled request still passes its sampled flag
        # on, but records no SoR call spans.
        self.recording = self.ring is not None or self.otlp_exporter is not None
        self._tracer = self.provider.get_tracer(INSTRUMENTATION_NAME)

    def start_server_span(self, method: str, path: str, parent: Context = EMPTY) -> otel.Span:
        """The request's SERVER span, child of the caller's span in ``parent`` if any.

        The SDK samples it: unsampled, it is a ``NonRecordingSpan`` that only carries
        ids and the sampled flag; sampled, it records (and is kept when ``recording``).
        """
        return self._tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path[:1024]},
        )

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
            context=otel.set_span_in_context(server, EMPTY),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        return span if span.is_recording() else None

    def start_step(
        self, step: str, transaction_id: str, tenant: str, traceparent: str | None
    ) -> StepSpan:
        """An INTERNAL span for one attempt of a quote-to-cash step, child of the request
        that accepted the transaction (when its ``traceparent`` was kept), carrying the
        transaction id as the trace's business key; its SoR calls become its children."""
        parent = remote_parent(traceparent, None, 0) if traceparent else EMPTY
        span = self._tracer.start_span(
            f"q2c.flow {step}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes={
                TRANSACTION_ATTRIBUTE: transaction_id,
                "q2c.step": step,
                TENANT_ATTRIBUTE: tenant,
            },
        )
        recorded = ServerSpan(self, span) if self.recording and span.is_recording() else None
        return StepSpan(span, otel.set_span_in_context(span, EMPTY), recorded)

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
        if context is None or context.trace is None:
            return {}
        recorded: ServerSpan | None = context.server_span
        if recorded is not None:
            span = self._span = recorded.tracer.start_client_span(
                recorded.span, context, *self._args
            )
            if span is not None:
                headers: dict[str, str] = {}
                PROPAGATOR.inject(headers, otel.set_span_in_context(span, context.trace))
                return headers
        # Unrecorded: the SoR's parent is the server span, as outbound_headers says.
        return trace_headers(context)

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

    Yields the ``traceparent`` naming this attempt's span as the SoR's parent (the
    server span when the request is not recorded), with ``tracestate`` and the
    caller's ``baggage``, through the request's propagators. Outside a request it
    yields nothing and records nothing; the attempt's time reaches the request's SoR
    tracker through the upstream observer (``policies.context.sor_observer``).
    """
    return _SorCall(system, operation, method, url)
