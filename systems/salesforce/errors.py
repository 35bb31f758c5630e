"""Salesforce error arrays -> the gateway's taxonomy, in one place."""

from __future__ import annotations

import msgspec

from domains.errors import DependencyRejected, DependencyUnavailable, FieldIssue, GatewayError
from systems.transport import UpstreamResponse

SYSTEM = "salesforce"


class SalesforceError(msgspec.Struct, frozen=True):
    message: str = ""
    errorCode: str = ""
    fields: list[str] = []


class OAuthError(msgspec.Struct, frozen=True):
    """What ``/services/oauth2/token`` answers on failure (RFC 6749 section 5.2)."""

    error: str
    error_description: str = ""


_errors = msgspec.json.Decoder(list[SalesforceError])
_oauth_error = msgspec.json.Decoder(OAuthError)


def vendor_errors(response: UpstreamResponse) -> list[SalesforceError]:
    try:
        return _errors.decode(response.content)
    except msgspec.DecodeError:
        return [
            SalesforceError(message=response.text[:500], errorCode=f"HTTP_{response.status_code}")
        ]


def translate(response: UpstreamResponse) -> GatewayError:
    if response.status_code in (400, 401) and response.content.lstrip().startswith(b"{"):
        try:
            refused = _oauth_error.decode(response.content)
        except msgspec.DecodeError:
            pass
        else:
            # The integration's own credentials were refused: nothing a caller can fix,
            # and every call fails until an administrator does.
            return DependencyUnavailable(
                f"Salesforce refused the integration's login ({refused.error}: "
                f"{refused.error_description}).",
                system=SYSTEM,
                code="DEPENDENCY_AUTH_FAILED",
            )
    return from_errors(response.status_code, vendor_errors(response))


def from_errors(status: int, errors: list[SalesforceError]) -> GatewayError:
    """The gateway error for an HTTP status and Salesforce's error array (also what a
    composite subrequest answers)."""
    first = errors[0] if errors else SalesforceError()
    summary = "; ".join(f"{e.errorCode}: {e.message}" for e in errors)[:1000]
    if status >= 500 or status == 401:
        return DependencyUnavailable(
            f"Salesforce could not serve the request ({summary or status}).",
            system=SYSTEM,
        )
    return DependencyRejected(
        f"Salesforce rejected the request: {summary}",
        system=SYSTEM,
        vendor_code=first.errorCode,
        vendor_message=first.message,
        errors=tuple(
            FieldIssue(field=field, message=e.message, code=e.errorCode)
            for e in errors
            for field in (e.fields or [""])
        ),
    )
