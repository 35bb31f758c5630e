"""SAP S/4HANA as the owner of products, ERP customers and sales orders."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domains.customer.identity import normalise_name, tax_id_variants
from domains.errors import DependencyRejected, DependencyUnavailable, FieldIssue
from domains.order.ports import CreditStatus, OrderRecord, OrderSubmission, Party
from domains.paging import Page
from domains.product.ports import ProductQuery, ProductRecord
from systems.sap_s4hana.client import (
    SapClient,
    StaleEntity,
    Versioned,
    composite_key,
    key_segment,
    odata_literal,
)
from systems.sap_s4hana.errors import SYSTEM
from systems.sap_s4hana.mapping import (
    SERVICE_TYPES,
    business_partner_body,
    results_of,
    sales_order_body,
    to_order_record,
    to_product_record,
)

PRODUCTS = "API_PRODUCT_SRV"
PARTNERS = "API_BUSINESS_PARTNER"
ORDERS = "API_SALES_ORDER_SRV"
# OData $filter strings grow with each key; SAP gateways cap URL length.
_KEYS_PER_FILTER = 20


class SalesArea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the gateway books orders in SAP SD, per selling legal entity."""

    sales_organization: str = "1010"
    distribution_channel: str = "10"
    division: str = "00"


_REASON_CODE = msgspec.Meta(pattern=r"^[0-9A-Z]{2}$")


class OrderChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The customizing codes the gateway writes when it stops an order: a hold sets the
    header's delivery block (TVLS) and billing block (TVFS), a cancellation rejects every
    item with a reason for rejection (TVAG). Each must exist in the target system."""

    delivery_block: Annotated[str, _REASON_CODE] = "01"
    billing_block: Annotated[str, _REASON_CODE] = "01"
    rejection_reason: Annotated[str, _REASON_CODE] = "10"


def _or_eq(field: str, values: list[str]) -> str:
    return " or ".join(f"{field} eq {odata_literal(v)}" for v in values)


class SapAdapter:
    system = SYSTEM

    def __init__(
        self,
        client: SapClient,
        default_area: SalesArea | None = None,
        areas: dict[str, SalesArea] | None = None,
        changes: OrderChanges | None = None,
    ) -> None:
        self._sap = client
        self._default_area = default_area or SalesArea()
        self._areas = areas or {}
        self._changes = changes or OrderChanges()

    def _area(self, legal_entity: str | None) -> SalesArea:
        return self._areas.get(legal_entity or "", self._default_area)

    # -- products --------------------------------------------------------
    async def list_products(
        self, query: ProductQuery, offset: int, limit: int
    ) -> Page[ProductRecord]:
        filters = []
        if query.kind == "service":
            filters.append("(" + _or_eq("ProductType", sorted(SERVICE_TYPES)) + ")")
        elif query.kind == "goods":
            filters.extend(f"ProductType ne {odata_literal(t)}" for t in sorted(SERVICE_TYPES))
        if query.active is not None:
            filters.append(f"IsMarkedForDeletion eq {'false' if query.active else 'true'}")
        if query.product_group:
            filters.append(f"ProductGroup eq {odata_literal(query.product_group)}")
        params = {
            "$top": str(limit + 1),
            "$skip": str(offset),
            "$orderby": "Product",
            "$expand": "to_Description",
        }
        if filters:
            params["$filter"] = " and ".join(filters)
        entities = await self._sap.query(PRODUCTS, "A_Product", params)
        return Page([to_product_record(e) for e in entities[:limit]], len(entities) > limit)

    async def get_products(self, skus: list[str]) -> dict[str, ProductRecord]:
        unique = sorted(set(skus))
        found: dict[str, ProductRecord] = {}
        for start in range(0, len(unique), _KEYS_PER_FILTER):
            chunk = unique[start : start + _KEYS_PER_FILTER]
            entities = await self._sap.query(
                PRODUCTS,
                "A_Product",
                {
                    "$filter": _or_eq("Product", chunk),
                    "$expand": "to_Description",
                    "$top": str(len(chunk)),
                },
            )
            for entity in entities:
                record = to_product_record(entity)
                found[record.sku] = record
        return found

    # -- ERP customers ---------------------------------------------------
    async def find_account(self, party: Party) -> str | None:
        if party.tax_id:
            numbers = await self._sap.query(
                PARTNERS,
                "A_BusinessPartnerTaxNumber",
                {
                    "$filter": _or_eq("BPTaxNumber", tax_id_variants(party.tax_id, party.country)),
                    "$top": "5",
                },
            )
            for number in numbers:
                account = await self._customer_of(str(number["BusinessPartner"]))
                if account:
                    return account
        partners = await self._sap.query(
            PARTNERS,
            "A_BusinessPartner",
            {
                "$filter": f"OrganizationBPName1 eq {odata_literal(party.name[:40])}",
                "$expand": "to_BusinessPartnerAddress",
                "$top": "20",
            },
        )
        wanted = normalise_name(party.name)
        for partner in partners:
            addresses = partner.get("to_BusinessPartnerAddress") or {}
            countries = {a.get("Country") for a in addresses.get("results", [])}
            if (
                party.country in countries
                and normalise_name(str(partner.get("OrganizationBPName1"))) == wanted
                and partner.get("Customer")
            ):
                return str(partner["Customer"])
        return None

    async def _customer_of(self, business_partner: str) -> str | None:
        partner = await self._sap.get(PARTNERS, f"A_BusinessPartner{key_segment(business_partner)}")
        customer = (partner or {}).get("Customer")
        return str(customer) if customer else None

    async def create_account(self, party: Party) -> str:
        area = self._area(party.legal_entity)
        created = await self._sap.create(
            PARTNERS,
            "A_BusinessPartner",
            business_partner_body(
                party,
                sales_organization=area.sales_organization,
                distribution_channel=area.distribution_channel,
                division=area.division,
            ),
        )
        return str(created.get("Customer") or created["BusinessPartner"])

    # -- sales orders ----------------------------------------------------
    async def find_order(self, reference: str) -> OrderRecord | None:
        entities = await self._sap.query(
            ORDERS,
            "A_SalesOrder",
            {
                "$filter": f"PurchaseOrderByCustomer eq {odata_literal(reference)}",
                "$expand": "to_Item",
                "$top": "1",
            },
        )
        return to_order_record(entities[0]) if entities else None

    async def submit_order(self, submission: OrderSubmission) -> OrderRecord:
        area = self._area(submission.legal_entity)
        created = await self._sap.create(
            ORDERS,
            "A_SalesOrder",
            sales_order_body(
                submission,
                sales_organization=area.sales_organization,
                distribution_channel=area.distribution_channel,
                division=area.division,
            ),
        )
        if "to_Item" not in created or (
            isinstance(created["to_Item"], dict) and ("__deferred" in created["to_Item"])
        ):
            fetched = await self.get_order(str(created["SalesOrder"]))
            if fetched is not None:
                return fetched
        return to_order_record(created)

    async def get_order(self, system_id: str) -> OrderRecord | None:
        entity = await self._sap.get(
            ORDERS, f"A_SalesOrder{key_segment(system_id)}", {"$expand": "to_Item"}
        )
        return to_order_record(entity) if entity else None

    async def list_orders(self, account: str | None, offset: int, limit: int) -> Page[OrderRecord]:
        params = {
            "$top": str(limit + 1),
            "$skip": str(offset),
            "$orderby": "SalesOrder desc",
            "$expand": "to_Item",
        }
        if account is not None:
            params["$filter"] = f"SoldToParty eq {odata_literal(account)}"
        entities = await self._sap.query(ORDERS, "A_SalesOrder", params)
        return Page([to_order_record(e) for e in entities[:limit]], len(entities) > limit)

    # -- credit and compensation -------------------------------------------------------------
    async def credit_status(self, account: str) -> CreditStatus:
        """The customer's order block: central (``A_Customer``) or in a sales area the
        gateway books in (``A_CustomerSalesArea``); either stops new orders in SAP."""
        customer = await self._sap.get(
            PARTNERS, f"A_Customer{key_segment(account)}", {"$expand": "to_CustomerSalesArea"}
        )
        if customer is None:
            detail = f"SAP S/4HANA has no customer {account}."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("account", detail, "unknown_customer"),)
            )
        central = str(customer.get("OrderIsBlockedForCustomer") or "")
        if central:
            return CreditStatus(
                blocked=True, reason=f"order block {central} on customer {account}", system=SYSTEM
            )
        booked = {
            (a.sales_organization, a.distribution_channel, a.division)
            for a in (self._default_area, *self._areas.values())
        }
        for area in results_of(customer.get("to_CustomerSalesArea")):
            key = (area.get("SalesOrganization"), area.get("DistributionChannel"),
                   area.get("Division"))  # fmt: skip
            block = str(area.get("OrderIsBlockedForCustomer") or "")
            if block and key in booked:
                return CreditStatus(
                    blocked=True,
                    reason=f"order block {block} on customer {account} in sales area "
                    + "/".join(str(part) for part in key),
                    system=SYSTEM,
                )
        return CreditStatus(blocked=False, system=SYSTEM)

    async def hold_order(self, system_id: str, reason: str) -> None:
        """Set the header's delivery and billing blocks (those not already set), as a
        conditional change on the order's ETag; a stale ETag is read again once."""
        del reason  # SAP keeps the block code; the gateway's audit keeps the reason
        path = f"A_SalesOrder{key_segment(system_id)}"
        for attempt in range(2):
            current = await self._order(path, system_id)
            order = current.entity
            if order.get("OverallSDDocumentRejectionSts") == "C":
                return  # cancelled: nothing left to deliver or bill
            changes = {
                name: code
                for name, code in (
                    ("DeliveryBlockReason", self._changes.delivery_block),
                    ("HeaderBillingBlockReason", self._changes.billing_block),
                )
                if not order.get(name)
            }
            if not changes:
                return  # already held
            try:
                await self._sap.update(ORDERS, path, changes, current.etag)
            except StaleEntity:
                if attempt:
                    raise DependencyUnavailable(
                        f"SAP S/4HANA sales order {system_id} kept changing while it was "
                        "being held; try again.",
                        system=SYSTEM,
                    ) from None
            else:
                return

    async def cancel_order(self, system_id: str, reason: str) -> None:
        """Reject every open item with the configured reason for rejection; SAP then
        shows the order as rejected (``OverallSDDocumentRejectionSts`` C). Items have no
        concurrency token in SAP's metadata, so these changes are not conditional; SAP
        refuses to reject an item that has been delivered, and so does this method."""
        del reason
        path = f"A_SalesOrder{key_segment(system_id)}"
        order = (await self._order(path, system_id, {"$expand": "to_Item"})).entity
        items = [
            i for i in results_of(order.get("to_Item")) if not i.get("SalesDocumentRjcnReason")
        ]
        delivered = [str(i.get("SalesOrderItem")) for i in items
                     if i.get("DeliveryStatus") in ("B", "C")]  # fmt: skip
        if delivered:
            detail = (
                f"SAP S/4HANA sales order {system_id} cannot be cancelled: item(s) "
                f"{', '.join(delivered)} are delivered; return them first."
            )
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("order", detail, "already_delivered"),)
            )
        for item in items:
            item_path = "A_SalesOrderItem" + composite_key(
                SalesOrder=system_id, SalesOrderItem=str(item.get("SalesOrderItem"))
            )
            await self._sap.update(
                ORDERS, item_path, {"SalesDocumentRjcnReason": self._changes.rejection_reason}, None
            )

    async def _order(
        self, path: str, system_id: str, params: dict[str, str] | None = None
    ) -> Versioned:
        current = await self._sap.read(ORDERS, path, params)
        if current is None:
            detail = f"SAP S/4HANA has no sales order {system_id}."
            raise DependencyRejected(
                detail, system=SYSTEM, errors=(FieldIssue("order", detail, "unknown_order"),)
            )
        return current
