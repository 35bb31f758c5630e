"""AvaTax REST v2: Basic auth (account id + license key), the X-Avalara-Client
identification header, and a decoding of TransactionModel in which every number is
a Decimal (no floats anywhere between AvaTax and the domain)."""

from __future__ import annotations

import base64
import platform
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec

from systems.avalara.errors import DOCUMENT_CODE_CONFLICT, translate, vendor_error
from systems.upstream import Upstream

JSON = dict[str, Any]
API_ROOT = "/api/v2"
ADAPTER_VERSION = "1.0"
#: Lines with their jurisdiction details; no summary or addresses are needed.
TRANSACTION_INCLUDE = "Lines,Details"

# AvaTax's escapes for characters a transaction code may hold but a path segment
# cannot; "%" first so the others are not escaped twice.
_PATH_ESCAPES = (
    ("%", "_-ava25-_"),
    ("/", "_-ava2f-_"),
    ("+", "_-ava2b-_"),
    ("?", "_-ava3f-_"),
    ("#", "_-ava23-_"),
)


class AvalaraAuth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """AvaTax account credentials: the account id and its license key."""

    account_id: str
    license_key: str

    def __post_init__(self) -> None:
        if not self.account_id.strip() or not self.license_key.strip():
            raise ValueError("avalara auth needs account_id and license_key")


class TransactionDetail(msgspec.Struct, frozen=True):
    """One jurisdiction applied to a line (``TransactionLineDetailModel``)."""

    rate: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    taxableAmount: Decimal = Decimal(0)
    exemptAmount: Decimal = Decimal(0)
    nonTaxableAmount: Decimal = Decimal(0)
    jurisType: str | None = None
    jurisName: str | None = None
    taxName: str | None = None


class TransactionLine(msgspec.Struct, frozen=True):
    """``TransactionLineModel``, the fields the gateway reads."""

    lineNumber: str | None = None
    lineAmount: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    taxableAmount: Decimal = Decimal(0)
    exemptAmount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    taxCode: str | None = None
    itemCode: str | None = None
    details: list[TransactionDetail] | None = None


class Transaction(msgspec.Struct, frozen=True):
    """``TransactionModel``, the fields the gateway reads."""

    id: int = 0
    code: str | None = None
    type: str | None = None
    status: str | None = None
    customerCode: str | None = None
    currencyCode: str | None = None
    totalAmount: Decimal = Decimal(0)
    totalExempt: Decimal = Decimal(0)
    totalTaxable: Decimal = Decimal(0)
    totalTax: Decimal = Decimal(0)
    lines: list[TransactionLine] | None = None


class _Ping(msgspec.Struct, frozen=True):
    authenticated: bool = False


_transaction = msgspec.json.Decoder(Transaction)
_ping = msgspec.json.Decoder(_Ping)
_encoder = msgspec.json.Encoder(decimal_format="number")


def transaction_code_segment(code: str) -> str:
    """A transaction code as one URL path segment, with AvaTax's escapes."""
    for char, escape in _PATH_ESCAPES:
        code = code.replace(char, escape)
    return quote(code, safe="")


def client_header(app_name: str, app_version: str, machine_name: str) -> str:
    """The ``X-Avalara-Client`` value: app; version; library; library version; machine."""
    return f"{app_name}; {app_version}; python; {ADAPTER_VERSION}; {machine_name}"


class AvalaraClient:
    def __init__(
        self,
        upstream: Upstream,
        auth: AvalaraAuth,
        *,
        app_name: str = "q2c-gateway",
        app_version: str = "1.0",
        machine_name: str | None = None,
    ) -> None:
        self._up = upstream
        token = base64.b64encode(f"{auth.account_id}:{auth.license_key}".encode()).decode()
        machine = platform.node() if machine_name is None else machine_name
        self._headers = {
            "Authorization": f"Basic {token}",
            "Accept": "application/json",
            "X-Avalara-Client": client_header(app_name, app_version, machine),
        }

    async def ping(self) -> bool:
        """Whether AvaTax is reachable and accepts the credentials."""
        response = await self._up.request(
            "GET",
            f"{API_ROOT}/utilities/ping",
            operation="utilities.ping",
            retry_safe=True,
            headers=self._headers,
        )
        return _ping.decode(response.content).authenticated

    async def create_transaction(self, model: JSON, *, retry_safe: bool) -> Transaction | None:
        """POST transactions/create. ``None``: the code already names a committed or
        cancelled document (``DocumentCodeConflict``); nothing was recorded."""
        response = await self._up.request(
            "POST",
            f"{API_ROOT}/transactions/create",
            operation="transactions.create",
            retry_safe=retry_safe,
            accept_statuses=frozenset({400}),
            headers={**self._headers, "Content-Type": "application/json"},
            params={"$include": TRANSACTION_INCLUDE},
            content=_encoder.encode(model),
        )
        if response.status_code == 400:
            if vendor_error(response).code == DOCUMENT_CODE_CONFLICT:
                return None
            raise translate(response)
        return _transaction.decode(response.content)

    async def void_transaction(
        self, company_code: str, code: str, document_type: str, reason_code: str
    ) -> Transaction | None:
        """POST companies/{company}/transactions/{code}/void; the voided document, or None
        when AvaTax refuses (400: already voided, or another status it cannot void) or
        has no such document (404). A missing company raises, as configuration."""
        response = await self._up.request(
            "POST",
            f"{API_ROOT}/companies/{quote(company_code, safe='')}/transactions/"
            f"{transaction_code_segment(code)}/void",
            operation="transactions.void",
            retry_safe=True,  # voiding a voided document changes nothing
            accept_statuses=frozenset({400, 404}),
            headers={**self._headers, "Content-Type": "application/json"},
            params={"documentType": document_type, "$include": TRANSACTION_INCLUDE},
            content=_encoder.encode({"code": reason_code}),
        )
        if response.status_code == 404:
            error = vendor_error(response)
            if error.code == "EntityNotFoundError" and (
                "company" not in (error.message or "").casefold()
            ):
                return None
            raise translate(response)
        if response.status_code == 400:
            return None
        return _transaction.decode(response.content)

    async def get_transaction(
        self, company_code: str, code: str, document_type: str
    ) -> Transaction | None:
        """GET companies/{company}/transactions/{code}?documentType=; None if not recorded."""
        response = await self._up.request(
            "GET",
            f"{API_ROOT}/companies/{quote(company_code, safe='')}/transactions/"
            f"{transaction_code_segment(code)}",
            operation="transactions.get",
            retry_safe=True,
            accept_statuses=frozenset({404}),
            headers=self._headers,
            params={"documentType": document_type, "$include": TRANSACTION_INCLUDE},
        )
        if response.status_code == 404:
            error = vendor_error(response)
            # A missing document is an answer; a missing company (or route) is configuration.
            if error.code == "EntityNotFoundError" and (
                "company" not in (error.message or "").casefold()
            ):
                return None
            raise translate(response)
        return _transaction.decode(response.content)
