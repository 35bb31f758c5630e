"""The Salesforce sandbox org's vocabulary: limits, record ids, error bodies, the
sObject schema (fields, types, relationships) and how field values are read and written."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from sandboxes import asgi

API_VERSION = "62.0"
STATIC_TOKEN = "00DSANDBOX!q2c-static-sandbox-token"
MIN_API_VERSION = 40
MAX_API_VERSION = 66

DEFAULT_BATCH_SIZE = 2000
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200
MAX_SOQL_OFFSET = 2000
DAILY_API_LIMIT = 15000
MAX_OPEN_CURSORS = 100

CORPORATE_CURRENCY = "EUR"
#: Active currencies of the org and their decimal places.
CURRENCIES: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "CHF": 2, "SEK": 2, "DKK": 2,
    "PLN": 2, "HUF": 2, "CAD": 2, "AUD": 2,
}  # fmt: skip

COUNTRIES: dict[str, tuple[str, str]] = {  # ISO2 -> (name, currency)
    "AT": ("Austria", "EUR"), "AU": ("Australia", "AUD"), "BE": ("Belgium", "EUR"),
    "CA": ("Canada", "CAD"), "CH": ("Switzerland", "CHF"), "DE": ("Germany", "EUR"),
    "DK": ("Denmark", "DKK"), "ES": ("Spain", "EUR"), "FI": ("Finland", "EUR"),
    "FR": ("France", "EUR"), "GB": ("United Kingdom", "GBP"), "HU": ("Hungary", "HUF"),
    "IE": ("Ireland", "EUR"), "IT": ("Italy", "EUR"), "JP": ("Japan", "JPY"),
    "NL": ("Netherlands", "EUR"), "PL": ("Poland", "PLN"), "SE": ("Sweden", "SEK"),
    "US": ("United States", "USD"),
}  # fmt: skip
COUNTRY_BY_NAME = {name.casefold(): code for code, (name, _) in COUNTRIES.items()}

SEED_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)

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


ORG_ID = salesforce_id("00D", 1)
USER_ID = salesforce_id("005", 1)

# ========================================================================= errors


class SalesforceApiError(asgi.ApiError):
    """Ends request handling with ``status`` and a JSON ``body``."""


class DmlError(Exception):
    """A record-level failure (400 on single-record resources)."""

    def __init__(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)

    def as_error(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}


def api_error(status: int, code: str, message: str) -> SalesforceApiError:
    return SalesforceApiError(status, [{"message": message, "errorCode": code}])


def not_found() -> SalesforceApiError:
    return SalesforceApiError(
        404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    )


def json_parser_error(message: str) -> SalesforceApiError:
    return api_error(400, "JSON_PARSER_ERROR", message)


# ========================================================================= schema

FieldType = Literal[
    "id", "string", "textarea", "url", "phone", "picklist", "boolean", "currency",
    "double", "percent", "int", "date", "datetime", "reference",
]  # fmt: skip
STRING_TYPES = frozenset({"string", "textarea", "url", "phone", "picklist"})
DECIMAL_TYPES = frozenset({"currency", "double", "percent"})
SOAP_TYPES = {
    "id": "id", "reference": "id", "string": "string", "textarea": "string", "url": "string",
    "phone": "string", "picklist": "string", "boolean": "boolean", "currency": "double",
    "double": "double", "percent": "double", "int": "int", "date": "date",
    "datetime": "dateTime",
}  # fmt: skip
OnDelete = Literal["cascade", "restrict", "clear"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
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
class ChildRelationship:
    name: str
    child: str
    field: FieldSpec


@dataclass(slots=True)
class SObjectType:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    field_list: tuple[FieldSpec, ...]
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # casefolded name -> field
    parents: dict[str, FieldSpec] = field(default_factory=dict)  # casefolded relationship -> field
    children: dict[str, ChildRelationship] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.field_list:
            self.fields[f.name.casefold()] = f
            if f.relationship:
                self.parents[f.relationship.casefold()] = f

    def field(self, name: str) -> FieldSpec | None:
        return self.fields.get(name.casefold())


def _system_fields(prefix_fields: Iterable[FieldSpec]) -> tuple[FieldSpec, ...]:
    ro = {"createable": False, "updateable": False}
    return (
        FieldSpec("Id", "Record ID", "id", 18, **ro),  # type: ignore[arg-type]
        *prefix_fields,
        FieldSpec("CreatedDate", "Created Date", "datetime", **ro),  # type: ignore[arg-type]
        FieldSpec("LastModifiedDate", "Last Modified Date", "datetime", **ro),  # type: ignore[arg-type]
        FieldSpec("SystemModstamp", "System Modstamp", "datetime", **ro),  # type: ignore[arg-type]
    )


def _currency_field(*, updateable: bool = True, createable: bool = True) -> FieldSpec:
    return FieldSpec(
        "CurrencyIsoCode", "Currency ISO Code", "picklist", 3, picklist=tuple(CURRENCIES),
        restricted=True, createable=createable, updateable=updateable,
    )  # fmt: skip


def _ref(
    name: str, label: str, to: str, relationship: str, *, child: str | None = None,
    on_delete: OnDelete = "clear", **options: Any,
) -> FieldSpec:  # fmt: skip
    return FieldSpec(
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

# The custom fields the gateway writes progress to (a real org creates them; see
# docs/systems/salesforce.md): API name -> (label, length).
Q2C_QUOTE_FIELDS: dict[str, tuple[str, int]] = {
    "Q2C_Transaction_Id__c": ("Q2C Transaction Id", 64),
    "Q2C_Order_Number__c": ("Q2C Order Number", 40),
    "Q2C_Invoice_Number__c": ("Q2C Invoice Number", 40),
    "Q2C_Payment_Status__c": ("Q2C Payment Status", 40),
    "Q2C_Stage__c": ("Q2C Stage", 40),
}
Q2C_OPPORTUNITY_FIELDS: dict[str, tuple[str, int]] = {
    "Q2C_Order_Number__c": ("Q2C Order Number", 40),
    "Q2C_Stage__c": ("Q2C Stage", 40),
}


def _q2c_fields(fields: dict[str, tuple[str, int]]) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(name, label, "string", length, custom=True)
        for name, (label, length) in fields.items()
    )


def _build_schema() -> dict[str, SObjectType]:
    objects = [
        SObjectType("Account", "Account", "Accounts", "001", _system_fields((
            FieldSpec("Name", "Account Name", "string", 255, required=True),
            FieldSpec("Website", "Website", "url", 255),
            FieldSpec("Phone", "Account Phone", "phone", 40),
            FieldSpec("Industry", "Industry", "picklist", 255, picklist=_INDUSTRIES),
            FieldSpec("BillingStreet", "Billing Street", "textarea", 255),
            FieldSpec("BillingCity", "Billing City", "string", 40),
            FieldSpec("BillingPostalCode", "Billing Zip/Postal Code", "string", 20),
            FieldSpec("BillingStateCode", "Billing State/Province Code", "string", 10),
            FieldSpec("BillingCountry", "Billing Country", "string", 80),
            FieldSpec("BillingCountryCode", "Billing Country Code", "string", 10),
            FieldSpec("Tax_ID__c", "Tax ID", "string", 40, custom=True),
            FieldSpec("Q2C_Id__c", "Q2C Id", "string", 64, external_id=True, unique=True,
                   custom=True),
            FieldSpec("SAP_Business_Partner__c", "SAP Business Partner", "string", 10,
                   external_id=True, custom=True),
            FieldSpec("Legal_Entity__c", "Legal Entity", "string", 255, custom=True),
            _currency_field(),
        ))),
        SObjectType("Product2", "Product", "Products", "01t", _system_fields((
            FieldSpec("Name", "Product Name", "string", 255, required=True),
            FieldSpec("ProductCode", "Product Code", "string", 255),
            FieldSpec("Description", "Product Description", "textarea", 4000),
            FieldSpec("Family", "Product Family", "picklist", 255,
                   picklist=("Hardware", "Software", "Services")),
            FieldSpec("IsActive", "Active", "boolean", default=False),
            FieldSpec("QuantityUnitOfMeasure", "Quantity Unit Of Measure", "picklist", 255,
                   picklist=("Each", "Hour")),
            _currency_field(),
        ))),
        SObjectType("Pricebook2", "Price Book", "Price Books", "01s", _system_fields((
            FieldSpec("Name", "Price Book Name", "string", 255, required=True),
            FieldSpec("Description", "Description", "string", 255),
            FieldSpec("IsActive", "Active", "boolean", default=False),
            FieldSpec("IsStandard", "Is Standard Price Book", "boolean", default=False, **_RO),
        ))),
        SObjectType("PricebookEntry", "Price Book Entry", "Price Book Entries", "01u",
                _system_fields((
            FieldSpec("Name", "Product Name", "string", 255, **_RO),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2",
                 child="PricebookEntries", on_delete="cascade", required=True,
                 updateable=False),
            _ref("Product2Id", "Product ID", "Product2", "Product2", child="PricebookEntries",
                 on_delete="cascade", required=True, updateable=False),
            FieldSpec("ProductCode", "Product Code", "string", 255, **_RO),
            FieldSpec("UnitPrice", "List Price", "currency", scale=2, required=True),
            FieldSpec("IsActive", "Active", "boolean", default=False),
            FieldSpec("UseStandardPrice", "Use Standard Price", "boolean", default=False),
            _currency_field(updateable=False),
        ))),
        SObjectType("Opportunity", "Opportunity", "Opportunities", "006", _system_fields((
            FieldSpec("Name", "Name", "string", 120, required=True),
            _ref("AccountId", "Account ID", "Account", "Account", child="Opportunities",
                 on_delete="cascade"),
            FieldSpec("StageName", "Stage", "picklist", 255, required=True, picklist=_STAGES),
            FieldSpec("CloseDate", "Close Date", "date", required=True),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2",
                 child="Opportunities"),
            # The quote whose lines the opportunity mirrors ("Start Sync" on a quote).
            _ref("SyncedQuoteId", "Quote ID", "Quote", "SyncedQuote"),
            _currency_field(),
            *_q2c_fields(Q2C_OPPORTUNITY_FIELDS),
        ))),
        SObjectType("Quote", "Quote", "Quotes", "0Q0", _system_fields((
            FieldSpec("Name", "Quote Name", "string", 255, required=True),
            FieldSpec("QuoteNumber", "Quote Number", "string", 30, **_RO),
            FieldSpec("Status", "Status", "picklist", 255, picklist=QUOTE_STATUSES,
                   restricted=True, default="Draft"),
            FieldSpec("IsSyncing", "Syncing", "boolean", default=False, **_RO),
            _ref("AccountId", "Account ID", "Account", "Account", child="Quotes",
                 on_delete="cascade", **_RO),
            _ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity",
                 child="Quotes", on_delete="cascade", required=True, updateable=False),
            _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2", child="Quotes"),
            _currency_field(updateable=False),
            FieldSpec("ExpirationDate", "Expiration Date", "date"),
            FieldSpec("LineItemCount", "Line Items", "int", **_RO),
            FieldSpec("Subtotal", "Subtotal", "currency", scale=2, **_RO),
            FieldSpec("Discount", "Discount", "percent", scale=2, **_RO),
            FieldSpec("TotalPrice", "Total Price", "currency", scale=2, **_RO),
            FieldSpec("Tax", "Tax", "currency", scale=2),
            FieldSpec("GrandTotal", "Grand Total", "currency", scale=2, **_RO),
            *_q2c_fields(Q2C_QUOTE_FIELDS),
        ))),
        SObjectType("QuoteLineItem", "Quote Line Item", "Quote Line Items", "0QL", _system_fields((
            FieldSpec("LineNumber", "Line Item Number", "string", 255, **_RO),
            _ref("QuoteId", "Quote ID", "Quote", "Quote", child="QuoteLineItems",
                 on_delete="cascade", required=True, updateable=False),
            _ref("PricebookEntryId", "Price Book Entry ID", "PricebookEntry", "PricebookEntry",
                 child="QuoteLineItems", on_delete="restrict", required=True,
                 updateable=False),
            _ref("Product2Id", "Product ID", "Product2", "Product2", child="QuoteLineItems",
                 on_delete="restrict", updateable=False),
            FieldSpec("Quantity", "Quantity", "double", precision=12, scale=2, required=True),
            FieldSpec("UnitPrice", "Sales Price", "currency", scale=2, required=True),
            FieldSpec("ListPrice", "List Price", "currency", scale=2, **_RO),
            FieldSpec("Discount", "Discount", "percent", scale=2),
            FieldSpec("Subtotal", "Subtotal", "currency", scale=2, **_RO),
            FieldSpec("TotalPrice", "Total Price", "currency", scale=2, **_RO),
            FieldSpec("Description", "Line Item Description", "string", 255),
            _currency_field(createable=False, updateable=False),
        ))),
    ]  # fmt: skip
    schema = {obj.name: obj for obj in objects}
    for obj in objects:
        for f in obj.field_list:
            if f.reference_to and f.child_relationship:
                parent = schema[f.reference_to]
                parent.children[f.child_relationship.casefold()] = ChildRelationship(
                    f.child_relationship, obj.name, f
                )
    return schema


SCHEMA = _build_schema()
SCHEMA_BY_LOWER = {name.casefold(): obj for name, obj in SCHEMA.items()}
SCHEMA_BY_PREFIX = {obj.key_prefix: obj for obj in SCHEMA.values()}

# ================================================================= value helpers

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CENT = Decimal("0.01")


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def currency_places(code: str | None) -> int:
    return CURRENCIES.get(code or CORPORATE_CURRENCY, 2)


def format_datetime(moment: datetime) -> str:
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


def cannot_deserialize(kind: str, value: Any) -> SalesforceApiError:
    shown = value if isinstance(value, str | int | Decimal | float | bool) else _json_kind(value)
    return json_parser_error(
        f"Cannot deserialize instance of {kind} from {_json_kind(value)} value {shown} "
        "or request may be missing a required field"
    )


def coerce(f: FieldSpec, value: Any) -> Any:
    """Convert a JSON value written to field ``f`` into its stored form."""
    if value is None:
        return None
    kind = f.type
    if kind in STRING_TYPES or kind in ("id", "reference"):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | Decimal | float):
            value = str(value)
        if not isinstance(value, str):
            raise cannot_deserialize("string", value)
        return value or None  # Salesforce stores empty text as null
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise cannot_deserialize("boolean", value)
    if kind in DECIMAL_TYPES or kind == "int":
        number: Decimal
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
            raise cannot_deserialize(SOAP_TYPES[kind], value)
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise cannot_deserialize(SOAP_TYPES[kind], value) from None
        if not number.is_finite():
            raise cannot_deserialize(SOAP_TYPES[kind], value)
        if abs(number) >= Decimal(10) ** (f.precision - f.scale):
            raise DmlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{f.label}: value outside of valid range on numeric field: {value}",
                [f.name],
            )
        if kind == "int":
            if number != number.to_integral_value():
                raise cannot_deserialize("int", value)
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
        raise cannot_deserialize("date", value)
    if kind == "datetime":
        if isinstance(value, str):
            try:
                return format_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                pass
        raise cannot_deserialize("datetime", value)
    raise AssertionError(kind)  # pragma: no cover


def to_json(f: FieldSpec, value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value
