"""Which tax category a product falls in (the engine maps categories to its codes)."""

from __future__ import annotations

from domains.product.ports import ProductRecord
from domains.tax.ports import TaxCategory


def category_of(product: ProductRecord | None) -> TaxCategory:
    if product is None or product.kind == "goods":
        return "goods"
    # Software subscriptions are taxed unlike labour in many jurisdictions (US SaaS).
    if (product.product_group or "").upper().startswith("SW"):
        return "software_service"
    return "professional_service"
