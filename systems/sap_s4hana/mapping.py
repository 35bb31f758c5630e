"""Canonical <-> SAP S/4HANA mapping (A_Product, A_BusinessPartner, A_SalesOrder)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts.v1.orders import OrderStatus
from contracts.v2.orders import FulfillmentStatus
from domains.money import decimal_string
from domains.order.ports import OrderLineRecord, OrderRecord, OrderSubmission, Party
from domains.product.ports import ProductRecord

JSON = dict[str, Any]

_ODATA_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# SAP product types whose items are services rather than stocked goods.
SERVICE_TYPES = frozenset({"DIEN", "SERV", "NLAG"})
# BPTaxType per country for the VAT registration (SAP's standard tax categories).
TAX_TYPES = {"US": "US1", "GB": "GB0", "CA": "CA1", "AU": "AU1", "JP": "JP1", "CH": "CH0"}


def odata_timestamp(value: Any) -> str | None:
    """``/Date(1764216000000)/`` -> RFC 3339 UTC; SAP's null dates stay None."""
    match = _ODATA_DATE.match(str(value or ""))
    if not match:
        return None
    moment = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_date(value: Any) -> str | None:
    stamp = odata_timestamp(value)
    return stamp[:10] if stamp else None


def date_literal(iso_date: str) -> str:
    moment = datetime.fromisoformat(iso_date).replace(tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


def results_of(value: Any) -> list[JSON]:
    """The entities of an expanded to-many navigation (``{"results": [...]}`` or a list)."""
    if isinstance(value, dict):
        return list(value.get("results", []))
    return list(value or [])


_results = results_of


def to_product_record(entity: JSON) -> ProductRecord:
    descriptions = _results(entity.get("to_Description"))
    name = next(
        (str(d.get("ProductDescription")) for d in descriptions if d.get("Language") == "EN"),
        str(entity.get("Product")),
    )
    return ProductRecord(
        sku=str(entity["Product"]),
        name=name,
        kind="service" if entity.get("ProductType") in SERVICE_TYPES else "goods",
        unit_of_measure=str(entity.get("BaseUnit") or "EA"),
        product_group=str(entity.get("ProductGroup")) or None,
        active=not bool(entity.get("IsMarkedForDeletion")),
        updated_at=odata_timestamp(entity.get("LastChangeDate"))
        or odata_timestamp(entity.get("CreationDate")),
    )


def business_partner_body(
    party: Party, *, sales_organization: str, distribution_channel: str, division: str
) -> JSON:
    address: JSON = {"Country": party.country}
    if party.city:
        address["CityName"] = party.city[:40]
    if party.postal_code:
        address["PostalCode"] = party.postal_code[:10]
    if party.street:
        address["StreetName"] = party.street[:60]
    body: JSON = {
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": party.name[:40],
        "OrganizationBPName2": party.name[40:80],
        "SearchTerm1": re.sub(r"[^A-Z0-9]", "", party.name.upper())[:20],
        "to_BusinessPartnerAddress": [address],
        "to_BusinessPartnerRole": [
            {"BusinessPartnerRole": "FLCU00"},
            {"BusinessPartnerRole": "FLCU01"},
        ],
        "to_Customer": {
            "to_CustomerSalesArea": [
                {
                    "SalesOrganization": sales_organization,
                    "DistributionChannel": distribution_channel,
                    "Division": division,
                    "Currency": party.currency or "",
                }
            ],
        },
    }
    if party.tax_id:
        tax_type = TAX_TYPES.get(party.country, f"{party.country}0")
        body["to_BusinessPartnerTax"] = [{"BPTaxType": tax_type, "BPTaxNumber": party.tax_id}]
    return body


def sales_order_body(
    submission: OrderSubmission,
    *,
    sales_organization: str,
    distribution_channel: str,
    division: str,
) -> JSON:
    items = []
    for line in submission.lines:
        item: JSON = {
            "SalesOrderItem": str(line.line_number),
            "Material": line.sku,
            "RequestedQuantity": line.quantity,
        }
        if line.description:
            item["SalesOrderItemText"] = line.description[:40]
        if line.unit_price is not None:
            item["to_PricingElement"] = [
                {
                    "ConditionType": "PPR0",
                    "ConditionRateValue": line.unit_price,
                    "ConditionCurrency": submission.currency,
                }
            ]
        items.append(item)
    body: JSON = {
        "SalesOrderType": "OR",
        "SalesOrganization": sales_organization,
        "DistributionChannel": distribution_channel,
        "OrganizationDivision": division,
        "SoldToParty": submission.account,
        "PurchaseOrderByCustomer": submission.reference,
        "TransactionCurrency": submission.currency,
        "to_Item": items,
    }
    if submission.requested_delivery_date:
        body["RequestedDeliveryDate"] = date_literal(submission.requested_delivery_date)
    return body


def order_status(entity: JSON) -> OrderStatus:
    """Rejected in full -> cancelled; a failed credit check or a delivery or billing
    block on the header -> held; else SAP's overall processing status."""
    if entity.get("OverallSDDocumentRejectionSts") == "C":
        return "cancelled"
    if (
        entity.get("TotalCreditCheckStatus") == "B"
        or entity.get("DeliveryBlockReason")
        or entity.get("HeaderBillingBlockReason")
    ):
        return "held"
    return {"B": "in_progress", "C": "completed"}.get(
        str(entity.get("OverallSDProcessStatus") or "A"), "acknowledged"
    )  # type: ignore[return-value]


def to_order_record(entity: JSON) -> OrderRecord:
    currency = str(entity.get("TransactionCurrency") or "")
    lines = [
        OrderLineRecord(
            line_number=int(str(item.get("SalesOrderItem") or 0)),
            sku=str(item.get("Material") or ""),
            description=str(item.get("SalesOrderItemText") or ""),
            quantity=decimal_string(Decimal(str(item.get("RequestedQuantity") or "0"))),
            unit_of_measure=str(item.get("RequestedQuantityUnit") or ""),
            net_amount=str(item.get("NetAmount") or "0"),
        )
        for item in _results(entity.get("to_Item"))
    ]
    return OrderRecord(
        system_id=str(entity["SalesOrder"]),
        reference=str(entity.get("PurchaseOrderByCustomer") or "") or None,
        account=str(entity.get("SoldToParty") or ""),
        status=order_status(entity),
        currency=currency,
        lines=lines,
        total_net=str(entity.get("TotalNetAmount") or "0"),
        requested_delivery_date=odata_date(entity.get("RequestedDeliveryDate")),
        created_at=odata_timestamp(entity.get("CreationDate")),
        fulfillment_status=fulfillment_status(entity),
    )


def fulfillment_status(entity: JSON) -> FulfillmentStatus:
    """SAP's overall delivery status: A not delivered, B partially, C completely. An
    order of services only is not relevant for delivery (status blank): it counts as
    fulfilled once SAP has processed it completely."""
    status = str(entity.get("OverallTotalDeliveryStatus") or "")
    if not status and entity.get("OverallSDProcessStatus") == "C":
        return "fulfilled"
    if status == "C":
        return "fulfilled"
    return "partially_fulfilled" if status == "B" else "unfulfilled"
