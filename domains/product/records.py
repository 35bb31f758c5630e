"""A sellable product as the gateway knows it (mastered in the ERP)."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.v1.common import ExternalReference

ProductKind = Literal["goods", "service"]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, prd_...
    sku: str
    name: str
    kind: ProductKind
    unit_of_measure: str
    product_group: str | None = None
    active: bool = True
    updated_at: str | None = None
    external_references: list[ExternalReference] = []
