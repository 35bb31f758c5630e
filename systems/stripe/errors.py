"""Stripe's ``{"error": {...}}`` envelope -> the gateway's taxonomy, in one place."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from domains.errors import (
    DependencyRejected,
    DependencyUnavailable,
    FieldIssue,
    GatewayError,
    ValidationFailed,
)
from systems.transport import UpstreamResponse

SYSTEM = "stripe"


class StripeErrorDetail(msgspec.Struct, frozen=True):
    """The fields of Stripe's error object the gateway reads (the rest is ignored)."""

    type: str = ""
    code: str | None = None
    message: str = ""
    param: str | None = None
    decline_code: str | None = None
    charge: str | None = None


class _Envelope(msgspec.Struct, frozen=True):
    error: StripeErrorDetail


_envelope = msgspec.json.Decoder(_Envelope, float_hook=str)


def vendor_error(response: UpstreamResponse) -> StripeErrorDetail:
    try:
        return _envelope.decode(response.content).error
    except msgspec.DecodeError:
        return StripeErrorDetail(
            type=f"http_{response.status_code}", message=response.text[:500].strip()
        )


def vendor_code(error: StripeErrorDetail) -> str:
    """Stripe's ``code`` when it gives one (``resource_missing``), else the error ``type``."""
    return error.code or error.type


def translate(response: UpstreamResponse) -> GatewayError:
    error = vendor_error(response)
    status = response.status_code
    summary = f"{vendor_code(error) or status}: {error.message}"[:1000]
    # 5xx and api_error: Stripe's side; 401/403: our key or its permissions; 409: another
    # request with the same Idempotency-Key is still running; 429: rate limited. None of
    # these says anything about the data, and all may clear up by themselves.
    if status >= 500 or status in (401, 403, 409, 429) or error.type == "api_error":
        return DependencyUnavailable(
            f"Stripe could not serve the request (HTTP {status}, {summary}).", system=SYSTEM
        )
    issues: tuple[FieldIssue, ...] = ()
    if error.param:
        issues = (FieldIssue(field=error.param, message=error.message, code=vendor_code(error)),)
    return DependencyRejected(
        f"Stripe rejected the request (HTTP {status}, {summary})",
        system=SYSTEM,
        vendor_code=vendor_code(error),
        vendor_message=error.message,
        errors=issues,
    )


#: The Stripe parameters of a payment that carry the caller's own data, by the
#: PaymentRequest field they come from. Stripe refusing one of them (an unknown or used-up
#: payment method token, an amount under the currency's minimum) is for the caller to fix:
#: a 422 naming the field as the canonical body names it (``amount`` is a Money object,
#: so Stripe's ``amount`` is its ``amount.amount``). Everything else stays a dependency
#: rejection.
PAYMENT_CLIENT_FIELDS: Mapping[str, str] = {
    "payment_method": "payment_method",
    "amount": "amount.amount",
}
REFUND_CLIENT_FIELDS: Mapping[str, str] = {"amount": "amount.amount"}


def client_data_error(rejected: DependencyRejected, fields: Mapping[str, str]) -> GatewayError:
    """``rejected`` as a validation failure when Stripe's ``param`` is one of ``fields``."""
    issue = rejected.errors[0] if rejected.errors else None
    if issue is None or issue.field not in fields:
        return rejected
    field = fields[issue.field]
    return ValidationFailed(
        f"Stripe refused {field}: {rejected.vendor_message or rejected.detail}"[:1000],
        errors=(FieldIssue(field, issue.message, issue.code),),
        system=SYSTEM,
    )
