"""/v1/products (ERP catalogue) and /v1/prices (CRM price books)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter

from contracts.v1.products import PricePage, Product, ProductKind, ProductPage
from domains.product.ports import ProductQuery
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    READ,
    CurrencyQuery,
    CursorParam,
    Limit,
    ProductIdPath,
    ProductIdQuery,
    governed_route,
    services,
    tagged,
    tenant_of,
)


class ProductController(Controller):
    path = "/products"
    tags = ["products"]

    @get(
        operation_id="listProducts",
        summary="List products",
        description="The ERP catalogue, by kind, active flag and product group, in cursor "
        "pages.",
        **governed_route("products:read"),
    )
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        kind: FromQuery[ProductKind | None] = None,
        active: FromQuery[bool | None] = None,
        product_group: Annotated[str | None, QueryParameter(min_length=1, max_length=20)] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> ProductPage:
        query = ProductQuery(kind=kind, active=active, product_group=product_group)
        return await services(request).products.list_page(tenant_of(request), query, cursor, limit)

    @get(
        "/{product_id:str}",
        operation_id="getProduct",
        summary="Get a product",
        description="One product of the ERP catalogue.",
        **governed_route(
            "products:read",
            errors=(*READ, 404),
            headers=(ETAG_HEADER,),
        ),
    )
    async def get_product(
        self, request: Request[Any, Any, Any], product_id: ProductIdPath
    ) -> Response[Product]:
        product = await services(request).products.get(tenant_of(request), product_id)
        return tagged(product)


class PriceController(Controller):
    path = "/prices"
    tags = ["prices"]

    @get(
        operation_id="listPrices",
        summary="List prices by product, price list and currency",
        description="Price-book entries from the CRM, in cursor pages.",
        **governed_route(
            "prices:read",
            errors=(*READ, 404),
        ),
    )
    async def list_prices(
        self,
        request: Request[Any, Any, Any],
        product_id: ProductIdQuery = None,
        price_list: Annotated[
            str | None, QueryParameter(min_length=1, max_length=80, description="Price list name")
        ] = None,
        currency: CurrencyQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> PricePage:
        return await services(request).prices.list_page(
            tenant_of(request),
            product_id=product_id,
            price_list=price_list,
            currency=currency,
            cursor=cursor,
            limit=limit,
        )
