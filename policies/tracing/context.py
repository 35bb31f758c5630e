"""W3C Trace Context and Baggage: parsing what callers send, and what the
systems of record are sent.

Parsing follows W3C Trace Context (level 1) and W3C Baggage: a header that does
not match the grammar is ignored as if absent, never an error. The request's own
trace context lives in its ``RequestContext`` (policies/context.py).
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

from policies.context import current_request

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

# tracestate list-member grammar (W3C Trace Context section 3.3.1).
_TRACESTATE_MEMBER = re.compile(
    r"(?:[a-z][_0-9a-z*/-]{0,255}|[a-z0-9][_0-9a-z*/-]{0,240}@[a-z][_0-9a-z*/-]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)
_MAX_TRACESTATE_MEMBERS = 32
# baggage list-member (W3C Baggage section 3.3): token key, baggage-octets value,
# optional ;properties. Values are percent-encoded by the sender, so no space.
_BAGGAGE_MEMBER = re.compile(
    r"[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*=[ \t]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
    r"(?:[ \t]*;[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+"
    r"(?:[ \t]*=[ \t]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)?)*"
)
_MAX_BAGGAGE_MEMBERS = 64
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RemoteParent(NamedTuple):
    """The caller's span, from a valid ``traceparent``."""

    trace_id: str
    span_id: str
    sampled: bool


def new_span_id() -> str:
    # The SDK's own generator uses the same PRNG: ids need to be unique, not
    # secret, and os.urandom costs a system call per request.
    value = random.getrandbits(64)
    return f"{value or 1:016x}"


def new_trace_id() -> str:
    return f"{new_trace_id_int():032x}"


def new_trace_id_int() -> int:
    value = random.getrandbits(128)
    return value or 1


def parse_parent(value: str | None) -> RemoteParent | None:
    """The caller's trace id, span id and sampled flag; None for an absent or invalid header."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip(" \t"))
    if not match:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return RemoteParent(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_traceparent(value: str | None) -> tuple[str, bool] | None:
    """(trace id, sampled) from a valid header; invalid headers are ignored, per the spec."""
    parent = parse_parent(value)
    return (parent.trace_id, parent.sampled) if parent else None


def valid_tracestate(value: str | None, max_length: int) -> str:
    """``value`` if it is a well-formed tracestate within bounds, else "" (dropped whole,
    as the spec allows, rather than forwarding a header the next hop may reject)."""
    if not value or len(value) > max_length:
        return ""
    members = [m.strip(" \t") for m in value.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > _MAX_TRACESTATE_MEMBERS:
        return ""
    if not all(_TRACESTATE_MEMBER.fullmatch(m) for m in members):
        return ""
    return ",".join(members)


def valid_baggage(value: str | None, max_length: int) -> str:
    """``value`` if it is well-formed W3C baggage within bounds, else ""."""
    if not value or len(value) > max_length:
        return ""
    members = [m.strip(" \t") for m in value.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > _MAX_BAGGAGE_MEMBERS:
        return ""
    if not all(_BAGGAGE_MEMBER.fullmatch(m) for m in members):
        return ""
    return ",".join(members)


def valid_request_id(value: str | None) -> str:
    """A caller's request id if short and made of safe characters (it is echoed and logged)."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return ""


def outbound_headers() -> dict[str, str]:
    """``Upstream(headers=...)``: headers that carry the trace to a system of record."""
    context = current_request.get()
    if context is None or not context.trace_id:
        return {}
    headers = {"traceparent": context.traceparent()}
    if context.tracestate:
        headers["tracestate"] = context.tracestate
    if context.baggage:
        headers["baggage"] = context.baggage
    if context.request_id:
        headers["X-Request-Id"] = context.request_id
    return headers
