"""An in-memory simulator of the Salesforce REST API (a small multi-currency CPQ org).

It is a plain ASGI application, used three ways: embedded in the gateway through
``httpx.ASGITransport``, served standalone by ``q2c sandbox serve --system
salesforce``, and by tests. The bar is wire fidelity: the vendor's own client
(simple-salesforce) works against it, and status codes, JSON shapes, error arrays,
18-character ids with their case-safe checksum, timestamp formats and number
encodings follow the real API.

Implemented surface, under ``/services/data/v{40..66}.0/``:

* ``GET /services/data/`` (versions), ``GET .../`` (resources), ``GET limits``
* ``POST /services/oauth2/token`` (client_credentials, password)
* ``sobjects/`` describeGlobal, ``sobjects/{T}`` (GET basic info, POST create),
  ``sobjects/{T}/describe``, ``sobjects/{T}/{Id}`` (GET ``?fields=``, PATCH, DELETE),
  ``sobjects/{T}/{ExternalIdField}/{value}`` (GET, PATCH upsert, DELETE)
* ``query`` / ``queryAll`` with paging through ``nextRecordsUrl`` (SOQL subset, see
  :mod:`sandboxes.salesforce.soql`)
* ``composite`` (``allOrNone``, ``@{ref.path}`` references, max 25 subrequests) and
  ``composite/sobjects`` (sObject Collections create/update/delete)

The org is seeded deterministically from :mod:`sandboxes.demo_data`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

import msgspec

from sandboxes import asgi, demo_data
from sandboxes.salesforce import soql

__all__ = [
    "API_VERSION",
    "STATIC_TOKEN",
    "SalesforceSandbox",
    "SalesforceSandboxApp",
    "SandboxFaults",
    "create_app",
    "normalize_id",
    "salesforce_id",
]

_log = logging.getLogger(__name__)

API_VERSION = "62.0"
STATIC_TOKEN = "00DSANDBOX!q2c-static-sandbox-token"
MIN_API_VERSION = 40
MAX_API_VERSION = 66

DEFAULT_BATCH_SIZE = 2000
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200
MAX_SOQL_OFFSET = 2000
DAILY_API_LIMIT = 15000
_MAX_OPEN_CURSORS = 100

CORPORATE_CURRENCY = "EUR"
#: Active currencies of the org and their decimal places.
CURRENCIES: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "CHF": 2, "SEK": 2, "DKK": 2,
    "PLN": 2, "HUF": 2, "CAD": 2, "AUD": 2,
}  # fmt: skip

_COUNTRIES: dict[str, tuple[str, str]] = {  # ISO2 -> (name, currency)
    "AT": ("Austria", "EUR"), "AU": ("Australia", "AUD"), "BE": ("Belgium", "EUR"),
    "CA": ("Canada", "CAD"), "CH": ("Switzerland", "CHF"), "DE": ("Germany", "EUR"),
    "DK": ("Denmark", "DKK"), "ES": ("Spain", "EUR"), "FI": ("Finland", "EUR"),
    "FR": ("France", "EUR"), "GB": ("United Kingdom", "GBP"), "HU": ("Hungary", "HUF"),
    "IE": ("Ireland", "EUR"), "IT": ("Italy", "EUR"), "JP": ("Japan", "JPY"),
    "NL": ("Netherlands", "EUR"), "PL": ("Poland", "PLN"), "SE": ("Sweden", "SEK"),
    "US": ("United States", "USD"),
}  # fmt: skip
_COUNTRY_BY_NAME = {name.casefold(): code for code, (name, _) in _COUNTRIES.items()}

_SEED_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)

# ============================================================================ ids

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ALNUM_RE = re.compile(r"[0-9A-Za-z]+")
_POD = "Q2"  # the two "instance" characters of every id this org mints


def _id_checksum(id15: str) -> str:
    suffix = []
    for chunk in range(3):
        bits = 0
        for offset, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def salesforce_id(key_prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with ``key_prefix`` in this org."""
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
    id15 = f"{key_prefix}{_POD}0{digits.rjust(9, '0')}"
    return id15 + _id_checksum(id15)


def normalize_id(value: str) -> str | None:
    """The canonical 18-character form of a 15- or 18-character id; None if not an id.

    15-character ids are case-sensitive; 18-character ids are case-insensitive
    (the suffix encodes the case of the first 15 characters).
    """
    if not _ALNUM_RE.fullmatch(value):
        return None
    if len(value) == 15:
        return value + _id_checksum(value)
    if len(value) != 18:
        return None
    suffix = value[15:].upper()
    chars = list(value[:15])
    for chunk, code in enumerate(suffix):
        bits = _SUFFIX_ALPHABET.find(code)
        if bits < 0:
            return None
        for offset in range(5):
            pos = chunk * 5 + offset
            if bits >> offset & 1:
                if not chars[pos].isalpha():
                    return None
                chars[pos] = chars[pos].upper()
            else:
                chars[pos] = chars[pos].lower()
    return "".join(chars) + suffix


_ORG_ID = salesforce_id("00D", 1)
_USER_ID = salesforce_id("005", 1)

# ========================================================================= errors


class _ApiError(asgi.ApiError):
    """Ends request handling with ``status`` and a JSON ``body``."""


class _DmlError(Exception):
    """A record-level failure (400 on single-record resources)."""

    def __init__(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)

    def as_error(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}


def _error(status: int, code: str, message: str) -> _ApiError:
    return _ApiError(status, [{"message": message, "errorCode": code}])


def _not_found() -> _ApiError:
    return _ApiError(
        404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    )


def _json_parser_error(message: str) -> _ApiError:
    return _error(400, "JSON_PARSER_ERROR", message)


# ========================================================================= schema

FieldType = Literal[
    "id", "string", "textarea", "url", "phone", "picklist", "boolean", "currency",
    "double", "percent", "int", "date", "datetime", "reference",
]  # fmt: skip
_STRING_TYPES = frozenset({"string", "textarea", "url", "phone", "picklist"})
_DECIMAL_TYPES = frozenset({"currency", "double", "percent"})
_SOAP_TYPES = {
    "id": "id", "reference": "id", "string": "string", "textarea": "string", "url": "string",
    "phone": "string", "picklist": "string", "boolean": "boolean", "currency": "double",
    "double": "double", "percent": "double", "int": "int", "date": "date",
    "datetime": "dateTime",
}  # fmt: skip
OnDelete = Literal["cascade", "restrict", "clear"]


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    label: str
    type: FieldType
    length: int = 0
    precision: int = 18  # significant digits of numeric fields
    scale: int = 0
    required: bool = False  # must be given on create (not nillable, not defaulted)
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: str | None = None
    relationship: str | None = None  # parent relationship name (AccountId -> Account)
    child_relationship: str | None = None  # name of this lookup seen from the parent
    on_delete: OnDelete = "clear"
    custom: bool = False

    @property
    def nillable(self) -> bool:
        return not self.required and self.type not in ("id", "boolean") and self.createable


@dataclass(frozen=True, slots=True)
class _ChildRelationship:
    name: str
    child: str
    field: _Field


@dataclass(slots=True)
class _Object:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    field_list: tuple[_Field, ...]
    fields: dict[str, _Field] = field(default_factory=dict)  # casefolded name -> field
    parents: dict[str, _Field] = field(default_factory=dict)  # casefolded relationship -> field
    children: dict[str, _ChildRelationship] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.field_list:
            self.fields[f.name.casefold()] = f
            if f.relationship:
                self.parents[f.relationship.casefold()] = f

    def field(self, name: str) -> _Field | None:
        return self.fields.get(name.casefold())


def _system_fields(prefix_fields: Iterable[_Field]) -> tuple[_Field, ...]:
    ro = {"createable": False, "updateable": False}
    return (
        _Field("Id", "Record ID", "id", 18, **ro),  # type: ignore[arg-type]
        *prefix_fields,
        _Field("CreatedDate", "Created Date", "datetime", **ro),  # type: ignore[arg-type]
        _Field("LastModifiedDate", "Last Modified Date", "datetime", **ro),  # type: ignore[arg-type]
        _Field("SystemModstamp", "System Modstamp", "datetime", **ro),  # type: ignore[arg-type]
    )


def _currency_field(*, updateable: bool = True, createable: bool = True) -> _Field:
    return _Field(
        "CurrencyIsoCode", "Currency ISO Code", "picklist", 3, picklist=tuple(CURRENCIES),
        restricted=True, createable=createable, updateable=updateable,
    )  # fmt: skip


def _ref(
    name: str, label: str, to: str, relationship: str, *, child: str | None = None,
    on_delete: OnDelete = "clear", **options: Any,
) -> _Field:  # fmt: skip
    return _Field(
        name, label, "reference", 18, reference_to=to, relationship=relationship,
        child_relationship=child, on_delete=on_delete, **options,
    )  # fmt: skip


_INDUSTRIES = (
    "Agriculture", "Banking", "Consulting", "Education", "Energy", "Financial Services",
    "Food & Beverage", "Healthcare", "Hospitality", "Insurance", "Manufacturing", "Media",
    "Research", "Retail", "Technology", "Telecommunications", "Transportation", "Wholesale",
    "Other",
)  # fmt: skip
QUOTE_STATUSES = (
    "Draft", "Needs Review", "In Review", "Approved", "Rejected", "Presented", "Accepted",
    "Denied",
)  # fmt: skip
_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
    "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
    "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip
_RO: dict[str, Any] = {"createable": False, "updateable": False}


def _build_schema() -> dict[str, _Object]:
    objects = [
        _Object("Account", "Account", "Accounts", "001", _system_fields((
            _Field("Name", "Account Name", "string", 255, required=True),
            _Field("Website", "Website", "url", 255),
            _Field("Phone", "Account Phone", "phone", 40),
            _Field("Industry", "Industry", "picklist", 255, picklist=_INDUSTRIES),
            _Field("BillingStreet", "Billing Street", "textarea", 255),
            _Field("BillingCity", "Billing City", "string", 40),
            _Field("BillingPostalCode", "Billing Zip/Postal Code", "string", 20),
            _Field("BillingStateCode", "Billing State/Province Code", "string", 10),
            _Field("BillingCountry", "Billing Country", "string", 80),
            _Field("BillingCountryCode", "Billing Country Code", "string", 10),
            _Field("Tax_ID__c", "Tax ID", "string", 40, custom=True),
            _Field("Q2C_Id__c", "Q2C Id", "string", 64, external_id=True, unique=True,
                   custom=True),
            _Field("SAP_Business_Partner__c", "SAP Business Partner", "string", 10,
                   external_id=True, custom=True),
            _Field("Legal_Entity__c", "Legal Entity", "string", 255, custom=True),
            _currency_field(),
        ))),
        _Object("Product2", "Product", "Products", "01t", _system_fields((
            _Field("Name", "Product Name", "string", 255, required=True),
            _Field("ProductCode", "Product Code", "string", 255),
            _Field("Description", "Product Description", "textarea", 4000),
            _Field("Family", "Product Family", "picklist", 255,
                   picklist=("Hardware", "Software", "Services")),
            _Field("IsActive", "Active", "boolean", default=False),
            _Field("QuantityUnitOfMeasure", "Quantity Unit Of Measure", "picklist", 255,
                   picklist=("Each", "Hour")),
            _currency_field(),
        ))),
        _Object("Pricebook2", "Price Book", "Price Books", "01s", _system_fields((
            _Field("Name", "Price Book Name", "string", 255, required=True),
            _Field("Description", "Description", "string", 255),
            _Field("IsActive", "Active", "boolean", default=False),
            _Field("IsStandard", "Is Standard Price Book", "boolean", default=False, **_RO),
        ))),
        _Object("PricebookEntry", "Price Book Entry", "Price Book Entries", "01u",
                _system_fields((
            _Field("Name", "Product Name", "string", 255, **_RO),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2",
                 child="PricebookEntries", on_delete="cascade", required=True,
                 updateable=False),
            _ref("Product2Id", "Product ID", "Product2", "Product2", child="PricebookEntries",
                 on_delete="cascade", required=True, updateable=False),
            _Field("ProductCode", "Product Code", "string", 255, **_RO),
            _Field("UnitPrice", "List Price", "currency", scale=2, required=True),
            _Field("IsActive", "Active", "boolean", default=False),
            _Field("UseStandardPrice", "Use Standard Price", "boolean", default=False),
            _currency_field(updateable=False),
        ))),
        _Object("Opportunity", "Opportunity", "Opportunities", "006", _system_fields((
            _Field("Name", "Name", "string", 120, required=True),
            _ref("AccountId", "Account ID", "Account", "Account", child="Opportunities",
                 on_delete="cascade"),
            _Field("StageName", "Stage", "picklist", 255, required=True, picklist=_STAGES),
            _Field("CloseDate", "Close Date", "date", required=True),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2",
                 child="Opportunities"),
            _currency_field(),
        ))),
        _Object("Quote", "Quote", "Quotes", "0Q0", _system_fields((
            _Field("Name", "Quote Name", "string", 255, required=True),
            _Field("QuoteNumber", "Quote Number", "string", 30, **_RO),
            _Field("Status", "Status", "picklist", 255, picklist=QUOTE_STATUSES,
                   restricted=True, default="Draft"),
            _ref("AccountId", "Account ID", "Account", "Account", child="Quotes",
                 on_delete="cascade", **_RO),
            _ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity",
                 child="Quotes", on_delete="cascade", required=True, updateable=False),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2", child="Quotes"),
            _currency_field(updateable=False),
            _Field("ExpirationDate", "Expiration Date", "date"),
            _Field("LineItemCount", "Line Items", "int", **_RO),
            _Field("Subtotal", "Subtotal", "currency", scale=2, **_RO),
            _Field("Discount", "Discount", "percent", scale=2, **_RO),
            _Field("TotalPrice", "Total Price", "currency", scale=2, **_RO),
            _Field("Tax", "Tax", "currency", scale=2),
            _Field("GrandTotal", "Grand Total", "currency", scale=2, **_RO),
        ))),
        _Object("QuoteLineItem", "Quote Line Item", "Quote Line Items", "0QL", _system_fields((
            _Field("LineNumber", "Line Item Number", "string", 255, **_RO),
            _ref("QuoteId", "Quote ID", "Quote", "Quote", child="QuoteLineItems",
                 on_delete="cascade", required=True, updateable=False),
            _ref("PricebookEntryId", "Price Book Entry ID", "PricebookEntry", "PricebookEntry",
                 child="QuoteLineItems", on_delete="restrict", required=True,
                 updateable=False),
            _ref("Product2Id", "Product ID", "Product2", "Product2", child="QuoteLineItems",
                 on_delete="restrict", updateable=False),
            _Field("Quantity", "Quantity", "double", precision=12, scale=2, required=True),
            _Field("UnitPrice", "Sales Price", "currency", scale=2, required=True),
            _Field("ListPrice", "List Price", "currency", scale=2, **_RO),
            _Field("Discount", "Discount", "percent", scale=2),
            _Field("Subtotal", "Subtotal", "currency", scale=2, **_RO),
            _Field("TotalPrice", "Total Price", "currency", scale=2, **_RO),
            _Field("Description", "Line Item Description", "string", 255),
            _currency_field(createable=False, updateable=False),
        ))),
    ]  # fmt: skip
    schema = {obj.name: obj for obj in objects}
    for obj in objects:
        for f in obj.field_list:
            if f.reference_to and f.child_relationship:
                parent = schema[f.reference_to]
                parent.children[f.child_relationship.casefold()] = _ChildRelationship(
                    f.child_relationship, obj.name, f
                )
    return schema


_SCHEMA = _build_schema()
_SCHEMA_BY_LOWER = {name.casefold(): obj for name, obj in _SCHEMA.items()}
_SCHEMA_BY_PREFIX = {obj.key_prefix: obj for obj in _SCHEMA.values()}

# ================================================================= value helpers

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CENT = Decimal("0.01")


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _currency_places(code: str | None) -> int:
    return CURRENCIES.get(code or CORPORATE_CURRENCY, 2)


def _format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int | Decimal | float):
        return "VALUE_NUMBER"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


def _cannot_deserialize(kind: str, value: Any) -> _ApiError:
    shown = value if isinstance(value, str | int | Decimal | float | bool) else _json_kind(value)
    return _json_parser_error(
        f"Cannot deserialize instance of {kind} from {_json_kind(value)} value {shown} "
        "or request may be missing a required field"
    )


def _coerce(f: _Field, value: Any) -> Any:
    """Convert a JSON value written to field ``f`` into its stored form."""
    if value is None:
        return None
    kind = f.type
    if kind in _STRING_TYPES or kind in ("id", "reference"):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | Decimal | float):
            value = str(value)
        if not isinstance(value, str):
            raise _cannot_deserialize("string", value)
        return value or None  # Salesforce stores empty text as null
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _cannot_deserialize("boolean", value)
    if kind in _DECIMAL_TYPES or kind == "int":
        number: Decimal
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
            raise _cannot_deserialize(_SOAP_TYPES[kind], value)
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise _cannot_deserialize(_SOAP_TYPES[kind], value) from None
        if not number.is_finite():
            raise _cannot_deserialize(_SOAP_TYPES[kind], value)
        if abs(number) >= Decimal(10) ** (f.precision - f.scale):
            raise _DmlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{f.label}: value outside of valid range on numeric field: {value}",
                [f.name],
            )
        if kind == "int":
            if number != number.to_integral_value():
                raise _cannot_deserialize("int", value)
            return int(number)
        return number
    if kind == "date":
        if isinstance(value, str) and _DATE_RE.fullmatch(value):
            try:
                date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value
        raise _cannot_deserialize("date", value)
    if kind == "datetime":
        if isinstance(value, str):
            try:
                return _format_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                pass
        raise _cannot_deserialize("datetime", value)
    raise AssertionError(kind)  # pragma: no cover


def _to_json(f: _Field, value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


# ===================================================================== the org


@dataclass(slots=True)
class SandboxFaults:
    """Fault injection knobs; mutate them on a running sandbox."""

    latency_seconds: float = 0.0  # added before every response
    fail_next: int = 0  # answer the next N data calls with 503 SERVER_UNAVAILABLE


Record = dict[str, Any]


class _Store:
    """Records by sObject and id, with secondary indexes and an undo journal."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in _SCHEMA}
        # (type, field) -> casefolded value -> ordered ids (15-char keys)
        self.ext_index: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        # (child type, lookup field) -> parent 15-char id -> ordered child 15-char ids
        self.child_index: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self.journal: list[tuple[str, str, Record | None]] = []
        for obj in _SCHEMA.values():
            for f in obj.field_list:
                if f.external_id:
                    self.ext_index[(obj.name, f.name)] = {}
                if f.type == "reference":
                    self.child_index[(obj.name, f.name)] = {}

    # -- raw access
    def get(self, sobject: str, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        return self.tables[sobject].get(record_id[:15])

    def children(self, sobject: str, lookup: str, parent_id: str) -> list[Record]:
        keys = self.child_index[(sobject, lookup)].get(parent_id[:15], {})
        table = self.tables[sobject]
        return [table[key] for key in keys]

    def by_external_id(self, sobject: str, field_name: str, value: str) -> list[Record]:
        keys = self.ext_index[(sobject, field_name)].get(value.casefold(), {})
        table = self.tables[sobject]
        return [table[key] for key in keys]

    # -- journaled writes
    def put(self, sobject: str, record: Record) -> None:
        key = record["Id"][:15]
        self.journal.append((sobject, key, self.tables[sobject].get(key)))
        self._put(sobject, record)

    def remove(self, sobject: str, key: str) -> None:
        old = self.tables[sobject].get(key[:15])
        if old is not None:
            self.journal.append((sobject, key[:15], old))
            self._remove(sobject, key[:15])

    def rollback(self, mark: int) -> None:
        while len(self.journal) > mark:
            sobject, key, old = self.journal.pop()
            if old is None:
                self._remove(sobject, key)
            else:
                self._put(sobject, old)

    # -- index maintenance
    def _put(self, sobject: str, record: Record) -> None:
        key = record["Id"][:15]
        old = self.tables[sobject].get(key)
        if old is not None:
            self._index(sobject, key, old, add=False)
        self.tables[sobject][key] = record  # an update keeps the record's place
        self._index(sobject, key, record, add=True)

    def _remove(self, sobject: str, key: str) -> None:
        record = self.tables[sobject].pop(key)
        self._index(sobject, key, record, add=False)

    def _index(self, sobject: str, key: str, record: Record, *, add: bool) -> None:
        for f in _SCHEMA[sobject].field_list:
            value = record.get(f.name)
            if value is None:
                continue
            index: dict[str, dict[str, None]] | None = None
            bucket_key = ""
            if f.external_id:
                index, bucket_key = self.ext_index[(sobject, f.name)], str(value).casefold()
            elif f.type == "reference":
                index, bucket_key = self.child_index[(sobject, f.name)], value[:15]
            if index is None:
                continue
            if add:
                index.setdefault(bucket_key, {})[key] = None
            else:
                bucket = index.get(bucket_key)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del index[bucket_key]


class _Org:
    """The data model: validation, derived fields, cascades, autonumbers, seeding."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.store = _Store()
        self.clock = clock
        self._counters: dict[str, int] = {}
        self._autonumbers: dict[str, int] = {}
        self.standard_pricebook_id: str | None = None

    # ---------------------------------------------------------------- helpers
    def new_id(self, key_prefix: str) -> str:
        number = self._counters.get(key_prefix, 0) + 1
        self._counters[key_prefix] = number
        return salesforce_id(key_prefix, number)

    def _autonumber(self, name: str, width: int) -> str:
        number = self._autonumbers.get(name, 0) + 1
        self._autonumbers[name] = number
        return str(number).zfill(width)

    def _now(self) -> str:
        return _format_datetime(self.clock())

    def find(self, sobject: str, raw_id: str) -> Record | None:
        canonical = normalize_id(raw_id)
        if canonical is None or not canonical.startswith(_SCHEMA[sobject].key_prefix):
            return None
        return self.store.get(sobject, canonical)

    # -------------------------------------------------------------------- DML
    def insert(self, sobject: str, values: Any) -> Record:
        obj = _SCHEMA[sobject]
        changes = self._bind(obj, values, creating=True)
        record: Record = {f.name: f.default for f in obj.field_list}
        record.update(changes)
        self._validate_references(obj, record, changes)
        missing = [f.name for f in obj.field_list if f.required and record[f.name] is None]
        if missing:
            raise _DmlError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        self._derive(obj, record, None, changes)
        self._validate_values(obj, record, None, changes)
        now = self._now()
        record["Id"] = self.new_id(obj.key_prefix)
        record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = now
        self._finalize(obj, record)
        self.store.put(sobject, record)
        self._after_write(obj, record, None)
        return record

    def update(self, sobject: str, record_id: str, values: Any) -> Record:
        obj = _SCHEMA[sobject]
        old = self.store.get(sobject, record_id)
        if old is None:
            raise _not_found()
        if isinstance(values, dict) and any(k.casefold() == "id" for k in values):
            given = next(v for k, v in values.items() if k.casefold() == "id")
            if not isinstance(given, str) or normalize_id(given) != old["Id"]:
                raise _DmlError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Unable to create/update fields: Id. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or "
                    "permission set.",
                    ["Id"],
                )
            values = {k: v for k, v in values.items() if k.casefold() != "id"}
        changes = self._bind(obj, values, creating=False)
        record = dict(old)
        record.update(changes)
        self._validate_references(obj, record, changes)
        missing = [f.name for f in obj.field_list if f.required and record[f.name] is None]
        if missing:
            raise _DmlError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        self._derive(obj, record, old, changes)
        self._validate_values(obj, record, old, changes)
        record["LastModifiedDate"] = record["SystemModstamp"] = self._now()
        self._finalize(obj, record)
        self.store.put(sobject, record)
        self._after_write(obj, record, old)
        return record

    def delete(self, sobject: str, record_id: str) -> None:
        root = self.store.get(sobject, record_id)
        if root is None:
            raise _not_found()
        if sobject == "Pricebook2" and root["IsStandard"]:
            raise _DmlError(
                "DELETE_FAILED",
                "Your attempt to delete Standard Price Book could not be completed because "
                "the standard price book cannot be deleted.",
            )
        doomed: dict[tuple[str, str], Record] = {}
        pending = [(sobject, root)]
        while pending:
            kind, record = pending.pop()
            if (kind, record["Id"][:15]) in doomed:
                continue
            doomed[(kind, record["Id"][:15])] = record
            for rel in _SCHEMA[kind].children.values():
                if rel.field.on_delete == "cascade":
                    pending.extend(
                        (rel.child, child)
                        for child in self.store.children(rel.child, rel.field.name, record["Id"])
                    )
        for (kind, _key), record in doomed.items():
            for rel in _SCHEMA[kind].children.values():
                if rel.field.on_delete != "restrict":
                    continue
                for child in self.store.children(rel.child, rel.field.name, record["Id"]):
                    if (rel.child, child["Id"][:15]) not in doomed:
                        name = root.get("Name") or root["Id"]
                        raise _DmlError(
                            "DELETE_FAILED",
                            f"Your attempt to delete {name} could not be completed because "
                            f"it is associated with the following "
                            f"{_SCHEMA[rel.child].label_plural.lower()}.: "
                            f"{child.get('LineNumber') or child['Id']}",
                        )
        touched_quotes: set[str] = set()
        now = self._now()
        for (kind, key), record in doomed.items():
            for rel in _SCHEMA[kind].children.values():
                if rel.field.on_delete != "clear":
                    continue
                for child in self.store.children(rel.child, rel.field.name, record["Id"]):
                    if (rel.child, child["Id"][:15]) in doomed:
                        continue
                    cleared = dict(child)
                    cleared[rel.field.name] = None
                    cleared["SystemModstamp"] = now
                    self.store.put(rel.child, cleared)
            self.store.remove(kind, key)
            if kind == "QuoteLineItem":
                touched_quotes.add(record["QuoteId"])
        for quote_id in touched_quotes:
            if self.store.get("Quote", quote_id) is not None:
                self._recompute_quote(quote_id)

    # ------------------------------------------------------------- validation
    def _bind(self, obj: _Object, values: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise _cannot_deserialize(obj.name, values)
        changes: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise _error(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
                continue
            changes[f.name] = _coerce(f, raw)
        if read_only:
            raise _DmlError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                read_only,
            )
        if not creating:
            for f in obj.field_list:
                if f.name in changes and changes[f.name] is None and f.type == "boolean":
                    changes[f.name] = False
        return changes

    def _validate_references(
        self, obj: _Object, record: Record, changes: Mapping[str, Any]
    ) -> None:
        for name, value in changes.items():
            f = obj.fields[name.casefold()]
            if f.type != "reference" or value is None:
                continue
            target = _SCHEMA[f.reference_to or ""]
            canonical = normalize_id(value)
            if canonical is None or not canonical.startswith(target.key_prefix):
                raise _DmlError(
                    "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
                )
            if self.store.get(target.name, canonical) is None:
                raise _DmlError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name]
                )
            record[name] = canonical

    def _validate_values(
        self, obj: _Object, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        for name in changes:
            f = obj.fields[name.casefold()]
            value = record[f.name]
            if value is None:
                continue
            if f.restricted and value not in f.picklist:
                raise _DmlError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            if f.type in _STRING_TYPES and f.length and len(value) > f.length:
                raise _DmlError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value} (max length={f.length})",
                    [f.name],
                )
            if f.type == "percent" and not Decimal(0) <= value <= Decimal(100):
                raise _DmlError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f.label}: value outside of valid range on numeric field: {value}",
                    [f.name],
                )
            if f.unique:
                for other in self.store.by_external_id(obj.name, f.name, str(value)):
                    if old is None or other["Id"] != old["Id"]:
                        raise _DmlError(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {f.name} duplicates value on record "
                            f"with id: {other['Id']}",
                            [f.name],
                        )

    # ---------------------------------------------------- object-specific rules
    def _derive(
        self, obj: _Object, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        if "CurrencyIsoCode" in record and record["CurrencyIsoCode"] is None and old is None:
            record["CurrencyIsoCode"] = CORPORATE_CURRENCY
        handler = getattr(self, f"_derive_{obj.name.lower()}", None)
        if handler is not None:
            handler(record, old, changes)

    def _derive_account(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        if "BillingCountryCode" in changes and "BillingCountry" not in changes:
            code = record["BillingCountryCode"]
            record["BillingCountryCode"] = code.upper() if code else None
            known = _COUNTRIES.get(record["BillingCountryCode"] or "")
            record["BillingCountry"] = known[0] if known else record["BillingCountryCode"]
        elif "BillingCountry" in changes and "BillingCountryCode" not in changes:
            country = record["BillingCountry"]
            if country is None:
                record["BillingCountryCode"] = None
            elif country.upper() in _COUNTRIES:
                record["BillingCountryCode"] = country.upper()
            elif country.casefold() in _COUNTRY_BY_NAME:
                record["BillingCountryCode"] = _COUNTRY_BY_NAME[country.casefold()]

    def _derive_pricebookentry(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        product = self.store.get("Product2", record["Product2Id"])
        assert product is not None
        record["Name"] = product["Name"]
        record["ProductCode"] = product["ProductCode"]
        if old is not None:
            return
        currency = record["CurrencyIsoCode"]
        for entry in self.store.children("PricebookEntry", "Product2Id", product["Id"]):
            if entry["CurrencyIsoCode"] == currency and entry["Pricebook2Id"] == record[
                "Pricebook2Id"
            ]:
                raise _DmlError(
                    "DUPLICATE_VALUE",
                    "This price definition already exists in this price book",
                )
        pricebook = self.store.get("Pricebook2", record["Pricebook2Id"])
        assert pricebook is not None
        if not pricebook["IsStandard"] and not any(
            entry["CurrencyIsoCode"] == currency and entry["Pricebook2Id"]
            == self.standard_pricebook_id
            for entry in self.store.children("PricebookEntry", "Product2Id", product["Id"])
        ):
            raise _DmlError(
                "STANDARD_PRICE_NOT_DEFINED",
                "Before creating a custom price, create a standard price.",
            )
        if record["UseStandardPrice"] and pricebook["IsStandard"]:
            raise _DmlError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: UseStandardPrice (standard price book entries "
                "cannot use the standard price)",
                ["UseStandardPrice"],
            )

    def _derive_quote(self, record: Record, old: Record | None, changes: Mapping[str, Any]) -> None:
        opportunity = self.store.get("Opportunity", record["OpportunityId"])
        assert opportunity is not None
        record["AccountId"] = opportunity["AccountId"]
        if old is None:
            if record["Pricebook2Id"] is None:
                record["Pricebook2Id"] = opportunity["Pricebook2Id"]
            given = changes.get("CurrencyIsoCode")
            if given is not None and given != opportunity["CurrencyIsoCode"]:
                raise _DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: CurrencyIsoCode (the quote currency must match "
                    "the opportunity currency)",
                    ["CurrencyIsoCode"],
                )
            record["CurrencyIsoCode"] = opportunity["CurrencyIsoCode"]
            record["QuoteNumber"] = self._autonumber("QuoteNumber", 8)
            record["LineItemCount"] = 0
            for total in ("Subtotal", "TotalPrice", "GrandTotal"):
                record[total] = Decimal(0)
            record["Discount"] = None
        elif (
            changes.get("Pricebook2Id", old["Pricebook2Id"]) != old["Pricebook2Id"]
            and self.store.children("QuoteLineItem", "QuoteId", record["Id"])
        ):
            raise _DmlError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: Pricebook2Id (cannot change the price book of a "
                "quote that has line items)",
                ["Pricebook2Id"],
            )
        places = _currency_places(record["CurrencyIsoCode"])
        if record["Tax"] is not None:
            record["Tax"] = _quantize(record["Tax"], places)
        record["GrandTotal"] = record["TotalPrice"] + (record["Tax"] or Decimal(0))

    def _derive_quotelineitem(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        quote = self.store.get("Quote", record["QuoteId"])
        entry = self.store.get("PricebookEntry", record["PricebookEntryId"])
        assert quote is not None
        assert entry is not None
        if old is None:
            if quote["Pricebook2Id"] != entry["Pricebook2Id"]:
                raise _DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry is in a "
                    "different pricebook than the one assigned to the Quote, or Quote has no "
                    "pricebook assigned)",
                    ["PricebookEntryId"],
                )
            if entry["CurrencyIsoCode"] != quote["CurrencyIsoCode"]:
                raise _DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry currency code "
                    "does not match Quote currency code)",
                    ["PricebookEntryId"],
                )
            if not entry["IsActive"]:
                raise _DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry is inactive)",
                    ["PricebookEntryId"],
                )
            if record["Product2Id"] not in (None, entry["Product2Id"]):
                raise _DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: Product2Id (product does not match the price "
                    "book entry)",
                    ["Product2Id"],
                )
            record["Product2Id"] = entry["Product2Id"]
            record["LineNumber"] = self._autonumber("QuoteLineItem.LineNumber", 5)
        record["CurrencyIsoCode"] = quote["CurrencyIsoCode"]
        self._price_line(record, entry)

    def _price_line(self, line: Record, entry: Record) -> None:
        places = _currency_places(line["CurrencyIsoCode"])
        line["ListPrice"] = entry["UnitPrice"]
        line["UnitPrice"] = _quantize(line["UnitPrice"], places)
        line["Quantity"] = _quantize(line["Quantity"], 2)
        if line["Discount"] is not None:
            line["Discount"] = _quantize(line["Discount"], 2)
        subtotal = _quantize(line["Quantity"] * line["UnitPrice"], places)
        factor = Decimal(1) - (line["Discount"] or Decimal(0)) / Decimal(100)
        line["Subtotal"] = subtotal
        line["TotalPrice"] = _quantize(subtotal * factor, places)

    def _finalize(self, obj: _Object, record: Record) -> None:
        """Round currency fields to the record currency's decimals."""
        places = _currency_places(record.get("CurrencyIsoCode"))
        for f in obj.field_list:
            value = record[f.name]
            if isinstance(value, Decimal):
                record[f.name] = _quantize(value, places if f.type == "currency" else f.scale)

    def _after_write(self, obj: _Object, record: Record, old: Record | None) -> None:
        if obj.name == "QuoteLineItem":
            self._recompute_quote(record["QuoteId"])
        elif obj.name == "Product2" and old is not None and (
            record["Name"] != old["Name"] or record["ProductCode"] != old["ProductCode"]
        ):
            for entry in self.store.children("PricebookEntry", "Product2Id", record["Id"]):
                synced = dict(entry)
                synced["Name"], synced["ProductCode"] = record["Name"], record["ProductCode"]
                self.store.put("PricebookEntry", synced)

    def _recompute_quote(self, quote_id: str, *, stamp: str | None = None) -> None:
        quote = self.store.get("Quote", quote_id)
        assert quote is not None
        lines = self.store.children("QuoteLineItem", "QuoteId", quote_id)
        places = _currency_places(quote["CurrencyIsoCode"])
        subtotal = sum((line["Subtotal"] for line in lines), Decimal(0))
        total = sum((line["TotalPrice"] for line in lines), Decimal(0))
        updated = dict(quote)
        updated["LineItemCount"] = len(lines)
        updated["Subtotal"] = _quantize(subtotal, places)
        updated["TotalPrice"] = _quantize(total, places)
        updated["Discount"] = (
            _quantize((subtotal - total) / subtotal * 100, 2) if subtotal else None
        )
        updated["GrandTotal"] = updated["TotalPrice"] + (quote["Tax"] or Decimal(0))
        updated["SystemModstamp"] = stamp or self._now()
        self.store.put("Quote", updated)

    # ----------------------------------------------------------------- seeding
    def seed(self) -> None:
        """Load the demo world; deterministic ids and timestamps, no validation."""
        tick = [0]

        def stamp() -> str:
            tick[0] += 1
            return _format_datetime(_SEED_EPOCH + timedelta(minutes=7 * tick[0]))

        def put(sobject: str, values: Record) -> Record:
            obj = _SCHEMA[sobject]
            record: Record = {f.name: f.default for f in obj.field_list}
            record.update(values)
            record["Id"] = self.new_id(obj.key_prefix)
            record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = (
                stamp()
            )
            self._finalize(obj, record)
            self.store._put(sobject, record)
            return record

        standard = put("Pricebook2", {
            "Name": "Standard Price Book", "IsStandard": True, "IsActive": True,
            "Description": "Company list prices",
        })  # fmt: skip
        partner = put("Pricebook2", {
            "Name": "Partner Price Book", "IsStandard": False, "IsActive": True,
            "Description": "Channel partner prices (10% below list)",
        })  # fmt: skip
        self.standard_pricebook_id = standard["Id"]
        families = {"HW": "Hardware", "SW": "Software", "SV": "Services"}
        entries: dict[tuple[str, str], Record] = {}  # (material, currency) -> standard entry
        for product in demo_data.PRODUCTS:
            product2 = put("Product2", {
                "Name": product.name, "ProductCode": product.material,
                "Description": f"{product.name} (SAP material {product.material}, "
                               f"type {product.product_type})",
                "Family": families.get(product.product_group[:2]),
                "IsActive": product.active,
                "QuantityUnitOfMeasure": "Hour" if product.base_unit == "H" else "Each",
                "CurrencyIsoCode": CORPORATE_CURRENCY,
            })  # fmt: skip
            for book, factor in ((standard, Decimal(1)), (partner, Decimal("0.9"))):
                for currency, price in product.list_prices.items():
                    entry = put("PricebookEntry", {
                        "Name": product.name, "ProductCode": product.material,
                        "Pricebook2Id": book["Id"], "Product2Id": product2["Id"],
                        "UnitPrice": _quantize(Decimal(price) * factor,
                                               _currency_places(currency)),
                        "CurrencyIsoCode": currency, "IsActive": product.active,
                        "UseStandardPrice": False,
                    })  # fmt: skip
                    if book is standard:
                        entries[(product.material, currency)] = entry
        accounts: list[Record] = []
        for account in demo_data.ACCOUNTS:
            country = _COUNTRIES.get(account.country)
            accounts.append(put("Account", {
                "Name": account.name, "Website": account.website, "Industry": account.industry,
                "BillingStreet": account.street, "BillingCity": account.city,
                "BillingPostalCode": account.postal_code,
                "BillingStateCode": account.region or None,
                "BillingCountry": country[0] if country else account.country,
                "BillingCountryCode": account.country, "Tax_ID__c": account.tax_id,
                "SAP_Business_Partner__c": account.sap_business_partner,
                "Legal_Entity__c": account.selling_entity,
                "CurrencyIsoCode": country[1] if country else CORPORATE_CURRENCY,
            }))  # fmt: skip
        stages = {"Accepted": "Closed Won", "Denied": "Closed Lost", "Rejected": "Closed Lost"}
        for quote in demo_data.QUOTES:
            account_id = accounts[quote.account_index]["Id"]
            opportunity = put("Opportunity", {
                "Name": quote.name, "AccountId": account_id,
                "StageName": stages.get(quote.status, "Proposal/Price Quote"),
                "CloseDate": quote.expiration_date, "Pricebook2Id": standard["Id"],
                "CurrencyIsoCode": quote.currency,
            })  # fmt: skip
            quote_record = put("Quote", {
                "Name": quote.name, "QuoteNumber": self._autonumber("QuoteNumber", 8),
                "Status": quote.status, "AccountId": account_id,
                "OpportunityId": opportunity["Id"], "Pricebook2Id": standard["Id"],
                "CurrencyIsoCode": quote.currency, "ExpirationDate": quote.expiration_date,
                "LineItemCount": 0, "Subtotal": Decimal(0), "TotalPrice": Decimal(0),
                "GrandTotal": Decimal(0), "Tax": Decimal(0),
            })  # fmt: skip
            for line in quote.lines:
                entry = entries[(line.material, quote.currency)]
                record: Record = {
                    "QuoteId": quote_record["Id"], "PricebookEntryId": entry["Id"],
                    "Product2Id": entry["Product2Id"],
                    "LineNumber": self._autonumber("QuoteLineItem.LineNumber", 5),
                    "Quantity": Decimal(line.quantity), "UnitPrice": entry["UnitPrice"],
                    "Discount": Decimal(line.discount_percent),
                    "CurrencyIsoCode": quote.currency,
                }  # fmt: skip
                self._price_line(record, entry)
                put("QuoteLineItem", record)
            self._recompute_quote(quote_record["Id"], stamp=quote_record["SystemModstamp"])
        self.store.journal.clear()


# =============================================================== query engine


def _relationship_error(part: str, position: int) -> soql.SoqlError:
    return soql.SoqlError(
        "INVALID_FIELD",
        f"Didn't understand relationship '{part}' in field path. If you are attempting to use "
        "a custom relationship, be sure to append the '__r' after the custom relationship "
        "name. Please reference your WSDL or the describe call for the appropriate names.",
        position,
    )


def _no_such_column(name: str, sobject: str, position: int) -> soql.SoqlError:
    return soql.SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
        position,
    )


@dataclass(frozen=True, slots=True)
class _Path:
    hops: tuple[_Field, ...]  # lookup fields walked, root first
    field: _Field
    owner: _Object  # the object that holds ``field``


@dataclass(slots=True)
class _Projection:
    obj: _Object
    columns: list[tuple[str, Any]] = field(default_factory=list)
    # ("field", _Field) | ("parent", (_Field, _Projection)) | ("children", _BoundQuery)

    def parent(self, lookup: _Field, target: _Object) -> _Projection:
        for kind, payload in self.columns:
            if kind == "parent" and payload[0].name == lookup.name:
                sub: _Projection = payload[1]
                return sub
        sub = _Projection(target)
        self.columns.append(("parent", (lookup, sub)))
        return sub

    def add_field(self, f: _Field) -> None:
        if not any(kind == "field" and payload.name == f.name for kind, payload in self.columns):
            self.columns.append(("field", f))


Predicate = Callable[[Record], bool]


@dataclass(slots=True)
class _BoundQuery:
    obj: _Object
    projection: _Projection
    predicate: Predicate | None
    order: list[tuple[_Path, bool, bool]]
    limit: int | None
    offset: int | None
    count_only: bool = False
    aggregates: list[tuple[str, _Path | None]] = field(default_factory=list)
    relationship: _ChildRelationship | None = None
    seek: tuple[_Field, list[str]] | None = None  # indexed equality test from WHERE


class _QueryEngine:
    def __init__(self, org: _Org, version: str) -> None:
        self.org = org
        self.store = org.store
        self.version = version

    # ----------------------------------------------------------------- binding
    def bind(self, query: soql.Query) -> _BoundQuery:
        obj = _SCHEMA_BY_LOWER.get(query.sobject.casefold())
        if obj is None:
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                query.sobject_pos,
            )
        return self._bind_on(obj, query, None)

    def _bind_on(
        self, obj: _Object, query: soql.Query, relationship: _ChildRelationship | None
    ) -> _BoundQuery:
        projection = _Projection(obj)
        bound = _BoundQuery(obj, projection, None, [], query.limit, query.offset)
        bound.relationship = relationship
        for index, item in enumerate(query.select):
            if isinstance(item, soql.FieldPath):
                self._project(projection, self.resolve(obj, item))
            elif isinstance(item, soql.CountExpr):
                if item.field is None:
                    bound.count_only = True
                else:
                    bound.aggregates.append(
                        (item.alias or f"expr{index}", self.resolve(obj, item.field))
                    )
            else:
                sub = item.query
                rel = obj.children.get(sub.sobject.casefold())
                if rel is None:
                    raise soql.SoqlError(
                        "INVALID_TYPE",
                        f"Didn't understand relationship '{sub.sobject}' in FROM part of query "
                        "call. If you are attempting to use a custom relationship, be sure to "
                        "append the '__r' after the custom relationship name. Please reference "
                        "your WSDL or the describe call for the appropriate names.",
                        sub.sobject_pos,
                    )
                projection.columns.append(
                    ("children", self._bind_on(_SCHEMA[rel.child], sub, rel))
                )
        if query.where is not None:
            bound.predicate = self._condition(obj, query.where)
            bound.seek = self._seek(obj, query.where)
        bound.order = [
            (self.resolve(obj, item.field), item.descending, item.nulls_last)
            for item in query.order_by
        ]
        if query.offset is not None and query.offset > MAX_SOQL_OFFSET:
            raise soql.SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_SOQL_OFFSET}",
            )
        return bound

    def resolve(self, obj: _Object, path: soql.FieldPath) -> _Path:
        hops: list[_Field] = []
        current = obj
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].casefold() == obj.name.casefold() and (
            parts[1].casefold() in obj.fields or parts[1].casefold() in obj.parents
        ):
            parts = parts[1:]  # "Account.Name" on Account: the object-name prefix
        for part in parts[:-1]:
            lookup = current.parents.get(part.casefold())
            if lookup is None:
                raise _relationship_error(part, path.pos)
            hops.append(lookup)
            current = _SCHEMA[lookup.reference_to or ""]
        target = current.field(parts[-1])
        if target is None:
            raise _no_such_column(path.text if hops else parts[-1], current.name, path.pos)
        return _Path(tuple(hops), target, current)

    def _project(self, projection: _Projection, path: _Path) -> None:
        current = projection
        for hop in path.hops:
            current = current.parent(hop, _SCHEMA[hop.reference_to or ""])
        current.add_field(path.field)

    def _seek(self, obj: _Object, condition: soql.Condition) -> tuple[_Field, list[str]] | None:
        """An indexed ``field = / IN`` test the filter is (or is ANDed with), if any.

        Id, external id and lookup fields are indexed, so such queries (a record by
        id, accounts by Q2C_Id__c, the lines of one quote) do not scan the table.
        """
        terms: tuple[soql.Condition, ...] = (condition,)
        if isinstance(condition, soql.BoolExpr) and condition.op == "AND":
            terms = condition.items
        for term in terms:
            if not (
                isinstance(term, soql.Comparison)
                and term.op in ("=", "IN")
                and len(term.field.parts) == 1
            ):
                continue
            f = obj.field(term.field.parts[0])
            if f is None or not (f.type in ("id", "reference") or f.external_id):
                continue
            literals = term.value if isinstance(term.value, tuple) else (term.value,)
            if any(lit.kind != "string" for lit in literals):
                continue  # "= null" is not indexed
            values = [str(lit.value) for lit in literals]
            if f.type in ("id", "reference"):
                values = [i for i in map(normalize_id, values) if i is not None]
            return f, values
        return None

    # -------------------------------------------------------------- predicates
    def value(self, record: Record, path: _Path) -> Any:
        current: Record | None = record
        for hop in path.hops:
            assert current is not None
            current = self.store.get(hop.reference_to or "", current[hop.name])
            if current is None:
                return None
        assert current is not None
        return current[path.field.name]

    def _condition(self, obj: _Object, condition: soql.Condition) -> Predicate:
        if isinstance(condition, soql.BoolExpr):
            parts = [self._condition(obj, item) for item in condition.items]
            if condition.op == "AND":
                return lambda record: all(p(record) for p in parts)
            return lambda record: any(p(record) for p in parts)
        if isinstance(condition, soql.NotExpr):
            inner = self._condition(obj, condition.item)
            return lambda record: not inner(record)
        return self._comparison(obj, condition)

    def _comparison(self, obj: _Object, comparison: soql.Comparison) -> Predicate:
        path = self.resolve(obj, comparison.field)
        f = path.field
        op = comparison.op
        literals = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
        operands = [self._operand(f, comparison.field, literal, op) for literal in literals]
        if op == "LIKE":
            if f.type not in _STRING_TYPES:
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on {_SOAP_TYPES[f.type]} field: {comparison.field.text}",
                    literals[0].pos,
                )
            literal = literals[0]
            if literal.kind != "string":
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{comparison.field.text}' must be of "
                    "type string and should be enclosed in quotes",
                    literal.pos,
                )
            pattern = soql.like_to_regex(literal.raw)
            return lambda record: (
                (value := self.value(record, path)) is not None
                and pattern.fullmatch(value) is not None
            )
        if op in ("IN", "NOT IN"):
            keys = {operand for operand in operands if not isinstance(operand, tuple)}
            ranges = [operand for operand in operands if isinstance(operand, tuple)]

            def member(record: Record) -> bool:
                key = self._key(f, self.value(record, path))
                return key in keys or any(lo <= key < hi for lo, hi in ranges if key is not None)

            if op == "IN":
                return member
            return lambda record: not member(record)
        operand = operands[0]
        if operand is None and op not in ("=", "!="):
            raise soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on null value for field: {comparison.field.text}",
                literals[0].pos,
            )
        if f.type in ("boolean", "id", "reference") and op not in ("=", "!="):
            raise soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {_SOAP_TYPES[f.type]} field: {comparison.field.text}",
                literals[0].pos,
            )
        if isinstance(operand, tuple):  # relative date range [lo, hi)
            lo, hi = operand
            range_tests: dict[str, Callable[[Any], bool]] = {
                "=": lambda k: lo <= k < hi, "!=": lambda k: not lo <= k < hi,
                "<": lambda k: k < lo, "<=": lambda k: k < hi,
                ">": lambda k: k >= hi, ">=": lambda k: k >= lo,
            }  # fmt: skip
            in_range = range_tests[op]
            return lambda record: (
                (key := self._key(f, self.value(record, path))) is not None and in_range(key)
            )
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda k: k == operand, "!=": lambda k: k != operand,
            "<": lambda k: k is not None and k < operand,
            "<=": lambda k: k is not None and k <= operand,
            ">": lambda k: k is not None and k > operand,
            ">=": lambda k: k is not None and k >= operand,
        }  # fmt: skip
        test = tests[op]
        return lambda record: test(self._key(f, self.value(record, path)))

    @staticmethod
    def _key(f: _Field, value: Any) -> Any:
        if value is None:
            return None
        if f.type in _STRING_TYPES:
            return str(value).casefold()
        return value

    def _operand(self, f: _Field, path: soql.FieldPath, literal: soql.Literal, op: str) -> Any:
        """The comparable key for a literal, type-checked against the field."""
        if literal.kind == "null":
            return None
        soap = _SOAP_TYPES[f.type]
        quoted = f.type in _STRING_TYPES or f.type in ("id", "reference")

        def mismatch() -> soql.SoqlError:
            how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            return soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{path.text}' must be of type {soap} "
                f"and {how}",
                literal.pos,
            )

        if f.type in ("id", "reference"):
            if literal.kind != "string":
                raise mismatch()
            canonical = normalize_id(str(literal.value))
            if canonical is None:
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}",
                    literal.pos,
                )  # fmt: skip
            return canonical
        if f.type in _STRING_TYPES:
            if literal.kind != "string":
                raise mismatch()
            return str(literal.value).casefold()
        if f.type == "boolean":
            if literal.kind != "boolean":
                raise mismatch()
            return literal.value
        if f.type in _DECIMAL_TYPES or f.type == "int":
            if literal.kind != "number":
                raise mismatch()
            return literal.value
        if literal.kind == "relative_date":
            today = self.org.clock().astimezone(UTC).date()
            shift = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}[str(literal.value)]
            start = today + timedelta(days=shift)
            if f.type == "date":
                return (start.isoformat(), (start + timedelta(days=1)).isoformat())
            lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
            return (_format_datetime(lo), _format_datetime(lo + timedelta(days=1)))
        if f.type == "date":
            if literal.kind != "date":
                raise mismatch()
            try:
                date.fromisoformat(str(literal.value))
            except ValueError:
                raise mismatch() from None
            return literal.value
        if literal.kind != "datetime":
            raise mismatch()
        text = str(literal.value).replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        try:
            return _format_datetime(datetime.fromisoformat(text))
        except ValueError:
            raise mismatch() from None

    # --------------------------------------------------------------- execution
    def execute(self, bound: _BoundQuery, parent_id: str | None = None) -> list[Record]:
        """Matching stored records in result order (before projection)."""
        if bound.relationship is not None and parent_id is not None:
            candidates: Iterable[Record] = self.store.children(
                bound.obj.name, bound.relationship.field.name, parent_id
            )
        elif bound.seek is not None:
            candidates = self._sought(bound.obj, *bound.seek)
        else:
            candidates = self.store.tables[bound.obj.name].values()
        predicate = bound.predicate
        rows = [r for r in candidates if predicate is None or predicate(r)]
        for path, descending, nulls_last in reversed(bound.order):
            null_rank = 1 if nulls_last != descending else 0
            rows.sort(
                key=lambda r, p=path, n=null_rank: (  # type: ignore[misc]
                    (n, None) if (v := self._key(p.field, self.value(r, p))) is None else (1 - n, v)
                ),
                reverse=descending,
            )
        start = bound.offset or 0
        end = None if bound.limit is None else start + bound.limit
        return rows[start:end]

    def _sought(self, obj: _Object, f: _Field, values: list[str]) -> list[Record]:
        found: dict[str, Record] = {}
        for value in dict.fromkeys(values):
            if f.type == "id":
                record = self.store.get(obj.name, value)
                matches = [record] if record is not None else []
            elif f.type == "reference":
                matches = self.store.children(obj.name, f.name, value)
            else:
                matches = self.store.by_external_id(obj.name, f.name, value)
            for record in matches:
                found[record["Id"]] = record
        # Ids are minted in ascending base62 order, so this is creation order, as a scan gives.
        return sorted(found.values(), key=lambda r: str(r["Id"]))

    def render(self, record: Record, projection: _Projection) -> dict[str, Any]:
        obj = projection.obj
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{self.version}/sobjects/{obj.name}/{record['Id']}",
            }
        }
        for kind, payload in projection.columns:
            if kind == "field":
                out[payload.name] = _to_json(payload, record[payload.name])
            elif kind == "parent":
                lookup, sub = payload
                parent = self.store.get(sub.obj.name, record[lookup.name])
                out[lookup.relationship] = None if parent is None else self.render(parent, sub)
            else:
                child_query: _BoundQuery = payload
                assert child_query.relationship is not None
                children = self.execute(child_query, record["Id"])
                out[child_query.relationship.name] = (
                    {
                        "totalSize": len(children),
                        "done": True,
                        "records": [self.render(c, child_query.projection) for c in children],
                    }
                    if children
                    else None
                )
        return out

    def run(self, text: str) -> tuple[int, list[dict[str, Any]]]:
        """(totalSize, rendered records) for a SOQL query."""
        bound = self.bind(soql.parse(text))
        rows = self.execute(bound)
        if bound.count_only:
            return len(rows), []
        if bound.aggregates:
            aggregate: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for alias, path in bound.aggregates:
                assert path is not None
                aggregate[alias] = sum(1 for r in rows if self.value(r, path) is not None)
            return 1, [aggregate]
        return len(rows), [self.render(r, bound.projection) for r in rows]


# ================================================================== the API


_Reply = asgi.SandboxReply


class _BadJson:
    def __init__(self, message: str) -> None:
        self.message = message


_NO_BODY = object()
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_VERSION_RE = re.compile(r"v(\d+)\.0")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_SEASONS = ("Winter", "Spring", "Summer")


def _version_label(major: int) -> str:
    offset = major - 59  # v59.0 is Winter '24
    return f"{_SEASONS[offset % 3]} '{24 + offset // 3:02d}"


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        return _NO_BODY
    try:
        return _JSON_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        return _BadJson(f"Unexpected character in the request body: {exc}")


def _allowed(method: str, allowed: str) -> None:
    if method not in allowed.split(","):
        raise _ApiError(
            405,
            [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
                }
            ],
            {"Allow": allowed.replace(",", ", ")},
        )


class SalesforceSandbox:
    """The in-memory org plus the REST API that serves it."""

    def __init__(
        self,
        *,
        client_id: str = "q2c-gateway",
        client_secret: str = "sandbox-secret",
        seed: bool = True,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.faults = SandboxFaults()
        self._org = _Org(clock=lambda: datetime.now(UTC).replace(microsecond=0))
        self._tokens: set[str] = {STATIC_TOKEN}
        self._cursors: OrderedDict[str, tuple[list[dict[str, Any]], int, str]] = OrderedDict()
        self._api_calls = 0
        if seed:
            self._org.seed()

    # ------------------------------------------------------------ inspection
    def records(self, sobject: str) -> list[dict[str, Any]]:
        """A snapshot of every record of ``sobject`` as the API would render it."""
        obj = _SCHEMA_BY_LOWER.get(sobject.casefold())
        if obj is None:
            raise KeyError(sobject)
        rows = list(self._org.store.tables[obj.name].values())
        return [{f.name: _to_json(f, record[f.name]) for f in obj.field_list} for record in rows]

    @property
    def api_calls(self) -> int:
        """Data API calls served so far (the ``Sforce-Limit-Info`` usage)."""
        return self._api_calls

    # -------------------------------------------------------------- dispatch
    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> _Reply:
        """Serve one HTTP request (``headers`` keys lower-case, ``path`` still %-encoded)."""
        segments = [unquote(s) for s in path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        try:
            if segments[:2] == ["services", "oauth2"] and segments[2:] == ["token"]:
                _allowed(method, "POST")
                return self._token(query_string, headers, body, base_url)
            if segments[:2] != ["services", "data"]:
                raise _not_found()
            if len(segments) == 2:
                _allowed(method, "GET,HEAD")
                return _Reply(200, self._versions())
            match = _VERSION_RE.fullmatch(segments[2])
            if match is None or not MIN_API_VERSION <= int(match[1]) <= MAX_API_VERSION:
                raise _not_found()
            return self._data_call(
                method, f"{match[1]}.0", segments[3:], query_string, headers, body
            )
        except _ApiError as exc:
            return _Reply(exc.status, exc.body, exc.headers)

    def _data_call(
        self,
        method: str,
        version: str,
        segments: list[str],
        query_string: str,
        headers: Mapping[str, str],
        raw_body: bytes,
    ) -> _Reply:
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            raise _error(
                503, "SERVER_UNAVAILABLE",
                "The server is temporarily unable to service your request (sandbox fault "
                "injection). Please try again later.",
            )  # fmt: skip
        self._authenticate(headers)
        self._api_calls += 1
        params = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        body = _decode_json(raw_body) if method in ("POST", "PATCH", "PUT") else _NO_BODY
        mark = len(self._org.store.journal)
        try:
            reply = self._route(method, version, segments, params, headers, body)
        except _DmlError as exc:
            self._org.store.rollback(mark)
            reply = _Reply(400, [exc.as_error()])
        except _ApiError:
            self._org.store.rollback(mark)
            raise
        except Exception:  # a sandbox bug: answer like the real API does, keep the org intact
            self._org.store.rollback(mark)
            _log.exception("salesforce sandbox: unexpected error on %s %s", method, segments)
            raise _error(
                500, "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                f"support: {secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} "
                f"({secrets.randbelow(10**10)})",
            ) from None
        finally:
            if mark == 0:
                self._org.store.journal.clear()
        reply.headers.setdefault(
            "Sforce-Limit-Info", f"api-usage={self._api_calls}/{DAILY_API_LIMIT}"
        )
        return reply

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or token.strip() not in self._tokens:
            raise _ApiError(
                401,
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                {"WWW-Authenticate": 'Token realm="Salesforce"'},
            )

    def _route(
        self,
        method: str,
        version: str,
        segments: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        head = segments[0] if segments else ""
        if not segments:
            _allowed(method, "GET,HEAD")
            return _Reply(200, self._resources(version))
        if head == "sobjects":
            return self._sobjects(method, version, segments[1:], params, body)
        if head in ("query", "queryAll") and len(segments) <= 2:
            _allowed(method, "GET,HEAD")
            if len(segments) == 2:
                return self._query_more(version, segments[1])
            return self._query(version, params, headers)
        if head == "composite" and len(segments) == 1:
            _allowed(method, "POST")
            return self._composite(version, body)
        if segments[:2] == ["composite", "sobjects"] and len(segments) == 2:
            _allowed(method, "POST,PATCH,DELETE")
            return self._collections(method, version, params, body)
        if head == "limits" and len(segments) == 1:
            _allowed(method, "GET,HEAD")
            remaining = DAILY_API_LIMIT - self._api_calls
            return _Reply(200, {"DailyApiRequests": {"Max": DAILY_API_LIMIT,
                                                     "Remaining": remaining}})
        raise _not_found()

    # ----------------------------------------------------------------- OAuth
    def _token(
        self, query_string: str, headers: Mapping[str, str], body: bytes, base_url: str
    ) -> _Reply:
        form = {k: v[-1] for k, v in parse_qs(query_string).items()}
        form.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                user = password = ""
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(password))

        def failure(error: str, description: str) -> _Reply:
            return _Reply(400, {"error": error, "error_description": description})

        grant = form.get("grant_type", "")
        if grant not in ("client_credentials", "password"):
            return failure("unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != self.client_id:
            return failure("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
            return failure("invalid_client", "invalid client credentials")
        if grant == "password" and not (form.get("username") and form.get("password")):
            return failure("invalid_grant", "authentication failure")
        token = f"{_ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self._tokens.add(token)
        issued_at = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{_ORG_ID}/{_USER_ID}"
        signature = base64.b64encode(
            hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
            .digest()
        ).decode()  # fmt: skip
        return _Reply(
            200,
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    # ------------------------------------------------------------- resources
    @staticmethod
    def _versions() -> list[dict[str, str]]:
        return [
            {"label": _version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(MIN_API_VERSION, MAX_API_VERSION + 1)
        ]

    @staticmethod
    def _resources(version: str) -> dict[str, str]:
        base = f"/services/data/v{version}"
        return {
            name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "composite",
                                                "limits")
        }  # fmt: skip

    @staticmethod
    def _object_summary(obj: _Object, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{obj.name}"
        return {
            "name": obj.name, "label": obj.label, "labelPlural": obj.label_plural,
            "keyPrefix": obj.key_prefix, "custom": False, "createable": True,
            "updateable": True, "deletable": True, "queryable": True, "retrieveable": True,
            "searchable": True, "layoutable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"},
        }  # fmt: skip

    def _describe(self, obj: _Object, version: str) -> dict[str, Any]:
        fields = []
        for f in obj.field_list:
            fields.append({
                "name": f.name, "label": f.label, "type": f.type, "soapType": "xsd:"
                + _SOAP_TYPES[f.type] if f.type not in ("id", "reference") else "tns:ID",
                "length": f.length if f.type in _STRING_TYPES or f.type in ("id", "reference")
                else 0,
                "precision": f.precision if f.type in _DECIMAL_TYPES else 0,
                "scale": f.scale, "nillable": f.nillable, "createable": f.createable,
                "updateable": f.updateable, "defaultedOnCreate": f.default is not None
                or not f.createable, "externalId": f.external_id, "unique": f.unique,
                "idLookup": f.name == "Id" or f.external_id, "custom": f.custom,
                "calculated": False, "autoNumber": f.name in ("QuoteNumber", "LineNumber"),
                "filterable": True, "sortable": True, "restrictedPicklist": f.restricted,
                "picklistValues": [
                    {"active": True, "defaultValue": value == f.default, "label": value,
                     "validFor": None, "value": value}
                    for value in f.picklist
                ],
                "referenceTo": [f.reference_to] if f.reference_to else [],
                "relationshipName": f.relationship,
            })  # fmt: skip
        summary = self._object_summary(obj, version)
        summary["fields"] = fields
        summary["childRelationships"] = [
            {"childSObject": rel.child, "field": rel.field.name, "relationshipName": rel.name,
             "cascadeDelete": rel.field.on_delete == "cascade"}
            for rel in obj.children.values()
        ]  # fmt: skip
        return summary

    # -------------------------------------------------------------- sobjects
    def _url(self, version: str, sobject: str, record_id: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"

    def _render_record(
        self, version: str, obj: _Object, record: Record, fields: str | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": self._url(version, obj.name, record["Id"])}
        }
        if fields is None:
            selected = list(obj.field_list)
        else:
            selected = []
            for name in (n.strip() for n in fields.split(",") if n.strip()):
                f = obj.field(name)
                if f is None:
                    raise _error(
                        400, "INVALID_FIELD", _no_such_column(name, obj.name, 0).message
                    )
                selected.append(f)
        for f in selected:
            out[f.name] = _to_json(f, record[f.name])
        return out

    def _body(self, body: Any) -> Any:
        if body is _NO_BODY:
            raise _json_parser_error("No content to map due to end-of-input")
        if isinstance(body, _BadJson):
            raise _json_parser_error(body.message)
        return body

    def _sobjects(
        self,
        method: str,
        version: str,
        segments: list[str],
        params: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        if not segments:
            _allowed(method, "GET,HEAD")
            return _Reply(200, {
                "encoding": "UTF-8", "maxBatchSize": 200,
                "sobjects": [self._object_summary(o, version) for o in _SCHEMA.values()],
            })  # fmt: skip
        obj = _SCHEMA_BY_LOWER.get(segments[0].casefold())
        if obj is None:
            raise _not_found()
        if len(segments) == 1:
            _allowed(method, "GET,HEAD,POST")
            if method == "POST":
                return self._create(version, obj, self._body(body))
            recent = [
                self._render_record(version, obj, r, "Id,Name" if obj.field("Name") else "Id")
                for r in list(self._org.store.tables[obj.name].values())[-10:]
            ]
            return _Reply(200, {"objectDescribe": self._object_summary(obj, version),
                                "recentItems": recent})  # fmt: skip
        if len(segments) == 2 and segments[1] == "describe":
            _allowed(method, "GET,HEAD")
            return _Reply(200, self._describe(obj, version))
        if len(segments) == 2:
            _allowed(method, "GET,HEAD,PATCH,DELETE")
            record = self._record_by_path_id(obj, segments[1])
            if method == "PATCH":
                self._org.update(obj.name, record["Id"], self._body(body))
                return _Reply(204)
            if method == "DELETE":
                self._org.delete(obj.name, record["Id"])
                return _Reply(204)
            return _Reply(200, self._render_record(version, obj, record, params.get("fields")))
        if len(segments) == 3:
            _allowed(method, "GET,HEAD,PATCH,DELETE")
            return self._by_external_id(method, version, obj, segments[1], segments[2], params,
                                        body)  # fmt: skip
        raise _not_found()

    def _record_by_path_id(self, obj: _Object, raw_id: str) -> Record:
        canonical = normalize_id(raw_id)
        if canonical is None:
            raise _ApiError(404, [{
                "errorCode": "NOT_FOUND",
                "message": f"Provided external ID field does not exist or is not accessible: "
                           f"{raw_id}",
            }])  # fmt: skip
        if not canonical.startswith(obj.key_prefix):
            raise _error(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}"
            )
        record = self._org.store.get(obj.name, canonical)
        if record is None:
            raise _not_found()
        return record

    def _create(self, version: str, obj: _Object, values: Any) -> _Reply:
        record = self._org.insert(obj.name, values)
        return _Reply(
            201,
            {"id": record["Id"], "success": True, "errors": []},
            {"Location": self._url(version, obj.name, record["Id"])},
        )

    def _by_external_id(
        self,
        method: str,
        version: str,
        obj: _Object,
        field_name: str,
        value: str,
        params: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise _ApiError(404, [{
                "errorCode": "NOT_FOUND",
                "message": f"Provided external ID field does not exist or is not accessible: "
                           f"{field_name}",
            }])  # fmt: skip
        if f.name == "Id":
            found = self._org.find(obj.name, value)
            matches = [found] if found is not None else []
        else:
            matches = self._org.store.by_external_id(obj.name, f.name, value)
        if len(matches) > 1:
            return _Reply(300, [self._url(version, obj.name, r["Id"]) for r in matches])
        if method in ("GET", "HEAD", "DELETE"):
            if not matches:
                raise _not_found()
            if method == "DELETE":
                self._org.delete(obj.name, matches[0]["Id"])
                return _Reply(204)
            return _Reply(200, self._render_record(version, obj, matches[0], params.get("fields")))
        values = self._body(body)
        if not isinstance(values, dict):
            raise _cannot_deserialize(obj.name, values)
        values = {k: v for k, v in values.items() if k.casefold() != f.name.casefold()}
        if matches:
            record = self._org.update(obj.name, matches[0]["Id"], values)
            return _Reply(
                200, {"id": record["Id"], "success": True, "errors": [], "created": False}
            )
        if f.name == "Id":
            raise _not_found()
        if params.get("updateOnly", "").lower() == "true":
            raise _not_found()
        values[f.name] = value
        record = self._org.insert(obj.name, values)
        return _Reply(
            201,
            {"id": record["Id"], "success": True, "errors": [], "created": True},
            {"Location": self._url(version, obj.name, record["Id"])},
        )

    # ----------------------------------------------------------------- query
    def _query(self, version: str, params: Mapping[str, str], headers: Mapping[str, str]) -> _Reply:
        text = params.get("q")
        if text is None or not text.strip():
            raise _error(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = DEFAULT_BATCH_SIZE
        for option in headers.get("sforce-query-options", "").split(","):
            name, _, value = option.partition("=")
            if name.strip().lower() == "batchsize" and value.strip().isdigit():
                batch = max(1, min(DEFAULT_BATCH_SIZE, int(value)))
        try:
            total, records = _QueryEngine(self._org, version).run(text)
        except soql.SoqlError as exc:
            raise _error(400, exc.error_code, soql.render_error(text, exc)) from None
        if len(records) <= batch:
            return _Reply(200, {"totalSize": total, "done": True, "records": records})
        locator = self._org.new_id("01g")
        self._cursors[locator] = (records, batch, version)
        while len(self._cursors) > _MAX_OPEN_CURSORS:
            self._cursors.popitem(last=False)
        return _Reply(200, self._page(locator, 0, total))

    def _page(self, locator: str, offset: int, total: int | None = None) -> dict[str, Any]:
        records, batch, version = self._cursors[locator]
        self._cursors.move_to_end(locator)
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(records) if total is None else total}
        page["done"] = end >= len(records)
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        page["records"] = records[offset:end]
        return page

    def _query_more(self, version: str, token: str) -> _Reply:
        locator, _, offset = token.rpartition("-")
        if locator not in self._cursors or not offset.isdigit():
            raise _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if int(offset) >= len(self._cursors[locator][0]):
            raise _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _Reply(200, self._page(locator, int(offset)))

    # ------------------------------------------------------------- composite
    def _composite(self, version: str, body: Any) -> _Reply:
        payload = self._body(body)
        if not isinstance(payload, dict):
            raise _cannot_deserialize("CompositeRequest", payload)
        subrequests = payload.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise _json_parser_error("'compositeRequest' is a required field.")
        if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
            raise _error(
                400, "LIMIT_EXCEEDED",
                f"The composite request exceeds the limit of {MAX_COMPOSITE_SUBREQUESTS} "
                "subrequests.",
            )  # fmt: skip
        all_or_none = payload.get("allOrNone") is True
        seen: set[str] = set()
        for sub in subrequests:
            if not isinstance(sub, dict):
                raise _cannot_deserialize("CompositeSubrequest", sub)
            for key in ("method", "url", "referenceId"):
                if not isinstance(sub.get(key), str) or not sub[key]:
                    raise _json_parser_error(f"'{key}' is a required field.")
            if sub["method"] not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                raise _json_parser_error(f"Invalid HTTP method: {sub['method']}")
            if not re.fullmatch(r"[A-Za-z0-9_]+", sub["referenceId"]):
                raise _json_parser_error(
                    f"Invalid reference id: {sub['referenceId']}. Reference ids must contain "
                    "only letters, numbers and underscores ('_')."
                )
            if sub["referenceId"] in seen:
                raise _json_parser_error(f"Duplicate reference id: {sub['referenceId']}")
            seen.add(sub["referenceId"])

        mark = len(self._org.store.journal)
        results: list[dict[str, Any]] = []
        outcomes: dict[str, tuple[int, Any]] = {}
        failed = False
        for sub in subrequests:
            reply = self._subrequest(version, sub, outcomes)
            outcomes[sub["referenceId"]] = (reply.status, reply.body)
            results.append({
                "body": reply.body,
                "httpHeaders": {k: v for k, v in reply.headers.items()
                                if k != "Sforce-Limit-Info"},
                "httpStatusCode": reply.status,
                "referenceId": sub["referenceId"],
            })  # fmt: skip
            if reply.status >= 400 and all_or_none:
                failed = True
                break
        if failed:
            self._org.store.rollback(mark)
            halted = [{
                "errorCode": "PROCESSING_HALTED",
                "message": "The transaction was rolled back since another operation in the "
                           "same transaction failed.",
            }]  # fmt: skip
            for result in results[:-1]:
                result.update(body=halted, httpHeaders={}, httpStatusCode=400)
            results.extend(
                {"body": halted, "httpHeaders": {}, "httpStatusCode": 400,
                 "referenceId": sub["referenceId"]}
                for sub in subrequests[len(results):]
            )  # fmt: skip
        return _Reply(200, {"compositeResponse": results})

    def _subrequest(
        self, version: str, sub: dict[str, Any], outcomes: Mapping[str, tuple[int, Any]]
    ) -> _Reply:
        try:
            url = self._substitute(sub["url"], outcomes, in_url=True)
            body = self._substitute(sub["body"], outcomes) if "body" in sub else _NO_BODY
        except _ApiError as exc:
            return _Reply(exc.status, exc.body)
        path, _, query_string = url.partition("?")
        segments = [unquote(s) for s in path.split("/")]
        if segments and segments[-1] == "":
            segments.pop()
        try:
            if segments[:4] != ["", "services", "data", f"v{version}"] and not (
                segments[:3] == ["", "services", "data"]
                and len(segments) > 3
                and (m := _VERSION_RE.fullmatch(segments[3]))
                and MIN_API_VERSION <= int(m[1]) <= MAX_API_VERSION
            ):
                raise _not_found()
            sub_version = segments[3][1:]
            rest = segments[4:]
            if not rest or rest[0] not in ("sobjects", "query", "queryAll"):
                raise _not_found()
            params = {
                k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()
            }
            headers = {k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
            mark = len(self._org.store.journal)
            try:
                return self._route(sub["method"], sub_version, rest, params, headers, body)
            except _DmlError as exc:
                self._org.store.rollback(mark)
                return _Reply(400, [exc.as_error()])
            except _ApiError:
                self._org.store.rollback(mark)
                raise
        except _ApiError as exc:
            return _Reply(exc.status, exc.body)

    def _substitute(
        self, value: Any, outcomes: Mapping[str, tuple[int, Any]], *, in_url: bool = False
    ) -> Any:
        if isinstance(value, dict):
            return {k: self._substitute(v, outcomes) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v, outcomes) for v in value]
        if not isinstance(value, str) or "@{" not in value:
            return value
        whole = _REFERENCE_RE.fullmatch(value)
        if whole is not None and not in_url:
            return self._resolve_reference(whole, outcomes)
        return _REFERENCE_RE.sub(lambda m: str(self._resolve_reference(m, outcomes)), value)

    @staticmethod
    def _resolve_reference(match: re.Match[str], outcomes: Mapping[str, tuple[int, Any]]) -> Any:
        name, path = match[1], match[2]
        expression = f"{name}{path}"

        def halt() -> _ApiError:
            return _ApiError(400, [{
                "errorCode": "PROCESSING_HALTED",
                "message": f"Invalid reference specified. No value for {expression} found in "
                           f"{name}. Provided referenceId ('{name}') refers to an unsuccessful "
                           "or missing response.",
            }])  # fmt: skip

        outcome = outcomes.get(name)
        if outcome is None or outcome[0] >= 300:
            raise halt()
        current = outcome[1]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            key, index = step
            if key and isinstance(current, dict) and key in current:
                current = current[key]
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                raise halt()
        if current is None or isinstance(current, dict | list):
            raise halt()
        return current

    # ------------------------------------------------------- sObject collections
    def _collections(
        self, method: str, version: str, params: Mapping[str, str], body: Any
    ) -> _Reply:
        if method == "DELETE":
            ids = [i for i in params.get("ids", "").split(",") if i]
            all_or_none = params.get("allOrNone", "").lower() == "true"
            items: list[tuple[str | None, Any]] = [(None, i) for i in ids]
        else:
            payload = self._body(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
                raise _json_parser_error("'records' is a required field.")
            all_or_none = payload.get("allOrNone") is True
            items = []
            for rec in payload["records"]:
                attributes = rec.get("attributes") if isinstance(rec, dict) else None
                kind = attributes.get("type") if isinstance(attributes, dict) else None
                items.append((kind if isinstance(kind, str) else None, rec))
        if len(items) > MAX_COLLECTION_RECORDS:
            raise _error(
                400, "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} "
                "records into this call",
            )  # fmt: skip
        mark = len(self._org.store.journal)
        results: list[dict[str, Any]] = []
        for kind, item in items:
            item_mark = len(self._org.store.journal)
            try:
                record_id = self._collection_item(method, kind, item)
            except _DmlError as exc:
                self._org.store.rollback(item_mark)
                results.append({"success": False, "errors": [
                    {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                ]})  # fmt: skip
            except _ApiError as exc:
                self._org.store.rollback(item_mark)
                error = exc.body[0] if isinstance(exc.body, list) and exc.body else {}
                results.append({"success": False, "errors": [{
                    "statusCode": error.get("errorCode", "UNKNOWN_EXCEPTION"),
                    "message": error.get("message", ""), "fields": error.get("fields", []),
                }]})  # fmt: skip
            else:
                results.append({"id": record_id, "success": True, "errors": []})
        if all_or_none and any(not r["success"] for r in results):
            self._org.store.rollback(mark)
            for result in results:
                if result["success"]:
                    result.clear()
                    result.update(success=False, errors=[{
                        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid and "
                                   "the request was using AllOrNone header",
                        "fields": [],
                    }])  # fmt: skip
        return _Reply(200, results)

    def _collection_item(self, method: str, kind: str | None, item: Any) -> str:
        if method == "DELETE":
            canonical = normalize_id(str(item))
            obj = _SCHEMA_BY_PREFIX.get(canonical[:3]) if canonical else None
            if canonical is None or obj is None:
                raise _DmlError("MALFORMED_ID", f"malformed id {item}")
            if self._org.store.get(obj.name, canonical) is None:
                raise _DmlError("ENTITY_IS_DELETED", "entity is deleted")
            self._org.delete(obj.name, canonical)
            return canonical
        obj = _SCHEMA_BY_LOWER.get((kind or "").casefold())
        if obj is None:
            raise _DmlError("INVALID_TYPE", "sObject type is missing or not supported")
        values = {k: v for k, v in item.items() if k != "attributes"}
        if method == "POST":
            if any(k.casefold() == "id" for k in values):
                raise _DmlError(
                    "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                )
            return str(self._org.insert(obj.name, values)["Id"])
        raw_id = next((v for k, v in values.items() if k.casefold() == "id"), None)
        if not isinstance(raw_id, str):
            raise _DmlError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        record = self._org.find(obj.name, raw_id)
        if record is None:
            if normalize_id(raw_id) is None:
                raise _DmlError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: "
                                f"{raw_id}", ["Id"])  # fmt: skip
            raise _DmlError("ENTITY_IS_DELETED", "entity is deleted", ["Id"])
        self._org.update(obj.name, record["Id"], values)
        return str(record["Id"])


# ======================================================================= ASGI

_ENCODER = msgspec.json.Encoder()
_JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


class SalesforceSandboxApp(asgi.SandboxASGIApp[SalesforceSandbox]):
    """The ASGI application serving a :class:`SalesforceSandbox`."""

    async def respond(self, request: asgi.SandboxRequest, send: asgi.Send) -> None:
        head = request.method == "HEAD"  # answered as a GET, without the body
        reply = self.sandbox.handle("GET" if head else request.method, request.path,
                                    request.query, request.headers, request.body,
                                    request.base_url)  # fmt: skip
        await asgi.send_json(send, reply, _ENCODER, content_type=_JSON_CONTENT_TYPE, head=head,
                             bare_204=True)  # fmt: skip


def create_app(sandbox: SalesforceSandbox | None = None) -> SalesforceSandboxApp:
    """An ASGI app serving ``sandbox`` (a freshly seeded one by default)."""
    return SalesforceSandboxApp(sandbox if sandbox is not None else SalesforceSandbox())
