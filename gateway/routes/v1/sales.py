"""/v1/quotes (CRM / CPQ) and /v1/orders (submitted to the owning ERP)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody

from contracts.v1.orders import Order, OrderCreate, OrderPage
from contracts.v1.quotes import Quote, QuotePage, QuoteStatus
from domains.order.service import OrderService
from domains.quote.service import QuoteService
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
    QuoteIdPath,
    created,
    governed_route,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import representation as v1


class QuoteController(Controller):
    path = "/quotes"
    tags = ["quotes"]

    @get(
        operation_id="listQuotes",
        summary="List quotes",
        description="Quotes of the caller's tenant, by customer and status, in cursor pages "
        "(without the tax estimate; get a single quote for it).",
        **governed_route(
            "quotes:read",
            errors=(*READ, 404),
        ),
    )
    async def list_quotes(
        self,
        quotes: Injected[QuoteService],
        caller: Injected[Caller],
        customer_id: CustomerIdQuery = None,
        status: FromQuery[QuoteStatus | None] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> QuotePage:
        page = await quotes.list_page(
            caller.tenant, customer_id=customer_id, status=status, cursor=cursor, limit=limit
        )
        return v1.quote_page(page)

    @get(
        "/{quote_id:str}",
        operation_id="getQuote",
        summary="Get a quote with its lines",
        description="The quote with its lines, totals and the tax engine's estimate for the "
        "customer's address; an accepted quote is what createOrder orders.",
        **governed_route(
            "quotes:read",
            errors=(*READ, 404),
            headers=(ETAG_HEADER,),
        ),
    )
    async def get_quote(
        self, quote_id: QuoteIdPath, quotes: Injected[QuoteService], caller: Injected[Caller]
    ) -> Response[Quote]:
        return tagged(v1.quote(await quotes.get(caller.tenant, quote_id)))


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post(
        operation_id="createOrder",
        summary="Submit an order to the ERP that owns it",
        description="From an accepted quote (`quote_id`) or explicit `lines` with a "
        "`currency`. Every line is validated before anything is written; the ERP customer "
        "is reused or created; the ERP order carries the canonical id as its duplicate "
        "guard.",
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
    ) -> Response[Order]:
        # The key itself is handled by the idempotency policy; the order id is
        # derived from it so a retry finds the first ERP order.
        order = v1.order(await orders.create(caller.tenant, data, caller.idempotent_id("order")))
        return created(order, f"/v1/orders/{order.id}")

    @get(
        "/{order_id:str}",
        operation_id="getOrder",
        summary="Get an order",
        description="The order as the ERP that owns it holds it, with its lines and status.",
        **governed_route(
            "orders:read",
            errors=(*READ, 404),
            headers=(ETAG_HEADER,),
        ),
    )
    async def get_order(
        self, order_id: OrderIdPath, orders: Injected[OrderService], caller: Injected[Caller]
    ) -> Response[Order]:
        return tagged(v1.order(await orders.get(caller.tenant, order_id)))

    @get(
        operation_id="listOrders",
        summary="List orders, by customer",
        description="Orders of the caller's tenant, by customer and selling legal entity, in "
        "cursor pages.",
        **governed_route(
            "orders:read",
            errors=(*READ, 404),
        ),
    )
    async def list_orders(
        self,
        orders: Injected[OrderService],
        caller: Injected[Caller],
        customer_id: CustomerIdQuery = None,
        legal_entity: LegalEntityQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> OrderPage:
        page = await orders.list_page(
            caller.tenant,
            customer_id=customer_id,
            legal_entity=legal_entity,
            cursor=cursor,
            limit=limit,
        )
        return v1.order_page(page)
