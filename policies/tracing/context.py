"""W3C Trace Context and Baggage through OpenTelemetry's own propagators: what
callers send, and what the systems of record are sent.

``TraceContextTextMapPropagator`` and ``W3CBaggagePropagator`` do the parsing and
the formatting; a header they reject is ignored as if absent, never an error.
What this module adds is the gateway's own bounds (``max_tracestate_length``,
``max_baggage_length``), the ``X-Request-Id`` check, and one set of outbound
headers per request, built on first use and shared by every SoR call it makes.
The request's trace lives in its ``RequestContext`` (policies/context.py).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from typing import NamedTuple

from opentelemetry import trace as otel
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from policies.context import RequestContext, current_request

TRACE_CONTEXT = TraceContextTextMapPropagator()
BAGGAGE = W3CBaggagePropagator()
# What a system of record is sent: the parent span and its tracestate, and the
# caller's baggage. Our own instance: the process-global one (OTEL_PROPAGATORS)
# belongs to whoever embeds the gateway.
PROPAGATOR = CompositePropagator([TRACE_CONTEXT, BAGGAGE])
EMPTY = Context()

# The propagators log a warning for each malformed header. Those headers come
# from callers, so the warnings would let anyone write to the gateway's log at
# will; the headers are dropped either way (configure_logging raises these).
PROPAGATION_LOGGERS = (
    "opentelemetry.trace.propagation.tracecontext",
    "opentelemetry.baggage.propagation",
    "opentelemetry.trace.span",  # TraceState
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RemoteParent(NamedTuple):
    """The span named by a valid ``traceparent``."""

    trace_id: str
    span_id: str
    sampled: bool


def remote_parent(
    traceparent: str, tracestate: str | None, max_tracestate_length: int, into: Context = EMPTY
) -> Context:
    """``into`` with the caller's span (and its tracestate) as the parent, or ``into``
    unchanged when the traceparent is invalid. A tracestate over the bound, or one
    the propagator finds malformed, is dropped whole; the traceparent still counts."""
    # The propagator's pattern ends in `$`, which also matches before a final "\n".
    if "\n" in traceparent:
        return into
    carrier = {"traceparent": traceparent}
    if tracestate and len(tracestate) <= max_tracestate_length:
        carrier["tracestate"] = tracestate
    return TRACE_CONTEXT.extract(carrier, into)


def caller_baggage(baggage: str, max_length: int, into: Context = EMPTY) -> Context:
    """``into`` with the caller's W3C baggage entries, to pass on to systems of record
    (the gateway never reads them). Over the bound it is dropped whole; the
    propagator skips malformed members one by one."""
    if len(baggage) > max_length:
        return into
    return BAGGAGE.extract({"baggage": baggage}, into)


def span_context_of(context: Context) -> otel.SpanContext | None:
    """The valid span context ``context`` names, if any."""
    span_context = otel.get_current_span(context).get_span_context()
    return span_context if span_context.is_valid else None


def parse_parent(value: str | None) -> RemoteParent | None:
    """The trace id, span id and sampled flag of a traceparent; None for an absent or
    invalid header."""
    if not value:
        return None
    found = span_context_of(remote_parent(value, None, 0))
    if found is None:
        return None
    sampled = found.trace_flags.sampled
    return RemoteParent(f"{found.trace_id:032x}", f"{found.span_id:016x}", sampled)


def continued_trace(traceparent: str | None) -> Context:
    """Where work a request started (a quote-to-cash step) carries that request's trace
    on: a new span id under the same trace and sampling decision, as the parent the
    systems of record see; an empty context for an absent or invalid traceparent."""
    found = span_context_of(remote_parent(traceparent, None, 0)) if traceparent else None
    if found is None:
        return EMPTY
    step = otel.SpanContext(
        trace_id=found.trace_id,
        span_id=random.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=found.trace_flags,
        trace_state=found.trace_state,
    )
    return otel.set_span_in_context(otel.NonRecordingSpan(step), EMPTY)


def parse_traceparent(value: str | None) -> tuple[str, bool] | None:
    """(trace id, sampled) from a valid header; invalid headers are ignored, per the spec."""
    parent = parse_parent(value)
    return (parent.trace_id, parent.sampled) if parent else None


def valid_request_id(value: str | None) -> str:
    """A caller's request id if short and made of safe characters (it is echoed and logged)."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return ""


def trace_headers(context: RequestContext) -> Mapping[str, str]:
    """The request's ``traceparent`` (the gateway's server span as parent, or a recorded
    SoR call's span when tracing starts one), ``tracestate`` and ``baggage``, made once
    per request. Read-only: every SoR call of the request shares the mapping."""
    headers = context.trace_headers
    if headers is None:
        built: dict[str, str] = {}
        if context.trace is not None:
            PROPAGATOR.inject(built, context.trace)
        headers = context.trace_headers = built
    return headers


def outbound_headers() -> Mapping[str, str]:
    """``Upstream(headers=...)``: what carries the current request's trace to a system
    of record, and its request id; empty outside a request."""
    context = current_request.get()
    if context is None or context.trace is None:
        return {}
    headers = trace_headers(context)
    if context.request_id:
        return {**headers, "X-Request-Id": context.request_id}
    return headers


def quiet_propagation_warnings(level: int) -> None:
    """Caller-controlled headers never reach the log through the propagators' warnings."""
    for name in PROPAGATION_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.ERROR, level))
