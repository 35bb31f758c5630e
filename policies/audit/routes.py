"""GET /v1/ops/audit: the caller's tenant's audit trail, newest first, in cursor pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter

from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError
from contracts.v1.audit import AuditPage
from contracts.v1.common import CURSOR_PATTERN
from policies.asgi import Scope
from policies.audit.openapi import AUDIT_RESPONSES
from policies.audit.store import AuditStore, AuditStoreError, InvalidCursor
from policies.context import request_context
from policies.problems import problem_json

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

ConsumerFilter = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=200, description="Only this client id's writes"),
]
ResourceFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
        min_length=1,
        max_length=64,
        description="Only writes to this canonical id",
    ),
]
# RFC 3339 as written, so that a bare number (msgspec would read it as epoch seconds)
# is refused; a missing offset passes here and is refused with its own message below.
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?$"
)
Since = Annotated[
    str | None,
    QueryParameter(
        pattern=RFC3339_PATTERN,
        max_length=40,
        description="RFC 3339 time with offset; entries at or after it",
        schema_extra={"format": "date-time"},
    ),
]
Until = Annotated[
    str | None,
    QueryParameter(
        pattern=RFC3339_PATTERN,
        max_length=40,
        description="RFC 3339 time with offset; entries before it",
        schema_extra={"format": "date-time"},
    ),
]
CursorQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=CURSOR_PATTERN,
        min_length=1,
        max_length=512,
        description="Opaque cursor from the previous page's next_cursor.",
    ),
]
LimitQuery = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")
]


class AuditQueryProblem(Exception):
    """A query the route answers with a problem, whatever exception handlers the app has."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, *, field: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field


def _problem_response(request: Request[Any, Any, Any], exc: AuditQueryProblem) -> Response[bytes]:
    body = problem_json(
        cast("Scope", request.scope),
        status=exc.status,
        code=exc.code,
        title=exc.title,
        kind="validation" if exc.status < 500 else "dependency_unavailable",
        detail=exc.detail,
        errors=[FieldError(field=exc.field, message=exc.detail)] if exc.field else (),
        retryable=exc.status >= 500,
    )
    return Response(
        content=body,
        status_code=exc.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Retry-After": "1"} if exc.status == 503 else None,
    )


def _parse_time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())  # RFC 3339 allows "t" and "z"
    except ValueError:
        raise AuditQueryProblem(
            400, "INVALID_PARAMETER", "Invalid request parameters",
            f"{name} is not an RFC 3339 time, e.g. 2026-11-27T04:13:23Z", field=name,
        ) from None
    if parsed.tzinfo is None:
        raise AuditQueryProblem(
            400, "INVALID_PARAMETER", "Invalid request parameters",
            f"{name} needs a UTC offset, e.g. 2026-11-27T04:13:23Z", field=name,
        )
    return parsed


def audit_routes(
    store: AuditStore, *, opt: dict[str, Any], path: str = "/v1/ops/audit"
) -> list[HTTPRouteHandler]:
    """The audit query operation, reading ``store``; ``opt`` is its route policy."""

    @get(
        path,
        opt=opt,
        operation_id="listAuditEntries",
        tags=["operations"],
        summary="List audit entries of the caller's tenant",
        description="Every write through the gateway (create, update, cancel, replay, ops "
        "action), newest first: who, what, when, outcome, trace id and idempotency key. "
        "Time bounds have millisecond resolution; `since` is inclusive, `until` exclusive. "
        "A page may hold fewer than `limit` entries (even none) and still carry a "
        "`next_cursor`; only an absent `next_cursor` ends the list.",
        responses=AUDIT_RESPONSES,
        exception_handlers={AuditQueryProblem: _problem_response},
    )
    async def list_audit_entries(
        request: Request[Any, Any, Any],
        consumer: ConsumerFilter = None,
        resource_id: ResourceFilter = None,
        since: Since = None,
        until: Until = None,
        cursor: CursorQuery = None,
        limit: LimitQuery = DEFAULT_LIMIT,
    ) -> AuditPage:
        since_at = _parse_time("since", since)
        until_at = _parse_time("until", until)
        if since_at is not None and until_at is not None and since_at > until_at:
            raise AuditQueryProblem(
                400, "INVALID_PARAMETER", "Invalid request parameters",
                "since must not be later than until", field="since",
            )
        # Always the caller's own tenant: no parameter can widen it.
        tenant = request_context(cast("Scope", request.scope)).tenant
        try:
            entries, next_cursor = await store.query(
                tenant,
                consumer=consumer,
                resource_id=resource_id,
                since=since_at,
                until=until_at,
                cursor=cursor,
                limit=limit,
            )
        except InvalidCursor as exc:
            raise AuditQueryProblem(
                400, "INVALID_CURSOR", "Invalid cursor",
                "Pass a next_cursor from an earlier page of this list.", field="cursor",
            ) from exc
        except AuditStoreError as exc:
            raise AuditQueryProblem(
                503, "AUDIT_STORE_UNAVAILABLE", "Audit store unavailable",
                "The audit trail cannot be read right now; retry shortly.",
            ) from exc
        return AuditPage(data=entries, next_cursor=next_cursor)

    return [list_audit_entries]
