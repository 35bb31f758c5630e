"""NetSuite as the ERP that takes orders for the legal entities routed to it (e.g. ACME-UK).

Idempotency rests on NetSuite's external ids: a customer carries the canonical customer id
and a sales order the canonical order id as ``externalId``. NetSuite refuses a second record
with the same external id (``DUP_RCRD``), so a create that was retried, raced or re-run after
a crash is resolved by reading the record that won through ``eid:`` addressing; there is
never a second customer or order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from domains.correlation import current_transaction_id
from domains.customer.identity import normalise_name, tax_id_variants
from domains.errors import DependencyRejected, DependencyUnavailable, FieldIssue
from domains.order.ports import (
    CreditStatus,
    OrderRecord,
    OrderSubmission,
    Party,
    SubmissionLine,
)
from domains.paging import Page
from systems.netsuite.client import JSON, NetSuiteClient, eid, suiteql_literal
from systems.netsuite.errors import DUPLICATE_RECORD, SYSTEM
from systems.netsuite.mapping import (
    customer_body,
    fulfilled,
    order_lines,
    ref_id,
    sales_order_body,
    status_code,
    to_decimal,
    to_order_record,
)

# Oracle caps an IN list at 1000 expressions.
_IN_LIST_MAX = 1000
# Customers fetched to check a name match's country before giving up.
_NAME_CANDIDATES = 5
# A currency missing from the cached table triggers a reload at most this often.
_CURRENCY_RELOAD_SECONDS = 60.0


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(suiteql_literal(v) for v in values) + ")"


class NetSuiteAdapter:
    system = SYSTEM

    def __init__(
        self,
        client: NetSuiteClient,
        *,
        subsidiaries: Mapping[str, str],
        default_subsidiary: str,
        currencies: Mapping[str, str] | None = None,
        read_concurrency: int = 4,
        line_number_field: str | None = None,
        hold_field: str | None = None,
    ) -> None:
        """``subsidiaries`` maps a legal entity to the NetSuite subsidiary id that books its
        customers and orders (``default_subsidiary`` otherwise). ``currencies`` maps ISO
        codes to NetSuite currency ids; codes it lacks are looked up in NetSuite's currency
        table. ``read_concurrency`` bounds parallel record reads when listing orders (NetSuite
        governs concurrent requests per account). ``line_number_field`` is an optional custom
        transaction column field (``custcol_...``) that keeps the canonical line numbers;
        without it lines are numbered as NetSuite numbers them (1, 2, ...). ``hold_field`` is
        an optional custom body field (``custbody_...``) that keeps the reason of a hold the
        gateway put on an order; with it, such an order reads as held."""
        for value in (default_subsidiary, *subsidiaries.values()):
            if not value.isdigit():
                raise ValueError(f"netsuite subsidiary ids are internal ids, not {value!r}")
        if line_number_field is not None and not line_number_field.startswith("custcol"):
            raise ValueError("line_number_field must be a custom column field (custcol...)")
        if hold_field is not None and not hold_field.startswith("custbody"):
            raise ValueError("hold_field must be a custom body field (custbody...)")
        if read_concurrency < 1:
            raise ValueError("read_concurrency must be at least 1")
        self._ns = client
        self._subsidiaries = dict(subsidiaries)
        self._default_subsidiary = default_subsidiary
        self._configured_currencies = {
            code.upper(): cid for code, cid in (currencies or {}).items()
        }
        self._currency_ids = dict(self._configured_currencies)
        self._currency_codes = {cid: code for code, cid in self._currency_ids.items()}
        self._currencies_loaded_at: float | None = None
        self._read_slots = asyncio.Semaphore(read_concurrency)
        self._line_number_field = line_number_field
        self._hold_field = hold_field

    def _subsidiary(self, legal_entity: str | None) -> str:
        return self._subsidiaries.get(legal_entity or "", self._default_subsidiary)

    # -- currencies --------------------------------------------------------
    async def _load_currencies(self) -> None:
        loaded_at = self._currencies_loaded_at
        if loaded_at is not None and time.monotonic() - loaded_at < _CURRENCY_RELOAD_SECONDS:
            return
        rows = await self._ns.suiteql_all("SELECT id, symbol FROM currency ORDER BY id")
        ids = {row["symbol"].upper(): row["id"] for row in rows if row.get("symbol")}
        ids.update(self._configured_currencies)
        self._currency_ids = ids
        self._currency_codes = {cid: code for code, cid in ids.items()}
        self._currencies_loaded_at = time.monotonic()

    async def _currency_id(self, code: str) -> str:
        code = code.upper()
        if code not in self._currency_ids:
            await self._load_currencies()
        currency_id = self._currency_ids.get(code)
        if currency_id is None:
            detail = f"NetSuite has no currency {code}; enable it in the account first."
            raise DependencyRejected(
                detail,
                system=SYSTEM,
                errors=(FieldIssue("currency", detail, "unsupported_currency"),),
            )
        return currency_id

    async def _currency_code(self, currency_id: str) -> str:
        if currency_id not in self._currency_codes:
            await self._load_currencies()
        code = self._currency_codes.get(currency_id)
        if code is None:
            raise DependencyUnavailable(
                f"NetSuite currency {currency_id} is not in its currency table.", system=SYSTEM
            )
        return code

    # -- ERP customers -----------------------------------------------------
    async def find_account(self, party: Party) -> str | None:
        """By external id (the canonical id), then tax number, then name and country.

        Only active customers of the party's subsidiary match by tax number or name, and
        never one whose external id names another canonical customer.
        """
        mine = await self._ns.get("customer", eid(party.canonical_id))
        if mine is not None:
            return str(mine["id"])
        subsidiary = self._subsidiary(party.legal_entity)
        scope = f"subsidiary = {subsidiary} AND isinactive = 'F'"
        if party.tax_id:
            variants = tax_id_variants(party.tax_id, party.country)
            page = await self._ns.suiteql(
                "SELECT id, externalid FROM customer "
                f"WHERE vatregnumber IN {_in_list(variants)} AND {scope} ORDER BY id",
                limit=20,
            )
            for row in page.rows:
                if row.get("externalid", party.canonical_id) == party.canonical_id:
                    return row["id"]
        page = await self._ns.suiteql(
            "SELECT id, companyname, externalid FROM customer "
            f"WHERE companyname = {suiteql_literal(party.name[:83])} AND {scope} ORDER BY id",
            limit=20,
        )
        wanted = normalise_name(party.name)
        candidates = [
            row["id"]
            for row in page.rows
            if row.get("externalid", party.canonical_id) == party.canonical_id
            and normalise_name(row.get("companyname", "")) == wanted
        ]
        for customer_id in candidates[:_NAME_CANDIDATES]:
            customer = await self._ns.get("customer", customer_id, expand=True)
            if customer is not None and party.country.upper() in _countries(customer):
                return customer_id
        return None

    async def create_account(self, party: Party) -> str:
        currency = await self._currency_id(party.currency) if party.currency else None
        body = customer_body(
            party, subsidiary=self._subsidiary(party.legal_entity), currency=currency
        )
        try:
            return await self._ns.create("customer", body)
        except DependencyRejected as exc:
            if exc.vendor_code != DUPLICATE_RECORD:
                raise
            # An earlier attempt or a concurrent request created it: that one is ours.
            existing = await self._ns.get("customer", eid(party.canonical_id))
            if existing is None:
                raise
            return str(existing["id"])

    # -- sales orders --------------------------------------------------------
    async def find_order(self, reference: str) -> OrderRecord | None:
        order = await self._ns.get("salesOrder", eid(reference), expand=True)
        return await self._record(order) if order is not None else None

    async def submit_order(self, submission: OrderSubmission) -> OrderRecord:
        currency = await self._currency_id(submission.currency)
        items = await self._items(submission.lines)
        body = sales_order_body(
            submission,
            entity=submission.account,
            subsidiary=self._subsidiary(submission.legal_entity),
            currency=currency,
            items=items,
            line_number_field=self._line_number_field,
            transaction_id=current_transaction_id(),
        )
        try:
            order_id = await self._ns.create("salesOrder", body)
        except DependencyRejected as exc:
            if exc.vendor_code != DUPLICATE_RECORD:
                raise
            # The reference already has its order (an earlier or concurrent submission).
            existing = await self.find_order(submission.reference)
            if existing is None:
                raise
            return existing
        record = await self.get_order(order_id)
        if record is None:
            raise DependencyUnavailable(
                f"NetSuite created sales order {order_id} but could not return it.",
                system=SYSTEM,
            )
        return record

    async def _items(self, lines: list[SubmissionLine]) -> dict[str, str]:
        """SKU -> item internal id for every line, in one SuiteQL query per 1000 SKUs."""
        skus = sorted({line.sku for line in lines if line.sku})
        found: dict[str, tuple[bool, int]] = {}  # sku -> (active, id); active first, low id
        for start in range(0, len(skus), _IN_LIST_MAX):
            chunk = skus[start : start + _IN_LIST_MAX]
            rows = await self._ns.suiteql_all(
                "SELECT id, itemid, isinactive FROM item "
                f"WHERE itemid IN {_in_list(chunk)} ORDER BY id"
            )
            for row in rows:
                candidate = (row.get("isinactive") != "T", int(row["id"]))
                current = found.get(row["itemid"])
                if current is None or (candidate[0] and not current[0]):
                    found[row["itemid"]] = candidate
        issues: list[FieldIssue] = []
        for index, line in enumerate(lines):
            match = found.get(line.sku)
            if match is None:
                issues.append(
                    FieldIssue(
                        f"lines[{index}].sku",
                        f"Line {line.line_number}: SKU {line.sku or '(none)'} "
                        "has no NetSuite item.",
                        "unknown_item",
                    )
                )
            elif not match[0]:
                issues.append(
                    FieldIssue(
                        f"lines[{index}].sku",
                        f"Line {line.line_number}: NetSuite item {line.sku} is inactive.",
                        "inactive_item",
                    )
                )
        if issues:
            raise DependencyRejected(
                "NetSuite cannot take the order: " + " ".join(i.message for i in issues),
                system=SYSTEM,
                errors=tuple(issues),
            )
        return {sku: str(item_id) for sku, (_, item_id) in found.items()}

    async def get_order(self, system_id: str) -> OrderRecord | None:
        if not system_id.isdigit():
            return None  # not a NetSuite internal id, so not a NetSuite order
        order = await self._ns.get("salesOrder", system_id, expand=True)
        return await self._record(order) if order is not None else None

    async def list_orders(self, account: str | None, offset: int, limit: int) -> Page[OrderRecord]:
        """Sales orders, newest first, optionally of one customer (internal id)."""
        where = "type = 'SalesOrd'"
        if account is not None:
            if not account.isdigit():
                return Page([], False)
            where += f" AND entity = {account}"
        rows, has_more = await self._ns.suiteql_window(
            f"SELECT id FROM transaction WHERE {where} ORDER BY id DESC",
            offset,
            limit,
        )
        reads = [asyncio.ensure_future(self._read_order(row["id"])) for row in rows]
        try:
            orders = await asyncio.gather(*reads)
        except BaseException:
            # The first failure is the answer (not an ExceptionGroup); stop the other reads.
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            raise
        return Page([order for order in orders if order is not None], has_more)

    async def _read_order(self, order_id: str) -> OrderRecord | None:
        async with self._read_slots:
            order = await self._ns.get("salesOrder", order_id, expand=True)
        return await self._record(order) if order is not None else None

    async def _record(self, order: JSON) -> OrderRecord:
        currency_id = ref_id(order.get("currency"))
        if currency_id is None:
            raise DependencyUnavailable(
                f"NetSuite sales order {order.get('id')} has no currency.", system=SYSTEM
            )
        return to_order_record(
            order,
            currency=await self._currency_code(currency_id),
            line_number_field=self._line_number_field,
            hold_field=self._hold_field,
        )

    # -- credit and compensation -------------------------------------------------------
    async def credit_status(self, account: str) -> CreditStatus:
        """NetSuite's credit hold on the customer: ``creditHoldOverride`` ON, or AUTO with
        the balance over ``creditLimit`` (NetSuite's automatic hold)."""
        customer = await self._ns.get("customer", account) if account.isdigit() else None
        if customer is None:
            detail = f"NetSuite has no customer {account}."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("account", detail, "unknown_customer"),)
            )
        override = (ref_id(customer.get("creditHoldOverride")) or "AUTO").upper()
        if override == "ON":
            return CreditStatus(
                blocked=True, reason=f"customer {account} is on credit hold", system=SYSTEM
            )
        limit = customer.get("creditLimit")
        balance = to_decimal(customer.get("balance"))
        if override == "AUTO" and limit is not None and balance > to_decimal(limit):
            return CreditStatus(
                blocked=True,
                reason=f"customer {account} balance {balance} is over its credit limit "
                f"{to_decimal(limit)}",
                system=SYSTEM,
            )
        return CreditStatus(blocked=False, system=SYSTEM)

    async def hold_order(self, system_id: str, reason: str) -> None:
        """Send the order back to Pending Approval (nothing is fulfilled or billed before
        approval) with ``reason`` in the hold field; an order already pending with a reason,
        or closed, or cancelled, is left alone; one that is partly fulfilled cannot be held."""
        order = await self._order(system_id)
        code = status_code(order)
        if code in ("C", "H"):
            return
        if code not in ("A", "B"):
            detail = f"NetSuite sales order {system_id} is already being fulfilled or billed."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("order", detail, "already_fulfilled"),)
            )
        changes: JSON = {}
        if code == "B":
            changes["orderStatus"] = {"id": "A"}
        if self._hold_field and not order.get(self._hold_field):
            changes[self._hold_field] = reason[:300]
        if changes:
            await self._ns.update("salesOrder", system_id, changes)

    async def cancel_order(self, system_id: str, reason: str) -> None:
        """Close every open line (NetSuite's way to cancel what will not ship; the order
        becomes Closed). Nothing may have been fulfilled; a cancelled or closed order is
        left alone."""
        del reason
        order = await self._order(system_id, expand=True)
        code = status_code(order)
        lines = order_lines(order)
        if code == "C" or (code == "H" and not any(fulfilled(line) for line in lines)):
            return
        if code not in ("A", "B") or any(fulfilled(line) for line in lines):
            detail = f"NetSuite sales order {system_id} has fulfilled lines; return them first."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("order", detail, "already_fulfilled"),)
            )
        closing = [
            {"line": line["line"], "isClosed": True}
            for line in lines
            if not line.get("isClosed") and line.get("line") is not None
        ]
        if closing:
            await self._ns.update("salesOrder", system_id, {"item": {"items": closing}})

    async def _order(self, system_id: str, *, expand: bool = False) -> JSON:
        order = (
            await self._ns.get("salesOrder", system_id, expand=expand)
            if system_id.isdigit()
            else None
        )
        if order is None:
            detail = f"NetSuite has no sales order {system_id}."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("order", detail, "unknown_order"),)
            )
        return order


def _countries(customer: JSON) -> set[str]:
    book = customer.get("addressBook")
    lines = book.get("items", []) if isinstance(book, dict) else []
    countries: set[str] = set()
    for line in lines:
        address = line.get("addressBookAddress") if isinstance(line, dict) else None
        country = address.get("country") if isinstance(address, dict) else None
        code = ref_id(country)
        if code:
            countries.add(code.upper())
    return countries
