"""W3C header parsing: invalid trace headers are ignored, never an error."""

from __future__ import annotations

import pytest

from policies.context import RequestContext, current_request
from policies.tracing import outbound_headers, parse_traceparent
from policies.tracing.context import (
    parse_parent,
    valid_baggage,
    valid_request_id,
    valid_tracestate,
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


def test_tracestate_is_kept_when_well_formed_and_bounded() -> None:
    assert valid_tracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7", 512) == (
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    )
    assert valid_tracestate("tenant@vendor=x", 512) == "tenant@vendor=x"


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
    assert valid_tracestate(value, limit) == ""


def test_baggage_is_kept_when_well_formed_and_bounded() -> None:
    value = "userId=alice,serverNode=DF%2028,isProduction=false;ttl=60"
    assert valid_baggage(value, 8192) == value
    assert valid_baggage("a=1 , b=2", 8192) == "a=1,b=2"
    assert valid_baggage("a=1", 2) == ""
    assert valid_baggage("a b=1", 8192) == ""
    assert valid_baggage("novalue", 8192) == ""
    assert valid_baggage('k="quoted"', 8192) == ""
    assert valid_baggage(",".join(f"k{i}=v" for i in range(65)), 8192) == ""


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
    context.trace_id, context.span_id, context.sampled = TRACE, SPAN, False
    context.tracestate, context.request_id, context.baggage = "congo=t61", "req-1", "userId=alice"
    token = current_request.set(context)
    try:
        assert outbound_headers() == {
            "traceparent": f"00-{TRACE}-{SPAN}-00",
            "tracestate": "congo=t61",
            "baggage": "userId=alice",
            "X-Request-Id": "req-1",
        }
    finally:
        current_request.reset(token)
