"""The gateway's error taxonomy, raised by domain services and system adapters.

Each error says what went wrong in business terms: its kind (the problem type),
a stable code, a title, whether a retry can help, the invalid fields, the system
of record involved and, for conflicts, the record that already exists. The HTTP
edge turns each into one RFC 9457 problem; which status that carries is the
edge's business, decided in one table (gateway/problems.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str
    message: str
    code: str = "invalid"


class GatewayError(Exception):
    """Base of every expected failure; ``code`` is stable and UPPER_SNAKE."""

    code: str = "INTERNAL_ERROR"
    title: str = "Internal error"
    kind: str = "internal"
    retryable: bool = False
    # Seconds after which a retry can succeed, when the failure knows (a paused circuit,
    # a system's own Retry-After); the edge sends it as Retry-After.
    retry_after: float | None = None

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: tuple[FieldIssue, ...] = (),
        system: str = "",
        existing_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors
        self.system = system
        self.existing_id = existing_id
        if retry_after is not None:
            self.retry_after = retry_after


class ValidationFailed(GatewayError):
    code, title, kind = "VALIDATION_FAILED", "Validation failed", "validation"


class BadRequest(GatewayError):
    code, title, kind = "BAD_REQUEST", "Bad request", "validation"


class NotFound(GatewayError):
    code, title, kind = "NOT_FOUND", "Not found", "not_found"


class Conflict(GatewayError):
    code, title, kind = "CONFLICT", "Conflict", "conflict"


class PreconditionFailed(GatewayError):
    code, title, kind = "PRECONDITION_FAILED", "Precondition failed", "precondition"


class PreconditionRequired(GatewayError):
    code, title, kind = "PRECONDITION_REQUIRED", "Precondition required", "precondition"


class NotConfigured(GatewayError):
    """The deployment has no system of record for this domain."""

    code, title, kind = "NOT_CONFIGURED", "Not configured", "not_configured"


Delivery = Literal["not_sent", "answered", "unknown"]


class DependencyError(GatewayError):
    """A system of record failed; ``system`` names it.

    ``delivery`` says what the system saw of the request: ``not_sent`` (refused
    connection, open circuit: nothing happened), ``answered`` (it replied with the
    status ``sor_status``: it has finished with the request) or ``unknown`` (a timeout
    or a connection lost after sending: it may still act on it). A create that ends
    ``unknown`` must be looked up before it is sent again.
    """

    kind = "dependency"
    delivery: Delivery = "unknown"
    sor_status: int = 0


class DependencyUnavailable(DependencyError):
    code, title = "DEPENDENCY_UNAVAILABLE", "System of record unavailable"
    kind, retryable = "dependency_unavailable", True


class DependencyTimeout(DependencyError):
    code, title = "DEPENDENCY_TIMEOUT", "System of record timed out"
    kind, retryable = "dependency_timeout", True


class DependencyRejected(DependencyError):
    """The system of record refused the data (data quality, mapping drift)."""

    code, title = "DEPENDENCY_REJECTED", "System of record rejected the request"
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


class StoreUnavailable(DependencyUnavailable):
    """The gateway's own database (crosswalk, tenancy, submissions) did not answer."""

    code, title = "STORE_UNAVAILABLE", "Gateway database unavailable"
    retry_after = 2.0  # a restart or failover of the gateway's own store is quick
