"""Canonical <-> Salesforce field mapping (Account, PricebookEntry, Quote)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

from contracts.v1.common import LEGAL_ENTITY_PATTERN, Address
from contracts.v1.customers import CustomerCreate, CustomerUpdate
from contracts.v1.quotes import QuoteStatus
from domains.customer.ports import CustomerRecord
from domains.money import decimal_string
from domains.pricing.ports import PriceRecord
from domains.quote.ports import QuoteLineRecord, QuoteProgress, QuoteRecord

JSON = dict[str, Any]
_LEGAL_ENTITY = re.compile(LEGAL_ENTITY_PATTERN)

ACCOUNT_FIELDS = (
    "Id",
    "Name",
    "Website",
    "Phone",
    "Industry",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingStateCode",
    "BillingCountryCode",
    "Tax_ID__c",
    "Q2C_Id__c",
    "Legal_Entity__c",
    "CreatedDate",
    "LastModifiedDate",
)
EXTERNAL_ID_FIELD = "Q2C_Id__c"
PRICE_FIELDS = (
    "Id",
    "Pricebook2Id",
    "ProductCode",
    "UnitPrice",
    "CurrencyIsoCode",
    "IsActive",
)
QUOTE_FIELDS = (
    "Id",
    "Name",
    "QuoteNumber",
    "Status",
    "AccountId",
    "CurrencyIsoCode",
    "ExpirationDate",
    "Subtotal",
    "TotalPrice",
    "CreatedDate",
    "LastModifiedDate",
)
QUOTE_LINE_FIELDS = (
    "Id",
    "LineNumber",
    "Product2Id",
    "Quantity",
    "UnitPrice",
    "Discount",
    "TotalPrice",
    "Description",
)

# Salesforce's default Quote.Status picklist -> TMF648-style canonical states.
QUOTE_STATUS: dict[str, QuoteStatus] = {
    "Draft": "pending",
    "Needs Review": "in_progress",
    "In Review": "in_progress",
    "Approved": "approved",
    "Presented": "approved",
    "Accepted": "accepted",
    "Rejected": "rejected",
    "Denied": "rejected",
}
CANONICAL_QUOTE_STATUS: dict[QuoteStatus, tuple[str, ...]] = {}
for _sf, _canonical in QUOTE_STATUS.items():
    CANONICAL_QUOTE_STATUS.setdefault(_canonical, ())
    CANONICAL_QUOTE_STATUS[_canonical] += (_sf,)
CANONICAL_QUOTE_STATUS.setdefault("cancelled", ())


def timestamp(value: Any) -> str | None:
    """``2026-11-27T04:13:23.000+0000`` -> ``2026-11-27T04:13:23Z`` (RFC 3339)."""
    if not value:
        return None
    text = str(value)
    if text.endswith("+0000"):
        text = text[:-5]
        if text.endswith(".000"):
            text = text[:-4]
        return text + "Z"
    return text


def _text(record: JSON, field: str) -> str | None:
    value = record.get(field)
    return str(value) if value not in (None, "") else None


def number(value: Any) -> str:
    """Salesforce JSON numbers arrive as text (decoded with float_hook=str)."""
    return decimal_string(Decimal(str(value))) if value is not None else "0"


def _legal_entity(record: JSON) -> str | None:
    # A free-text field in many orgs; only a code the ownership map can route on counts.
    value = _text(record, "Legal_Entity__c")
    return value if value and _LEGAL_ENTITY.match(value) else None


def to_customer_record(record: JSON) -> CustomerRecord:
    country = _text(record, "BillingCountryCode") or ""
    address = None
    if country:
        address = Address(
            country=country,
            region=_text(record, "BillingStateCode") or "",
            city=_text(record, "BillingCity") or "",
            street=_text(record, "BillingStreet") or "",
            postal_code=_text(record, "BillingPostalCode") or "",
        )
    return CustomerRecord(
        system_id=str(record["Id"]),
        name=str(record.get("Name") or ""),
        country=country,
        tax_id=_text(record, "Tax_ID__c"),
        website=_text(record, "Website"),
        industry=_text(record, "Industry"),
        phone=_text(record, "Phone"),
        address=address,
        legal_entity=_legal_entity(record),
        canonical_id=_text(record, EXTERNAL_ID_FIELD),
        created_at=timestamp(record.get("CreatedDate")),
        updated_at=timestamp(record.get("LastModifiedDate")),
    )


def _address_fields(address: Address | None) -> JSON:
    if address is None:
        return {"BillingStreet": None, "BillingCity": None, "BillingPostalCode": None,
                "BillingStateCode": None}
    return {
        "BillingStreet": address.street or None,
        "BillingCity": address.city or None,
        "BillingPostalCode": address.postal_code or None,
        "BillingStateCode": address.region or None,
        "BillingCountryCode": address.country,
    }


def account_from_create(data: CustomerCreate) -> JSON:
    body: JSON = {
        "Name": data.name,
        "BillingCountryCode": data.country,
        "Tax_ID__c": data.tax_id,
        "Website": data.website,
        "Industry": data.industry,
        "Phone": data.phone,
        "Legal_Entity__c": data.legal_entity,
    }
    if data.address is not None:
        body |= _address_fields(data.address)
        body["BillingCountryCode"] = data.country  # the identity country wins
    return {k: v for k, v in body.items() if v is not None}


def account_from_update(changes: CustomerUpdate) -> JSON:
    body: JSON = {}
    simple = {"name": "Name", "website": "Website", "industry": "Industry", "phone": "Phone"}
    for member, field in simple.items():
        value = getattr(changes, member)
        if value is not msgspec.UNSET:
            body[field] = value
    if changes.address is not msgspec.UNSET:
        body |= _address_fields(changes.address)
    return body


def to_price_record(record: JSON, price_lists: dict[str, str]) -> PriceRecord:
    return PriceRecord(
        system_id=str(record["Id"]),
        sku=str(record.get("ProductCode") or ""),
        price_list=price_lists.get(str(record.get("Pricebook2Id")), "unknown"),
        unit_price=number(record.get("UnitPrice")),
        currency=str(record.get("CurrencyIsoCode") or ""),
        active=bool(record.get("IsActive", True)),
    )


def to_quote_record(
    record: JSON, lines: list[JSON] | None = None, skus: dict[str, str] | None = None
) -> QuoteRecord:
    skus = skus or {}
    return QuoteRecord(
        system_id=str(record["Id"]),
        number=str(record.get("QuoteNumber") or ""),
        name=str(record.get("Name") or ""),
        status=QUOTE_STATUS.get(str(record.get("Status")), "pending"),
        account_id=_text(record, "AccountId"),
        currency=str(record.get("CurrencyIsoCode") or ""),
        valid_until=_text(record, "ExpirationDate"),
        lines=[
            QuoteLineRecord(
                line_number=int(str(line.get("LineNumber") or index + 1)),
                sku=skus.get(str(line.get("Product2Id"))),
                description=str(line.get("Description") or ""),
                quantity=number(line.get("Quantity")),
                unit_price=number(line.get("UnitPrice")),
                discount_percent=number(line.get("Discount")),
                total=number(line.get("TotalPrice")),
            )
            for index, line in enumerate(lines or [])
        ],
        subtotal=number(record.get("Subtotal")),
        total=number(record.get("TotalPrice")),
        created_at=timestamp(record.get("CreatedDate")),
        updated_at=timestamp(record.get("LastModifiedDate")),
    )


# Where the transaction's progress lands: custom fields a real org must create (see
# docs/systems/salesforce.md). The opportunity gets the part sales tracks there.
QUOTE_PROGRESS_FIELDS = {
    "transaction_id": "Q2C_Transaction_Id__c",
    "order_number": "Q2C_Order_Number__c",
    "invoice_number": "Q2C_Invoice_Number__c",
    "payment_status": "Q2C_Payment_Status__c",
    "stage": "Q2C_Stage__c",
}
OPPORTUNITY_PROGRESS_FIELDS = {
    "order_number": "Q2C_Order_Number__c",
    "stage": "Q2C_Stage__c",
}


def progress_fields(progress: QuoteProgress, fields: dict[str, str]) -> JSON:
    """The known parts of ``progress`` as field values; unknown ("") parts are left out
    so that a later, partial write-back never blanks what an earlier one recorded."""
    values = {field: getattr(progress, member) for member, field in fields.items()}
    return {field: value for field, value in values.items() if value}
