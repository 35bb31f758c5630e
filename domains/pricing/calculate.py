"""Price calculation: price-book price, discount, then tax from the tax engine.

Nothing is guessed: a line without a price in the requested currency is a
validation error naming the line, and a tax engine that does not answer makes
the whole calculation a dependency failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from contracts.v1.common import Address
from contracts.v1.pricing import PriceCalculationRequest
from domains.customer.service import CustomerService
from domains.errors import FieldIssue, NotFound, ValidationFailed
from domains.money import SUPPORTED_CURRENCIES, decimal_string, money, quantize
from domains.ownership import OwnershipMap
from domains.pricing.ports import PriceBook, PriceQuery
from domains.pricing.records import PriceCalculation, PricedLine
from domains.product.ports import ProductRecord
from domains.product.service import ProductService
from domains.tax.categories import category_of
from domains.tax.ports import TaxEngine, TaxLine, TaxRequest

_HUNDRED = Decimal(100)


class PriceCalculator:
    def __init__(
        self,
        *,
        ownership: OwnershipMap,
        books: Mapping[str, PriceBook],
        tax: Mapping[str, TaxEngine],
        products: ProductService,
        customers: CustomerService,
    ) -> None:
        self._ownership = ownership
        self._books = books
        self._tax = tax
        self._products = products
        self._customers = customers

    async def calculate(self, tenant: str, data: PriceCalculationRequest) -> PriceCalculation:
        issues: list[FieldIssue] = []
        try:
            customer = await self._customers.record(tenant, data.customer_id)
        except NotFound:
            customer = None
            issues.append(
                FieldIssue(
                    "customer_id",
                    f"Customer {data.customer_id} does not exist.",
                    "unknown_customer",
                )
            )
        if data.currency not in SUPPORTED_CURRENCIES:
            issues.append(
                FieldIssue("currency", f"{data.currency} is not sold in.", "unsupported_currency")
            )
        ownership = self._ownership
        book = self._books[ownership.owner("prices")]
        catalog = self._products.catalog()
        lines: list[tuple[int, str, str, ProductRecord | None, Decimal, Decimal]] = []
        for index, line in enumerate(data.lines):
            field = f"lines[{index}].product_id"
            sku = await self._products.sku_of(tenant, line.product_id, catalog.system)
            if sku is None:
                issues.append(
                    FieldIssue(
                        field,
                        f"Line {index + 1}: product {line.product_id} does not exist.",
                        "unknown_product",
                    )
                )
                continue
            prices = await book.list_prices(
                PriceQuery(sku=sku, price_list=data.price_list, currency=data.currency), 0, 5
            )
            active = [p for p in prices.items if p.active]
            if not active:
                issues.append(
                    FieldIssue(
                        field,
                        f"Line {index + 1}: {sku} has no active price "
                        f"in {data.currency} on {data.price_list}.",
                        "no_price",
                    )
                )
                continue
            lines.append(
                (
                    index,
                    line.product_id,
                    sku,
                    None,
                    Decimal(active[0].unit_price),
                    Decimal(line.discount_percent),
                )
            )
        if issues:
            raise ValidationFailed(
                f"The calculation has {len(issues)} problem(s).", errors=tuple(issues)
            )
        assert customer is not None
        records = await catalog.get_products([sku for _, _, sku, *_ in lines])
        currency = data.currency
        nets = [
            quantize(Decimal(data.lines[i].quantity) * unit * (1 - discount / _HUNDRED), currency)
            for i, _, _, _, unit, discount in lines
        ]
        ship_to = data.ship_to or customer.address or Address(country=customer.country)
        engine = self._tax[ownership.owner("tax", customer.legal_entity)]
        tax = await engine.calculate(
            TaxRequest(
                document_code=f"est-{uuid.uuid4().hex}",
                kind="estimate",
                customer_code=data.customer_id,
                currency=currency,
                date=datetime.now(UTC).date().isoformat(),
                ship_to=ship_to,
                ship_to_field="ship_to" if data.ship_to else "customer.address",
                legal_entity=customer.legal_entity,
                lines=[
                    TaxLine(
                        number=str(n + 1),
                        sku=sku,
                        quantity=data.lines[i].quantity,
                        amount=format(net, "f"),
                        category=category_of(records.get(sku)),
                    )
                    for n, ((i, _, sku, _, _, _), net) in enumerate(zip(lines, nets, strict=True))
                ],
            )
        )
        by_number = {result.number: result for result in tax.lines}
        priced = []
        for n, ((i, product_id, sku, _, unit, discount), net) in enumerate(
            zip(lines, nets, strict=True)
        ):
            line_tax = by_number.get(str(n + 1))
            priced.append(
                PricedLine(
                    line_number=n + 1,
                    product_id=product_id,
                    sku=sku,
                    quantity=data.lines[i].quantity,
                    unit_price=money(unit, currency),
                    discount_percent=decimal_string(discount),
                    net_amount=money(net, currency),
                    tax=money(line_tax.tax if line_tax else "0", currency),
                    tax_rate=decimal_string(round(Decimal(line_tax.rate), 6)) if line_tax else "0",
                )
            )
        subtotal = sum(nets, Decimal(0))
        total_tax = sum((Decimal(p.tax.amount) for p in priced), Decimal(0))
        return PriceCalculation(
            currency=currency,
            lines=priced,
            subtotal=money(subtotal, currency),
            tax=money(total_tax, currency),
            total=money(subtotal + total_tax, currency),
        )
