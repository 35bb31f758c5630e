"""Canonical <-> NetSuite mapping (customer, salesOrder), pure functions.

Order status, TMF622-style and aligned with the SAP adapter's reading of SD statuses
(SAP: not yet processed -> acknowledged, partially processed -> in_progress, completely
processed -> completed, credit block -> held, rejected -> cancelled). NetSuite's
``orderStatus``:

=====  ======================================  ==============  ====================
code   NetSuite                                status          fulfillment_status
=====  ======================================  ==============  ====================
A      Pending Approval                        acknowledged    unfulfilled
B      Pending Fulfillment                     in_progress     unfulfilled
C      Cancelled                               cancelled       unfulfilled
D      Partially Fulfilled                     in_progress     partially_fulfilled
E      Pending Billing/Partially Fulfilled     in_progress     partially_fulfilled
F      Pending Billing                         in_progress     fulfilled
G      Billed                                  completed       fulfilled
H      Closed                                  completed       from the lines
=====  ======================================  ==============  ====================

"Pending Approval" is where every new order starts under NetSuite's default "Default Sales
Order Status" preference, so it reads as *acknowledged* (received, not yet worked), not as
*held*: ``held`` stays reserved for an exception somebody must clear, as with SAP's credit
block. Approval (B) commits the order to fulfilment, hence *in_progress*; an order is
*completed* once billed (G) or closed (H), like SAP's "completely processed" which includes
billing. A closed order's fulfilment comes from its lines' ``quantityFulfilled``.

Two readings need more than the code: an order the gateway held is sent back to Pending
Approval with its hold reason in a custom body field (``hold_field``); with that field set,
A reads as *held*. NetSuite cancels an order by closing its lines; a Closed order on which
nothing was fulfilled reads as *cancelled*.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.v1.orders import OrderStatus
from contracts.v2.orders import FulfillmentStatus
from domains.money import decimal_string, quantize
from domains.order.ports import OrderLineRecord, OrderRecord, OrderSubmission, Party

JSON = dict[str, Any]

ORDER_STATUS: dict[str, OrderStatus] = {
    "A": "acknowledged",
    "B": "in_progress",
    "C": "cancelled",
    "D": "in_progress",
    "E": "in_progress",
    "F": "in_progress",
    "G": "completed",
    "H": "completed",
}
FULFILLMENT_STATUS: dict[str, FulfillmentStatus] = {
    "A": "unfulfilled",
    "B": "unfulfilled",
    "C": "unfulfilled",
    "D": "partially_fulfilled",
    "E": "partially_fulfilled",
    "F": "fulfilled",
    "G": "fulfilled",
}
# The names NetSuite shows for the codes, for bodies that carry only the name.
_STATUS_NAMES = {
    "pending approval": "A",
    "pending fulfillment": "B",
    "cancelled": "C",
    "partially fulfilled": "D",
    "pending billing/partially fulfilled": "E",
    "pending billing": "F",
    "billed": "G",
    "closed": "H",
}
# Item sublist lines that structure the order rather than sell something.
_STRUCTURAL_ITEM_TYPES = frozenset({"Subtotal", "Description", "EndGroup"})
# Field lengths NetSuite enforces on the fields written here.
_COMPANY_NAME_MAX = 83
_VAT_MAX = 20
_CUSTOM_PRICE_LEVEL = "-1"  # the "Custom" price level: the line's rate is what is billed


# -- reading helpers -------------------------------------------------------
def ref_id(value: Any) -> str | None:
    """The internal id of a reference field (``{"id": ..., "refName": ...}``) or a bare id."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def to_decimal(value: Any) -> Decimal:
    """A JSON number decoded without floats (Decimal or int) or a numeric string -> Decimal."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def timestamp(value: Any) -> str | None:
    """NetSuite's ISO 8601 date-times -> RFC 3339 UTC with seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sku_of(item: Any) -> str:
    """The SKU (``itemId``) of a line's item reference.

    The reference's ``refName`` is the item's name; a sub-item's reads
    ``Parent : Child`` while its own ``itemId`` is ``Child``.
    """
    if isinstance(item, dict):
        name = str(item.get("refName") or "")
        if name:
            return name.rsplit(" : ", 1)[-1].strip()
    return ref_id(item) or ""


def _item_type(line: JSON) -> str:
    return ref_id(line.get("itemType")) or ""


def _sells(line: JSON) -> bool:
    """False for the structural lines of an item sublist (subtotals, descriptions, groups)."""
    return _item_type(line) not in _STRUCTURAL_ITEM_TYPES


def _sublist_items(value: Any) -> list[JSON]:
    if isinstance(value, dict):
        return [item for item in value.get("items", []) if isinstance(item, dict)]
    return [item for item in value or [] if isinstance(item, dict)]


# -- customers ---------------------------------------------------------------
def customer_body(party: Party, *, subsidiary: str, currency: str | None) -> JSON:
    """A company customer under ``subsidiary``; ``currency`` is a NetSuite currency id."""
    address: JSON = {"addressee": party.name[:_COMPANY_NAME_MAX]}
    if party.street:
        address["addr1"] = party.street[:150]
    if party.city:
        address["city"] = party.city[:50]
    if party.postal_code:
        address["zip"] = party.postal_code[:36]
    address["country"] = {"id": party.country.upper()}
    body: JSON = {
        "externalId": party.canonical_id,
        "companyName": party.name[:_COMPANY_NAME_MAX],
        "isPerson": False,
        "subsidiary": {"id": subsidiary},
        "addressBook": {
            "items": [
                {
                    "defaultBilling": True,
                    "defaultShipping": True,
                    "isResidential": False,
                    "addressBookAddress": address,
                }
            ]
        },
    }
    if currency is not None:
        body["currency"] = {"id": currency}
    if party.tax_id and party.tax_id.strip():
        body["vatRegNumber"] = party.tax_id.strip()[:_VAT_MAX]
    return body


# -- sales orders --------------------------------------------------------------
def sales_order_body(
    submission: OrderSubmission,
    *,
    entity: str,
    subsidiary: str,
    currency: str,
    items: Mapping[str, str],
    line_number_field: str | None = None,
    transaction_id: str | None = None,
) -> JSON:
    """The salesOrder for ``submission``; ``items`` maps each SKU to its item internal id.

    ``externalId`` carries the canonical order id, NetSuite's duplicate guard. A line with an
    agreed ``unit_price`` is sent at the Custom price level with that ``rate``; without one,
    ``rate`` is left out so NetSuite prices the line from the item. ``tranDate`` is left to
    NetSuite, which defaults it to today in the account's time zone. NetSuite numbers lines
    itself (``line`` 1, 2, ...); ``line_number_field`` names a custom transaction column
    field (e.g. ``custcol_q2c_line``) that keeps the canonical line number. Inside a
    quote-to-cash transaction its id is the ``memo``, which NetSuite shows on the order.
    """
    lines: list[JSON] = []
    for line in submission.lines:
        entry: JSON = {"item": {"id": items[line.sku]}, "quantity": Decimal(line.quantity)}
        if line.unit_price is not None:
            entry["price"] = {"id": _CUSTOM_PRICE_LEVEL}
            entry["rate"] = Decimal(line.unit_price)
        if line.description:
            entry["description"] = line.description[:4000]
        if line_number_field:
            entry[line_number_field] = line.line_number
        lines.append(entry)
    body: JSON = {
        "externalId": submission.reference,
        "entity": {"id": entity},
        "subsidiary": {"id": subsidiary},
        "currency": {"id": currency},
        "item": {"items": lines},
    }
    if submission.requested_delivery_date:
        body["shipDate"] = submission.requested_delivery_date
    if transaction_id:
        body["memo"] = f"Q2C transaction {transaction_id}"
    return body


def status_code(order: JSON) -> str:
    """The one-letter ``orderStatus`` code (A..H) of a salesOrder, '' if unknown."""
    for name in ("orderStatus", "status"):
        value = order.get(name)
        code = ref_id(value) or ""
        if code in ORDER_STATUS:
            return code
        label = str(value.get("refName") or "") if isinstance(value, dict) else code
        if label.casefold() in _STATUS_NAMES:
            return _STATUS_NAMES[label.casefold()]
    return ""


def order_lines(order: JSON) -> list[JSON]:
    """Every line of a salesOrder read with ``expandSubResources=true``."""
    return _sublist_items(order.get("item"))


def fulfilled(line: JSON) -> bool:
    return to_decimal(line.get("quantityFulfilled")) > 0


def order_status(order: JSON, hold_field: str | None = None) -> OrderStatus:
    code = status_code(order)
    if code == "A" and hold_field and order.get(hold_field):
        return "held"
    if code == "H" and not any(fulfilled(line) for line in order_lines(order) if _sells(line)):
        return "cancelled"
    return ORDER_STATUS.get(code, "acknowledged")


def fulfillment_status(order: JSON) -> FulfillmentStatus:
    code = status_code(order)
    if code in FULFILLMENT_STATUS:
        return FULFILLMENT_STATUS[code]
    lines = [line for line in _sublist_items(order.get("item")) if _sells(line)]
    fulfilled = [to_decimal(line.get("quantityFulfilled")) for line in lines]
    if lines and all(
        done >= to_decimal(line.get("quantity"))
        for done, line in zip(fulfilled, lines, strict=True)
    ):
        return "fulfilled"
    return "partially_fulfilled" if any(done > 0 for done in fulfilled) else "unfulfilled"


def to_order_line(
    line: JSON, currency: str, line_number_field: str | None = None
) -> OrderLineRecord:
    units = line.get("units")
    number = line.get(line_number_field) if line_number_field else None
    unit = str(units.get("refName") or "") if isinstance(units, dict) else str(units or "")
    return OrderLineRecord(
        line_number=int(to_decimal(number if number is not None else line.get("line"))),
        sku=sku_of(line.get("item")),
        description=str(line.get("description") or "")[:255],
        quantity=decimal_string(to_decimal(line.get("quantity"))),
        unit_of_measure=unit[:10],
        net_amount=format(quantize(to_decimal(line.get("amount")), currency), "f"),
    )


def to_order_record(
    order: JSON,
    *,
    currency: str,
    line_number_field: str | None = None,
    hold_field: str | None = None,
) -> OrderRecord:
    """A salesOrder read with ``expandSubResources=true``; ``currency`` is its ISO code.

    Line numbers come from ``line_number_field`` when the line carries it, else NetSuite's
    own ``line``."""
    lines = [
        to_order_line(line, currency, line_number_field)
        for line in _sublist_items(order.get("item"))
        if _sells(line)
    ]
    lines.sort(key=lambda line: line.line_number)
    ship_date = order.get("shipDate")
    return OrderRecord(
        system_id=str(order["id"]),
        reference=str(order.get("externalId") or "") or None,
        account=ref_id(order.get("entity")) or "",
        status=order_status(order, hold_field),
        currency=currency,
        lines=lines,
        total_net=format(quantize(to_decimal(order.get("subtotal")), currency), "f"),
        requested_delivery_date=str(ship_date)[:10] if ship_date else None,
        created_at=timestamp(order.get("createdDate")),
        fulfillment_status=fulfillment_status(order),
    )
