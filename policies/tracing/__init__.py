"""W3C Trace Context, OpenTelemetry spans, request ids and the JSON access log.

Wiring (composition root), one ``Tracer`` per process:

* ``tracer = Tracer(settings.tracing)``; ``tracer.shutdown()`` when the app stops
  (flushes the OTLP batch exporter when one is configured);
* wrap the whole app, outermost: ``TracingMiddleware(MetricsMiddleware(app, ...),
  settings.tracing, tracer=tracer)``;
* every system of record: ``Upstream(headers=outbound_headers,
  instrument=sor_call_span, observe=sor_observer(...))``: the SoR sees the
  request's trace with the attempt's CLIENT span as parent, and the request's
  SoR tracker (policies/context.py) gets the time the access line reports;
* mount ``tracing_routes(tracer, opt=governed("ops:read"))``;
* at start-up ``configure_logging(settings.tracing.log_level)`` (and turn off the
  server's own access log);
* OpenAPI: ``TRACING_OPENAPI_HEADERS`` on every response, ``TRACING_PARAMETERS``
  optionally on every operation.

The middleware writes the trace context into the request's ``RequestContext``
(policies/context.py), which also names the server span; problem bodies, the
``X-Trace-Id`` header, the access line and the SoR's ``traceparent`` all read it
there, so their ids agree.
"""

from policies.tracing.config import TracingConfig
from policies.tracing.context import outbound_headers, parse_parent, parse_traceparent
from policies.tracing.logging import ACCESS_LOGGER, JsonFormatter, configure_logging
from policies.tracing.middleware import TracingMiddleware
from policies.tracing.openapi import (
    TRACES_RESPONSES,
    TRACING_HEADERS,
    TRACING_OPENAPI_HEADERS,
    TRACING_PARAMETERS,
)
from policies.tracing.otel import Tracer, sor_call_span
from policies.tracing.routes import TRACES_PATH, tracing_routes
from policies.tracing.view import SpanView, TracePage

__all__ = [
    "ACCESS_LOGGER",
    "TRACES_PATH",
    "TRACES_RESPONSES",
    "TRACING_HEADERS",
    "TRACING_OPENAPI_HEADERS",
    "TRACING_PARAMETERS",
    "JsonFormatter",
    "SpanView",
    "TracePage",
    "Tracer",
    "TracingConfig",
    "TracingMiddleware",
    "configure_logging",
    "outbound_headers",
    "parse_parent",
    "parse_traceparent",
    "sor_call_span",
    "tracing_routes",
]
