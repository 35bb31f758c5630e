"""Building blocks shared by every v1 resource."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.v1.codes import CountryCodeValue, CurrencyCodeValue

ULID_BODY = "[0-9A-HJKMNP-TV-Z]{26}"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# The end of the text. Python's ``$`` also matches before a final line feed, so
# ``^[A-Z]+$`` would let "ACME\n" through; JSON Schema (ECMA-262) agrees with this form.
END = r"(?!\n)$"
LEGAL_ENTITY_PATTERN = rf"^[A-Z0-9][A-Z0-9-]{{0,19}}{END}"
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{1,512}}{END}"
# One line of text: no C0 or C1 control character (NUL, CR, LF, TAB, ESC, DEL, NEL...)
# and no Unicode line or paragraph separator. A name with a line break in it splits
# CSV exports, log lines and e-mail headers, and NUL truncates it in C-based systems.
_CONTROLS = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
SINGLE_LINE_PATTERN = rf"^[^{_CONTROLS}]*{END}"
# Text that may span lines (a street with its address lines): line feeds only.
MULTI_LINE_PATTERN = r"^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]*$"
# A name: one line with at least one visible character.
NAME_PATTERN = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*{END}"
# A real Gregorian date, years 0001-9999: month lengths and leap years included, so
# 2026-02-30 is refused here with the field named rather than by a system of record.
CALENDAR_DATE_PATTERN = (
    r"^(?!0000)(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    + END
)
# Above zero, at most 9 integer digits and 3 decimals: 0, 0.0 and 0.000 are no quantity.
POSITIVE_QUANTITY_PATTERN = (
    r"^(?:[1-9][0-9]{0,8}(?:\.[0-9]{1,3})?|0\.(?:[1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))" + END
)


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
        pattern=r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?" + END,
        max_length=23,
        description="Exact decimal number as a string",
        examples=["12.50"],
    ),
]
PositiveQuantity = Annotated[
    str,
    msgspec.Meta(
        pattern=POSITIVE_QUANTITY_PATTERN,
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
        pattern=CALENDAR_DATE_PATTERN,
        min_length=10,
        max_length=10,
        description="ISO 8601 calendar date (a day that exists)",
        extra_json_schema={"format": "date"},
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
    city: Annotated[str, msgspec.Meta(max_length=100, pattern=SINGLE_LINE_PATTERN)] = ""
    # CRMs keep address lines in one street field, separated by line feeds.
    street: Annotated[str, msgspec.Meta(max_length=200, pattern=MULTI_LINE_PATTERN)] = ""
    postal_code: Annotated[str, msgspec.Meta(max_length=20, pattern=SINGLE_LINE_PATTERN)] = ""
