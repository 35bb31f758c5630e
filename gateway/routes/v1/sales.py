"""/v1/quotes (CRM / CPQ) and /v1/orders (submitted to the owning ERP)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, JSONBody

from contracts.v1.orders import Order, OrderCreate, OrderPage
from contracts.v1.quotes import Quote, QuotePage, QuoteStatus
from contracts.v2.orders import page_to_v1, to_v1
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
    QuoteIdPath,
    created,
    governed_route,
    idempotent_id,
    services,
    tagged,
    tenant_of,
)
from policies.idempotency.openapi import IDEMPOTENCY_KEY_HEADER


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
        request: Request[Any, Any, Any],
        customer_id: CustomerIdQuery = None,
        status: FromQuery[QuoteStatus | None] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> QuotePage:
        return await services(request).quotes.list_page(
            tenant_of(request), customer_id=customer_id, status=status, cursor=cursor, limit=limit
        )

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
        self, request: Request[Any, Any, Any], quote_id: QuoteIdPath
    ) -> Response[Quote]:
        quote = await services(request).quotes.get(tenant_of(request), quote_id)
        return tagged(quote)


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
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_order(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrderCreate],
        idempotency_key: Annotated[str, IDEMPOTENCY_KEY_HEADER],
    ) -> Response[Order]:
        # The key itself is handled by the idempotency policy; the order id is
        # derived from it (see idempotent_id) so a retry finds the first ERP order.
        order = to_v1(
            await services(request).orders.create(
                tenant_of(request), data, idempotent_id(request, "order")
            )
        )
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
        self, request: Request[Any, Any, Any], order_id: OrderIdPath
    ) -> Response[Order]:
        order = to_v1(await services(request).orders.get(tenant_of(request), order_id))
        return tagged(order)

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
        request: Request[Any, Any, Any],
        customer_id: CustomerIdQuery = None,
        legal_entity: LegalEntityQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> OrderPage:
        return page_to_v1(
            await services(request).orders.list_page(
                tenant_of(request),
                customer_id=customer_id,
                legal_entity=legal_entity,
                cursor=cursor,
                limit=limit,
            )
        )
