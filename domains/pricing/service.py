"""Price look-ups: price-book entries keyed to the ERP catalogue by SKU."""

from __future__ import annotations

from collections.abc import Mapping

from contracts.v1.common import ExternalReference
from domains.errors import NotFound
from domains.money import money
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.pricing.ports import PriceBook, PriceQuery, PriceRecord
from domains.pricing.records import Price
from domains.product.service import ProductService
from domains.tenancy import CrosswalkFactory


class PriceService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        ownership: OwnershipMap,
        books: Mapping[str, PriceBook],
        products: ProductService,
        pager: Pager,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._ownership = ownership
        self._books = books
        self._products = products

    async def list_page(
        self,
        tenant: str,
        *,
        product_id: str | None,
        price_list: str | None,
        currency: str | None,
        cursor: str | None,
        limit: int,
    ) -> Listing[Price]:
        book = self._books[self._ownership.owner("prices")]
        catalog = self._products.catalog()
        sku = None
        if product_id is not None:
            sku = await self._products.sku_of(tenant, product_id, catalog.system)
            if sku is None:
                raise NotFound(f"Product {product_id} does not exist.", code="PRODUCT_NOT_FOUND")
        query = PriceQuery(sku=sku, price_list=price_list, currency=currency)
        request = self._pager.request(tenant, cursor, limit, "prices", book.system, query)

        async def fetch(offset: int, count: int) -> Page[PriceRecord]:
            return await book.list_prices(query, offset, count)

        records, next_offset = await self._pager.collect(request, fetch)
        xw = self._crosswalks(tenant)
        data = [
            Price(
                id=await xw.ensure("price", book.system, record.system_id),
                product_id=await self._products.product_id(tenant, record.sku, catalog.system),
                sku=record.sku,
                price_list=record.price_list,
                unit_price=money(record.unit_price, record.currency),
                active=record.active,
                external_references=[ExternalReference(system=book.system, id=record.system_id)],
            )
            for record in records
        ]
        return Listing(data, self._pager.cursor(request, next_offset))
