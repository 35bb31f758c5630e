"""Product catalogue use cases."""

from __future__ import annotations

from collections.abc import Mapping

from contracts.v1.common import ExternalReference
from domains.errors import NotFound
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.product.ports import ProductCatalog, ProductQuery, ProductRecord
from domains.product.records import Product
from domains.tenancy import CrosswalkFactory


class ProductService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        ownership: OwnershipMap,
        catalogs: Mapping[str, ProductCatalog],
        pager: Pager,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._ownership = ownership
        self._catalogs = catalogs

    def catalog(self) -> ProductCatalog:
        return self._catalogs[self._ownership.owner("products")]

    async def list_page(
        self, tenant: str, query: ProductQuery, cursor: str | None, limit: int
    ) -> Listing[Product]:
        catalog = self.catalog()
        request = self._pager.request(tenant, cursor, limit, "products", catalog.system, query)

        async def fetch(offset: int, count: int) -> Page[ProductRecord]:
            return await catalog.list_products(query, offset, count)

        records, next_offset = await self._pager.collect(request, fetch)
        data = [await self.represent(tenant, catalog.system, record) for record in records]
        return Listing(data, self._pager.cursor(request, next_offset))

    async def get(self, tenant: str, product_id: str) -> Product:
        catalog = self.catalog()
        sku = await self.sku_of(tenant, product_id, catalog.system)
        record = (await catalog.get_products([sku])).get(sku) if sku else None
        if record is None:
            raise NotFound(f"Product {product_id} does not exist.", code="PRODUCT_NOT_FOUND")
        return await self.represent(tenant, catalog.system, record, product_id)

    async def sku_of(self, tenant: str, product_id: str, system: str) -> str | None:
        return (await self._crosswalks(tenant).system_ids(product_id)).get(system)

    async def product_id(self, tenant: str, sku: str, system: str | None = None) -> str:
        system = system or self.catalog().system
        return await self._crosswalks(tenant).ensure("product", system, sku)

    async def represent(
        self, tenant: str, system: str, record: ProductRecord, product_id: str | None = None
    ) -> Product:
        product_id = product_id or await self.product_id(tenant, record.sku, system)
        return Product(
            id=product_id,
            sku=record.sku,
            name=record.name,
            kind=record.kind,
            unit_of_measure=record.unit_of_measure,
            product_group=record.product_group,
            active=record.active,
            updated_at=record.updated_at,
            external_references=[ExternalReference(system=system, id=record.sku)],
        )
