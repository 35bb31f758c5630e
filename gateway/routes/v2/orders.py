"""/v2/orders: the v1 order contract plus ``fulfillment_status``.

Same domain service as v1 (one codebase); only the representation differs.
"""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.params import JSONBody

from contracts.v1.orders import OrderCreate
from contracts.v2.orders import OrderPageV2, OrderV2
from domains.order.service import OrderService
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    LOCATION_HEADER,
    ORDER_CREATE,
    READ,
    CursorParam,
    CustomerIdQuery,
    LegalEntityQuery,
    Limit,
    OrderIdPath,
    created,
    governed_route,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v2 import representation as v2


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
            idempotency_scope=ORDER_CREATE,
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_order(
        self, data: JSONBody[OrderCreate], orders: Injected[OrderService], caller: Injected[Caller]
    ) -> Response[OrderV2]:
        order = v2.order(await orders.create(caller.tenant, data, caller.idempotent_id("order")))
        return created(order, f"/v2/orders/{order.id}")

    @get(
        "/{order_id:str}",
        operation_id="getOrderV2",
        summary="Get an order with its fulfilment status",
        description="As v1 getOrder, plus how far the order is fulfilled.",
        **governed_route("orders:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_order(
        self, order_id: OrderIdPath, orders: Injected[OrderService], caller: Injected[Caller]
    ) -> Response[OrderV2]:
        return tagged(v2.order(await orders.get(caller.tenant, order_id)))

    @get(
        operation_id="listOrdersV2",
        summary="List orders, by customer, with fulfilment status",
        description="As v1 listOrders, each order with how far it is fulfilled.",
        **governed_route("orders:read", errors=(*READ, 404)),
    )
    async def list_orders(
        self,
        orders: Injected[OrderService],
        caller: Injected[Caller],
        customer_id: CustomerIdQuery = None,
        legal_entity: LegalEntityQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> OrderPageV2:
        page = await orders.list_page(
            caller.tenant,
            customer_id=customer_id,
            legal_entity=legal_entity,
            cursor=cursor,
            limit=limit,
        )
        return v2.order_page(page)
