"""Customer (TMF632 organisation, simplified): mastered in the CRM."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.v1.common import (
    END,
    MAX_PAGE_SIZE,
    NAME_PATTERN,
    SINGLE_LINE_PATTERN,
    Address,
    CountryCode,
    Cursor,
    CustomerId,
    ExternalReferences,
    LegalEntity,
    Timestamp,
)

CustomerName = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=255, pattern=NAME_PATTERN, examples=["Northwind Traders GmbH"]
    ),
]
TAX_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 .\-/]*" + END
TaxId = Annotated[
    str,
    msgspec.Meta(
        min_length=4,
        max_length=32,
        pattern=TAX_ID_PATTERN,
        description="VAT / tax registration number",
        examples=["DE811907980"],
    ),
]
Website = Annotated[
    str,
    msgspec.Meta(
        max_length=255,
        pattern=r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
        + r"(/[^\s\u0000-\u001f\u007f-\u009f]*)?"
        + END,
        examples=["northwind.example"],
    ),
]
Industry = Annotated[str, msgspec.Meta(max_length=80, pattern=SINGLE_LINE_PATTERN)]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9+() .\-/]*" + END)]


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    id: CustomerId
    name: CustomerName
    country: CountryCode
    tax_id: TaxId | None = None
    website: Website | None = None
    industry: Industry | None = None
    phone: Phone | None = None
    address: Address | None = None
    legal_entity: LegalEntity | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    external_references: ExternalReferences = []


class CustomerCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: CustomerName
    country: CountryCode
    tax_id: TaxId | None = None
    website: Website | None = None
    industry: Industry | None = None
    phone: Phone | None = None
    address: Address | None = None
    legal_entity: LegalEntity | None = None


class CustomerUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """PATCH body: only the members present change; identity fields are immutable."""

    name: CustomerName | msgspec.UnsetType = msgspec.UNSET
    website: Website | msgspec.UnsetType | None = msgspec.UNSET
    industry: Industry | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET


class CustomerPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Customer], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None
