"""What GET /v1/ops/traces returns: finished spans, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

HEX32 = r"^[0-9a-f]{32}$"
HEX16 = r"^[0-9a-f]{16}$"
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_VALUE = 256

SpanKindName = Literal["server", "client", "internal", "producer", "consumer"]
SpanStatus = Literal["unset", "ok", "error"]


class SpanView(msgspec.Struct, frozen=True, kw_only=True):
    """One finished span, as the gateway recorded it."""

    trace_id: Annotated[
        str, msgspec.Meta(pattern=HEX32, max_length=32, description="W3C trace id")
    ]
    span_id: Annotated[str, msgspec.Meta(pattern=HEX16, max_length=16)]
    parent_span_id: (
        Annotated[
            str,
            msgspec.Meta(pattern=HEX16, max_length=16, description="Absent for a trace root"),
        ]
        | None
    ) = None
    name: Annotated[
        str,
        msgspec.Meta(
            max_length=200,
            description="'{METHOD} {route template}' for requests, '{system} {operation}' "
            "for system-of-record calls",
        ),
    ]
    kind: SpanKindName
    start: Annotated[datetime, msgspec.Meta(tz=True, description="Start time, UTC")]
    duration_ms: Annotated[float, msgspec.Meta(ge=0)]
    status: SpanStatus
    attributes: Annotated[
        dict[
            Annotated[str, msgspec.Meta(max_length=MAX_ATTRIBUTE_KEY)],
            Annotated[str, msgspec.Meta(max_length=MAX_ATTRIBUTE_VALUE)],
        ],
        msgspec.Meta(
            max_length=MAX_ATTRIBUTES,
            description="OpenTelemetry attributes as strings (http.route, "
            "http.response.status_code, q2c.consumer, server.address, ...)",
        ),
    ] = msgspec.field(default_factory=dict)


class TracePage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[SpanView], msgspec.Meta(max_length=500)]
    next_cursor: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=r"^[0-9]{1,19}$",
                max_length=19,
                description="Pass as `cursor` for older spans; absent at the end",
            ),
        ]
        | None
    ) = None
