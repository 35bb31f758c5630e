"""Pure-ASGI tracing edge: trace context, the request's server span, ids echoed
on the response and one access-log line per request.

It wraps the whole application (outside routing, so 404s are traced too) and is
the outermost policy, so it opens the request's context (policies/context.py)
and fills in the trace context. The route template and the consumer are written
by the router and auth further in, so they are read after the inner app returns.
"""

from __future__ import annotations

import asyncio
import time

from opentelemetry import trace as otel

from policies.asgi import ASGIApp, Message, Receive, Scope, Send
from policies.context import RequestContext, enter, leave
from policies.tracing import logging as access
from policies.tracing.config import TracingConfig
from policies.tracing.context import EMPTY, caller_baggage, remote_parent, valid_request_id
from policies.tracing.otel import ServerSpan, Tracer, finish_server_span

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
        parent = EMPTY
        if traceparent is not None and self._accept:
            parent = remote_parent(traceparent, tracestate, self._max_tracestate)
        if baggage is not None and self._baggage:
            parent = caller_baggage(baggage, self._max_baggage, parent)
        method = scope.get("method", "GET")
        if method not in _METHODS:
            method = "_OTHER"
        tracer = self.tracer
        # The SDK's sampler decides; an unsampled span only carries the ids.
        server = tracer.start_server_span(method, scope.get("path", ""), parent)
        ids = server.get_span_context()
        trace_id = f"{ids.trace_id:032x}"
        span = server if server.is_recording() else None
        if request_id is None or not (request_id := valid_request_id(request_id)):
            request_id = trace_id
        context, token = enter(scope, started=started)
        context.trace = otel.set_span_in_context(server, parent)
        context.trace_id = trace_id
        context.span_id = f"{ids.span_id:016x}"
        context.sampled = ids.trace_flags.sampled
        context.request_id = request_id
        if span is not None and tracer.recording:
            context.server_span = ServerSpan(tracer, span)
        log = self._log_requests and access.access_enabled()
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
            leave(context, token)
            if span is not None or log:
                self._finish(scope, context, span, started, method, status, error_type, log)

    def _finish(
        self,
        scope: Scope,
        context: RequestContext,
        span: otel.Span | None,
        started: float,
        method: str,
        status: int,
        error_type: str | None,
        log: bool,
    ) -> None:
        route = scope.get("path_template") if scope.get("route_handler") is not None else None
        route = str(route) if route else None
        consumer = context.consumer
        client_id = context.client_id
        tenant = consumer.tenant if consumer else None
        if span is not None:
            finish_server_span(
                span,
                name=f"{method} {route or UNMATCHED}",
                route=route,
                status=status,
                consumer=client_id,
                tenant=tenant,
                error_type=error_type,
            )
        if log:
            ended = time.perf_counter()
            sor = context.sor.waited(ended)
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
                    "gateway_ms": round(max(0.0, ended - started - sor) * 1000, 3),
                    "sor_ms": round(sor * 1000, 3),
                    "sor_calls": context.sor.calls,
                }
            )
