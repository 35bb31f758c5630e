"""An in-memory simulator of the Avalara AvaTax REST v2 API (tax calculation).

A plain ASGI application, used like the other sandboxes: embedded in the gateway through
``httpx.ASGITransport``, served standalone, and by tests. The bar is wire fidelity: the
official Python SDK (``Avalara``'s ``AvataxClient``) works against it, and status codes,
the ``{"error": {code, message, target, details[]}}`` envelope with AvaTax's error
numbers, the TransactionModel shape (lines, jurisdiction details, summary, addresses)
and the document lifecycle follow the real API.

Implemented surface, under ``/api/v2/``:

* ``GET utilities/ping`` -- never fails for bad credentials (``authenticated: false``).
* ``POST transactions/create`` -- ``*Order`` types are estimates (``status`` ``Temporary``,
  ``id`` 0, nothing stored); ``*Invoice`` types are stored under (company, code, type) as
  ``Saved``, or ``Committed`` with ``commit: true``. Re-creating a ``Saved`` document with
  the same code replaces it (``version`` + 1); a ``Committed`` or ``Cancelled`` one answers
  400 ``DocumentCodeConflict`` so a retried invoice can never post tax twice.
* ``POST transactions/createoradjust`` -- creates, or adjusts an existing document.
* ``GET transactions/{id}``; ``GET companies/{companyCode}/transactions/{code}``
  (``?documentType=``, default prefers ``SalesInvoice``) and ``.../types/{documentType}``.
* ``POST companies/{companyCode}/transactions/{code}/commit`` ``{"commit": true}`` and
  ``.../void`` ``{"code": "DocVoided"}`` (status ``Cancelled``); ``?documentType=``
  defaults to ``SalesInvoice`` as documented.
* ``$include`` (``Lines``, ``Details``, ``Summary``, ``Addresses``, ``SummaryOnly``,
  ``LinesOnly``); without it the documented default ``Summary,Addresses`` (Summary implies
  details, details imply lines: the model with everything this sandbox renders).

Authentication is HTTP Basic ``accountId:licenseKey``. Transaction codes in the path may
use AvaTax's escapes (``_-ava2f-_`` for ``/`` and friends). Every response carries an
``x-correlation-id`` header (the SDK's logging decorator requires it).

Tax content (rates, taxability by tax code, jurisdiction splits) lives in
:mod:`sandboxes.avalara.rates`. Exemptions (document ``entityUseCode``/
``customerUsageType`` or ``exemptionNo``, line ``entityUseCode`` or ``exemptionCode``)
make the line exempt in every jurisdiction. Entity/use codes are AvaTax's default list
(``A``-``N``, ``P``-``R``); ``TAXABLE`` forces tax; any other (custom) code matches no
exemption rule, so the line stays taxable. Tax is computed per line and jurisdiction and
rounded half-up to the currency's decimals (JPY: 0).
Not modelled: ``taxIncluded``, document ``discount``, tax overrides (all answer 400).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qs, unquote

import msgspec

from sandboxes import asgi
from sandboxes.avalara import rates

__all__ = [
    "API_VERSION",
    "AvalaraSandbox",
    "AvalaraSandboxApp",
    "SandboxFaults",
    "create_app",
]

_log = logging.getLogger(__name__)

API_VERSION: Final = "26.10.0"
_USER_ID: Final = 424242
_HELP: Final = "http://developer.avalara.com/avatax/errors/"

#: AvaTax DocumentType values; ``*Order`` types are never stored.
DOCUMENT_TYPES: Final = (
    "SalesOrder", "SalesInvoice", "PurchaseOrder", "PurchaseInvoice", "ReturnOrder",
    "ReturnInvoice", "InventoryTransferOrder", "InventoryTransferInvoice",
    "ReverseChargeOrder", "ReverseChargeInvoice", "CustomsInvoice", "CustomsOrder",
)  # fmt: skip
_DOCUMENT_TYPES_CI: Final = {name.casefold(): name for name in DOCUMENT_TYPES}
VOID_REASON_CODES: Final = (
    "Unspecified", "PostFailed", "DocDeleted", "DocVoided", "AdjustmentCancelled",
)  # fmt: skip
#: Entity/use codes that exempt a customer (AvaTax's default list); TAXABLE forces tax.
ENTITY_USE_CODES: Final = frozenset("ABCDEFGHIJKLMNPQR")
_PATH_ESCAPES: Final = (
    ("_-ava2f-_", "/"), ("_-ava2b-_", "+"), ("_-ava3f-_", "?"), ("_-ava25-_", "%"),
    ("_-ava23-_", "#"),
)  # fmt: skip
_MAX_CODE_LENGTH: Final = 50

# ========================================================================= errors


class _ApiError(asgi.ApiError):
    """Ends request handling with ``status`` and a JSON ``body`` (None: empty body)."""


def _error(
    status: int,
    code: str,
    number: int,
    message: str,
    description: str,
    *,
    target: str = "IncorrectData",
    severity: str = "Error",
    fault: str = "Client",
    refers_to: str | None = None,
) -> _ApiError:
    detail: dict[str, Any] = {
        "code": code, "number": number, "message": message, "description": description,
        "faultCode": fault, "helpLink": _HELP + code, "severity": severity,
    }  # fmt: skip
    if refers_to is not None:
        detail["refersTo"] = refers_to
    return _ApiError(
        status,
        {"error": {"code": code, "message": message, "target": target, "details": [detail]}},
    )


def _model_required() -> _ApiError:
    return _error(
        400, "ModelRequiredException", 38, "A required model was not provided.",
        "Please verify that your request included a request body in valid JSON format.",
        target="HttpRequest", severity="Exception",
    )  # fmt: skip


def _model_invalid(field_name: str, problem: str) -> _ApiError:
    return _error(
        400, "ModelStateInvalid", 70, "The request was not properly formatted.",
        f"The field '{field_name}' {problem}. Please refer to the documentation for "
        "information on the valid request format.",
        refers_to=field_name,
    )  # fmt: skip


def _value_required(field_name: str) -> _ApiError:
    return _error(
        400, "ValueRequiredError", 5, f"The field '{field_name}' is required.",
        f"Please provide a value for the field '{field_name}'.", refers_to=field_name,
    )  # fmt: skip


def _enum_invalid(field_name: str, value: str, allowed: tuple[str, ...]) -> _ApiError:
    return _error(
        400, "InvalidEnumValue", 164, f"'{value}' is not a valid value for '{field_name}'.",
        f"The field '{field_name}' accepts one of: {', '.join(allowed)}.", refers_to=field_name,
    )  # fmt: skip


def _unsupported(field_name: str) -> _ApiError:
    return _error(
        400, "InvalidParameterValue", 306, f"The field '{field_name}' is not supported.",
        f"This AvaTax sandbox does not model '{field_name}'; send the request without it.",
        refers_to=field_name,
    )  # fmt: skip


def _company_not_found(company_code: str) -> _ApiError:
    return _error(
        404, "EntityNotFoundError", 4, "Company not found.",
        f"The Company with code '{company_code}' was not found.", target="HttpRequest",
    )  # fmt: skip


def _document_not_found(code: str) -> _ApiError:
    return _error(
        404, "EntityNotFoundError", 4, "Document not found.",
        f"The Document with code '{code}' was not found.", target="HttpRequest",
    )  # fmt: skip


def _authentication_failed() -> _ApiError:
    return _error(
        401, "AuthenticationException", 30, "Authentication failed.",
        "Missing authentication or unable to authenticate the user or the account.",
        target="HttpRequestHeaders", severity="Exception",
    )  # fmt: skip


def _address_error(exc: rates.AddressError, where: str) -> _ApiError:
    if exc.kind == "country":
        return _error(
            400, "InvalidCountry", 125, f"The country '{exc.value}' is not a recognized "
            "country code.", "Please use the `ListCountries` API to identify a list of "
            "ISO 3166 countries and codes.", refers_to=where,
        )  # fmt: skip
    if exc.kind == "region":
        return _error(
            400, "InvalidCountryRegion", 126, f"The region '{exc.value}' is not recognized.",
            "Please use the `ListRegions` API to identify a list of ISO 3166 regions and "
            "codes for this country.", refers_to=where,
        )  # fmt: skip
    return _error(
        400, "InvalidAddress", 309, "The address value was incomplete.",
        f"The address value '{where}' was incomplete: '{exc.value}' is missing. You must "
        "provide at least a country, and a region for addresses in the United States.",
        refers_to=where,
    )  # fmt: skip


def _not_found_route() -> _ApiError:
    return _ApiError(404, None)  # ASP.NET answers an unmatched route with an empty 404


def _method_not_allowed(allowed: str) -> _ApiError:
    return _ApiError(405, None, {"Allow": allowed})


# ====================================================================== helpers

_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?")


def _ci(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` with case-folded keys: AvaTax binds JSON property names case-insensitively."""
    return {str(key).casefold(): value for key, value in obj.items()}


def _text(obj: Mapping[str, Any], name: str, *, default: str = "") -> str:
    value = obj.get(name.casefold())
    if value is None:
        return default
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str | int | Decimal):
        return str(value)
    raise _model_invalid(name, "must be a string")


def _decimal(obj: Mapping[str, Any], name: str, *, default: Decimal | None = None) -> Decimal:
    value = obj.get(name.casefold())
    if value is None:
        if default is None:
            raise _value_required(name)
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _model_invalid(name, "must be a number")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _model_invalid(name, "must be a number") from None
    if not number.is_finite():
        raise _model_invalid(name, "must be a finite number")
    return number


def _bool(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name.casefold())
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    raise _model_invalid(name, "must be a boolean")


def _object(obj: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = obj.get(name.casefold())
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _model_invalid(name, "must be an object")
    return _ci(value)


def _parse_date(raw: str) -> date:
    match = _DATE_RE.fullmatch(raw.strip())
    if match is not None:
        try:
            return date.fromisoformat(match[1])
        except ValueError:
            pass
    raise _error(
        400, "DateFormatError", 26, "The date value was incorrectly formatted.",
        f"The date '{raw}' could not be parsed; use the format YYYY-MM-DD.", refers_to="date",
    )  # fmt: skip


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _document_type(raw: str, field_name: str) -> str:
    canonical = _DOCUMENT_TYPES_CI.get(raw.strip().casefold())
    if canonical is None:
        raise _enum_invalid(field_name, raw, DOCUMENT_TYPES)
    return canonical


def _is_recorded(document_type: str) -> bool:
    """Invoice types are recorded; Order types are estimates (``Temporary``)."""
    return document_type.endswith("Invoice")


def _decode_path_code(value: str) -> str:
    for escape, char in _PATH_ESCAPES:
        value = value.replace(escape, char)
    return value


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ==================================================================== the account


@dataclass(slots=True)
class SandboxFaults:
    """Fault injection knobs; mutate them on a running sandbox."""

    latency_seconds: float = 0.0  # added before every response
    fail_next: int = 0  # answer the next N calls with 503 ServiceNotReady


@dataclass(frozen=True, slots=True)
class _Address:
    """A resolved input address."""

    line1: str
    line2: str
    line3: str
    city: str
    postal_code: str
    location: rates.Location

    @property
    def key(self) -> tuple[str, ...]:
        loc = self.location
        return (self.line1, self.line2, self.line3, self.city, loc.region, loc.country,
                self.postal_code)  # fmt: skip


@dataclass(slots=True)
class _Company:
    code: str
    id: int
    name: str
    currency: str
    origin: _Address
    is_default: bool = False


@dataclass(slots=True)
class _Document:
    company: _Company
    code: str
    type: str
    model: dict[str, Any]  # the full TransactionModel as rendered


@dataclass(slots=True)
class _Line:
    number: str
    quantity: Decimal
    amount: Decimal
    tax_code: str
    item_code: str
    description: str
    entity_use_code: str
    exemption_code: str
    ref1: str
    ref2: str
    origin: _Address
    destination: _Address


@dataclass(slots=True)
class _Request:
    """A validated CreateTransactionModel."""

    type: str
    company: _Company
    code: str
    date: date
    customer_code: str
    commit: bool
    currency: str
    entity_use_code: str
    exemption_no: str
    purchase_order_no: str
    reference_code: str
    salesperson_code: str
    description: str
    email: str
    batch_code: str
    reporting_location_code: str
    origin: _Address | None
    destination: _Address | None
    lines: list[_Line] = field(default_factory=list)


_Reply = asgi.SandboxReply


#: What AvaTax assumes when ``$include`` is omitted (its API reference and SDK docs).
DEFAULT_INCLUDE: Final = "Summary,Addresses"


class _Includes:
    """The ``$include`` switches; no value means AvaTax's documented default."""

    def __init__(self, raw: str | None) -> None:
        if raw is None or not raw.strip():
            raw = DEFAULT_INCLUDE
        wanted = {part.strip().casefold() for part in raw.split(",") if part.strip()}
        summary_only = "summaryonly" in wanted
        lines_only = "linesonly" in wanted
        self.lines = not summary_only and bool(
            wanted & {"lines", "details", "summary", "linesonly"}
        )
        self.details = self.lines and not lines_only and bool(wanted & {"details", "summary"})
        self.summary = not lines_only and bool(wanted & {"summary", "summaryonly"})
        self.addresses = "addresses" in wanted


_SEED_COMPANIES: Final = (
    ("ACME", 1_234_501, "ACME Inc.", "USD", True,
     ("1100 2nd Ave", "Seattle", "WA", "US", "98101")),
    ("ACME-US", 1_234_502, "ACME US Inc.", "USD", False,
     ("1100 2nd Ave", "Seattle", "WA", "US", "98101")),
    ("ACME-UK", 1_234_503, "ACME UK Ltd", "GBP", False,
     ("1 Canada Square", "London", "", "GB", "E14 5AB")),
    ("ACME-EU", 1_234_504, "ACME Europe B.V.", "EUR", False,
     ("Stadhouderskade 12", "Amsterdam", "", "NL", "1054 ES")),
)  # fmt: skip


# The embedded default's credentials (HTTP Basic, account id : license key).
ACCOUNT_ID = "2000123456"
LICENSE_KEY = "q2c-sandbox-license"


class AvalaraSandbox:
    """One AvaTax account (companies and recorded transactions) plus the REST API."""

    def __init__(
        self,
        *,
        account_id: str = ACCOUNT_ID,
        license_key: str = LICENSE_KEY,
        company_code: str = "ACME",
        seed: bool = True,
    ) -> None:
        self.account_id = account_id
        self.license_key = license_key
        self.default_company_code = company_code
        self.faults = SandboxFaults()
        #: CreateTransaction/CreateOrAdjustTransaction calls that passed authentication.
        self.create_calls = 0
        self._companies: dict[str, _Company] = {}  # casefolded code -> company
        # (company id, casefolded code) -> document type -> document
        self._documents: dict[tuple[int, str], dict[str, _Document]] = {}
        self._documents_by_id: dict[int, _Document] = {}
        self._transaction_ids = itertools.count(7_100_000_001)
        self._line_ids = itertools.count(8_200_000_001)
        self._detail_ids = itertools.count(9_300_000_001)
        self._address_ids = itertools.count(6_400_000_001)
        if seed:
            for code, company_id, name, currency, _default, address in _SEED_COMPANIES:
                self.add_company(code, company_id=company_id, name=name, currency=currency,
                                 origin=address)  # fmt: skip

    # -------------------------------------------------------------- the account
    def add_company(
        self,
        code: str,
        *,
        company_id: int,
        name: str,
        currency: str,
        origin: tuple[str, str, str, str, str],
    ) -> None:
        """Add a company; ``origin`` is (line1, city, region, country, postalCode)."""
        line1, city, region, country, postal_code = origin
        location = rates.resolve(country, region, city)
        self._companies[code.casefold()] = _Company(
            code, company_id, name, currency,
            _Address(line1, "", "", city, postal_code, location),
            is_default=code.casefold() == self.default_company_code.casefold(),
        )  # fmt: skip

    def companies(self) -> list[dict[str, Any]]:
        """The companies of the account: code, id, name, currency, default flag, origin."""
        return [
            {"code": c.code, "id": c.id, "name": c.name, "currencyCode": c.currency,
             "isDefault": c.is_default, "origin": self._render_address(c.origin, 0, 0)}
            for c in self._companies.values()
        ]  # fmt: skip

    def transactions(self) -> list[dict[str, Any]]:
        """Snapshot of every recorded document as the API renders it, plus ``companyCode``."""
        return [
            {**deepcopy(doc.model), "companyCode": doc.company.code}
            for doc in self._documents_by_id.values()
        ]

    def transaction(
        self, company_code: str, code: str, document_type: str = "SalesInvoice"
    ) -> dict[str, Any] | None:
        """Snapshot of one recorded document, or None."""
        company = self._companies.get(company_code.casefold())
        if company is None:
            return None
        canonical = _DOCUMENT_TYPES_CI.get(document_type.casefold(), document_type)
        doc = self._documents.get((company.id, code.casefold()), {}).get(canonical)
        return None if doc is None else {**deepcopy(doc.model), "companyCode": company.code}

    # ------------------------------------------------------------------ dispatch
    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Reply:
        """Serve one HTTP request (``headers`` keys lower-case, ``path`` still %-encoded)."""
        segments = [unquote(s) for s in path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        params = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        try:
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                raise _error(
                    503, "ServiceNotReady", 1718, "The service is not ready.",
                    "AvaTax is temporarily unavailable (sandbox fault injection). "
                    "Please try again later.",
                    target="AvaTaxApiServer", severity="Exception", fault="Server",
                )  # fmt: skip
            lowered = [s.casefold() for s in segments]
            if lowered[:2] != ["api", "v2"]:
                raise _not_found_route()
            return self._route(method, segments[2:], lowered[2:], params, headers, body)
        except _ApiError as exc:
            return _Reply(exc.status, exc.body, exc.headers)
        except Exception:  # a sandbox bug: answer like the real API, keep the account intact
            _log.exception("avalara sandbox: unexpected error on %s %s", method, path)
            crash = _error(
                500, "UnhandledException", 50, "An unhandled exception occurred.",
                "The API you attempted to call resulted in an unhandled exception.",
                target="AvaTaxApiServer", severity="Exception", fault="Server",
            )  # fmt: skip
            return _Reply(crash.status, crash.body)

    def _route(
        self,
        method: str,
        segments: list[str],
        lowered: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        raw_body: bytes,
    ) -> _Reply:
        if lowered == ["utilities", "ping"]:
            self._allow(method, "GET")
            return _Reply(200, self._ping(headers))
        includes = _Includes(params.get("$include"))
        if lowered[:1] == ["transactions"] and len(lowered) == 2:
            if lowered[1] in ("create", "createoradjust"):
                self._allow(method, "POST")
                self._authenticate(headers)
                body = self._body(raw_body)
                if lowered[1] == "create":
                    return _Reply(201, self._create(body, includes, adjust=False))
                inner = _object(body, "createTransactionModel")
                if inner is None:
                    raise _value_required("createTransactionModel")
                return _Reply(201, self._create(inner, includes, adjust=True))
            if lowered[1].isdigit():
                self._allow(method, "GET")
                self._authenticate(headers)
                doc = self._documents_by_id.get(int(lowered[1]))
                if doc is None:
                    raise _error(
                        404, "EntityNotFoundError", 4, "Document not found.",
                        f"The Document with ID '{segments[1]}' was not found.",
                        target="HttpRequest",
                    )  # fmt: skip
                return _Reply(200, self._render(doc, includes))
        if lowered[:1] == ["companies"] and len(lowered) >= 4 and lowered[2] == "transactions":
            company_code, code = segments[1], _decode_path_code(segments[3])
            if not company_code.strip() or not code.strip():
                raise _not_found_route()
            tail = lowered[4:]
            if not tail or tail[0] == "types":
                if tail and len(tail) != 2:
                    raise _not_found_route()
                self._allow(method, "GET")
                self._authenticate(headers)
                wanted = (
                    _document_type(segments[5], "documentType") if tail
                    else self._query_type(params, default=None)
                )  # fmt: skip
                doc = self._find(company_code, code, wanted)
                return _Reply(200, self._render(doc, includes))
            if tail in (["commit"], ["void"]):
                self._allow(method, "POST")
                self._authenticate(headers)
                body = self._body(raw_body)
                wanted = self._query_type(params, default="SalesInvoice")
                doc = self._find(company_code, code, wanted, strict=True)
                if tail == ["commit"]:
                    self._commit(doc, body)
                else:
                    self._void(doc, body)
                return _Reply(200, self._render(doc, includes))
        raise _not_found_route()

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise _method_not_allowed(allowed)

    @staticmethod
    def _body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            raise _model_required()
        try:
            body = _JSON_DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            raise _error(
                400, "JsonFormatError", 47, "The JSON you sent with your request was invalid.",
                f"Invalid JSON: {exc}", target="HttpRequest",
            ) from None  # fmt: skip
        if not isinstance(body, dict):
            raise _model_invalid("body", "must be a JSON object")
        return _ci(body)

    @staticmethod
    def _query_type(params: Mapping[str, str], default: str | None) -> str | None:
        raw = next((v for k, v in params.items() if k.casefold() == "documenttype"), "")
        return _document_type(raw, "documentType") if raw.strip() else default

    # ------------------------------------------------------------ authentication
    def _credentials(self, headers: Mapping[str, str]) -> bool | None:
        """True: valid; False: wrong credentials; None: no or malformed header."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.casefold() != "basic" or not value.strip():
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, secret = decoded.partition(":")
        if not sep:
            return None
        return hmac.compare_digest(user.encode(), self.account_id.encode()) and (
            hmac.compare_digest(secret.encode(), self.license_key.encode())
        )

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        if self._credentials(headers) is not True:
            raise _authentication_failed()

    def _ping(self, headers: Mapping[str, str]) -> dict[str, Any]:
        if self._credentials(headers) is not True:
            return {"version": API_VERSION, "authenticated": False, "authenticationType": "None"}
        return {
            "version": API_VERSION,
            "authenticated": True,
            "authenticationType": "AccountIdLicenseKey",
            "authenticatedUserName": self.account_id,
            "authenticatedAccountId": int(self.account_id) if self.account_id.isdigit()
            else self.account_id,
        }  # fmt: skip

    # --------------------------------------------------------------- documents
    def _company(self, code: str) -> _Company:
        if not code.strip():
            default = next((c for c in self._companies.values() if c.is_default), None)
            if default is None:
                raise _company_not_found(code)
            return default
        company = self._companies.get(code.strip().casefold())
        if company is None:
            raise _company_not_found(code)
        return company

    def _find(
        self, company_code: str, code: str, document_type: str | None, *, strict: bool = False
    ) -> _Document:
        company = self._company(company_code)
        by_type = self._documents.get((company.id, code.casefold()), {})
        if document_type is None:  # GET without a type prefers the SalesInvoice
            doc = by_type.get("SalesInvoice") or next(iter(by_type.values()), None)
        else:
            doc = by_type.get(document_type)
        if doc is None:
            if strict and by_type:
                other = next(iter(by_type.values()))
                raise _error(
                    400, "InvalidDocumentType", 1310,
                    f"Document '{other.code}' type is '{other.type}', not expected "
                    f"'{document_type}'.",
                    "To commit or verify a transaction, document type has to match with "
                    "that in the request.",
                )  # fmt: skip
            raise _document_not_found(code)
        return doc

    def _commit(self, doc: _Document, body: Mapping[str, Any]) -> None:
        if "commit" not in body:
            raise _value_required("commit")
        commit = _bool(body, "commit")
        status = doc.model["status"]
        if status == "Cancelled":
            raise _error(
                400, "InvalidDocumentStatusForCommit", 1309,
                f"Documents cannot be committed in the status '{status}'.",
                "To commit a transaction, the document must be in 'Saved' or 'Posted' status.",
            )  # fmt: skip
        if commit and status != "Committed":
            doc.model["status"] = "Committed"
            doc.model["modifiedDate"] = _now()

    def _void(self, doc: _Document, body: Mapping[str, Any]) -> None:
        raw = _text(body, "code")
        if not raw:
            raise _value_required("code")
        reason = next((c for c in VOID_REASON_CODES if c.casefold() == raw.casefold()), None)
        if reason is None:
            raise _enum_invalid("code", raw, VOID_REASON_CODES)
        if doc.model["status"] == "Cancelled":
            raise _error(
                400, "TransactionAlreadyCancelled", 198, "The transaction is already cancelled.",
                f"The transaction '{doc.code}' has already been voided.",
            )  # fmt: skip
        doc.model["status"] = "Cancelled"
        doc.model["modifiedDate"] = _now()

    # ---------------------------------------------------------------- creation
    def _create(
        self, body: Mapping[str, Any], includes: _Includes, *, adjust: bool
    ) -> dict[str, Any]:
        self.create_calls += 1
        request = self._parse(body)
        recorded = _is_recorded(request.type)
        existing: _Document | None = None
        if recorded:
            existing = self._documents.get((request.company.id, request.code.casefold()), {}).get(
                request.type
            )
            if existing is not None and not adjust and existing.model["status"] != "Saved":
                raise _error(
                    400, "DocumentCodeConflict", 303,
                    "A committed transaction with this code already exists.",
                    f"Transaction '{existing.code}' of company '{request.company.code}' has "
                    f"the status '{existing.model['status']}'; its code is reserved. Use "
                    "AdjustTransaction or VoidTransaction to change it.",
                )  # fmt: skip
        if not recorded:
            transaction_id = 0
        elif existing is not None:
            transaction_id = existing.model["id"]
        else:
            transaction_id = next(self._transaction_ids)
        model = self._calculate(request, transaction_id, recorded)
        if recorded:
            model["status"] = "Committed" if request.commit else "Saved"
            if existing is not None:
                model["version"] = existing.model["version"] + 1
                if adjust:
                    model["adjustmentReason"] = "Other"
                    model["adjustmentDescription"] = "Create or adjust transaction"
                existing.model = model
                doc = existing
            else:
                doc = _Document(request.company, request.code, request.type, model)
                self._documents.setdefault((request.company.id, request.code.casefold()), {})[
                    request.type
                ] = doc
                self._documents_by_id[transaction_id] = doc
            return self._render(doc, includes)
        return _filter(model, includes)

    def _parse(self, body: Mapping[str, Any]) -> _Request:
        raw_type = _text(body, "type")
        doc_type = _document_type(raw_type, "type") if raw_type.strip() else "SalesOrder"
        company = self._company(_text(body, "companyCode"))
        raw_date = _text(body, "date")
        if not raw_date.strip():
            raise _value_required("date")
        doc_date = _parse_date(raw_date)
        customer_code = _text(body, "customerCode") or _text(body, "customerVendorCode")
        if not customer_code.strip():
            raise _value_required("customerCode")
        for name in ("discount", "taxOverride"):
            value = body.get(name.casefold())
            if value not in (None, 0, Decimal(0), {}):
                raise _unsupported(name)
        code = _text(body, "code").strip() or str(uuid.uuid4())
        if len(code) > _MAX_CODE_LENGTH:
            raise _error(
                400, "StringLengthError", 13, "The field 'code' is too long.",
                f"The field 'code' may be at most {_MAX_CODE_LENGTH} characters long.",
                refers_to="code",
            )  # fmt: skip
        currency = (_text(body, "currencyCode").strip() or company.currency).upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise _model_invalid("currencyCode", "must be a 3-letter ISO 4217 code")
        raw_lines = body.get("lines")
        if raw_lines is not None and not isinstance(raw_lines, list):
            raise _model_invalid("lines", "must be an array")
        if not raw_lines:
            raise _error(
                400, "MissingLine", 311, "Transactions must have at least one line.",
                "The CreateTransactionModel object must have an element called 'lines', "
                "with at least one valid line record.",
            )  # fmt: skip
        origin, destination = self._address_pair(_object(body, "addresses"), "addresses")
        request = _Request(
            type=doc_type, company=company, code=code, date=doc_date,
            customer_code=customer_code.strip(), commit=_bool(body, "commit"),
            currency=currency,
            entity_use_code=(_text(body, "entityUseCode") or _text(body, "customerUsageType")),
            exemption_no=_text(body, "exemptionNo"),
            purchase_order_no=_text(body, "purchaseOrderNo"),
            reference_code=_text(body, "referenceCode"),
            salesperson_code=_text(body, "salespersonCode"),
            description=_text(body, "description"), email=_text(body, "email"),
            batch_code=_text(body, "batchCode"),
            reporting_location_code=_text(body, "reportingLocationCode"),
            origin=origin, destination=destination,
        )  # fmt: skip
        for index, raw_line in enumerate(raw_lines):
            if not isinstance(raw_line, dict):
                raise _model_invalid(f"lines[{index}]", "must be an object")
            request.lines.append(self._parse_line(request, _ci(raw_line), index))
        return request

    def _address_pair(
        self, addresses: Mapping[str, Any] | None, where: str
    ) -> tuple[_Address | None, _Address | None]:
        if addresses is None:
            return None, None
        single = self._address(addresses, "singleLocation", where)
        ship_from = self._address(addresses, "shipFrom", where) or single
        ship_to = self._address(addresses, "shipTo", where) or single
        return ship_from, ship_to

    @staticmethod
    def _address(addresses: Mapping[str, Any], name: str, where: str) -> _Address | None:
        raw = _object(addresses, name)
        if raw is None:
            return None
        path = f"{where}.{name}"
        try:
            location = rates.resolve(_text(raw, "country"), _text(raw, "region"),
                                     _text(raw, "city"))  # fmt: skip
        except rates.AddressError as exc:
            raise _address_error(exc, path) from None
        return _Address(
            _text(raw, "line1").strip(), _text(raw, "line2").strip(),
            _text(raw, "line3").strip(), _text(raw, "city").strip(),
            _text(raw, "postalCode").strip(), location,
        )  # fmt: skip

    def _parse_line(self, request: _Request, raw: Mapping[str, Any], index: int) -> _Line:
        where = f"lines[{index}]"
        if raw.get("taxincluded") is True:
            raise _unsupported(f"{where}.taxIncluded")
        if raw.get("taxoverride") not in (None, {}):
            raise _unsupported(f"{where}.taxOverride")
        origin, destination = self._address_pair(_object(raw, "addresses"), f"{where}.addresses")
        destination = destination or request.destination
        if destination is None:
            raise _error(
                400, "MissingAddress", 304, "An address is required for tax calculation.",
                f"Line '{_text(raw, 'number') or index + 1}' has no destination address: "
                "provide 'addresses' on the transaction or on the line.",
                refers_to=f"{where}.addresses",
            )  # fmt: skip
        origin = origin or request.origin or request.company.origin
        return _Line(
            number=_text(raw, "number").strip() or str(index + 1),
            quantity=_decimal(raw, "quantity", default=Decimal(1)),
            amount=_decimal(raw, "amount"),
            tax_code=_text(raw, "taxCode").strip().upper() or "P0000000",
            item_code=_text(raw, "itemCode"), description=_text(raw, "description"),
            entity_use_code=_text(raw, "entityUseCode") or _text(raw, "customerUsageType"),
            exemption_code=_text(raw, "exemptionCode"),
            ref1=_text(raw, "ref1"), ref2=_text(raw, "ref2"),
            origin=origin, destination=destination,
        )  # fmt: skip

    # ------------------------------------------------------------- calculation
    def _calculate(self, request: _Request, transaction_id: int, recorded: bool) -> dict[str, Any]:
        def new_id(counter: Iterator[int]) -> int:
            return next(counter) if recorded else 0

        places = rates.currency_places(request.currency)
        zero = _quantize(Decimal(0), places)
        day = request.date.isoformat()
        address_ids: dict[tuple[str, ...], tuple[int, _Address]] = {}

        def address_id(address: _Address) -> int:
            known = address_ids.get(address.key)
            if known is None:
                known = address_ids[address.key] = (new_id(self._address_ids), address)
            return known[0]

        doc_origin = request.origin or request.company.origin
        doc_origin_id = address_id(doc_origin)
        doc_destination_id = address_id(request.destination) if request.destination else 0
        summary: dict[tuple[str, ...], dict[str, Any]] = {}
        lines: list[dict[str, Any]] = []
        totals = {"amount": zero, "exempt": zero, "taxable": zero, "tax": zero}
        for line in request.lines:
            line_id = new_id(self._line_ids)
            destination_id = address_id(line.destination)
            origin_id = address_id(line.origin)
            location = line.destination.location
            category = rates.classify_tax_code(line.tax_code)
            taxable_item = rates.is_taxable(category, location)
            use_code = (line.entity_use_code or request.entity_use_code).strip().upper()
            exempt_no = line.exemption_code.strip() or request.exemption_no.strip()
            exempt = (
                taxable_item
                and use_code != "TAXABLE"
                and (use_code in ENTITY_USE_CODES or bool(exempt_no))
            )
            details: list[dict[str, Any]] = []
            line_tax = zero
            for juris in location.jurisdictions:
                taxable = line.amount if taxable_item and not exempt else zero
                exempt_amount = line.amount if exempt else zero
                non_taxable = line.amount if not taxable_item else zero
                rate = juris.rate if taxable_item else Decimal(0)
                tax = _quantize(taxable * rate, places) if taxable else zero
                line_tax += tax
                details.append(_detail(
                    new_id(self._detail_ids), line_id, transaction_id, destination_id, juris,
                    line.origin.location.region == location.region, taxable, exempt_amount,
                    non_taxable, rate, tax, location,
                ))  # fmt: skip
                key = (juris.country, juris.region, juris.juris_type, juris.juris_code,
                       juris.tax_type, juris.tax_name, juris.rate_type)  # fmt: skip
                row = summary.get(key)
                if row is None:
                    row = summary[key] = _summary_row(juris)
                row["taxable"] += taxable
                row["nonTaxable"] += non_taxable
                row["exemption"] += exempt_amount
                row["tax"] += tax
                row["taxCalculated"] += tax
                row["rate"] = max(row["rate"], rate)
            line_taxable = line.amount if taxable_item and not exempt else zero
            line_exempt = line.amount - line_taxable
            totals["amount"] += line.amount
            totals["exempt"] += line_exempt
            totals["taxable"] += line_taxable
            totals["tax"] += line_tax
            lines.append({
                "id": line_id, "transactionId": transaction_id, "lineNumber": line.number,
                "boundaryOverrideId": 0, "customerUsageType": use_code if exempt else "",
                "entityUseCode": use_code if exempt else "", "description": line.description,
                "destinationAddressId": destination_id, "originAddressId": origin_id,
                "discountAmount": zero, "discountTypeId": 0, "exemptAmount": line_exempt,
                "exemptCertId": 0, "exemptNo": exempt_no if exempt else "",
                "isItemTaxable": taxable_item, "isSSTP": False, "itemCode": line.item_code,
                "lineAmount": line.amount, "quantity": line.quantity, "ref1": line.ref1,
                "ref2": line.ref2, "reportingDate": day, "revAccount": "",
                "sourcing": "Destination", "tax": line_tax, "taxableAmount": line_taxable,
                "taxCalculated": line_tax, "taxCode": line.tax_code,
                "taxCodeId": rates.tax_code_id(line.tax_code), "taxDate": day, "taxEngine": "",
                "taxOverrideType": "None", "businessIdentificationNo": "",
                "taxOverrideAmount": zero, "taxOverrideReason": "", "taxIncluded": False,
                "details": details, "nonPassthroughDetails": [], "hsCode": "",
                "costInsuranceFreight": zero, "vatCode": "", "vatNumberTypeId": 0,
            })  # fmt: skip
        first = request.lines[0].destination.location
        return {
            "id": transaction_id, "code": request.code, "companyId": request.company.id,
            "date": day, "paymentDate": "1900-01-01", "status": "Temporary", "type": request.type,
            "batchCode": request.batch_code, "currencyCode": request.currency,
            "exchangeRateCurrencyCode": request.currency,
            "customerUsageType": request.entity_use_code,
            "entityUseCode": request.entity_use_code,
            "customerVendorCode": request.customer_code, "customerCode": request.customer_code,
            "exemptNo": request.exemption_no, "reconciled": False, "locationCode": "",
            "reportingLocationCode": request.reporting_location_code,
            "purchaseOrderNo": request.purchase_order_no,
            "referenceCode": request.reference_code,
            "salespersonCode": request.salesperson_code, "taxOverrideType": "None",
            "taxOverrideAmount": zero, "taxOverrideReason": "",
            "totalAmount": totals["amount"], "totalExempt": totals["exempt"],
            "totalDiscount": zero, "totalTax": totals["tax"],
            "totalTaxable": totals["taxable"], "totalTaxCalculated": totals["tax"],
            "adjustmentReason": "NotAdjusted", "adjustmentDescription": "", "locked": False,
            "region": first.region, "country": first.country, "version": 1,
            "softwareVersion": f"{API_VERSION}.0", "originAddressId": doc_origin_id,
            "destinationAddressId": doc_destination_id, "exchangeRateEffectiveDate": day,
            "exchangeRate": Decimal(1), "isSellerImporterOfRecord": False,
            "description": request.description, "email": request.email,
            "businessIdentificationNo": "", "modifiedDate": _now(),
            "modifiedUserId": _USER_ID, "taxDate": day, "lines": lines,
            "addresses": [self._render_address(address, address_id_, transaction_id)
                          for address_id_, address in address_ids.values()],
            "summary": list(summary.values()),
        }  # fmt: skip

    @staticmethod
    def _render_address(address: _Address, address_id: int, transaction_id: int) -> dict[str, Any]:
        loc = address.location
        return {
            "id": address_id, "transactionId": transaction_id,
            "boundaryLevel": "Address" if address.line1 else "Zip5", "line1": address.line1,
            "line2": address.line2, "line3": address.line3, "city": address.city,
            "region": loc.region, "postalCode": address.postal_code, "country": loc.country,
            "taxRegionId": loc.tax_region_id,
        }  # fmt: skip

    def _render(self, doc: _Document, includes: _Includes) -> dict[str, Any]:
        return _filter(doc.model, includes)


def _filter(model: dict[str, Any], includes: _Includes) -> dict[str, Any]:
    out = {k: v for k, v in model.items() if k not in ("lines", "addresses", "summary")}
    if includes.lines:
        out["lines"] = (
            model["lines"] if includes.details
            else [{k: v for k, v in line.items() if k != "details"} for line in model["lines"]]
        )  # fmt: skip
    if includes.addresses:
        out["addresses"] = model["addresses"]
    out["summary"] = model["summary"] if includes.summary else []
    return out


def _detail(
    detail_id: int,
    line_id: int,
    transaction_id: int,
    address_id: int,
    juris: rates.Jurisdiction,
    in_state: bool,
    taxable: Decimal,
    exempt: Decimal,
    non_taxable: Decimal,
    rate: Decimal,
    tax: Decimal,
    location: rates.Location,
) -> dict[str, Any]:
    if not non_taxable:
        non_taxable_type = "RateRule"
    else:
        non_taxable_type = "TaxRule" if location.nexus else "NexusRule"
    return {
        "id": detail_id, "transactionLineId": line_id, "transactionId": transaction_id,
        "addressId": address_id, "country": juris.country, "region": juris.region,
        "countyFIPS": "", "stateFIPS": juris.state_fips, "exemptAmount": exempt,
        "inState": in_state, "jurisCode": juris.juris_code, "jurisName": juris.juris_name,
        "jurisdictionId": juris.jurisdiction_id, "signatureCode": "", "stateAssignedNo": "",
        "jurisType": juris.juris_type, "jurisdictionType": juris.jurisdiction_type,
        "nonTaxableAmount": non_taxable, "nonTaxableRuleId": 0,
        "nonTaxableType": non_taxable_type,
        "rate": rate, "rateRuleId": 0, "rateSourceId": 0, "serCode": "",
        "sourcing": "Destination", "tax": tax, "taxableAmount": taxable,
        "taxType": juris.tax_type, "taxSubTypeId": juris.tax_sub_type,
        "taxTypeGroupId": juris.tax_type_group, "taxName": juris.tax_name,
        "taxAuthorityTypeId": 45, "taxRegionId": location.tax_region_id, "taxCalculated": tax,
        "taxOverride": Decimal(0), "rateType": juris.rate_type,
        "rateTypeCode": juris.rate_type_code, "taxableUnits": taxable,
        "nonTaxableUnits": non_taxable, "exemptUnits": exempt,
        "unitOfBasis": "PerCurrencyUnit", "isNonPassThru": False, "isFee": False,
        "reportingTaxableUnits": taxable, "reportingNonTaxableUnits": non_taxable,
        "reportingExemptUnits": exempt, "reportingTax": tax, "reportingTaxCalculated": tax,
        "liabilityType": "Seller",
    }  # fmt: skip


def _summary_row(juris: rates.Jurisdiction) -> dict[str, Any]:
    return {
        "country": juris.country, "region": juris.region,
        "jurisType": juris.jurisdiction_type, "jurisCode": juris.juris_code,
        "jurisName": juris.juris_name, "taxAuthorityType": 45, "stateAssignedNo": "",
        "taxType": juris.tax_type, "taxSubType": juris.tax_sub_type,
        "taxName": juris.tax_name, "rateType": juris.rate_type, "taxable": Decimal(0),
        "rate": Decimal(0), "tax": Decimal(0), "taxCalculated": Decimal(0),
        "nonTaxable": Decimal(0), "exemption": Decimal(0),
    }  # fmt: skip


# ======================================================================= ASGI

_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class AvalaraSandboxApp(asgi.SandboxASGIApp[AvalaraSandbox]):
    """The ASGI application serving an :class:`AvalaraSandbox`."""

    async def respond(self, request: asgi.SandboxRequest, send: asgi.Send) -> None:
        reply = self.sandbox.handle(request.method, request.path, request.query,
                                    request.headers, request.body)  # fmt: skip
        headers = [*reply.headers.items(), ("x-correlation-id", str(uuid.uuid4()))]
        no_body = reply.body is None  # HEAD is not special-cased: it gets the body too
        await asgi.send_response(
            send, reply.status, headers, b"" if no_body else _ENCODER.encode(reply.body),
            content_type=None if no_body else _JSON_CONTENT_TYPE,
        )  # fmt: skip


def create_app(sandbox: AvalaraSandbox | None = None) -> AvalaraSandboxApp:
    """An ASGI app serving ``sandbox`` (a freshly seeded one by default)."""
    return AvalaraSandboxApp(sandbox if sandbox is not None else AvalaraSandbox())
