"""Order submission: from an accepted quote or explicit lines into the owning ERP.

Every check that can fail on the client's data runs before anything is written,
and all of them run, so a CRM developer sees every bad line at once; the
look-ups they need (customer, quote, products) run concurrently. The ERP create
goes through the submission ledger (domains/submission.py): one ERP order per
canonical order id, whatever the API version, the timing or a crash, and one
order per accepted quote. The canonical order id travels as the ERP's
purchase-order reference, which is how an attempt whose outcome was lost is
looked up; the crosswalk link is written after the ERP create, and a crash
between the two is healed by that look-up (or by the next list).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

from contracts.v1.common import ExternalReference
from contracts.v1.orders import OrderCreate
from domains.crosswalk import Crosswalk
from domains.customer.ports import CustomerRecord
from domains.customer.service import CustomerService
from domains.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from domains.ids import kind_of, new_id
from domains.money import SUPPORTED_CURRENCIES, decimal_string, exponent, money
from domains.order.ports import (
    OrderRecord,
    OrderSubmission,
    OrderSystem,
    Party,
    SubmissionLine,
)
from domains.order.records import Order, OrderLine
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.product.service import ProductService
from domains.quote.ports import QuoteRecord
from domains.quote.service import QuoteService
from domains.submission import Submissions, SubmissionSteps
from domains.tenancy import CrosswalkFactory, RecordOwners, visible

# ERP customers are created once per CRM record, whichever tenant orders first.
ERP_ACCOUNTS_TENANT = ""
# How long a first order waits for a concurrent one creating the same ERP customer.
ACCOUNT_WAIT_SECONDS = 5.0


class OrderService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        owners: RecordOwners,
        ownership: OwnershipMap,
        erps: Mapping[str, OrderSystem],
        customers: CustomerService,
        products: ProductService,
        quotes: QuoteService,
        pager: Pager,
        submissions: Submissions,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._owners = owners
        self._ownership = ownership
        self._erps = erps
        self._customers = customers
        self._products = products
        self._quotes = quotes
        self._submissions = submissions

    async def create(self, tenant: str, data: OrderCreate, order_id: str | None = None) -> Order:
        """Submit an order; ``order_id`` is fixed by the caller to make retries converge."""
        customer_issues: list[FieldIssue] = []
        quote_issues: list[FieldIssue] = []
        line_issues: list[FieldIssue] = []
        customer, quote, explicit = await asyncio.gather(
            self._customer(tenant, data.customer_id, customer_issues),
            self._fetch_quote(tenant, data, quote_issues),
            self._explicit_skus(tenant, data),
        )
        self._check_quote(data, quote, customer, quote_issues)
        currency, lines = await self._lines(data, quote, explicit, line_issues)
        issues = customer_issues + quote_issues + line_issues
        if issues:
            raise ValidationFailed(
                f"The order has {len(issues)} problem(s); nothing was submitted.",
                errors=tuple(issues),
            )
        assert customer is not None
        assert currency is not None
        legal_entity = data.legal_entity or customer.legal_entity
        erp = self.erp_for(legal_entity)
        order_id = order_id or new_id("order")
        xw = self._crosswalks(tenant)
        facts = {"customer_id": data.customer_id}
        if data.quote_id:
            facts["quote_id"] = data.quote_id
        if data.purchase_order_reference:
            facts["purchase_order_reference"] = data.purchase_order_reference
        if legal_entity:
            facts["legal_entity"] = legal_entity

        # The ERP customer first: master data of its own (created once, through the
        # ledger), and no part of this order's attempt.
        account = await self._account(xw, erp, data.customer_id, customer, currency, legal_entity)

        async def submit() -> OrderRecord:
            return await erp.submit_order(
                OrderSubmission(
                    reference=order_id,
                    account=account,
                    currency=currency,
                    lines=lines,
                    legal_entity=legal_entity,
                    requested_delivery_date=data.requested_delivery_date,
                )
            )

        registered: list[OrderRecord] = []

        async def register(record: OrderRecord) -> None:
            # Owner before link: a crash between them leaves an owned order that the
            # next look-up links, never a linked one every tenant could list.
            if await self._owners.claim("order", erp.system, record.system_id, tenant) != tenant:
                # The reference derives from this tenant's idempotency key, so another
                # tenant owning the ERP order means a forged or colliding reference.
                raise NotFound(f"Order {order_id} does not exist.", code="ORDER_NOT_FOUND")
            await xw.link(order_id, erp.system, record.system_id, facts)
            registered.append(record)

        quote_id = data.quote_id
        record = await self._submissions.submit(
            tenant,
            order_id,
            kind="order",
            system=erp.system,
            steps=SubmissionSteps(
                find=lambda: erp.find_order(order_id),
                create=submit,
                fetch=erp.get_order,
                register=register,
                system_id=lambda r: r.system_id,
            ),
            subject=f"quote:{quote_id}" if quote_id else None,
            subject_taken=lambda existing: Conflict(
                f"Quote {quote_id} is already ordered as {existing}; an accepted quote "
                "becomes one order.",
                code="QUOTE_ALREADY_ORDERED",
                existing_id=existing,
            ),
        )
        # This request's facts are the order's, unless an earlier request made it.
        known = facts if registered else None
        return await self._represent(tenant, order_id, erp.system, record, known)

    def erp_for(self, legal_entity: str | None) -> OrderSystem:
        """The ERP that takes this legal entity's orders."""
        return self._erps[self._ownership.owner("orders", legal_entity)]

    def erp_for_system(self, system: str) -> OrderSystem:
        return self._erps[system]

    async def erp_account(
        self, tenant: str, customer_id: str, currency: str, legal_entity: str | None
    ) -> tuple[OrderSystem, str]:
        """The buyer's customer account in the legal entity's ERP, created when missing
        (the quote-to-cash transaction's ERP customer step)."""
        erp = self.erp_for(legal_entity)
        customer = await self._customers.record(tenant, customer_id)
        account = await self._account(
            self._crosswalks(tenant), erp, customer_id, customer, currency, legal_entity
        )
        return erp, account

    async def get(self, tenant: str, order_id: str) -> Order:
        for system, system_id in (await self._crosswalks(tenant).system_ids(order_id)).items():
            erp = self._erps.get(system)
            if erp is None:
                continue
            record = await erp.get_order(system_id)
            if record is not None and await visible(
                self._owners, tenant, "order", system, [record], lambda r: r.system_id
            ):
                return await self._represent(tenant, order_id, system, record)
        raise NotFound(f"Order {order_id} does not exist.", code="ORDER_NOT_FOUND")

    async def list_page(
        self,
        tenant: str,
        *,
        customer_id: str | None,
        legal_entity: str | None,
        cursor: str | None,
        limit: int,
    ) -> Listing[Order]:
        xw = self._crosswalks(tenant)
        account = None
        if customer_id is not None and legal_entity is None:
            # A customer's orders are booked in the ERP of its legal entity (as
            # ``create`` routes them); the record is also the 404 for unknown ones.
            legal_entity = (await self._customers.record(tenant, customer_id)).legal_entity
        erp = self._erps[self._ownership.owner("orders", legal_entity)]
        request = self._pager.request(
            tenant, cursor, limit, "orders", erp.system, customer_id, legal_entity
        )
        if customer_id is not None:
            account = (await xw.system_ids(customer_id)).get(erp.system)
            if account is None:
                # Known customer that never ordered through this ERP: an empty list.
                await self._customers.record(tenant, customer_id)
                return Listing([])

        async def fetch(offset: int, count: int) -> Page[OrderRecord]:
            return await erp.list_orders(account, offset, count)

        async def keep(records: list[OrderRecord]) -> list[OrderRecord]:
            return await visible(
                self._owners, tenant, "order", erp.system, records, lambda r: r.system_id
            )

        records, next_offset = await self._pager.collect(request, fetch, keep)
        data = []
        for record in records:
            order_id = await xw.canonical_id("order", erp.system, record.system_id)
            if order_id is None and record.reference and kind_of(record.reference) == "order":
                # Submitted by us but the crosswalk write was lost: the ERP's
                # reference still carries the canonical id.
                order_id = record.reference
                await xw.link(order_id, erp.system, record.system_id)
            order_id = order_id or await xw.ensure("order", erp.system, record.system_id)
            data.append(await self._represent(tenant, order_id, erp.system, record))
        return Listing(data, self._pager.cursor(request, next_offset))

    async def _customer(
        self, tenant: str, customer_id: str, issues: list[FieldIssue]
    ) -> CustomerRecord | None:
        try:
            return await self._customers.record(tenant, customer_id)
        except NotFound:
            issues.append(
                FieldIssue(
                    "customer_id", f"Customer {customer_id} does not exist.", "unknown_customer"
                )
            )
            return None

    async def _fetch_quote(
        self, tenant: str, data: OrderCreate, issues: list[FieldIssue]
    ) -> QuoteRecord | None:
        if (data.quote_id is None) == (data.lines is None):
            issues.append(
                FieldIssue(
                    "quote_id" if data.quote_id else "lines",
                    "Give exactly one of quote_id (an accepted quote) or lines.",
                    "one_of",
                )
            )
            return None
        if data.quote_id is None:
            return None
        try:
            return await self._quotes.record(tenant, data.quote_id)
        except NotFound:
            issues.append(
                FieldIssue("quote_id", f"Quote {data.quote_id} does not exist.", "unknown_quote")
            )
            return None

    @staticmethod
    def _check_quote(
        data: OrderCreate,
        quote: QuoteRecord | None,
        customer: CustomerRecord | None,
        issues: list[FieldIssue],
    ) -> None:
        if quote is None:
            return
        if quote.status != "accepted":
            issues.append(
                FieldIssue(
                    "quote_id",
                    f"Quote {quote.number} is {quote.status}; "
                    "only an accepted quote becomes an order.",
                    "quote_not_accepted",
                )
            )
        if customer is not None and quote.account_id != customer.system_id:
            issues.append(
                FieldIssue(
                    "quote_id", "The quote belongs to another customer.", "quote_customer_mismatch"
                )
            )
        if data.currency is not None and data.currency != quote.currency:
            issues.append(
                FieldIssue(
                    "currency",
                    f"The quote is priced in {quote.currency}, not {data.currency}.",
                    "currency_mismatch",
                )
            )

    async def _explicit_skus(self, tenant: str, data: OrderCreate) -> list[str | None]:
        """The ERP material of each explicit line's product (None: unknown product)."""
        if data.lines is None:
            return []
        system = self._products.catalog().system
        return list(
            await asyncio.gather(
                *(self._products.sku_of(tenant, line.product_id, system) for line in data.lines)
            )
        )

    async def _lines(
        self,
        data: OrderCreate,
        quote: QuoteRecord | None,
        explicit: list[str | None],
        issues: list[FieldIssue],
    ) -> tuple[str | None, list[SubmissionLine]]:
        catalog = self._products.catalog()
        wanted: list[tuple[str, str | None, SubmissionLine]] = []  # (field, sku, line)
        currency = data.currency
        if quote is not None:
            currency = quote.currency
            for index, qline in enumerate(quote.lines):
                unit = Decimal(qline.total) / Decimal(qline.quantity)
                wanted.append(
                    (
                        f"quote.lines[{index}]",
                        qline.sku,
                        SubmissionLine(
                            line_number=qline.line_number,
                            sku=qline.sku or "",
                            quantity=qline.quantity,
                            description=qline.description,
                            unit_price=decimal_string(round(unit, exponent(quote.currency) + 4)),
                        ),
                    )
                )
        elif data.lines is not None:
            if currency is None:
                issues.append(
                    FieldIssue(
                        "currency", "Orders from explicit lines need a currency.", "required"
                    )
                )
            for index, (line, sku) in enumerate(zip(data.lines, explicit, strict=True)):
                field = f"lines[{index}].product_id"
                if sku is None:
                    issues.append(
                        FieldIssue(
                            field,
                            f"Line {index + 1}: product {line.product_id} does not exist.",
                            "unknown_product",
                        )
                    )
                    continue
                if Decimal(line.quantity) <= 0:
                    issues.append(
                        FieldIssue(
                            f"lines[{index}].quantity",
                            f"Line {index + 1}: quantity must be above zero.",
                            "out_of_range",
                        )
                    )
                wanted.append(
                    (
                        field,
                        sku,
                        SubmissionLine(
                            line_number=(index + 1) * 10, sku=sku, quantity=line.quantity
                        ),
                    )
                )
        if currency is not None and currency not in SUPPORTED_CURRENCIES:
            issues.append(
                FieldIssue(
                    "currency", f"Currency {currency} is not sold in.", "unsupported_currency"
                )
            )
        known = await catalog.get_products([sku for _, sku, _ in wanted if sku])
        for field, sku, submission in wanted:
            record = known.get(sku) if sku else None
            what = f"line {submission.line_number} ({sku or 'no product'})"
            if record is None:
                issues.append(
                    FieldIssue(field, f"Product on {what} has no ERP material.", "unmapped_product")
                )
            elif not record.active:
                issues.append(
                    FieldIssue(
                        field, f"Product on {what} is no longer orderable.", "inactive_product"
                    )
                )
        return currency, [line for _, _, line in wanted]

    async def _account(
        self,
        xw: Crosswalk,
        erp: OrderSystem,
        customer_id: str,
        customer: CustomerRecord,
        currency: str,
        legal_entity: str | None,
    ) -> str:
        """The ERP customer for this buyer: crosswalk, then identity search, then create.

        Creating one is master data, so it goes through the ledger under the CRM
        record's identity (shared by every tenant): concurrent first orders of one
        customer make one ERP customer, the others wait for it.
        """
        account = (await xw.system_ids(customer_id)).get(erp.system)
        if account:
            return account
        address = customer.address
        party = Party(
            canonical_id=customer_id,
            name=customer.name,
            country=customer.country,
            tax_id=customer.tax_id,
            city=address.city if address else "",
            street=address.street if address else "",
            postal_code=address.postal_code if address else "",
            currency=currency,
            legal_entity=legal_entity,
        )

        async def found(system_id: str) -> str:
            return system_id

        async def find_or_create() -> str:
            return await erp.find_account(party) or await erp.create_account(party)

        async def nothing_to_register(account: str) -> None:
            del account  # linked below, on every path, in this tenant's crosswalk

        account = await self._submissions.submit(
            ERP_ACCOUNTS_TENANT,
            f"account:{erp.system}:{customer.system_id}",
            kind="customer",
            system=erp.system,
            steps=SubmissionSteps(
                find=lambda: erp.find_account(party),
                create=find_or_create,
                fetch=found,
                register=nothing_to_register,
                system_id=lambda a: a,
            ),
            wait_seconds=ACCOUNT_WAIT_SECONDS,
        )
        await xw.link(customer_id, erp.system, account)
        return account

    async def _represent(
        self,
        tenant: str,
        order_id: str,
        system: str,
        record: OrderRecord,
        facts: dict[str, str] | None = None,
    ) -> Order:
        xw = self._crosswalks(tenant)
        if facts is None:
            facts = await xw.annotations(order_id)
        customer_id = facts.get("customer_id") or await xw.canonical_id(
            "customer", system, record.account
        )
        catalog_system = self._products.catalog().system
        lines = [
            OrderLine(
                line_number=line.line_number,
                product_id=await self._products.product_id(tenant, line.sku, catalog_system),
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_of_measure=line.unit_of_measure,
                net_amount=money(line.net_amount, record.currency),
            )
            for line in record.lines
        ]
        return Order(
            id=order_id,
            status=record.status,
            customer_id=customer_id,
            quote_id=facts.get("quote_id"),
            legal_entity=facts.get("legal_entity"),
            purchase_order_reference=facts.get("purchase_order_reference"),
            currency=record.currency,
            lines=lines,
            total_net=money(record.total_net, record.currency),
            requested_delivery_date=record.requested_delivery_date,
            created_at=record.created_at,
            external_references=[ExternalReference(system=system, id=record.system_id)],
            fulfillment_status=record.fulfillment_status,
        )
