"""A sales order as the gateway knows it (owned by the ERP per legal entity)."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.v1.common import ExternalReference, Money

OrderStatus = Literal[
    "acknowledged", "in_progress", "held", "completed", "cancelled", "rejected", "failed"
]
FulfillmentStatus = Literal["unfulfilled", "partially_fulfilled", "fulfilled"]


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    product_id: str | None
    sku: str
    description: str = ""
    quantity: str  # decimal string
    unit_of_measure: str = ""
    net_amount: Money


class Order(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, ord_...
    status: OrderStatus
    customer_id: str | None
    quote_id: str | None = None
    legal_entity: str | None = None
    purchase_order_reference: str | None = None
    currency: str
    lines: list[OrderLine] = []
    total_net: Money
    requested_delivery_date: str | None = None
    created_at: str | None = None
    external_references: list[ExternalReference] = []
    fulfillment_status: FulfillmentStatus = "unfulfilled"
