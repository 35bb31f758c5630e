"""Products and prices: the catalogue is mastered in the ERP, prices in the CRM price books."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import (
    MAX_PAGE_SIZE,
    Cursor,
    ExternalReferences,
    Money,
    PriceId,
    ProductId,
    Timestamp,
)

Sku = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=40, examples=["Q2C-1001"], description="ERP material number"
    ),
]
ProductKind = Literal["goods", "service"]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    id: ProductId
    sku: Sku
    name: Annotated[str, msgspec.Meta(max_length=255)]
    kind: ProductKind
    unit_of_measure: Annotated[str, msgspec.Meta(max_length=10)]
    product_group: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    active: bool = True
    updated_at: Timestamp | None = None
    external_references: ExternalReferences = []


class ProductPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Product], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None


class Price(msgspec.Struct, frozen=True, kw_only=True):
    id: PriceId
    product_id: ProductId
    sku: Sku
    price_list: Annotated[str, msgspec.Meta(max_length=80)]
    unit_price: Money
    active: bool = True
    external_references: ExternalReferences = []


class PricePage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Price], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None
