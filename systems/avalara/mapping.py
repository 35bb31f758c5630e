"""TaxRequest <-> AvaTax CreateTransactionModel / TransactionModel, as pure functions.

Money is Decimal end to end: request amounts are parsed from decimal strings and
sent as exact JSON numbers; AvaTax numbers are decoded as Decimal and returned as
strings quantised to the currency's minor unit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import msgspec

from contracts.v1.common import Address
from domains.errors import FieldIssue, ValidationFailed
from domains.money import decimal_string, parse_decimal, quantize
from domains.tax.ports import TaxCategory, TaxLineResult, TaxRequest, TaxResult
from systems.avalara.client import Transaction, TransactionLine

JSON = dict[str, Any]

#: AvaTax system tax codes for the vendor-neutral categories.
TAX_CODES: Final[Mapping[TaxCategory, str]] = {
    "goods": "P0000000",  # tangible personal property
    "software_service": "SW054000",  # SaaS / remotely accessed software
    # SC08: implementation / professional services not tied to a software sale
    # (AvaTax's "S..." service codes: not taxed by US states, VAT applies).
    "professional_service": "SC080100",
    "non_taxable": "NT",
}

SALES_ORDER = "SalesOrder"  # an estimate: calculated, never recorded
SALES_INVOICE = "SalesInvoice"  # recorded; committed here so it reaches the tax return
VOID_REASON = "DocVoided"  # AvaTax's VoidReasonCode for a document cancelled by the seller


class AvalaraAddress(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An address as AvaTax takes it (configuration: a company's ship-from origin)."""

    country: str
    line1: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""


def tax_code(category: TaxCategory, overrides: Mapping[TaxCategory, str] | None = None) -> str:
    return (overrides or {}).get(category) or TAX_CODES[category]


def document_type(kind: str) -> str:
    return SALES_INVOICE if kind == "invoice" else SALES_ORDER


# -- regions ---------------------------------------------------------------
# The canonical Address carries no state/province, but AvaTax needs one for US
# (and, for provincial tax, Canadian) addresses. Both follow from the postal code:
# US ZIP codes are allocated by 3-digit prefix, Canadian postal codes by first letter.
_US_ZIP3: Final[tuple[tuple[int, int, str], ...]] = (
    (5, 5, "NY"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"),
    (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"),
    (201, 201, "VA"), (202, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"),
    (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"),
    (320, 339, "FL"), (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"),
    (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"),
    (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"),
    (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"),
    (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"),
    (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 732, "OK"),
    (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"),
    (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"),
    (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"),
    (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip
_CA_POSTAL_LETTER: Final = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC",
    "K": "ON", "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK",
    "T": "AB", "V": "BC", "X": "NT", "Y": "YT",
}  # fmt: skip
_NUNAVUT_FSAS: Final = frozenset({"X0A", "X0B", "X0C"})
_US_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")
_CA_POSTAL = re.compile(r"([A-Z]\d[A-Z]) ?\d[A-Z]\d")


def derive_region(address: Address) -> str:
    """The address's region when it has one, else the ISO 3166-2 subdivision of a US/CA
    address from its postal code; "" if unknown (AvaTax then answers its own address
    error, which names ``ship_to``)."""
    if address.region:
        return address.region
    postal = " ".join(address.postal_code.upper().split())
    if address.country == "US":
        match = _US_ZIP.fullmatch(postal)
        if match is None:
            return ""
        prefix = int(match[1][:3])
        return next((state for low, high, state in _US_ZIP3 if low <= prefix <= high), "")
    if address.country == "CA":
        match = _CA_POSTAL.fullmatch(postal)
        if match is None:
            return ""
        if match[1] in _NUNAVUT_FSAS:
            return "NU"
        return _CA_POSTAL_LETTER.get(match[1][0], "")
    return ""


def ship_to_model(address: Address) -> JSON:
    """The canonical destination as an AvaTax ``AddressLocationInfo``."""
    model: JSON = {"country": address.country}
    for key, value in (
        ("line1", address.street),
        ("city", address.city),
        ("region", derive_region(address)),
        ("postalCode", address.postal_code),
    ):
        if value.strip():
            model[key] = value.strip()
    return model


def origin_model(address: AvalaraAddress) -> JSON:
    model: JSON = {"country": address.country}
    for key, value in (
        ("line1", address.line1),
        ("city", address.city),
        ("region", address.region),
        ("postalCode", address.postal_code),
    ):
        if value.strip():
            model[key] = value.strip()
    return model


# -- request ---------------------------------------------------------------
def _number(text: str, field: str) -> Decimal:
    value = parse_decimal(text)
    if value is None:
        raise ValidationFailed(
            f"{field} must be a decimal number.",
            errors=(FieldIssue(field=field, message="must be a decimal number", code="decimal"),),
        )
    return value


def create_transaction_model(
    request: TaxRequest,
    *,
    company_code: str,
    tax_codes: Mapping[TaxCategory, str] | None = None,
    ship_from: AvalaraAddress | None = None,
    transaction_id: str | None = None,
) -> JSON:
    """The CreateTransactionModel for ``request``: an uncommitted ``SalesOrder`` for an
    estimate, a committed ``SalesInvoice`` for an invoice, both under ``document_code``.
    ``transaction_id`` (the quote-to-cash transaction) goes in ``referenceCode``."""
    addresses: JSON = {"shipTo": ship_to_model(request.ship_to)}
    if ship_from is not None:
        # Without it AvaTax takes the origin from the company's default location.
        addresses["shipFrom"] = origin_model(ship_from)
    model: JSON = {
        "type": document_type(request.kind),
        "code": request.document_code,
        "companyCode": company_code,
        "date": request.date,
        "customerCode": request.customer_code,
        "currencyCode": request.currency,
        "commit": request.kind == "invoice",
        "addresses": addresses,
        "lines": [
            {
                "number": line.number,
                "quantity": _number(line.quantity, f"lines[{index}].quantity"),
                "amount": _number(line.amount, f"lines[{index}].amount"),
                "taxCode": tax_code(line.category, tax_codes),
                "itemCode": line.sku,
                "description": line.description,
            }
            for index, line in enumerate(request.lines)
        ],
    }
    if request.exemption_number:
        model["exemptionNo"] = request.exemption_number
    if transaction_id:
        model["referenceCode"] = transaction_id
    return model


# -- result ----------------------------------------------------------------
def line_rate(line: TransactionLine) -> Decimal:
    """The line's combined rate: the sum of the rates of the jurisdictions that taxed an
    amount of it (0 when nothing was taxable, e.g. exempt or non-taxable). Without
    details (a response that omits them) it falls back to tax / taxable."""
    if line.details is not None:
        return sum((d.rate for d in line.details if d.taxableAmount), Decimal(0))
    if line.taxableAmount:
        return line.tax / line.taxableAmount
    return Decimal(0)


def _amount(value: Decimal, currency: str) -> str:
    return format(quantize(value, currency), "f")


def to_tax_result(transaction: Transaction, request: TaxRequest) -> TaxResult:
    currency = (transaction.currencyCode or request.currency).upper()
    lines = [
        TaxLineResult(
            number=line.lineNumber or str(index + 1),
            taxable=_amount(line.taxableAmount, currency),
            exempt=_amount(line.exemptAmount, currency),
            tax=_amount(line.tax, currency),
            rate=decimal_string(line_rate(line)),
        )
        for index, line in enumerate(transaction.lines or ())
    ]
    return TaxResult(
        document_code=transaction.code or request.document_code,
        currency=currency,
        total_tax=_amount(transaction.totalTax, currency),
        lines=lines,
        committed=transaction.status == "Committed",
    )


def recorded_mismatch(transaction: Transaction, request: TaxRequest) -> str | None:
    """Why a recorded document is not the one ``request`` describes, or None.

    A retry re-sends the same document; a different customer, currency or lines
    under the same code means the code was reused, and its tax would be wrong."""
    if (transaction.customerCode or "") != request.customer_code:
        return f"customer {transaction.customerCode!r}, not {request.customer_code!r}"
    if (transaction.currencyCode or "").upper() != request.currency.upper():
        return f"currency {transaction.currencyCode!r}, not {request.currency!r}"
    recorded = sorted((line.lineNumber or "", line.lineAmount) for line in transaction.lines or ())
    wanted = sorted(
        (line.number, parse_decimal(line.amount) or Decimal(0)) for line in request.lines
    )
    if recorded != wanted:
        return "different lines or amounts"
    return None
