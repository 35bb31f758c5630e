"""AvaTax error envelopes -> the gateway's taxonomy, in one place.

AvaTax answers every failure with ``{"error": {"code", "message", "target",
"details": [{"code", "number", "message", "description", "refersTo", ...}]}}``.
"""

from __future__ import annotations

import re

import msgspec

from domains.errors import (
    DependencyRejected,
    DependencyUnavailable,
    FieldIssue,
    GatewayError,
    ValidationFailed,
)
from systems.transport import UpstreamResponse

SYSTEM = "avalara"

#: Re-creating a committed (or cancelled) document with the same code; the adapter
#: reads the recorded document instead of treating this as a failure.
DOCUMENT_CODE_CONFLICT = "DocumentCodeConflict"

#: AvaTax codes that mean "the address cannot be used for tax".
ADDRESS_ERRORS = frozenset(
    {
        "AddressConflictException",
        "AddressIncomplete",
        "AddressNotGeocoded",
        "AddressRangeError",
        "AddressUnknownStreet",
        "InvalidAddress",
        "InvalidAddressTextCase",
        "InvalidCountry",
        "InvalidCountryRegion",
        "InvalidPostalCode",
        "InvalidZipForStateError",
        "MissingAddress",
        "NotEnoughAddressesInfo",
    }
)
_POSTAL_ERRORS = frozenset({"InvalidPostalCode", "InvalidZipForStateError"})

# CreateTransactionModel property -> the TaxRequest field it came from.
_REQUEST_FIELDS = {
    "code": "document_code",
    "date": "date",
    "customercode": "customer_code",
    "currencycode": "currency",
    "exemptionno": "exemption_number",
    "companycode": "legal_entity",
    "lines": "lines",
}
_LINE_FIELDS = {
    "amount": "amount",
    "quantity": "quantity",
    "taxcode": "category",
    "itemcode": "sku",
    "description": "description",
    "number": "number",
}
_LINE_REF = re.compile(r"lines\[(\d+)\](?:\.(\w+))?", re.IGNORECASE)


class AvaTaxErrorDetail(msgspec.Struct, frozen=True):
    code: str | None = None
    number: int | None = None
    message: str | None = None
    description: str | None = None
    refersTo: str | None = None
    severity: str | None = None


class AvaTaxError(msgspec.Struct, frozen=True):
    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[AvaTaxErrorDetail] | None = None


class _Envelope(msgspec.Struct, frozen=True):
    error: AvaTaxError


_envelope = msgspec.json.Decoder(_Envelope)


def vendor_error(response: UpstreamResponse) -> AvaTaxError:
    """The error envelope of ``response``; a synthetic one for an empty or foreign body."""
    try:
        return _envelope.decode(response.content).error
    except msgspec.DecodeError:
        text = response.text[:300].strip()
        return AvaTaxError(code=f"HTTP_{response.status_code}", message=text or None)


def canonical_field(refers_to: str, code: str) -> str:
    """The TaxRequest field a vendor ``refersTo`` (or an address error code) points at."""
    if code in ADDRESS_ERRORS or "address" in refers_to.casefold():
        if code == "InvalidCountry":
            return "ship_to.country"
        if code in _POSTAL_ERRORS:
            return "ship_to.postal_code"
        return "ship_to"
    line = _LINE_REF.fullmatch(refers_to.strip())
    if line is not None:
        index, prop = line[1], (line[2] or "").casefold()
        suffix = _LINE_FIELDS.get(prop, line[2] or "")
        return f"lines[{index}]" + (f".{suffix}" if suffix else "")
    return _REQUEST_FIELDS.get(refers_to.strip().casefold(), refers_to.strip())


def _about_the_destination(error: AvaTaxError) -> bool:
    """An address error that is not about the origin (shipFrom)."""
    codes = {error.code or ""} | {d.code or "" for d in error.details or ()}
    targets = " ".join(d.refersTo or "" for d in error.details or ()).casefold()
    return bool(codes & ADDRESS_ERRORS) and "shipfrom" not in targets


def _summary(error: AvaTaxError) -> str:
    code = error.code or "Unknown"
    return f"{code}: {error.message}" if error.message else code


def translate(response: UpstreamResponse) -> GatewayError:
    error = vendor_error(response)
    status = response.status_code
    if status >= 500 or status in (401, 403, 404, 429):
        # 5xx and ServiceNotReady: AvaTax is down; 401/403: credentials or
        # subscription; 404: an unknown company code or route (configuration);
        # 429: still throttled after Upstream's retries.
        detail = f"Avalara AvaTax could not serve the request (HTTP {status}, {_summary(error)})."
        return DependencyUnavailable(detail[:1000], system=SYSTEM)
    issues = tuple(
        FieldIssue(
            field=canonical_field(d.refersTo or "", d.code or error.code or ""),
            message=(d.description or d.message or "")[:500],
            code=d.code or error.code or "invalid",
        )
        for d in error.details or ()
        if d.description or d.message
    )
    code = error.code or ""
    if not issues and code in ADDRESS_ERRORS:
        issues = (FieldIssue(field="ship_to", message=error.message or code, code=code),)
    if _about_the_destination(error):
        # The customer's address (the destination) is the caller's data: a 422 naming it,
        # not a dependency failure. An unusable origin (shipFrom) is our configuration.
        return ValidationFailed(
            f"Avalara AvaTax cannot calculate tax for this address: {_summary(error)}"[:1000],
            errors=issues,
            system=SYSTEM,
        )
    return DependencyRejected(
        f"Avalara AvaTax rejected the request: {_summary(error)}"[:1000],
        system=SYSTEM,
        vendor_code=code,
        vendor_message=error.message or "",
        errors=issues,
    )
