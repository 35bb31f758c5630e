"""Validate an accepted quote before anything is written: every check, reported at once.

Checks: the customer master (exists, complete enough to bill), the ERP's credit
status, legal-entity routing, payment terms, product mapping to the ERP
catalogue, and price agreement with the owning pricing source within the
configured tolerances per line and per total. A transaction stops on the
findings instead of creating a wrong order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from domains.customer.ports import CustomerRecord
from domains.customer.service import CustomerService
from domains.errors import NotConfigured, NotFound
from domains.order.ports import OrderSystem, Party
from domains.ownership import OwnershipMap
from domains.pricing.ports import PriceBook, PriceQuery
from domains.product.service import ProductService
from domains.quote.ports import QuoteLineRecord, QuoteRecord
from domains.quote_to_cash.config import FlowPolicy, InvoiceTiming
from domains.quote_to_cash.records import Finding
from domains.tenancy import CrosswalkFactory

ACCEPTABLE_QUOTE_STATES = frozenset({"accepted"})
_HUNDRED = Decimal(100)


class Edits(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator may change when retrying a stopped transaction
    (validated against the contract at the edge, applied here)."""

    accept_price_variance: bool = False
    legal_entity: str | None = None
    payment_terms: str | None = None
    requested_delivery_date: str | None = None


class Validated(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted quote that passed every check: what the later steps need."""

    quote_id: str
    quote_system: str
    quote_system_id: str
    quote_number: str
    customer_id: str
    legal_entity: str
    currency: str
    total: str
    payment_terms: str
    days_until_due: int
    invoice_timing: InvoiceTiming
    requested_delivery_date: str | None = None


class Validation(msgspec.Struct, frozen=True, kw_only=True):
    findings: list[Finding]
    validated: Validated | None = None
    customer_id: str | None = None
    legal_entity: str | None = None


class QuoteValidator:
    def __init__(
        self,
        *,
        policy: FlowPolicy,
        ownership: OwnershipMap,
        crosswalks: CrosswalkFactory,
        customers: CustomerService,
        products: ProductService,
        books: Mapping[str, PriceBook],
        erps: Mapping[str, OrderSystem],
    ) -> None:
        self._policy = policy
        self._ownership = ownership
        self._crosswalks = crosswalks
        self._customers = customers
        self._products = products
        self._books = books
        self._erps = erps

    async def validate(
        self, tenant: str, quote_id: str, quote_system: str, quote: QuoteRecord, edits: Edits
    ) -> Validation:
        findings: list[Finding] = []
        if quote.status not in ACCEPTABLE_QUOTE_STATES:
            findings.append(
                Finding(
                    check="quote",
                    error_class="validation",
                    code="QUOTE_NOT_ACCEPTED",
                    message=f"Quote {quote.number} is {quote.status}; only an accepted "
                    "quote becomes an order.",
                    field="status",
                )
            )
        if not quote.lines:
            findings.append(
                Finding(
                    check="quote",
                    error_class="validation",
                    code="QUOTE_WITHOUT_LINES",
                    message=f"Quote {quote.number} has no lines.",
                    field="lines",
                )
            )
        customer, customer_id = await self._customer(tenant, quote_system, quote, findings)
        legal_entity = edits.legal_entity or (customer.legal_entity if customer else None)
        erp = self._route(legal_entity, findings)
        terms = edits.payment_terms or self._policy.entity(legal_entity).payment_terms
        if terms not in self._policy.payment_terms:
            findings.append(
                Finding(
                    check="payment_terms",
                    error_class="data_quality",
                    code="UNKNOWN_PAYMENT_TERMS",
                    message=f"Payment terms {terms!r} are not agreed terms "
                    f"({', '.join(sorted(self._policy.payment_terms))}).",
                    field="payment_terms",
                )
            )
        checks: list[Any] = [
            self._products_mapped(quote, findings),
            self._prices_agreed(quote, findings, edits),
        ]
        if customer is not None and customer_id is not None and erp is not None:
            checks.append(self._credit(tenant, erp, customer_id, customer, quote, findings))
        await asyncio.gather(*checks)
        validated = None
        if not findings:
            assert customer_id is not None
            assert legal_entity is not None
            validated = Validated(
                quote_id=quote_id,
                quote_system=quote_system,
                quote_system_id=quote.system_id,
                quote_number=quote.number,
                customer_id=customer_id,
                legal_entity=legal_entity,
                currency=quote.currency,
                total=quote.total,
                payment_terms=terms,
                days_until_due=self._policy.payment_terms[terms],
                invoice_timing=self._policy.entity(legal_entity).invoice,
                requested_delivery_date=edits.requested_delivery_date,
            )
        return Validation(
            findings=findings,
            validated=validated,
            customer_id=customer_id,
            legal_entity=legal_entity,
        )

    async def _customer(
        self, tenant: str, system: str, quote: QuoteRecord, findings: list[Finding]
    ) -> tuple[CustomerRecord | None, str | None]:
        if not quote.account_id:
            findings.append(
                Finding(
                    check="customer_master",
                    error_class="data_quality",
                    code="QUOTE_WITHOUT_CUSTOMER",
                    message=f"Quote {quote.number} names no customer account.",
                    field="customer_id",
                )
            )
            return None, None
        customer_id = await self._crosswalks(tenant).ensure("customer", system, quote.account_id)
        try:
            customer = await self._customers.record(tenant, customer_id)
        except NotFound:
            findings.append(
                Finding(
                    check="customer_master",
                    error_class="data_quality",
                    code="CUSTOMER_NOT_FOUND",
                    message=f"Customer account {quote.account_id} does not exist in the CRM.",
                    field="customer_id",
                )
            )
            return None, customer_id
        missing = [
            name
            for name, value in (
                ("country", customer.country),
                ("address", customer.address),
            )
            if not value
        ]
        if missing:
            findings.append(
                Finding(
                    check="customer_master",
                    error_class="data_quality",
                    code="CUSTOMER_INCOMPLETE",
                    message=f"Customer {customer.name} has no {' and no '.join(missing)}; "
                    "the ERP and the invoice need them.",
                    field="customer_id",
                )
            )
        return customer, customer_id

    def _route(self, legal_entity: str | None, findings: list[Finding]) -> OrderSystem | None:
        if legal_entity is None:
            findings.append(
                Finding(
                    check="routing",
                    error_class="data_quality",
                    code="NO_LEGAL_ENTITY",
                    message="The customer has no selling legal entity; no ERP can take the order.",
                    field="legal_entity",
                )
            )
            return None
        try:
            system = self._ownership.owner("orders", legal_entity)
            self._ownership.owner("invoices")
        except NotConfigured as exc:
            findings.append(
                Finding(
                    check="routing",
                    error_class="validation",
                    code="NO_ROUTE",
                    message=exc.detail,
                    field="legal_entity",
                )
            )
            return None
        erp = self._erps.get(system)
        if erp is None:
            findings.append(
                Finding(
                    check="routing",
                    error_class="validation",
                    code="NO_ROUTE",
                    message=f"Legal entity {legal_entity} routes orders to {system}, "
                    "which is not configured.",
                    field="legal_entity",
                )
            )
        return erp

    async def _products_mapped(self, quote: QuoteRecord, findings: list[Finding]) -> None:
        skus = [line.sku for line in quote.lines if line.sku]
        known = await self._products.catalog().get_products(skus) if skus else {}
        for index, line in enumerate(quote.lines):
            record = known.get(line.sku) if line.sku else None
            problem = None
            if record is None:
                problem = ("UNMAPPED_PRODUCT", "has no ERP material")
            elif not record.active:
                problem = ("INACTIVE_PRODUCT", "is no longer orderable")
            if problem is not None:
                findings.append(
                    Finding(
                        check="product_mapping",
                        error_class="data_quality",
                        code=problem[0],
                        message=f"Line {line.line_number} ({line.sku or 'no product'}) "
                        f"{problem[1]}.",
                        field=f"lines[{index}].sku",
                    )
                )

    async def _prices_agreed(
        self, quote: QuoteRecord, findings: list[Finding], edits: Edits
    ) -> None:
        """Re-price every line with the owning price book: the quote's unit price must
        be the agreed list price, within the tolerance per line and in total."""
        book = self._books[self._ownership.owner("prices")]
        lines = [line for line in quote.lines if line.sku]
        listed = await asyncio.gather(
            *(self._list_price(book, line, quote.currency) for line in lines)
        )
        tolerance = self._policy.price_tolerance
        total_difference = Decimal(0)
        priced_total = Decimal(0)
        for index, (line, list_price) in enumerate(zip(lines, listed, strict=True)):
            quantity = Decimal(line.quantity)
            net_factor = 1 - Decimal(line.discount_percent or "0") / _HUNDRED
            quoted = Decimal(line.total)
            if list_price is None:
                findings.append(
                    Finding(
                        check="price",
                        error_class="price_mismatch",
                        code="NO_LIST_PRICE",
                        message=f"Line {line.line_number} ({line.sku}): the price book has "
                        f"no active price in {quote.currency}.",
                        field=f"lines[{index}].unit_price",
                    )
                )
                continue
            expected = quantity * list_price * net_factor
            priced_total += expected
            difference = quoted - expected
            total_difference += difference
            if not edits.accept_price_variance and not _within(
                difference, expected, tolerance.line_amount, tolerance.line_percent
            ):
                findings.append(
                    Finding(
                        check="price",
                        error_class="price_mismatch",
                        code="LINE_PRICE_MISMATCH",
                        message=f"Line {line.line_number} ({line.sku}): quoted {quoted:.2f} "
                        f"{quote.currency}, the price book gives {expected:.2f} "
                        f"(unit {list_price} vs {line.unit_price}).",
                        field=f"lines[{index}].unit_price",
                    )
                )
        if (
            not edits.accept_price_variance
            and priced_total
            and not _within(
                total_difference, priced_total, tolerance.total_amount, tolerance.total_percent
            )
        ):
            findings.append(
                Finding(
                    check="price",
                    error_class="price_mismatch",
                    code="TOTAL_PRICE_MISMATCH",
                    message=f"Quote total differs from the price book by "
                    f"{total_difference:.2f} {quote.currency}.",
                    field="total",
                )
            )

    async def _list_price(
        self, book: PriceBook, line: QuoteLineRecord, currency: str
    ) -> Decimal | None:
        query = PriceQuery(sku=line.sku, currency=currency, price_list=self._policy.price_list)
        page = await book.list_prices(query, 0, 10)
        for record in page.items:
            if record.active and record.currency == currency:
                return Decimal(record.unit_price)
        return None

    async def _credit(
        self,
        tenant: str,
        erp: OrderSystem,
        customer_id: str,
        customer: CustomerRecord,
        quote: QuoteRecord,
        findings: list[Finding],
    ) -> None:
        # The ERP's customer is found, never created, while validating.
        account = (await self._crosswalks(tenant).system_ids(customer_id)).get(erp.system)
        if account is None:
            address = customer.address
            account = await erp.find_account(
                Party(
                    canonical_id=customer_id,
                    name=customer.name,
                    country=customer.country,
                    tax_id=customer.tax_id,
                    city=address.city if address else "",
                    street=address.street if address else "",
                    postal_code=address.postal_code if address else "",
                    currency=quote.currency,
                    legal_entity=customer.legal_entity,
                )
            )
        if account is None:
            return  # a new ERP customer carries no block yet
        status = await erp.credit_status(account)
        if status.blocked:
            findings.append(
                Finding(
                    check="credit",
                    error_class="credit_hold",
                    code="CREDIT_HOLD",
                    message=f"{erp.system} blocks orders for customer {account}"
                    + (f": {status.reason}" if status.reason else "."),
                    field="customer_id",
                )
            )


def _within(difference: Decimal, base: Decimal, amount: str, percent: str) -> bool:
    if abs(difference) <= Decimal(amount):
        return True
    return bool(base) and abs(difference) / abs(base) * _HUNDRED <= Decimal(percent)
