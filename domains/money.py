"""Exact money arithmetic: Decimal amounts quantised to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from contracts.v1.common import Money

# ISO 4217 minor-unit exponents that are not 2; everything else uses cents.
_EXPONENTS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}
# Currencies the demo landscape and its adapters price in; a real deployment
# would take this list from the ERP's currency table.
SUPPORTED_CURRENCIES = frozenset(
    {"EUR", "USD", "GBP", "JPY", "CHF", "SEK", "DKK", "NOK", "PLN", "HUF", "CAD", "AUD"}
)


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_UP)


def money(amount: Decimal | str | float | int, currency: str) -> Money:
    """Canonical money; floats from vendor JSON go through str to stay exact."""
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    return Money(amount=format(quantize(value, currency), "f"), currency=currency)


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimal_string(value: Decimal) -> str:
    """Plain notation without trailing zeros: 2, 1.5, 0.125."""
    return format(value.normalize(), "f")
