"""The gateway's error taxonomy, raised by domain services and system adapters.

The HTTP edge turns each of these into one RFC 9457 problem; nothing below the
edge knows about status codes except through ``status`` here, which keeps the
mapping in one table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str
    message: str
    code: str = "invalid"


class GatewayError(Exception):
    """Base of every expected failure; ``code`` is stable and UPPER_SNAKE."""

    status: int = 500
    code: str = "INTERNAL_ERROR"
    title: str = "Internal error"
    kind: str = "internal"
    retryable: bool = False

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: tuple[FieldIssue, ...] = (),
        system: str = "",
        existing_id: str = "",
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors
        self.system = system
        self.existing_id = existing_id


class ValidationFailed(GatewayError):
    status, code, title, kind = 422, "VALIDATION_FAILED", "Validation failed", "validation"


class BadRequest(GatewayError):
    status, code, title, kind = 400, "BAD_REQUEST", "Bad request", "validation"


class NotFound(GatewayError):
    status, code, title, kind = 404, "NOT_FOUND", "Not found", "not_found"


class Conflict(GatewayError):
    status, code, title, kind = 409, "CONFLICT", "Conflict", "conflict"


class PreconditionFailed(GatewayError):
    status, code, title, kind = 412, "PRECONDITION_FAILED", "Precondition failed", "precondition"


class PreconditionRequired(GatewayError):
    status, code, title, kind = (
        428,
        "PRECONDITION_REQUIRED",
        "Precondition required",
        "precondition",
    )


class NotConfigured(GatewayError):
    """The deployment has no system of record for this domain."""

    status, code, title, kind = 501, "NOT_CONFIGURED", "Not configured", "not_configured"


class DependencyError(GatewayError):
    """A system of record failed; ``system`` names it."""

    kind = "dependency"


class DependencyUnavailable(DependencyError):
    status, code, title = 503, "DEPENDENCY_UNAVAILABLE", "System of record unavailable"
    kind, retryable = "dependency_unavailable", True


class DependencyTimeout(DependencyError):
    status, code, title = 504, "DEPENDENCY_TIMEOUT", "System of record timed out"
    kind, retryable = "dependency_timeout", True


class DependencyRejected(DependencyError):
    """The system of record refused the data (data quality, mapping drift)."""

    status, code, title = 502, "DEPENDENCY_REJECTED", "System of record rejected the request"
    kind = "dependency_rejected"

    def __init__(
        self,
        detail: str,
        *,
        system: str,
        vendor_code: str = "",
        vendor_message: str = "",
        errors: tuple[FieldIssue, ...] = (),
    ) -> None:
        super().__init__(detail, system=system, errors=errors)
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
