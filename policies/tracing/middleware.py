"""Pure-ASGI tracing edge: trace context, the request's server span, ids echoed
on the response and one access-log line per request.

It wraps the whole application (outside routing, so 404s are traced too); the
route template and the consumer are written into the same scope by the router
and auth, so they are read after the inner app returns.
"""

from __future__ import annotations

import asyncio
import time

from policies.asgi import ASGIApp, Message, Receive, Scope, Send
from policies.consumer import get_consumer
from policies.tracing import logging as access
from policies.tracing.config import TracingConfig
from policies.tracing.context import (
    TraceContext,
    current,
    new_span_id,
    new_trace_id_int,
    parse_parent,
    valid_baggage,
    valid_request_id,
    valid_tracestate,
)
from policies.tracing.otel import RequestTrace, Tracer, active_request, finish_server_span

__all__ = ["TracingConfig", "TracingMiddleware"]

# nginx's convention for a client that went away before the answer.
CLIENT_CLOSED = 499
UNMATCHED = "unmatched"
# Anything else becomes "_OTHER" (OpenTelemetry semconv): span names and log
# fields stay bounded whatever a client puts in the request line.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"}
)


class TracingMiddleware:
    def __init__(
        self, app: ASGIApp, config: TracingConfig | None = None, *, tracer: Tracer | None = None
    ) -> None:
        self.app = app
        self.config = config = config or (tracer.config if tracer else TracingConfig())
        # The composition root passes its Tracer (it also serves the span view and
        # is shut down with the app); standalone use gets one of its own.
        self.tracer = tracer if tracer is not None else Tracer(config)
        self._request_id_header = config.request_id_header.encode()
        self._accept = config.accept_incoming
        self._baggage = config.accept_incoming and config.propagate_baggage
        self._max_tracestate = config.max_tracestate_length
        self._max_baggage = config.max_baggage_length
        self._log_requests = config.log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        traceparent = tracestate = baggage = request_id = None
        request_id_header = self._request_id_header
        for name, value in scope["headers"]:
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
            elif name == b"baggage":
                baggage = value.decode("latin-1")
            elif name == request_id_header:
                request_id = value.decode("latin-1")
        parent = parse_parent(traceparent) if traceparent and self._accept else None
        if parent is not None:
            trace_id = parent.trace_id
            trace_int = int(trace_id, 16)
            tracestate = valid_tracestate(tracestate, self._max_tracestate)
        else:
            trace_int = new_trace_id_int()
            trace_id = f"{trace_int:032x}"
            tracestate = ""
        tracer = self.tracer
        sampled = tracer.decide(parent, trace_int)
        method = scope.get("method", "GET")
        if method not in _METHODS:
            method = "_OTHER"
        span = None
        if sampled and tracer.recording:
            span = tracer.start_server_span(
                method, scope.get("path", ""), parent, trace_int, tracestate
            )
        span_id = f"{span.get_span_context().span_id:016x}" if span else new_span_id()
        if request_id is None or not (request_id := valid_request_id(request_id)):
            request_id = trace_id
        context = TraceContext(
            trace_id=trace_id,
            span_id=span_id,
            sampled=sampled,
            tracestate=tracestate,
            request_id=request_id,
            baggage=valid_baggage(baggage, self._max_baggage) if baggage and self._baggage else "",
        )
        scope.setdefault("state", {})["trace"] = context
        trace_token = current.set(context)
        log = self._log_requests and access.access_enabled()
        # Only a recorded span or an access line needs the request's SoR time.
        request = RequestTrace(tracer, span, scope, started) if span is not None or log else None
        request_token = active_request.set(request) if request is not None else None
        echo = [(b"x-request-id", request_id.encode()), (b"x-trace-id", trace_id.encode())]
        status = 0

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), *echo]
            await send(message)

        error_type = None
        try:
            await self.app(scope, receive, send_with_ids)
        except asyncio.CancelledError:
            status = status or CLIENT_CLOSED
            raise
        except BaseException as exc:
            error_type = type(exc).__qualname__
            status = status or 500
            raise
        finally:
            current.reset(trace_token)
            if request is not None:
                if request_token is not None:
                    active_request.reset(request_token)
                request.closed = True
                self._finish(scope, request, context, method, status, error_type, log)

    def _finish(
        self,
        scope: Scope,
        request: RequestTrace,
        context: TraceContext,
        method: str,
        status: int,
        error_type: str | None,
        log: bool,
    ) -> None:
        route = scope.get("path_template") if scope.get("route_handler") is not None else None
        route = str(route) if route else None
        consumer = get_consumer(scope)
        client_id = consumer.client_id if consumer else "anonymous"
        tenant = consumer.tenant if consumer else None
        if request.span is not None:
            finish_server_span(
                request.span,
                name=f"{method} {route or UNMATCHED}",
                route=route,
                status=status,
                consumer=client_id,
                tenant=tenant,
                error_type=error_type,
            )
        if log:
            ended = time.perf_counter()
            sor = request.sor_seconds(ended)
            access.log_request(
                {
                    "trace_id": context.trace_id,
                    "span_id": context.span_id,
                    "request_id": context.request_id,
                    "sampled": context.sampled,
                    "method": method,
                    "route": route or UNMATCHED,
                    "status": status,
                    "consumer": client_id,
                    "tenant": tenant,
                    "gateway_ms": round(max(0.0, ended - request.started - sor) * 1000, 3),
                    "sor_ms": round(sor * 1000, 3),
                    "sor_calls": request.sor_calls,
                }
            )
