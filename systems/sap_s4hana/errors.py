"""SAP OData V2 error envelopes -> the gateway's taxonomy, in one place."""

from __future__ import annotations

import msgspec

from domains.errors import DependencyRejected, DependencyUnavailable, FieldIssue, GatewayError
from systems.transport import UpstreamResponse

SYSTEM = "sap_s4hana"


class _Message(msgspec.Struct, frozen=True):
    value: str = ""


class _Detail(msgspec.Struct, frozen=True):
    code: str = ""
    message: str = ""
    target: str = ""
    propertyref: str = ""


class _InnerError(msgspec.Struct, frozen=True):
    errordetails: list[_Detail] = []


class _Error(msgspec.Struct, frozen=True):
    code: str = ""
    message: _Message = _Message()
    innererror: _InnerError = _InnerError()


class _Envelope(msgspec.Struct, frozen=True):
    error: _Error


_envelope = msgspec.json.Decoder(_Envelope)


def translate(response: UpstreamResponse) -> GatewayError:
    try:
        error = _envelope.decode(response.content).error
    except msgspec.DecodeError:
        error = _Error(code=f"HTTP_{response.status_code}", message=_Message(response.text[:300]))
    if response.status_code >= 500 or response.status_code in (401, 403):
        return DependencyUnavailable(
            f"SAP S/4HANA could not serve the request ({error.code}: {error.message.value}).",
            system=SYSTEM,
        )
    details = tuple(
        FieldIssue(field=d.propertyref or d.target, message=d.message, code=d.code)
        for d in error.innererror.errordetails
        if d.message
    )
    return DependencyRejected(
        f"SAP S/4HANA rejected the request: {error.message.value}",
        system=SYSTEM,
        vendor_code=error.code,
        vendor_message=error.message.value,
        errors=details,
    )
