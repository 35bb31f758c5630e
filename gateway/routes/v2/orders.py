"""/v2/orders: the v1 order contract plus ``fulfillment_status``.

Same domain service as v1 (one codebase); only the representation differs.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from contracts.v1.orders import OrderCreate
from contracts.v2.orders import OrderPageV2, OrderV2
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    LOCATION_HEADER,
    READ,
    CursorParam,
    CustomerIdQuery,
    LegalEntityQuery,
    Limit,
    OrderIdPath,
    created,
    governed_route,
    idempotent_id,
    services,
    tagged,
    tenant_of,
)
from policies.idempotency.openapi import IDEMPOTENCY_KEY_HEADER


class OrderControllerV2(Controller):
    path = "/orders"
    tags = ["orders"]

    @post(
        operation_id="createOrderV2",
        summary="Submit an order to the ERP that owns it",
        description="As v1 createOrder; the answer also says how far the order is fulfilled.",
        **governed_route(
            "orders:write",
            errors=(*READ, 422),
            idempotency="required",
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_order(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrderCreate],
        idempotency_key: Annotated[str, IDEMPOTENCY_KEY_HEADER],
    ) -> Response[OrderV2]:
        order = await services(request).orders.create(
            tenant_of(request), data, idempotent_id(request, "order")
        )
        return created(order, f"/v2/orders/{order.id}")

    @get(
        "/{order_id:str}",
        operation_id="getOrderV2",
        summary="Get an order with its fulfilment status",
        description="As v1 getOrder, plus how far the order is fulfilled.",
        **governed_route("orders:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_order(
        self, request: Request[Any, Any, Any], order_id: OrderIdPath
    ) -> Response[OrderV2]:
        order = await services(request).orders.get(tenant_of(request), order_id)
        return tagged(order)

    @get(
        operation_id="listOrdersV2",
        summary="List orders, by customer, with fulfilment status",
        description="As v1 listOrders, each order with how far it is fulfilled.",
        **governed_route("orders:read", errors=(*READ, 404)),
    )
    async def list_orders(
        self,
        request: Request[Any, Any, Any],
        customer_id: CustomerIdQuery = None,
        legal_entity: LegalEntityQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> OrderPageV2:
        return await services(request).orders.list_page(
            tenant_of(request),
            customer_id=customer_id,
            legal_entity=legal_entity,
            cursor=cursor,
            limit=limit,
        )
