"""The transaction's error taxonomy: every failure of a step maps to one class.

Only ``dependency_unavailable`` and ``dependency_timeout`` are retried (bounded,
with backoff); every other class stops the transaction in front of its owning
team with the whole context. The class of a domain or adapter error is decided
here and nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal

from domains.errors import (
    Conflict,
    DependencyRejected,
    DependencyTimeout,
    DependencyUnavailable,
    GatewayError,
    NotConfigured,
    NotFound,
    ValidationFailed,
)

ErrorClass = Literal[
    "validation",
    "data_quality",
    "dependency_unavailable",
    "dependency_timeout",
    "credit_hold",
    "price_mismatch",
    "duplicate_suspected",
    "conflict",
]
ERROR_CLASSES: tuple[ErrorClass, ...] = (
    "validation",
    "data_quality",
    "dependency_unavailable",
    "dependency_timeout",
    "credit_hold",
    "price_mismatch",
    "duplicate_suspected",
    "conflict",
)
RETRYABLE: frozenset[ErrorClass] = frozenset({"dependency_unavailable", "dependency_timeout"})

# When one validation reports several findings, the exception carries the class a
# human must act on first: a blocked customer before a price question before data.
PRECEDENCE: tuple[ErrorClass, ...] = (
    "credit_hold",
    "duplicate_suspected",
    "price_mismatch",
    "conflict",
    "data_quality",
    "validation",
    "dependency_timeout",
    "dependency_unavailable",
)


def retryable(error_class: ErrorClass) -> bool:
    return error_class in RETRYABLE


def classify(error: BaseException) -> ErrorClass:
    """The class of any error a step can raise."""
    if isinstance(error, StepFailed):
        return error.error_class
    if isinstance(error, DependencyTimeout | TimeoutError):
        return "dependency_timeout"
    if isinstance(error, DependencyUnavailable | ConnectionError):
        return "dependency_unavailable"
    if isinstance(error, GatewayError) and error.retryable:
        # Transient by its own account (another attempt holds the submission's lease,
        # an earlier attempt's outcome is not known yet): wait and try again.
        return "dependency_unavailable"
    if isinstance(error, DependencyRejected):
        # The system refused our data: mapping drift or bad master data.
        return "data_quality"
    if isinstance(error, Conflict):
        return "duplicate_suspected" if error.existing_id else "conflict"
    if isinstance(error, ValidationFailed | NotFound | NotConfigured):
        return "validation"
    if isinstance(error, GatewayError):
        return "validation" if error.kind == "validation" else "data_quality"
    return "data_quality"


def first_class(classes: list[ErrorClass]) -> ErrorClass:
    return min(classes, key=PRECEDENCE.index)


class StepFailed(Exception):
    """A step's failure as the transaction records it: picklable, engine-neutral.

    Domain and adapter errors carry constructor arguments that do not survive a
    round trip through a checkpoint; this one does (``__reduce__``).
    """

    def __init__(
        self,
        error_class: ErrorClass,
        code: str,
        detail: str,
        system: str = "",
        findings: tuple[dict[str, str], ...] = (),
        retry_after: float | None = None,
        facts: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.error_class: ErrorClass = error_class
        self.code = code
        self.detail = detail
        self.system = system
        self.findings = findings
        # Seconds the failing system (or the submission ledger) asked us to wait.
        self.retry_after = retry_after
        # What the step learnt before it failed and the exception should carry (the
        # quote's ``amount`` and ``currency``, read while validating).
        self.facts = dict(facts or {})

    @property
    def retryable(self) -> bool:
        return retryable(self.error_class)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            StepFailed,
            (
                self.error_class,
                self.code,
                self.detail,
                self.system,
                self.findings,
                self.retry_after,
                self.facts,
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.error_class,
            "code": self.code,
            "detail": self.detail,
            "system": self.system,
        }

    @classmethod
    def from_error(cls, error: BaseException) -> StepFailed:
        if isinstance(error, StepFailed):
            return error
        error_class = classify(error)
        if isinstance(error, GatewayError):
            findings = tuple(
                {
                    "check": "request",
                    "error_class": error_class,
                    "field": issue.field,
                    "code": issue.code,
                    "message": issue.message,
                }
                for issue in error.errors
            )
            return cls(
                error_class, error.code, error.detail, error.system, findings, error.retry_after
            )
        code = {
            "dependency_timeout": "DEPENDENCY_TIMEOUT",
            "dependency_unavailable": "DEPENDENCY_UNAVAILABLE",
        }.get(error_class, "UNEXPECTED_ERROR")
        return cls(error_class, code, f"{type(error).__name__}: {error}")
