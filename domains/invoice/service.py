"""Invoicing an order: tax from the tax engine, the invoice in the billing system.

One order is invoiced once: the canonical invoice id is derived from the order
id, the tax document is committed under that id, and every billing write is
keyed by it, so retries after any failure converge on one invoice and one tax
posting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from contracts.v1.common import Address, ExternalReference
from domains.crosswalk import Crosswalk
from domains.customer.service import CustomerService
from domains.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from domains.ids import derived_id, kind_of
from domains.invoice.ports import (
    BillingParty,
    BillingSystem,
    InvoiceDraft,
    InvoiceLineDraft,
    InvoiceRecord,
)
from domains.invoice.records import Invoice
from domains.money import money
from domains.order.service import OrderService
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.product.service import ProductService
from domains.tax.categories import category_of
from domains.tax.ports import TaxEngine, TaxLine, TaxRequest
from domains.tenancy import CrosswalkFactory, RecordOwners, visible

UNBILLABLE = frozenset({"cancelled", "rejected", "failed"})


class InvoiceService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        owners: RecordOwners,
        ownership: OwnershipMap,
        billing: Mapping[str, BillingSystem],
        tax: Mapping[str, TaxEngine],
        orders: OrderService,
        customers: CustomerService,
        products: ProductService,
        pager: Pager,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._owners = owners
        self._ownership = ownership
        self._billing = billing
        self._tax = tax
        self._orders = orders
        self._customers = customers
        self._products = products

    def billing_system(self) -> BillingSystem:
        return self._billing[self._ownership.owner("invoices")]

    async def create(self, tenant: str, order_id: str, days_until_due: int = 30) -> Invoice:
        try:
            order = await self._orders.get(tenant, order_id)
        except NotFound:
            raise ValidationFailed(
                f"Order {order_id} does not exist.",
                errors=(FieldIssue("order_id", "No such order.", "unknown_order"),),
            ) from None
        if order.status in UNBILLABLE:
            raise ValidationFailed(
                f"Order {order_id} is {order.status} and cannot be invoiced.",
                errors=(FieldIssue("order_id", f"Order is {order.status}.", "not_billable"),),
            )
        billing = self.billing_system()
        xw = self._crosswalks(tenant)
        invoice_id = derived_id("invoice", tenant, order_id)
        if (await xw.system_ids(invoice_id)).get(billing.system):
            raise Conflict(
                f"Order {order_id} is already invoiced as {invoice_id}.",
                code="ORDER_ALREADY_INVOICED",
                existing_id=invoice_id,
            )
        assert order.customer_id is not None, "orders always carry their customer"
        customer = await self._customers.record(tenant, order.customer_id)
        engine = self._tax[self._ownership.owner("tax", order.legal_entity)]
        skus = [line.sku for line in order.lines]
        catalog = self._products.catalog()
        products = await catalog.get_products(skus)
        ship_to = customer.address or Address(country=customer.country)
        tax = await engine.calculate(
            TaxRequest(
                document_code=invoice_id,
                kind="invoice",
                customer_code=order.customer_id,
                currency=order.currency,
                date=datetime.now(UTC).date().isoformat(),
                ship_to=ship_to,
                legal_entity=order.legal_entity,
                lines=[
                    TaxLine(
                        number=str(index + 1),
                        sku=line.sku,
                        description=line.description,
                        quantity=line.quantity,
                        amount=line.net_amount.amount,
                        category=category_of(products.get(line.sku)),
                    )
                    for index, line in enumerate(order.lines)
                ],
            )
        )
        account = await self._account(
            xw,
            billing,
            order.customer_id,
            customer.name,
            customer.country,
            customer.tax_id,
            ship_to,
            order.currency,
        )
        record = await billing.create_invoice(
            InvoiceDraft(
                invoice_id=invoice_id,
                order_id=order_id,
                account=account,
                currency=order.currency,
                lines=[
                    InvoiceLineDraft(
                        description=line.description or line.sku,
                        sku=line.sku,
                        quantity=line.quantity,
                        amount=line.net_amount.amount,
                    )
                    for line in order.lines
                ],
                tax=tax.total_tax,
                tax_document=tax.document_code,
                days_until_due=days_until_due,
            )
        )
        await self._owners.claim("invoice", billing.system, record.system_id, tenant)
        await xw.link(invoice_id, billing.system, record.system_id)
        await xw.annotate(
            invoice_id,
            {
                "order_id": order_id,
                "customer_id": order.customer_id,
                "tax_system": engine.system,
                "tax_document": tax.document_code,
            },
        )
        return await self._represent(xw, billing.system, record, invoice_id)

    async def _account(
        self,
        xw: Crosswalk,
        billing: BillingSystem,
        customer_id: str,
        name: str,
        country: str,
        tax_id: str | None,
        address: Address,
        currency: str,
    ) -> str:
        account = (await xw.system_ids(customer_id)).get(billing.system)
        if account:
            return account
        party = BillingParty(
            canonical_id=customer_id,
            name=name,
            country=country,
            tax_id=tax_id,
            address=address,
            currency=currency,
        )
        account = await billing.find_account(party) or await billing.create_account(party)
        await xw.link(customer_id, billing.system, account)
        return account

    async def record(self, tenant: str, invoice_id: str) -> InvoiceRecord:
        billing = self.billing_system()
        system_id = (await self._crosswalks(tenant).system_ids(invoice_id)).get(billing.system)
        record = await billing.get_invoice(system_id) if system_id else None
        if record is None or not await visible(
            self._owners, tenant, "invoice", billing.system, [record], lambda r: r.system_id
        ):
            raise NotFound(f"Invoice {invoice_id} does not exist.", code="INVOICE_NOT_FOUND")
        return record

    async def get(self, tenant: str, invoice_id: str) -> Invoice:
        billing = self.billing_system()
        record = await self.record(tenant, invoice_id)
        return await self._represent(self._crosswalks(tenant), billing.system, record, invoice_id)

    async def list_page(
        self, tenant: str, *, customer_id: str, cursor: str | None, limit: int
    ) -> Listing[Invoice]:
        billing = self.billing_system()
        xw = self._crosswalks(tenant)
        request = self._pager.request(
            tenant, cursor, limit, "invoices", billing.system, customer_id
        )
        account = (await xw.system_ids(customer_id)).get(billing.system)
        if account is None:
            await self._customers.record(tenant, customer_id)  # 404 for unknown customers
            return Listing([])

        async def fetch(offset: int, count: int) -> Page[InvoiceRecord]:
            return await billing.list_invoices(account, offset, count)

        async def keep(records: list[InvoiceRecord]) -> list[InvoiceRecord]:
            return await visible(
                self._owners, tenant, "invoice", billing.system, records, lambda r: r.system_id
            )

        records, next_offset = await self._pager.collect(request, fetch, keep)
        data = [await self._represent(xw, billing.system, r) for r in records]
        return Listing(data, self._pager.cursor(request, next_offset))

    async def _represent(
        self, xw: Crosswalk, system: str, record: InvoiceRecord, invoice_id: str | None = None
    ) -> Invoice:
        if invoice_id is None:
            invoice_id = await xw.canonical_id("invoice", system, record.system_id)
        if invoice_id is None and record.invoice_id and kind_of(record.invoice_id) == "invoice":
            invoice_id = record.invoice_id
            await xw.link(invoice_id, system, record.system_id)
        invoice_id = invoice_id or await xw.ensure("invoice", system, record.system_id)
        facts = await xw.annotations(invoice_id)
        customer_id = facts.get("customer_id") or await xw.canonical_id(
            "customer", system, record.account
        )
        currency = record.currency
        references = [ExternalReference(system=system, id=record.system_id)]
        if facts.get("tax_system") and facts.get("tax_document"):
            references.append(
                ExternalReference(system=facts["tax_system"], id=facts["tax_document"])
            )
        return Invoice(
            id=invoice_id,
            number=record.number,
            status=record.status,
            customer_id=customer_id,
            order_id=facts.get("order_id") or record.order_id,
            amount_due=money(record.amount_due, currency),
            amount_remaining=money(record.amount_remaining, currency),
            tax=money(record.tax, currency),
            total=money(record.total, currency),
            due_date=record.due_date,
            created_at=record.created_at,
            external_references=references,
        )
