"""Domain records as the v2 contract represents them (v2 changes only orders)."""

from __future__ import annotations

from contracts.v2.orders import OrderPageV2, OrderV2
from domains.order.records import Order
from domains.paging import Listing
from gateway.routes.v1.representation import order_lines


def order(record: Order) -> OrderV2:
    return OrderV2(
        id=record.id,
        status=record.status,
        customer_id=record.customer_id,
        quote_id=record.quote_id,
        legal_entity=record.legal_entity,
        purchase_order_reference=record.purchase_order_reference,
        currency=record.currency,
        lines=order_lines(record),
        total_net=record.total_net,
        requested_delivery_date=record.requested_delivery_date,
        created_at=record.created_at,
        external_references=record.external_references,
        fulfillment_status=record.fulfillment_status,
    )


def order_page(page: Listing[Order]) -> OrderPageV2:
    return OrderPageV2(data=[order(item) for item in page.items], next_cursor=page.next_cursor)
