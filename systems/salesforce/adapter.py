"""Salesforce as the master of customers (Account), prices (PricebookEntry) and quotes."""

from __future__ import annotations

from contracts.v1.customers import CustomerCreate, CustomerUpdate
from domains.customer.ports import CustomerQuery, CustomerRecord, IdentityProbe
from domains.errors import DependencyRejected
from domains.paging import Page
from domains.pricing.ports import PriceQuery, PriceRecord
from domains.quote.ports import QuoteQuery, QuoteRecord
from systems.salesforce.client import JSON, SalesforceClient, soql_like, soql_literal
from systems.salesforce.errors import SYSTEM
from systems.salesforce.mapping import (
    ACCOUNT_FIELDS,
    CANONICAL_QUOTE_STATUS,
    EXTERNAL_ID_FIELD,
    PRICE_FIELDS,
    QUOTE_FIELDS,
    QUOTE_LINE_FIELDS,
    account_from_create,
    account_from_update,
    to_customer_record,
    to_price_record,
    to_quote_record,
)


def _in(values: list[str]) -> str:
    return "(" + ", ".join(soql_literal(v) for v in values) + ")"


def _page(records: list[JSON], limit: int) -> tuple[list[JSON], bool]:
    return records[:limit], len(records) > limit


class SalesforceAdapter:
    system = SYSTEM

    def __init__(self, client: SalesforceClient) -> None:
        self._sf = client
        self._price_lists: dict[str, str] | None = None

    # -- customers -------------------------------------------------------
    async def list_customers(
        self, query: CustomerQuery, offset: int, limit: int
    ) -> Page[CustomerRecord]:
        where = []
        if query.name:
            where.append(f"Name LIKE '%{soql_like(query.name)}%'")
        if query.country:
            where.append(f"BillingCountryCode = {soql_literal(query.country)}")
        if query.tax_id:
            where.append(f"Tax_ID__c = {soql_literal(query.tax_id)}")
        records = await self._select("Account", ACCOUNT_FIELDS, where, "Name, Id", offset, limit)
        items, more = _page(records, limit)
        return Page([to_customer_record(r) for r in items], more)

    async def get_customer(self, system_id: str) -> CustomerRecord | None:
        record = await self._sf.get("Account", system_id, ACCOUNT_FIELDS)
        return to_customer_record(record) if record else None

    async def find_candidates(self, probe: IdentityProbe) -> list[CustomerRecord]:
        ors = []
        if probe.tax_ids:
            ors.append(f"Tax_ID__c IN {_in(probe.tax_ids)}")
        if probe.name_prefix:
            ors.append(
                f"(BillingCountryCode = {soql_literal(probe.country)} "
                f"AND Name LIKE '{soql_like(probe.name_prefix)}%')"
            )
        if probe.domain:
            ors.append(f"Website LIKE '%{soql_like(probe.domain)}%'")
        if not ors:
            return []
        soql = f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM Account WHERE {' OR '.join(ors)} LIMIT 200"
        result = await self._sf.query(soql, operation="Account.match")
        return [to_customer_record(r) for r in result.records]

    async def create_customer(self, canonical_id: str, data: CustomerCreate) -> CustomerRecord:
        # Upsert on our canonical id: a retry after a timeout finds the first
        # Account instead of creating a second one.
        account_id = await self._sf.upsert(
            "Account", EXTERNAL_ID_FIELD, canonical_id, account_from_create(data)
        )
        return await self._must_get(account_id)

    async def update_customer(self, system_id: str, changes: CustomerUpdate) -> CustomerRecord:
        body = account_from_update(changes)
        if body:
            await self._sf.update("Account", system_id, body)
        return await self._must_get(system_id)

    async def _must_get(self, account_id: str) -> CustomerRecord:
        record = await self.get_customer(account_id)
        if record is None:
            raise DependencyRejected(
                f"Salesforce wrote Account {account_id} but cannot read it back.", system=SYSTEM
            )
        return record

    # -- prices ----------------------------------------------------------
    async def _price_list_names(self) -> dict[str, str]:
        if self._price_lists is None:
            records = await self._sf.query_all(
                "SELECT Id, Name FROM Pricebook2 WHERE IsActive = true",
                operation="Pricebook2.list",
            )
            self._price_lists = {str(r["Id"]): str(r["Name"]) for r in records}
        return self._price_lists

    async def list_prices(self, query: PriceQuery, offset: int, limit: int) -> Page[PriceRecord]:
        names = await self._price_list_names()
        where = []
        if query.sku is not None:
            where.append(f"ProductCode = {soql_literal(query.sku)}")
        if query.currency is not None:
            where.append(f"CurrencyIsoCode = {soql_literal(query.currency)}")
        if query.price_list is not None:
            ids = [i for i, name in names.items() if name.casefold() == query.price_list.casefold()]
            if not ids:
                return Page([], False)
            where.append(f"Pricebook2Id IN {_in(ids)}")
        records = await self._select(
            "PricebookEntry", PRICE_FIELDS, where, "ProductCode, CurrencyIsoCode, Id", offset, limit
        )
        items, more = _page(records, limit)
        return Page([to_price_record(r, names) for r in items], more)

    # -- quotes ----------------------------------------------------------
    async def list_quotes(self, query: QuoteQuery, offset: int, limit: int) -> Page[QuoteRecord]:
        where = []
        if query.account_id is not None:
            where.append(f"AccountId = {soql_literal(query.account_id)}")
        if query.status is not None:
            statuses = list(CANONICAL_QUOTE_STATUS[query.status])
            if not statuses:
                return Page([], False)
            where.append(f"Status IN {_in(statuses)}")
        records = await self._select("Quote", QUOTE_FIELDS, where, "QuoteNumber, Id", offset, limit)
        items, more = _page(records, limit)
        return Page([await self._with_lines(r) for r in items], more)

    async def get_quote(self, system_id: str) -> QuoteRecord | None:
        record = await self._sf.get("Quote", system_id, QUOTE_FIELDS)
        return await self._with_lines(record) if record else None

    async def _with_lines(self, quote: JSON) -> QuoteRecord:
        lines = await self._sf.query_all(
            f"SELECT {', '.join(QUOTE_LINE_FIELDS)} FROM QuoteLineItem "
            f"WHERE QuoteId = {soql_literal(str(quote['Id']))} ORDER BY LineNumber",
            operation="QuoteLineItem.list",
        )
        product_ids = sorted({str(line["Product2Id"]) for line in lines if line.get("Product2Id")})
        skus: dict[str, str] = {}
        if product_ids:
            products = await self._sf.query_all(
                f"SELECT Id, ProductCode FROM Product2 WHERE Id IN {_in(product_ids)}",
                operation="Product2.list",
            )
            skus = {str(p["Id"]): str(p["ProductCode"]) for p in products if p.get("ProductCode")}
        return to_quote_record(quote, lines, skus)

    async def _select(
        self,
        sobject: str,
        fields: tuple[str, ...],
        where: list[str],
        order: str,
        offset: int,
        limit: int,
    ) -> list[JSON]:
        soql = f"SELECT {', '.join(fields)} FROM {sobject}"
        if where:
            soql += " WHERE " + " AND ".join(where)
        soql += f" ORDER BY {order} LIMIT {limit + 1} OFFSET {offset}"
        result = await self._sf.query(soql, operation=f"{sobject}.list")
        return result.records
