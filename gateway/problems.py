"""Every error leaves the gateway as RFC 9457 ``application/problem+json``.

Bodies are built by the one problem builder the policies use too
(policies/problems.py); what this module decides is which HTTP status each
failure carries.
"""

from __future__ import annotations

import logging
import math
from typing import Any, cast

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.utils.scope.state import ScopeState
from redis import exceptions as redis_errors

from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError
from domains.errors import (
    BadRequest,
    Conflict,
    DependencyRejected,
    DependencyTimeout,
    DependencyUnavailable,
    FieldIssue,
    GatewayError,
    NotConfigured,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from gateway.validation import collect_errors
from policies.asgi import Scope
from policies.context import request_context
from policies.problems import problem_json

log = logging.getLogger("q2c.errors")

# The HTTP status of each failure of the domain taxonomy. Keyed by class, not by
# kind: two kinds span two statuses each (validation: a malformed cursor 400, a
# rule broken 422; precondition: If-Match missing 428, stale 412).
STATUS: dict[type[GatewayError], int] = {
    BadRequest: 400,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    ValidationFailed: 422,
    PreconditionRequired: 428,
    GatewayError: 500,
    NotConfigured: 501,
    DependencyRejected: 502,
    DependencyUnavailable: 503,
    DependencyTimeout: 504,
}

_HTTP_CODES = {
    400: ("BAD_REQUEST", "validation"),
    401: ("UNAUTHORIZED", "unauthorized"),
    403: ("FORBIDDEN", "forbidden"),
    404: ("NOT_FOUND", "not-found"),
    405: ("METHOD_NOT_ALLOWED", "method-not-allowed"),
    406: ("NOT_ACCEPTABLE", "not-acceptable"),
    409: ("CONFLICT", "conflict"),
    413: ("PAYLOAD_TOO_LARGE", "payload-too-large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "unsupported-media-type"),
    429: ("QUOTA_EXCEEDED", "quota-exceeded"),
}


# When a retry is worth trying after a dependency failed, unless the failure knows
# better (GatewayError.retry_after): systems of record, and the gateway's own stores.
SOR_RETRY_AFTER_SECONDS = 5
STORE_RETRY_AFTER_SECONDS = 2

# What "the store cannot answer right now" looks like from redis-py. Other Redis errors
# (a script or argument bug) are bugs and stay 500s.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,  # refused, reset, BusyLoading, too many connections
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,  # a failover left us talking to a replica
    redis_errors.OutOfMemoryError,
)


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def status_of(error: GatewayError) -> int:
    """The status of ``error``: its own class's, or its nearest listed base's."""
    for cls in type(error).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500  # pragma: no cover - GatewayError is listed


def _scope(request: Request[Any, Any, Any]) -> Scope:
    return cast("Scope", request.scope)


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    headers: dict[str, str] | None = None,
    **problem: Any,
) -> Response[bytes]:
    return Response(
        content=problem_json(_scope(request), status=status, **problem),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_errors(issues: tuple[FieldIssue, ...] | list[FieldIssue]) -> list[FieldError]:
    return [
        FieldError(field=i.field[:500], message=i.message[:2000], code=i.code[:100])
        for i in issues[:200]
    ]


def handle_gateway_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[bytes]:
    detail = exc.detail
    if isinstance(exc, DependencyRejected) and exc.vendor_code:
        detail = f"{detail} (vendor code {exc.vendor_code})"
    status = status_of(exc)
    headers = None
    if status >= 500:
        log.warning("dependency failure %s on %s: %s", exc.code, request.url.path, exc.detail)
    if status in (503, 504):
        wait = exc.retry_after if exc.retry_after is not None else SOR_RETRY_AFTER_SECONDS
        headers = retry_after(wait)
    elif exc.retry_after is not None:  # e.g. 409: another attempt holds the id until then
        headers = retry_after(exc.retry_after)
    return _problem(
        request,
        status,
        headers,
        code=exc.code,
        title=exc.title,
        kind=exc.kind,
        detail=detail,
        errors=_field_errors(exc.errors),
        system=exc.system,
        retryable=exc.retryable,
        existing_id=exc.existing_id,
    )


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    body_type = None
    handler = request.scope.get("route_handler")
    if handler is not None and any(str(e.get("source")) == "body" for e in extra):
        parameter = handler.parsed_fn_signature.parameters.get("data")
        body_type = parameter.annotation if parameter is not None else None
    # Exception handlers are synchronous; the body Litestar already read is in the scope state.
    raw_body = ScopeState.from_scope(request.scope).body
    if body_type is not None and isinstance(raw_body, bytes):
        issues = collect_errors(body_type, raw_body)
        malformed = bool(issues) and issues[0].code == "malformed_json"
        return _problem(
            request,
            400 if malformed else 422,
            kind="validation",
            title="Malformed request body" if malformed else "Validation failed",
            code="MALFORMED_BODY" if malformed else "VALIDATION_FAILED",
            detail=(
                issues[0].message
                if malformed
                else f"The request body has {len(issues)} invalid member(s); nothing was changed."
            ),
            errors=_field_errors(issues),
        )
    issues = [
        FieldIssue(
            field=str(e.get("key") or e.get("source") or "request"),
            message=str(e.get("message", "invalid")),
            code="invalid",
        )
        for e in extra
    ]
    return _problem(
        request,
        400,
        kind="validation",
        title="Invalid request parameters",
        code="INVALID_PARAMETER",
        detail="; ".join(f"{i.field}: {i.message}" for i in issues) or str(exc.detail),
        errors=_field_errors(issues),
    )


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    code, kind = _HTTP_CODES.get(status, ("HTTP_ERROR", "http"))
    if status == 400 and _body_is_malformed(request):
        code = "MALFORMED_BODY"
    return _problem(
        request,
        status,
        headers=dict(exc.headers or {}) or None,
        kind=kind,
        title=str(exc.detail)[:200] if status < 500 else "Internal error",
        code=code,
        detail=str(exc.detail) if status < 500 else "",
    )


def _body_is_malformed(request: Request[Any, Any, Any]) -> bool:
    """Litestar reports undecodable JSON as a bare 400; name it for the client."""
    raw = ScopeState.from_scope(request.scope).body
    if not isinstance(raw, bytes):
        return False
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return True
    return False


def handle_store_unavailable(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[bytes]:
    """Redis paused, restarted or failing over: a 503 (504 when it timed out) the client
    may retry, never a 500. Nothing the store was asked for is half-done: the
    request fails where it first needed the store."""
    timed_out = isinstance(exc, redis_errors.TimeoutError)
    log.warning(
        "store unavailable on %s %s: %s: %s",
        request.method, request.url.path, type(exc).__name__, exc,
    )
    return _problem(
        request,
        504 if timed_out else 503,
        retry_after(STORE_RETRY_AFTER_SECONDS),
        kind="dependency_timeout" if timed_out else "dependency_unavailable",
        title="Gateway store timed out" if timed_out else "Gateway store unavailable",
        code="STORE_TIMEOUT" if timed_out else "STORE_UNAVAILABLE",
        detail="The gateway's shared store did not answer; retry after the time in "
        "Retry-After.",
        retryable=True,
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception(
        "unhandled error on %s %s (trace %s)",
        request.method,
        request.url.path,
        request_context(_scope(request)).trace_id,
        exc_info=exc,
    )
    return _problem(
        request,
        500,
        kind="internal",
        title="Internal error",
        code="INTERNAL_ERROR",
        detail="The gateway failed unexpectedly; quote the trace id when reporting this.",
        retryable=True,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    GatewayError: handle_gateway_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    **dict.fromkeys(STORE_UNAVAILABLE, handle_store_unavailable),
    Exception: handle_unexpected,
}
