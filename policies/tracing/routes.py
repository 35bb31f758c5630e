"""GET /v1/ops/traces: recent spans of this gateway process, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, cast

from litestar import Request, get
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from policies.asgi import Scope
from policies.context import request_context
from policies.tracing.openapi import TRACES_RESPONSES
from policies.tracing.otel import Tracer
from policies.tracing.view import TracePage

TRACES_PATH = "/v1/ops/traces"
MAX_LIMIT = 500
DEFAULT_LIMIT = 100

TraceIdQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9a-f]{32}$",
        min_length=32,
        max_length=32,
        description="Only spans of this trace (32 lower-case hex, as in X-Trace-Id)",
    ),
]
CursorQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9]{1,19}$",
        min_length=1,
        max_length=19,
        description="Opaque cursor from the previous page's next_cursor",
    ),
]
LimitQuery = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT})")
]


def tracing_routes(
    tracer: Tracer,
    *,
    opt: dict[str, Any],
    path: str = TRACES_PATH,
    all_tenants: bool = False,
    responses: Mapping[int, ResponseSpec] | None = None,
    response_headers: Sequence[ResponseHeader] | None = None,
) -> list[HTTPRouteHandler]:
    """The span view over ``tracer``'s ring; ``opt`` is its route policy.

    An authenticated caller sees the spans recorded for its own tenant only,
    unless ``all_tenants`` (for an operators-only deployment).
    """

    @get(
        path,
        opt=opt,
        operation_id="listTraces",
        tags=["operations"],
        summary="List recent spans",
        description=(
            "Finished OpenTelemetry spans this gateway process kept in its in-memory ring "
            "(only sampled requests are recorded), newest first: one server span per request "
            "named by route template and one client span per system-of-record call. Filter "
            "by trace_id to see one request end to end. Spans are evicted oldest first; "
            "an absent next_cursor ends the list."
        ),
        responses={**TRACES_RESPONSES, **dict(responses or {})},
        response_headers=list(response_headers or []),
    )
    async def list_traces(
        request: Request[Any, Any, Any],
        trace_id: TraceIdQuery = None,
        cursor: CursorQuery = None,
        limit: LimitQuery = DEFAULT_LIMIT,
    ) -> TracePage:
        caller = request_context(cast("Scope", request.scope)).consumer
        tenant = caller.tenant if caller is not None and not all_tenants else None
        return tracer.page(
            trace_id=trace_id,
            tenant=tenant,
            before=int(cursor) if cursor else None,
            limit=limit,
        )

    return [list_traces]
