"""What the catalogue needs from the system that masters products (the ERP)."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from domains.paging import Page


class ProductRecord(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    kind: Literal["goods", "service"]
    unit_of_measure: str
    product_group: str | None = None
    active: bool = True
    updated_at: str | None = None


class ProductQuery(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["goods", "service"] | None = None
    active: bool | None = None
    product_group: str | None = None


class ProductCatalog(Protocol):
    system: str

    async def list_products(
        self, query: ProductQuery, offset: int, limit: int
    ) -> Page[ProductRecord]: ...

    async def get_products(self, skus: list[str]) -> dict[str, ProductRecord]:
        """The records that exist among ``skus``; unknown ones are absent."""
        ...
