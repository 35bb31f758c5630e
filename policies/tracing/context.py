"""The current request's trace context, readable anywhere below the edge."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str  # this gateway's span for the request
    sampled: bool = True
    tracestate: str = ""
    request_id: str = ""

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


current: ContextVar[TraceContext | None] = ContextVar("q2c_trace", default=None)


def new_span_id() -> str:
    return os.urandom(8).hex()


def new_trace_id() -> str:
    return os.urandom(16).hex()


def parse_traceparent(value: str | None) -> tuple[str, bool] | None:
    """(trace id, sampled) from a valid header; invalid headers are ignored, per the spec."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip())
    if not match:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, bool(int(flags, 16) & 1)


def outbound_headers() -> dict[str, str]:
    """Headers that carry the trace to a system of record."""
    context = current.get()
    if context is None:
        return {}
    headers = {"traceparent": context.traceparent()}
    if context.tracestate:
        headers["tracestate"] = context.tracestate
    if context.request_id:
        headers["X-Request-Id"] = context.request_id
    return headers
