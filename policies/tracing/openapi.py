"""What the tracing policy adds to the OpenAPI document.

Every response carries ``X-Request-Id`` and ``X-Trace-Id`` (the trace id is also
in every problem body); every operation accepts the W3C trace headers. The span
view (``tracing_routes``) documents itself with ``TRACES_RESPONSES``.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Parameter, Schema

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem

_REQUEST_ID_DESCRIPTION = (
    "The caller's X-Request-Id when it was 1-128 characters of A-Z a-z 0-9 . _ : -, "
    "otherwise the trace id. Quote it with the trace id when reporting a problem."
)
_TRACE_ID_DESCRIPTION = (
    "W3C trace id of this request (32 lower-case hex): the caller's traceparent trace id "
    "when one was sent and valid, else a new one. Also in every problem body as trace_id."
)

TRACING_HEADERS: list[ResponseHeader] = [
    ResponseHeader(name="X-Request-Id", description=_REQUEST_ID_DESCRIPTION,
                   documentation_only=True),
    ResponseHeader(name="X-Trace-Id", description=_TRACE_ID_DESCRIPTION,
                   documentation_only=True),
]

TRACING_OPENAPI_HEADERS: dict[str, OpenAPIHeader] = {
    "X-Request-Id": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"),
        description=_REQUEST_ID_DESCRIPTION,
    ),
    "X-Trace-Id": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9a-f]{32}$", max_length=32),
        description=_TRACE_ID_DESCRIPTION,
    ),
}

# Request headers every operation accepts; invalid values are ignored, never an error.
TRACING_PARAMETERS: list[Parameter] = [
    Parameter(
        name="traceparent",
        param_in="header",
        required=False,
        description="W3C Trace Context parent (00-<trace id>-<span id>-<flags>); the "
        "gateway's spans and every system-of-record call join this trace.",
        schema=Schema(
            type=OpenAPIType.STRING,
            pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            max_length=55,
        ),
    ),
    Parameter(
        name="tracestate",
        param_in="header",
        required=False,
        description="W3C Trace Context vendor state, passed on with traceparent.",
        schema=Schema(type=OpenAPIType.STRING, max_length=512),
    ),
    Parameter(
        name="baggage",
        param_in="header",
        required=False,
        description="W3C Baggage, passed on to systems of record unchanged.",
        schema=Schema(type=OpenAPIType.STRING, max_length=8192),
    ),
    Parameter(
        name="X-Request-Id",
        param_in="header",
        required=False,
        description="Caller's correlation id, echoed on the response and logged.",
        schema=Schema(type=OpenAPIType.STRING, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"),
    ),
]

TRACES_RESPONSES: dict[int, ResponseSpec] = {
    400: ResponseSpec(
        data_container=Problem,
        description="Invalid trace_id, cursor or limit",
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
}
