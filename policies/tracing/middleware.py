"""Pure-ASGI tracing edge: one trace context per request, ids echoed on the response."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from policies.tracing.context import (
    TraceContext,
    current,
    new_span_id,
    new_trace_id,
    parse_traceparent,
)

Scope = dict[str, Any]
ASGIApp = Any
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class TracingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How trace and request ids are taken from and returned to callers."""

    # Trust an incoming traceparent (True behind your own edge; False makes
    # every request a new trace root).
    accept_incoming: bool = True
    request_id_header: str = "x-request-id"
    max_tracestate_length: int = 512

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]{1,64}", self.request_id_header):
            raise ValueError("tracing.request_id_header must be a lower-case header name")


class TracingMiddleware:
    def __init__(self, app: ASGIApp, config: TracingConfig | None = None) -> None:
        self.app = app
        self.config = config or TracingConfig()
        self._request_id_header = self.config.request_id_header.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traceparent = tracestate = request_id = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
            elif name == self._request_id_header:
                request_id = value.decode("latin-1")
        parsed = parse_traceparent(traceparent) if self.config.accept_incoming else None
        trace_id, sampled = parsed or (new_trace_id(), True)
        if request_id is None or not _REQUEST_ID.match(request_id):
            request_id = trace_id
        if tracestate and len(tracestate) > self.config.max_tracestate_length:
            tracestate = None
        context = TraceContext(
            trace_id=trace_id,
            span_id=new_span_id(),
            sampled=sampled,
            tracestate=(tracestate or "") if parsed else "",
            request_id=request_id,
        )
        scope.setdefault("state", {})["trace"] = context
        token = current.set(context)
        echo = [
            (b"x-request-id", request_id.encode()),
            (b"x-trace-id", trace_id.encode()),
        ]

        async def send_with_ids(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *echo]
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            current.reset(token)
