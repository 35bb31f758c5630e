"""Changing sales orders in the S/4HANA sandbox: SAP's optimistic concurrency on the
header (ETag from ``LastChangeDateTime``, ``If-Match`` required), blocks, rejections,
deletion, and the sandbox-only admin endpoints (credit block, delivery)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandboxes import demo_data
from sandboxes.sap_s4hana.app import SERVICE_ROOT, SapSandbox, create_app

AUTH = ("Q2C_GATEWAY", "sandbox")
ORDERS = f"{SERVICE_ROOT}/API_SALES_ORDER_SRV"
PARTNERS = f"{SERVICE_ROOT}/API_BUSINESS_PARTNER"
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> SapSandbox:
    return SapSandbox(clock=lambda: NOON)  # a clock that never moves: ETags must still


@pytest.fixture
async def client(sandbox: SapSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)),
        base_url="http://sap.sandbox",
        auth=AUTH,
        headers={"Accept": "application/json"},
    ) as http:
        yield http


class Writer:
    """A client holding a CSRF token and session for the sales order service."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def send(
        self, method: str, path: str, body: Any = None, if_match: str | None = None
    ) -> httpx.Response:
        headers = {"X-CSRF-Token": self.token}
        if if_match is not None:
            headers["If-Match"] = if_match
        return await self.client.request(method, f"{ORDERS}/{path}", json=body, headers=headers)


@pytest.fixture
async def writer(client: httpx.AsyncClient) -> Writer:
    fetched = await client.get(f"{ORDERS}/", headers={"X-CSRF-Token": "Fetch"})
    return Writer(client, fetched.headers["x-csrf-token"])


async def _create(writer: Writer, **extra: Any) -> dict[str, Any]:
    body = {
        "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10",
        "OrganizationDivision": "00", "SoldToParty": "1000100", "TransactionCurrency": "EUR",
        "PurchaseOrderByCustomer": "ord_CHANGES",
        "to_Item": [
            {"SalesOrderItem": "10", "Material": "Q2C-1001", "RequestedQuantity": "2"},
            {"SalesOrderItem": "20", "Material": "Q2C-2001", "RequestedQuantity": "5"},
        ],
    } | extra  # fmt: skip
    response = await writer.send("POST", "A_SalesOrder", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["d"]
    return created


async def _read(client: httpx.AsyncClient, number: str) -> httpx.Response:
    return await client.get(f"{ORDERS}/A_SalesOrder('{number}')", params={"$expand": "to_Item"})


async def test_the_header_carries_an_etag_in_metadata_and_header(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    created = await _create(writer)
    tag = created["__metadata"]["etag"]
    assert tag.startswith("W/\"datetimeoffset'2026-11-27T12%3A00%3A00.")
    read = await _read(client, created["SalesOrder"])
    assert read.headers["etag"] == tag == read.json()["d"]["__metadata"]["etag"]
    listed = await client.get(f"{ORDERS}/A_SalesOrder", params={"$top": "1"})
    assert listed.json()["d"]["results"][0]["__metadata"]["etag"] == tag
    # Items have no concurrency token of their own in SAP's document.
    assert "etag" not in read.json()["d"]["to_Item"]["results"][0]["__metadata"]


@pytest.mark.parametrize("method", ["PATCH", "MERGE", "PUT", "DELETE"])
async def test_a_change_without_if_match_is_428(writer: Writer, method: str) -> None:
    created = await _create(writer)
    body = None if method == "DELETE" else {"DeliveryBlockReason": "01"}
    response = await writer.send(method, f"A_SalesOrder('{created['SalesOrder']}')", body)
    assert response.status_code == 428, response.text
    assert "If-Match" in response.json()["error"]["message"]["value"]


async def test_a_stale_etag_is_412_and_the_current_one_wins(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    created = await _create(writer)
    number, first = created["SalesOrder"], created["__metadata"]["etag"]
    path = f"A_SalesOrder('{number}')"
    changed = await writer.send("MERGE", path, {"DeliveryBlockReason": "01"}, if_match=first)
    assert changed.status_code == 204, changed.text
    second = (await _read(client, number)).headers["etag"]
    assert second != first  # the clock stood still; the ETag moved anyway
    stale = await writer.send("PATCH", path, {"HeaderBillingBlockReason": "01"}, if_match=first)
    assert stale.status_code == 412
    assert (await _read(client, number)).json()["d"]["HeaderBillingBlockReason"] == ""
    fresh = await writer.send("PATCH", path, {"HeaderBillingBlockReason": "01"}, if_match=second)
    assert fresh.status_code == 204
    header = (await _read(client, number)).json()["d"]
    assert (header["DeliveryBlockReason"], header["HeaderBillingBlockReason"]) == ("01", "01")
    assert (
        await writer.send("PATCH", path, {"DeliveryBlockReason": ""}, if_match="*")
    ).status_code == 204


async def test_header_changes_are_validated(client: httpx.AsyncClient, writer: Writer) -> None:
    created = await _create(writer)
    path, tag = f"A_SalesOrder('{created['SalesOrder']}')", created["__metadata"]["etag"]
    unknown = await writer.send("PATCH", path, {"DeliveryBlockReason": "99"}, if_match=tag)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["innererror"]["errordetails"][0]["propertyref"] == (
        "A_SalesOrder/DeliveryBlockReason"
    )
    fixed = await writer.send("PATCH", path, {"SoldToParty": "1000101"}, if_match=tag)
    assert fixed.status_code == 400
    assert "SoldToParty" in fixed.json()["error"]["message"]["value"]
    # A refused change changes nothing, not even the ETag.
    assert (await _read(client, created["SalesOrder"])).headers["etag"] == tag


async def test_rejecting_every_item_cancels_the_order(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    created = await _create(writer)
    number, before = created["SalesOrder"], created["__metadata"]["etag"]
    first = await writer.send(
        "PATCH", f"A_SalesOrderItem(SalesOrder='{number}',SalesOrderItem='10')",
        {"SalesDocumentRjcnReason": "10"},
    )  # fmt: skip
    assert first.status_code == 204, first.text
    half = (await _read(client, number)).json()["d"]
    assert half["OverallSDDocumentRejectionSts"] == "B"
    assert half["__metadata"]["etag"] != before  # an item change is a change of the order
    assert half["TotalNetAmount"] == "62.50"  # only the service line (5 x 12.50) is left
    await writer.send(
        "MERGE", f"A_SalesOrderItem(SalesOrder='{number}',SalesOrderItem='20')",
        {"SalesDocumentRjcnReason": "10"},
    )  # fmt: skip
    done = (await _read(client, number)).json()["d"]
    assert done["OverallSDDocumentRejectionSts"] == "C"
    assert done["OverallSDProcessStatus"] == "C"
    assert [i["SalesDocumentRjcnReason"] for i in done["to_Item"]["results"]] == ["10", "10"]
    undefined = await writer.send(
        "PATCH", f"A_SalesOrderItem(SalesOrder='{number}',SalesOrderItem='10')",
        {"SalesDocumentRjcnReason": "Q9"},
    )  # fmt: skip
    assert undefined.status_code == 400
    requantified = await writer.send(
        "PATCH", f"A_SalesOrderItem(SalesOrder='{number}',SalesOrderItem='10')",
        {"RequestedQuantity": "3"},
    )  # fmt: skip
    assert requantified.status_code == 400


async def test_a_delivered_item_cannot_be_rejected_nor_the_order_deleted(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    created = await _create(writer)
    number = created["SalesOrder"]
    delivered = await client.post(f"/sandbox/admin/orders/{number}/deliver", json={"items": ["10"]})
    assert delivered.status_code == 200, delivered.text
    header = (await _read(client, number)).json()["d"]
    assert header["OverallTotalDeliveryStatus"] == "C"  # the only goods item is delivered
    assert header["OverallSDProcessStatus"] == "B"  # the service item is still open
    reject = await writer.send(
        "PATCH", f"A_SalesOrderItem(SalesOrder='{number}',SalesOrderItem='10')",
        {"SalesDocumentRjcnReason": "10"},
    )  # fmt: skip
    assert reject.status_code == 400
    assert "delivered" in reject.json()["error"]["message"]["value"]
    delete = await writer.send(
        "DELETE", f"A_SalesOrder('{number}')", if_match=header["__metadata"]["etag"]
    )
    assert delete.status_code == 400


async def test_delete_needs_the_current_etag(client: httpx.AsyncClient, writer: Writer) -> None:
    created = await _create(writer)
    number = created["SalesOrder"]
    deleted = await writer.send(
        "DELETE", f"A_SalesOrder('{number}')", if_match=created["__metadata"]["etag"]
    )
    assert deleted.status_code == 204
    assert (await _read(client, number)).status_code == 404
    items = await client.get(
        f"{ORDERS}/A_SalesOrderItem", params={"$filter": f"SalesOrder eq '{number}'"}
    )
    assert items.json()["d"]["results"] == []


async def test_delivery_through_the_admin_endpoint(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    created = await _create(writer)
    number = created["SalesOrder"]
    response = await client.post(f"/sandbox/admin/orders/{number}/deliver")
    assert response.json()["OverallSDProcessStatus"] == "C"
    header = (await _read(client, number)).json()["d"]
    assert (header["OverallTotalDeliveryStatus"], header["OverallDeliveryStatus"]) == ("C", "C")
    assert [i["DeliveryStatus"] for i in header["to_Item"]["results"]] == ["C", ""]
    again = await client.post(f"/sandbox/admin/orders/{number}/deliver")
    assert again.status_code == 400  # nothing left to deliver
    assert (await client.post("/sandbox/admin/orders/999/deliver")).status_code == 404


async def test_a_delivery_block_stops_delivery(writer: Writer, client: httpx.AsyncClient) -> None:
    created = await _create(writer)
    number = created["SalesOrder"]
    await writer.send(
        "PATCH", f"A_SalesOrder('{number}')", {"DeliveryBlockReason": "01"},
        if_match=created["__metadata"]["etag"],
    )  # fmt: skip
    refused = await client.post(f"/sandbox/admin/orders/{number}/deliver")
    assert refused.status_code == 400
    assert "blocked for delivery" in refused.json()["error"]["message"]["value"]


async def test_the_seeded_credit_blocked_customer_reads_through_the_api(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    customer, reason = demo_data.SAP_ORDER_BLOCKED_CUSTOMER
    read = await client.get(f"{PARTNERS}/A_Customer('{customer}')")
    assert read.json()["d"]["OrderIsBlockedForCustomer"] == reason
    refused = await writer.send("POST", "A_SalesOrder", {
        "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10",
        "OrganizationDivision": "00", "SoldToParty": customer,
        "to_Item": [{"Material": "Q2C-1001", "RequestedQuantity": "1"}],
    })  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "ZQ2C_SD/013"


async def test_credit_block_and_release_through_the_admin_endpoint(
    client: httpx.AsyncClient,
) -> None:
    path = "/sandbox/admin/customers/1000100/credit-block"
    central = await client.post(path, json={"reason": "03"})
    assert central.json()["OrderIsBlockedForCustomer"] == "03"
    read = await client.get(
        f"{PARTNERS}/A_Customer('1000100')", params={"$expand": "to_CustomerSalesArea"}
    )
    assert read.json()["d"]["OrderIsBlockedForCustomer"] == "03"
    released = await client.delete(path)
    assert released.json()["OrderIsBlockedForCustomer"] == ""
    area = {"SalesOrganization": "1010", "DistributionChannel": "10", "Division": "00"}
    by_area = await client.post(path, json={"sales_area": area})
    assert by_area.json()["SalesAreas"][0]["OrderIsBlockedForCustomer"] == "01"
    assert (await client.post(path, json={"reason": "XX"})).status_code == 400
    assert (await client.post("/sandbox/admin/customers/42/credit-block")).status_code == 404
    assert (await client.get("/sandbox/admin/nothing")).status_code == 404
