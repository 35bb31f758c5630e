"""Invoicing an order: tax from the tax engine, the invoice in the billing system.

One order is invoiced once: the canonical invoice id is derived from the order
id, the tax document is committed under that id, every billing write is keyed by
it, and the submission ledger lets one attempt at a time work on it, so retries
after any failure converge on one invoice and one tax posting. The effects come
in the order that never leaves tax on the return without an invoice: a draft
invoice first (with the estimated tax), then the tax committed, then the invoice
finalised with the committed tax; an invoice the billing system refuses to
finalise for good gets its tax document voided.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import msgspec

from contracts.v1.common import Address, ExternalReference
from domains.crosswalk import Crosswalk
from domains.customer.service import CustomerService
from domains.errors import Conflict, FieldIssue, GatewayError, NotFound, ValidationFailed
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
from domains.submission import Submissions, SubmissionSteps, definite
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
        submissions: Submissions,
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
        self._submissions = submissions

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
        customer_id = order.customer_id
        customer = await self._customers.record(tenant, customer_id)
        engine = self._tax[self._ownership.owner("tax", order.legal_entity)]
        skus = [line.sku for line in order.lines]
        catalog = self._products.catalog()
        products = await catalog.get_products(skus)
        ship_to = customer.address or Address(country=customer.country)
        estimate = TaxRequest(
            document_code=invoice_id,
            kind="estimate",
            customer_code=customer_id,
            currency=order.currency,
            date=datetime.now(UTC).date().isoformat(),
            ship_to=ship_to,
            ship_to_field="customer.address",
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
        facts = {
            "order_id": order_id,
            "customer_id": customer_id,
            "tax_system": engine.system,
            "tax_document": invoice_id,
        }

        async def account() -> str:
            return await self._account(
                xw,
                billing,
                customer_id,
                customer.name,
                customer.country,
                customer.tax_id,
                ship_to,
                order.currency,
            )

        async def issue() -> InvoiceRecord:
            """Stripe draft -> tax committed -> finalised: a failure at any step leaves
            no tax on the return without an invoice behind it."""
            priced = await engine.calculate(estimate)
            draft = InvoiceDraft(
                invoice_id=invoice_id,
                order_id=order_id,
                account=await account(),
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
                tax=priced.total_tax,
                tax_document=invoice_id,
                days_until_due=days_until_due,
            )
            # 1. The draft: when it cannot be made, nothing has been committed anywhere.
            drafted = await billing.create_draft_invoice(draft)
            # 2. Tax committed under the invoice id; when this fails, the draft waits
            #    (it owes nothing) and a retry picks it up.
            committed = await engine.calculate(msgspec.structs.replace(estimate, kind="invoice"))
            # 3. Finalised with the committed tax; refused for good -> the tax is voided.
            final = msgspec.structs.replace(draft, tax=committed.total_tax)
            try:
                return await billing.finalize_invoice(final, drafted.system_id)
            except GatewayError as error:
                if definite(error):
                    await engine.void_transaction(
                        order.legal_entity or "",
                        invoice_id,
                        f"billing refused to finalise invoice {invoice_id}",
                    )
                raise

        async def find() -> InvoiceRecord | None:
            held = (await xw.system_ids(customer_id)).get(billing.system)
            record = await billing.find_invoice(invoice_id, held) if held else None
            # A draft is an attempt to finish, not an invoice: issuing again completes it.
            return record if record is not None and record.status != "draft" else None

        async def register(record: InvoiceRecord) -> None:
            await self._owners.claim("invoice", billing.system, record.system_id, tenant)
            await xw.link(invoice_id, billing.system, record.system_id, facts)

        record = await self._submissions.submit(
            tenant,
            invoice_id,
            kind="invoice",
            system=billing.system,
            steps=SubmissionSteps(
                find=find,
                create=issue,
                fetch=billing.get_invoice,
                register=register,
                system_id=lambda r: r.system_id,
            ),
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
