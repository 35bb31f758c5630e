"""Every error leaves the gateway as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.utils.scope.state import ScopeState

from contracts.problem import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Problem
from domains.errors import DependencyRejected, FieldIssue, GatewayError
from gateway.validation import collect_errors
from policies.tracing.context import TraceContext, current

log = logging.getLogger("q2c.errors")
_encoder = msgspec.json.Encoder()

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


def trace_id_of(scope: Any) -> str:
    context = scope.get("state", {}).get("trace") if isinstance(scope, dict) else None
    if not isinstance(context, TraceContext):
        context = current.get()
    return context.trace_id if context else ""


def problem_type(kind: str) -> str:
    return PROBLEM_TYPE_BASE + kind.replace("_", "-")


def problem_response(
    request: Request[Any, Any, Any], problem: Problem, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        content=_encoder.encode(problem),
        status_code=problem.status,
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
    if exc.status >= 500:
        log.warning("dependency failure %s on %s: %s", exc.code, request.url.path, exc.detail)
    return problem_response(
        request,
        Problem(
            type=problem_type(exc.kind),
            title=exc.title,
            status=exc.status,
            code=exc.code,
            detail=detail[:4000],
            instance=request.url.path[:2000],
            trace_id=trace_id_of(request.scope),
            errors=_field_errors(exc.errors),
            system=exc.system,
            retryable=exc.retryable,
            existing_id=exc.existing_id,
        ),
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
        return problem_response(
            request,
            Problem(
                type=problem_type("validation"),
                title="Malformed request body" if malformed else "Validation failed",
                status=400 if malformed else 422,
                code="MALFORMED_BODY" if malformed else "VALIDATION_FAILED",
                detail=(
                    issues[0].message
                    if malformed
                    else f"The request body has {len(issues)} invalid member(s); "
                    "nothing was changed."
                ),
                instance=request.url.path[:2000],
                trace_id=trace_id_of(request.scope),
                errors=_field_errors(issues),
            ),
        )
    issues = [
        FieldIssue(
            field=str(e.get("key") or e.get("source") or "request"),
            message=str(e.get("message", "invalid")),
            code="invalid",
        )
        for e in extra
    ]
    return problem_response(
        request,
        Problem(
            type=problem_type("validation"),
            title="Invalid request parameters",
            status=400,
            code="INVALID_PARAMETER",
            detail="; ".join(f"{i.field}: {i.message}" for i in issues)[:4000] or str(exc.detail),
            instance=request.url.path[:2000],
            trace_id=trace_id_of(request.scope),
            errors=_field_errors(issues),
        ),
    )


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    code, kind = _HTTP_CODES.get(status, ("HTTP_ERROR", "http"))
    if status == 400 and _body_is_malformed(request):
        code = "MALFORMED_BODY"
    headers = dict(exc.headers or {})
    return problem_response(
        request,
        Problem(
            type=problem_type(kind),
            title=str(exc.detail)[:200] if status < 500 else "Internal error",
            status=status,
            code=code,
            detail=str(exc.detail)[:4000] if status < 500 else "",
            instance=request.url.path[:2000],
            trace_id=trace_id_of(request.scope),
        ),
        headers=headers or None,
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


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    trace_id = trace_id_of(request.scope)
    log.exception(
        "unhandled error on %s %s (trace %s)",
        request.method,
        request.url.path,
        trace_id,
        exc_info=exc,
    )
    return problem_response(
        request,
        Problem(
            type=problem_type("internal"),
            title="Internal error",
            status=500,
            code="INTERNAL_ERROR",
            detail="The gateway failed unexpectedly; quote the trace id when reporting this.",
            instance=request.url.path[:2000],
            trace_id=trace_id,
            retryable=True,
        ),
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    GatewayError: handle_gateway_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}
