"""Which field names each simulated record type knows, and what NetSuite does with others.

NetSuite's record API takes the header ``X-NetSuite-PropertyNameValidation`` on writes
(``Error``, ``Warning`` or ``Ignore``; the default is ``Warning``, per the REST API
Browser's parameters for every record's POST/PATCH/PUT). With ``Error`` a body naming a
field the record does not have is refused with 400; otherwise the field is dropped. The
gateway's client always sends ``Error``, so a mapping that drifts from the account's
fields fails loudly instead of losing data. The wording of the 400 is the sandbox's own.

Custom fields (``custbody...`` on the transaction body, ``custcol...`` on its lines,
``custentity...`` on entities) exist only once an account defines them; the sandbox
account defines :data:`CUSTOM_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

HEADER: Final = "x-netsuite-propertynamevalidation"
_MODES: Final = {"error": "Error", "warning": "Warning", "ignore": "Ignore"}

# Names each record (and sublist line) may carry: the fields the sandbox stores plus the
# read-only ones it renders (a client may send a record back as it read it).
_COMMON: Final = frozenset({"links", "id", "externalId"})
KNOWN: Final[dict[str, frozenset[str]]] = {
    "customer": _COMMON | {
        "entityId", "companyName", "firstName", "lastName", "email", "phone", "url",
        "vatRegNumber", "comments", "isPerson", "isInactive", "subsidiary", "currency",
        "addressBook", "dateCreated", "lastModifiedDate", "defaultAddress",
        "creditHoldOverride", "creditLimit", "balance",
    },
    "customer.addressBook": frozenset({
        "links", "id", "internalId", "addressId", "label", "defaultBilling",
        "defaultShipping", "isResidential", "addressBookAddress", "addressBookAddress_text",
    }),
    "customer.addressBook.addressBookAddress": frozenset({
        "links", "addressee", "attention", "addr1", "addr2", "addr3", "city", "state", "zip",
        "addrPhone", "country", "addrText",
    }),
    "salesOrder": _COMMON | {
        "tranId", "tranDate", "entity", "subsidiary", "currency", "item", "memo",
        "otherRefNum", "orderStatus", "status", "shipDate", "createdDate",
        "lastModifiedDate", "subtotal", "total", "exchangeRate",
    },
    "salesOrder.item": frozenset({
        "links", "line", "item", "itemType", "quantity", "rate", "amount", "price",
        "description", "isClosed", "quantityFulfilled", "quantityBilled", "units",
    }),
    "item": _COMMON | {
        "itemId", "displayName", "description", "salesDescription", "baseUnit", "isInactive",
        "rate", "createdDate", "lastModifiedDate", "includeChildren", "itemType", "subsidiary",
        "subtype",
    },
}  # fmt: skip

# The sandbox account's custom fields: where they sit, and their type.
CUSTOM_FIELDS: Final[dict[str, dict[str, str]]] = {
    "salesOrder": {"custbody_q2c_hold_reason": "text"},
    "salesOrder.item": {"custcol_q2c_line": "integer"},
}


def mode(headers: Mapping[str, str]) -> str | None:
    """``Error``/``Warning``/``Ignore`` from the request header (default ``Warning``);
    None when the header has a value NetSuite does not accept."""
    return _MODES.get(headers.get(HEADER, "Warning").strip().casefold())


def unknown(record_type: str, body: Mapping[str, Any]) -> list[str]:
    """JSON paths of the names in ``body`` that ``record_type`` does not have."""
    kind = "item" if record_type in ("inventoryItem", "serviceSaleItem") else record_type
    paths: list[str] = []
    paths += _unknown(kind, body, "")
    if kind == "salesOrder":
        paths += _unknown_lines("salesOrder.item", body.get("item"), "item")
    if kind == "customer":
        book = body.get("addressBook")
        for index, line in enumerate(_lines(book)):
            path = f"addressBook.items[{index}]"
            paths += _unknown("customer.addressBook", line, path)
            address = line.get("addressBookAddress")
            if isinstance(address, dict):
                paths += _unknown(
                    "customer.addressBook.addressBookAddress", address,
                    f"{path}.addressBookAddress",
                )  # fmt: skip
    return paths


def _lines(sublist: Any) -> Iterable[dict[str, Any]]:
    if isinstance(sublist, dict) and isinstance(sublist.get("items"), list):
        return [line for line in sublist["items"] if isinstance(line, dict)]
    return []


def _unknown_lines(kind: str, sublist: Any, path: str) -> list[str]:
    paths: list[str] = []
    for index, line in enumerate(_lines(sublist)):
        paths += _unknown(kind, line, f"{path}.items[{index}]")
    if isinstance(sublist, dict):
        paths += [f"{path}.{k}" for k in sublist if k not in ("items", "links")]
    return paths


def _unknown(kind: str, body: Mapping[str, Any], path: str) -> list[str]:
    known = KNOWN[kind] | CUSTOM_FIELDS.get(kind, {}).keys()
    return [f"{path}.{name}" if path else name for name in body if name not in known]
