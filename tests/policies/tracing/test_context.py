"""W3C headers through OpenTelemetry's propagators: invalid trace headers are ignored,
never an error, and what is valid is passed on."""

from __future__ import annotations

import pytest
from opentelemetry import trace as otel

from policies.context import RequestContext, current_request
from policies.tracing import outbound_headers, parse_traceparent
from policies.tracing.context import (
    BAGGAGE,
    TRACE_CONTEXT,
    caller_baggage,
    parse_parent,
    remote_parent,
    valid_request_id,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_a_valid_traceparent_gives_trace_id_parent_span_and_sampled_flag() -> None:
    assert parse_traceparent(f"00-{TRACE}-{SPAN}-01") == (TRACE, True)
    assert parse_traceparent(f"00-{TRACE}-{SPAN}-00") == (TRACE, False)
    parent = parse_parent(f" 00-{TRACE}-{SPAN}-03 ")
    assert parent is not None
    assert (parent.trace_id, parent.span_id, parent.sampled) == (TRACE, SPAN, True)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{TRACE.upper()}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}",
        f"00-{TRACE}-{SPAN}-01\n",
        f"00-{TRACE[:-1]}-{SPAN}-01",
        "not a traceparent",
    ],
)
def test_invalid_traceparents_are_ignored(value: str | None) -> None:
    assert parse_parent(value) is None
    assert parse_traceparent(value) is None


def forwarded_tracestate(value: str, limit: int) -> str:
    """The tracestate a system of record is sent for a caller's ``value``."""
    headers: dict[str, str] = {}
    TRACE_CONTEXT.inject(headers, remote_parent(f"00-{TRACE}-{SPAN}-01", value, limit))
    assert headers["traceparent"] == f"00-{TRACE}-{SPAN}-01"  # kept whatever the tracestate
    return headers.get("tracestate", "")


def forwarded_baggage(value: str, limit: int) -> str:
    headers: dict[str, str] = {}
    BAGGAGE.inject(headers, caller_baggage(value, limit))
    return headers.get("baggage", "")


def test_tracestate_is_kept_when_well_formed_and_bounded() -> None:
    assert forwarded_tracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7", 512) == (
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    )
    assert forwarded_tracestate("tenant@vendor=x", 512) == "tenant@vendor=x"


@pytest.mark.parametrize(
    ("value", "limit"),
    [
        ("Congo=t61", 512),
        ("congo", 512),
        ("congo=a=b", 512),
        ("congo=" + "x" * 600, 512),
        (",".join(f"k{i}=v" for i in range(33)), 4096),
        ("", 512),
    ],
)
def test_malformed_or_oversized_tracestate_is_dropped(value: str, limit: int) -> None:
    assert forwarded_tracestate(value, limit) == ""


def test_baggage_is_kept_when_well_formed_and_bounded() -> None:
    assert forwarded_baggage("userId=alice,isProduction=false", 8192) == (
        "userId=alice,isProduction=false"
    )
    assert forwarded_baggage("a=1 , b=2", 8192) == "a=1,b=2"
    assert forwarded_baggage("a=1", 2) == ""  # over the configured bound: dropped whole
    # The propagator skips malformed members one by one.
    assert forwarded_baggage("a b=1,ok=1", 8192) == "ok=1"
    assert forwarded_baggage("novalue", 8192) == ""
    assert forwarded_baggage('k="quoted"', 8192) == ""


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("req-123_abc.def:9", "req-123_abc.def:9"),
        ("has space", ""),
        ("x" * 129, ""),
        ("line\nbreak", ""),
        ("id\n", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_request_ids_are_kept_only_when_short_and_safe(value: str | None, kept: str) -> None:
    assert valid_request_id(value) == kept


def test_outbound_headers_carry_the_current_request() -> None:
    assert outbound_headers() == {}
    context = RequestContext()
    caller = remote_parent(f"00-{TRACE}-{SPAN}-00", "congo=t61", 512)
    caller = caller_baggage("userId=alice", 8192, caller)
    state = otel.get_current_span(caller).get_span_context().trace_state
    server = otel.NonRecordingSpan(
        otel.SpanContext(int(TRACE, 16), 0x1234, False, otel.TraceFlags(0), trace_state=state)
    )
    context.trace = otel.set_span_in_context(server, caller)
    context.request_id = "req-1"
    token = current_request.set(context)
    try:
        assert outbound_headers() == {
            "traceparent": f"00-{TRACE}-{0x1234:016x}-00",
            "tracestate": "congo=t61",
            "baggage": "userId=alice",
            "X-Request-Id": "req-1",
        }
    finally:
        current_request.reset(token)
