"""Building blocks shared by every v1 resource."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.v1.codes import CountryCodeValue, CurrencyCodeValue

ULID_BODY = "[0-9A-HJKMNP-TV-Z]{26}"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
LEGAL_ENTITY_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,19}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"


def canonical_id(prefix: str, what: str) -> msgspec.Meta:
    """Constraint for a canonical id: ``<prefix>_`` followed by a ULID."""
    return msgspec.Meta(
        pattern=f"^{prefix}_{ULID_BODY}$",
        min_length=len(prefix) + 27,
        max_length=len(prefix) + 27,
        description=f"Canonical {what} id",
        examples=[f"{prefix}_01JDQ2C0000000000000000000"],
    )


CustomerId = Annotated[str, canonical_id("cus", "customer")]
ProductId = Annotated[str, canonical_id("prd", "product")]
PriceId = Annotated[str, canonical_id("prc", "price")]
QuoteId = Annotated[str, canonical_id("quo", "quote")]
OrderId = Annotated[str, canonical_id("ord", "order")]
InvoiceId = Annotated[str, canonical_id("inv", "invoice")]
PaymentId = Annotated[str, canonical_id("pay", "payment")]

DecimalString = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$",
        max_length=23,
        description="Exact decimal number as a string",
        examples=["12.50"],
    ),
]
PositiveQuantity = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?$",
        max_length=13,
        description="Quantity as a decimal string, greater than zero, at most 3 decimals",
        examples=["2", "1.5"],
    ),
]
CurrencyCode = Annotated[
    CurrencyCodeValue,
    msgspec.Meta(description="ISO 4217 currency code", examples=["EUR"]),
]
CountryCode = Annotated[
    CountryCodeValue,
    msgspec.Meta(description="ISO 3166-1 alpha-2 country code", examples=["DE"]),
]
Timestamp = Annotated[
    str,
    msgspec.Meta(
        max_length=40, description="RFC 3339 timestamp", examples=["2026-11-27T04:13:23Z"]
    ),
]
CalendarDate = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{4}-\d{2}-\d{2}$", max_length=10, description="ISO 8601 calendar date"
    ),
]
Cursor = Annotated[
    str,
    msgspec.Meta(
        pattern=CURSOR_PATTERN,
        max_length=512,
        description="Opaque cursor from a previous page's next_cursor",
    ),
]
SystemName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z0-9_]{1,31}$",
        max_length=32,
        description="System of record name",
        examples=["salesforce"],
    ),
]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
LegalEntity = Annotated[
    str,
    msgspec.Meta(
        pattern=LEGAL_ENTITY_PATTERN,
        max_length=20,
        description="Selling legal entity",
        examples=["ACME-US"],
    ),
]


class Money(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An exact amount in one currency; never a float."""

    amount: DecimalString
    currency: CurrencyCode


class ExternalReference(msgspec.Struct, frozen=True, kw_only=True):
    """Where this record lives in a system of record."""

    system: SystemName
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


# A record lives in a handful of systems; pages never exceed the largest `limit`
# (domains.paging.MAX_LIMIT, which a test keeps equal).
MAX_PAGE_SIZE = 200
ExternalReferences = Annotated[
    list[ExternalReference],
    msgspec.Meta(max_length=20, description="Where this record lives in systems of record"),
]


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    country: CountryCode
    # ISO 3166-2 subdivision without the country prefix (US state, CA province):
    # tax engines need it for North American addresses.
    region: Annotated[
        str,
        msgspec.Meta(pattern=r"^([A-Z0-9]{1,3})?$", max_length=3, examples=["IL"]),
    ] = ""
    city: Annotated[str, msgspec.Meta(max_length=100)] = ""
    street: Annotated[str, msgspec.Meta(max_length=200)] = ""
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] = ""
