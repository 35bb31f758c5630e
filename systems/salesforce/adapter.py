"""Salesforce as the master of customers (Account), prices (PricebookEntry) and quotes."""

from __future__ import annotations

from typing import TypeVar

from contracts.v1.customers import CustomerCreate, CustomerUpdate
from domains.customer.ports import CustomerQuery, CustomerRecord, IdentityProbe
from domains.errors import DependencyRejected
from domains.positions import PositionedPage
from domains.pricing.ports import PriceQuery, PriceRecord
from domains.quote.ports import QuoteProgress, QuoteQuery, QuoteRecord
from systems.salesforce.client import JSON, SalesforceClient, soql_like, soql_literal
from systems.salesforce.errors import SYSTEM
from systems.salesforce.keyset import KeysetReader, Slice
from systems.salesforce.mapping import (
    ACCOUNT_FIELDS,
    CANONICAL_QUOTE_STATUS,
    EXTERNAL_ID_FIELD,
    OPPORTUNITY_PROGRESS_FIELDS,
    PRICE_FIELDS,
    QUOTE_FIELDS,
    QUOTE_LINE_FIELDS,
    QUOTE_PROGRESS_FIELDS,
    account_from_create,
    account_from_update,
    progress_fields,
    to_customer_record,
    to_price_record,
    to_quote_record,
)

T = TypeVar("T")


def _in(values: list[str]) -> str:
    return "(" + ", ".join(soql_literal(v) for v in values) + ")"


class SalesforceAdapter:
    system = SYSTEM

    def __init__(self, client: SalesforceClient) -> None:
        self._sf = client
        self._price_lists: dict[str, str] | None = None
        self._accounts = KeysetReader(client, "Account", "001")
        self._entries = KeysetReader(client, "PricebookEntry", "01u")
        self._quotes = KeysetReader(client, "Quote", "0Q0")

    # -- customers -------------------------------------------------------
    async def list_customers(
        self, query: CustomerQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[CustomerRecord]:
        where = []
        if query.name:
            where.append(f"Name LIKE '%{soql_like(query.name)}%'")
        if query.country:
            where.append(f"BillingCountryCode = {soql_literal(query.country)}")
        if query.tax_id:
            where.append(f"Tax_ID__c = {soql_literal(query.tax_id)}")
        found = await self._accounts.read(
            ACCOUNT_FIELDS, where, after=after, offset=offset, limit=limit
        )
        return _positioned([to_customer_record(r) for r in found.records], found)

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

    async def list_prices(
        self, query: PriceQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[PriceRecord]:
        names = await self._price_list_names()
        where = []
        if query.sku is not None:
            where.append(f"ProductCode = {soql_literal(query.sku)}")
        if query.currency is not None:
            where.append(f"CurrencyIsoCode = {soql_literal(query.currency)}")
        if query.price_list is not None:
            ids = [i for i, name in names.items() if name.casefold() == query.price_list.casefold()]
            if not ids:
                return PositionedPage()
            where.append(f"Pricebook2Id IN {_in(ids)}")
        found = await self._entries.read(
            PRICE_FIELDS, where, after=after, offset=offset, limit=limit
        )
        return _positioned([to_price_record(r, names) for r in found.records], found)

    # -- quotes ----------------------------------------------------------
    async def list_quotes(
        self, query: QuoteQuery, offset: int, limit: int, *, after: str | None = None
    ) -> PositionedPage[QuoteRecord]:
        where = []
        if query.account_id is not None:
            where.append(f"AccountId = {soql_literal(query.account_id)}")
        if query.status is not None:
            statuses = list(CANONICAL_QUOTE_STATUS[query.status])
            if not statuses:
                return PositionedPage()
            where.append(f"Status IN {_in(statuses)}")
        found = await self._quotes.read(
            QUOTE_FIELDS, where, after=after, offset=offset, limit=limit
        )
        return _positioned(await self._with_lines(found.records), found)

    async def get_quote(self, system_id: str) -> QuoteRecord | None:
        record = await self._sf.get("Quote", system_id, QUOTE_FIELDS)
        return (await self._with_lines([record]))[0] if record else None

    async def write_back(self, quote_system_id: str, progress: QuoteProgress) -> None:
        quote = await self._sf.get("Quote", quote_system_id, ("Id", "OpportunityId", "IsSyncing"))
        if quote is None:
            raise DependencyRejected(
                f"Salesforce has no Quote {quote_system_id} to record progress on.",
                system=SYSTEM,
                vendor_code="NOT_FOUND",
            )
        on_quote = progress_fields(progress, QUOTE_PROGRESS_FIELDS)
        on_opportunity = progress_fields(progress, OPPORTUNITY_PROGRESS_FIELDS)
        if not (quote.get("IsSyncing") is True and on_opportunity):
            await self._sf.update("Quote", str(quote["Id"]), on_quote)
            return
        # The synced opportunity shows the same progress; both change or neither does.
        root = self._sf.root
        await self._sf.composite(
            [
                {"method": "PATCH", "referenceId": "quote", "body": on_quote,
                 "url": f"{root}/sobjects/Quote/{quote['Id']}"},
                {"method": "PATCH", "referenceId": "opportunity", "body": on_opportunity,
                 "url": f"{root}/sobjects/Opportunity/{quote['OpportunityId']}"},
            ],
            operation="Quote.write_back",
        )  # fmt: skip

    async def _with_lines(self, quotes: list[JSON]) -> list[QuoteRecord]:
        """The quotes with their lines: one query for all lines, one for their SKUs."""
        if not quotes:
            return []
        lines = await self._sf.query_all(
            f"SELECT QuoteId, {', '.join(QUOTE_LINE_FIELDS)} FROM QuoteLineItem "
            f"WHERE QuoteId IN {_in([str(q['Id']) for q in quotes])} "
            "ORDER BY QuoteId, LineNumber",
            operation="QuoteLineItem.list",
        )
        by_quote: dict[str, list[JSON]] = {}
        for line in lines:
            by_quote.setdefault(str(line["QuoteId"]), []).append(line)
        product_ids = sorted({str(line["Product2Id"]) for line in lines if line.get("Product2Id")})
        skus: dict[str, str] = {}
        if product_ids:
            products = await self._sf.query_all(
                f"SELECT Id, ProductCode FROM Product2 WHERE Id IN {_in(product_ids)}",
                operation="Product2.list",
            )
            skus = {str(p["Id"]): str(p["ProductCode"]) for p in products if p.get("ProductCode")}
        return [to_quote_record(q, by_quote.get(str(q["Id"]), []), skus) for q in quotes]


def _positioned(items: list[T], found: Slice) -> PositionedPage[T]:
    return PositionedPage(items, found.has_more, found.positions)
