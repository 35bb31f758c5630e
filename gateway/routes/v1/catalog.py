"""/v1/products (ERP catalogue) and /v1/prices (CRM price books)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromQuery, QueryParameter

from contracts.v1.common import SINGLE_LINE_PATTERN
from contracts.v1.products import PricePage, Product, ProductKind, ProductPage
from domains.pricing.service import PriceService
from domains.product.ports import ProductQuery
from domains.product.service import ProductService
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
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import representation as v1


class ProductController(Controller):
    path = "/products"
    tags = ["products"]

    @get(
        operation_id="listProducts",
        summary="List products",
        description="The ERP catalogue, by kind, active flag and product group, in cursor pages.",
        **governed_route("products:read"),
    )
    async def list_products(
        self,
        products: Injected[ProductService],
        caller: Injected[Caller],
        kind: FromQuery[ProductKind | None] = None,
        active: FromQuery[bool | None] = None,
        product_group: Annotated[
            str | None, QueryParameter(min_length=1, max_length=20, pattern=SINGLE_LINE_PATTERN)
        ] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> ProductPage:
        query = ProductQuery(kind=kind, active=active, product_group=product_group)
        return v1.product_page(await products.list_page(caller.tenant, query, cursor, limit))

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
        self,
        product_id: ProductIdPath,
        products: Injected[ProductService],
        caller: Injected[Caller],
    ) -> Response[Product]:
        return tagged(v1.product(await products.get(caller.tenant, product_id)))


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
        prices: Injected[PriceService],
        caller: Injected[Caller],
        product_id: ProductIdQuery = None,
        price_list: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=80,
                pattern=SINGLE_LINE_PATTERN,
                description="Price list name",
            ),
        ] = None,
        currency: CurrencyQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> PricePage:
        page = await prices.list_page(
            caller.tenant,
            product_id=product_id,
            price_list=price_list,
            currency=currency,
            cursor=cursor,
            limit=limit,
        )
        return v1.price_page(page)
