"""Quote read models, carrying the CRM quote's lines and totals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from contracts.v1.common import Address, ExternalReference
from domains.errors import NotFound
from domains.money import money
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.product.service import ProductService
from domains.quote.ports import QuoteQuery, QuoteRecord, QuoteSource
from domains.quote.records import Quote, QuoteLine, QuoteStatus
from domains.tax.categories import category_of
from domains.tax.ports import TaxEngine, TaxLine, TaxRequest

if TYPE_CHECKING:
    from domains.customer.service import CustomerService
from domains.tenancy import CrosswalkFactory


class QuoteService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        ownership: OwnershipMap,
        sources: Mapping[str, QuoteSource],
        products: ProductService,
        pager: Pager,
        customers: CustomerService | None = None,
        tax: Mapping[str, TaxEngine] | None = None,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._ownership = ownership
        self._sources = sources
        self._products = products
        self._customers = customers
        self._tax = tax or {}

    def source(self) -> QuoteSource:
        return self._sources[self._ownership.owner("quotes")]

    async def list_page(
        self,
        tenant: str,
        *,
        customer_id: str | None,
        status: QuoteStatus | None,
        cursor: str | None,
        limit: int,
    ) -> Listing[Quote]:
        source = self.source()
        account_id = None
        if customer_id is not None:
            account_id = (await self._crosswalks(tenant).system_ids(customer_id)).get(source.system)
            if account_id is None:
                raise NotFound(f"Customer {customer_id} does not exist.", code="CUSTOMER_NOT_FOUND")
        query = QuoteQuery(account_id=account_id, status=status)
        request = self._pager.request(tenant, cursor, limit, "quotes", source.system, query)

        async def fetch(offset: int, count: int) -> Page[QuoteRecord]:
            return await source.list_quotes(query, offset, count)

        records, next_offset = await self._pager.collect(request, fetch)
        data = [await self.represent(tenant, source.system, record) for record in records]
        return Listing(data, self._pager.cursor(request, next_offset))

    async def get(self, tenant: str, quote_id: str) -> Quote:
        source = self.source()
        record = await self.record(tenant, quote_id, source)
        quote = await self.represent(tenant, source.system, record, quote_id)
        return await self._with_tax(quote, source.system, record)

    async def _with_tax(self, quote: Quote, system: str, record: QuoteRecord) -> Quote:
        """Add the tax engine's estimate; a tax engine that is down fails the read
        (503 naming it) rather than showing a quote without its tax."""
        ownership = self._ownership
        if "tax" not in ownership.rules or self._customers is None or not record.account_id:
            return quote
        customer = await self._customers.master_record(system, record.account_id)
        if customer is None:
            return quote
        engine = self._tax[ownership.owner("tax", customer.legal_entity)]
        catalog = self._products.catalog()
        products = await catalog.get_products([line.sku for line in record.lines if line.sku])
        result = await engine.calculate(
            TaxRequest(
                document_code=f"est-{quote.id}",
                kind="estimate",
                customer_code=quote.customer_id or record.account_id,
                currency=quote.currency,
                date=datetime.now(UTC).date().isoformat(),
                ship_to=customer.address or Address(country=customer.country),
                ship_to_field="customer.address",
                legal_entity=customer.legal_entity,
                lines=[
                    TaxLine(
                        number=str(line.line_number),
                        sku=line.sku or "",
                        description=line.description,
                        quantity=line.quantity,
                        amount=line.total,
                        category=category_of(products.get(line.sku or "")),
                    )
                    for line in record.lines
                ],
            )
        )
        tax = money(result.total_tax, quote.currency)
        total = money(Decimal(quote.total.amount) + Decimal(tax.amount), quote.currency)
        return msgspec.structs.replace(quote, tax=tax, total_with_tax=total)

    async def record(
        self, tenant: str, quote_id: str, source: QuoteSource | None = None
    ) -> QuoteRecord:
        source = source or self.source()
        system_id = (await self._crosswalks(tenant).system_ids(quote_id)).get(source.system)
        record = await source.get_quote(system_id) if system_id else None
        if record is None:
            raise NotFound(f"Quote {quote_id} does not exist.", code="QUOTE_NOT_FOUND")
        return record

    async def represent(
        self, tenant: str, system: str, record: QuoteRecord, quote_id: str | None = None
    ) -> Quote:
        xw = self._crosswalks(tenant)
        quote_id = quote_id or await xw.ensure("quote", system, record.system_id)
        customer_id = (
            await xw.ensure("customer", system, record.account_id) if record.account_id else None
        )
        currency = record.currency
        lines = [
            QuoteLine(
                line_number=line.line_number,
                product_id=(
                    await self._products.product_id(tenant, line.sku) if line.sku else None
                ),
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=money(line.unit_price, currency),
                discount_percent=line.discount_percent,
                total=money(line.total, currency),
            )
            for line in record.lines
        ]
        return Quote(
            id=quote_id,
            number=record.number,
            name=record.name,
            status=record.status,
            customer_id=customer_id,
            currency=currency,
            valid_until=record.valid_until,
            lines=lines,
            subtotal=money(record.subtotal, currency),
            total=money(record.total, currency),
            created_at=record.created_at,
            updated_at=record.updated_at,
            external_references=[ExternalReference(system=system, id=record.system_id)],
        )
