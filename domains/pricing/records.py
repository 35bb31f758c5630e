"""Price-book entries and price calculations as the gateway knows them."""

from __future__ import annotations

import msgspec

from contracts.v1.common import ExternalReference, Money


class Price(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, prc_...
    product_id: str
    sku: str
    price_list: str
    unit_price: Money
    active: bool = True
    external_references: list[ExternalReference] = []


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    product_id: str
    sku: str
    quantity: str  # decimal string
    unit_price: Money
    discount_percent: str  # decimal string
    net_amount: Money
    tax: Money
    tax_rate: str  # effective rate as a decimal fraction


class PriceCalculation(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    lines: list[PricedLine]
    subtotal: Money
    tax: Money
    total: Money
