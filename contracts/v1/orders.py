"""Orders (TMF622 states, simplified): submitted to the ERP that owns them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import (
    MAX_PAGE_SIZE,
    SINGLE_LINE_PATTERN,
    CalendarDate,
    CurrencyCode,
    Cursor,
    CustomerId,
    DecimalString,
    ExternalReferences,
    LegalEntity,
    Money,
    OrderId,
    PositiveQuantity,
    ProductId,
    QuoteId,
    Timestamp,
)
from contracts.v1.products import Sku

OrderStatus = Literal[
    "acknowledged", "in_progress", "held", "completed", "cancelled", "rejected", "failed"
]
PurchaseOrderReference = Annotated[
    str, msgspec.Meta(min_length=1, max_length=35, pattern=SINGLE_LINE_PATTERN)
]


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    product_id: ProductId | None
    sku: Sku
    description: Annotated[str, msgspec.Meta(max_length=255)] = ""
    quantity: DecimalString
    unit_of_measure: Annotated[str, msgspec.Meta(max_length=10)] = ""
    net_amount: Money


class Order(msgspec.Struct, frozen=True, kw_only=True):
    id: OrderId
    status: OrderStatus
    customer_id: CustomerId | None
    quote_id: QuoteId | None = None
    legal_entity: LegalEntity | None = None
    purchase_order_reference: PurchaseOrderReference | None = None
    currency: CurrencyCode
    lines: Annotated[list[OrderLine], msgspec.Meta(max_length=1000)] = []
    total_net: Money
    requested_delivery_date: CalendarDate | None = None
    created_at: Timestamp | None = None
    external_references: ExternalReferences = []


class OrderLineCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    product_id: ProductId
    quantity: PositiveQuantity


class OrderCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Either ``quote_id`` (an accepted quote) or explicit ``lines`` with a ``currency``."""

    customer_id: CustomerId
    quote_id: QuoteId | None = None
    lines: Annotated[list[OrderLineCreate], msgspec.Meta(min_length=1, max_length=500)] | None = (
        None
    )
    currency: CurrencyCode | None = None
    purchase_order_reference: PurchaseOrderReference | None = None
    requested_delivery_date: CalendarDate | None = None
    legal_entity: LegalEntity | None = None


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Order], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None
