"""Price calculation: price-book prices, discounts and tax, before anything is ordered."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.v1.common import (
    SINGLE_LINE_PATTERN,
    Address,
    CurrencyCode,
    CustomerId,
    DecimalString,
    Money,
    PositiveQuantity,
    ProductId,
)
from contracts.v1.products import Sku

DiscountPercent = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$",
        max_length=6,
        description="Discount in percent, 0-100, at most two decimals",
        examples=["10"],
    ),
]


class PriceLineRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    product_id: ProductId
    quantity: PositiveQuantity
    discount_percent: DiscountPercent = "0"


class PriceCalculationRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    customer_id: CustomerId
    currency: CurrencyCode
    lines: Annotated[list[PriceLineRequest], msgspec.Meta(min_length=1, max_length=200)]
    ship_to: Address | None = None  # default: the customer's address
    price_list: Annotated[
        str, msgspec.Meta(min_length=1, max_length=80, pattern=SINGLE_LINE_PATTERN)
    ] = "Standard Price Book"


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    product_id: ProductId
    sku: Sku
    quantity: DecimalString
    unit_price: Money
    discount_percent: DecimalString
    net_amount: Money
    tax: Money
    tax_rate: DecimalString


class PriceCalculation(msgspec.Struct, frozen=True, kw_only=True):
    currency: CurrencyCode
    lines: Annotated[list[PricedLine], msgspec.Meta(max_length=200)]
    subtotal: Money
    tax: Money
    total: Money
