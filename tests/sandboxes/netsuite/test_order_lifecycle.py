"""Sales orders after they are created, in the NetSuite sandbox: fields kept as sent
(``shipDate``, custom fields), unknown fields under ``X-NetSuite-PropertyNameValidation``,
approval, closing lines, credit hold, and the sandbox-only admin endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes import demo_data
from sandboxes.netsuite.app import ACCESS_TOKEN, NetSuiteSandbox, create_app
from tests.sandboxes.netsuite.test_app import BASE, create, customer_id, error_of, order_body, url

STRICT = {"X-NetSuite-PropertyNameValidation": "Error"}


@pytest.fixture
def sandbox() -> NetSuiteSandbox:
    return NetSuiteSandbox()


@pytest.fixture
async def client(sandbox: NetSuiteSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
    ) as http:
        yield http


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get(
        url(f"salesOrder/{order_id}"), params={"expandSubResources": "true"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- fields kept ---------------------------------------------------------------------------
async def test_ship_date_is_kept_and_returned(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox, shipDate="2027-01-15"))
    assert (await read(client, order_id))["shipDate"] == "2027-01-15"
    await client.patch(url(f"salesOrder/{order_id}"), json={"shipDate": "2027-02-01"})
    assert (await read(client, order_id))["shipDate"] == "2027-02-01"
    rows = await client.post(
        "/services/rest/query/v1/suiteql",
        json={"q": f"SELECT shipdate FROM transaction WHERE id = {int(order_id)}"},  # noqa: S608
        headers={"Prefer": "transient"},
    )
    assert rows.json()["items"][0]["shipdate"] == "01/02/2027"
    bad = await client.post(url("salesOrder"), json=order_body(sandbox, shipDate="soon"))
    assert error_of(bad)["o:errorPath"] == "shipDate"


async def test_the_accounts_custom_fields_are_kept(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    body = order_body(sandbox, custbody_q2c_hold_reason="waiting for payment")
    body["item"]["items"][0]["custcol_q2c_line"] = 10
    body["item"]["items"][1]["custcol_q2c_line"] = 20
    order = await read(client, await create(client, "salesOrder", body))
    assert order["custbody_q2c_hold_reason"] == "waiting for payment"
    assert [line["custcol_q2c_line"] for line in order["item"]["items"]] == [10, 20]


@pytest.mark.parametrize(
    ("where", "path"),
    [("body", "shipDat"), ("line", "item.items[1].custcol_unknown")],
)
async def test_unknown_fields_are_refused_when_the_client_asks_for_errors(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox, where: str, path: str
) -> None:
    body = order_body(sandbox)
    if where == "body":
        body["shipDat"] = "2027-01-15"
    else:
        body["item"]["items"][1]["custcol_unknown"] = 1
    before = len(sandbox.records("salesOrder"))
    strict = await client.post(url("salesOrder"), json=body, headers=STRICT)
    assert strict.status_code == 400
    detail = error_of(strict)
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_CONTENT", path)
    assert len(sandbox.records("salesOrder")) == before
    # NetSuite's default (Warning) and Ignore drop the field and save the rest.
    for mode in (None, "Warning", "Ignore"):
        headers = {} if mode is None else {"X-NetSuite-PropertyNameValidation": mode}
        assert (await client.post(url("salesOrder"), json=body, headers=headers)).status_code == 204
    wrong = await client.post(url("salesOrder"), json=body,
                              headers={"X-NetSuite-PropertyNameValidation": "Strict"})  # fmt: skip
    assert error_of(wrong)["o:errorCode"] == "INVALID_HEADER"


async def test_strict_validation_accepts_a_record_sent_back_as_read(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    customer = (await client.get(url("customer/1001"))).json()
    patch = {k: v for k, v in customer.items() if k not in ("links", "addressBook")}
    assert (await client.patch(url("customer/1001"), json=patch, headers=STRICT)).status_code == 204


# -- status changes --------------------------------------------------------------------------
async def test_an_order_goes_back_to_pending_approval_only_before_fulfilment(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox))
    path = url(f"salesOrder/{order_id}")
    approve = await client.patch(path, json={"orderStatus": {"id": "B"}})
    assert approve.status_code == 204
    back = await client.patch(path, json={"orderStatus": {"id": "A"}})
    assert back.status_code == 204
    assert (await read(client, order_id))["orderStatus"]["id"] == "A"
    not_yet = await client.post(f"/sandbox/admin/orders/{order_id}/deliver")
    assert not_yet.status_code == 400  # pending approval cannot be fulfilled
    await client.patch(path, json={"orderStatus": {"id": "B"}})
    partly = await client.post(f"/sandbox/admin/orders/{order_id}/deliver", json={"lines": [1]})
    assert partly.json()["orderStatus"] == "E"
    order = await read(client, order_id)
    assert order["status"]["refName"] == "Pending Billing/Partially Fulfilled"
    assert [line["quantityFulfilled"] for line in order["item"]["items"]] == [6, 0]
    refused = await client.patch(path, json={"orderStatus": {"id": "A"}})
    assert error_of(refused)["o:errorPath"] == "orderStatus"
    rest = await client.post(f"/sandbox/admin/orders/{order_id}/deliver")
    assert rest.json()["orderStatus"] == "F"
    assert (await client.post(f"/sandbox/admin/orders/{order_id}/deliver")).status_code == 400


async def test_closing_every_line_closes_the_order_and_reopening_restores_it(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox))
    path = url(f"salesOrder/{order_id}")
    await client.patch(path, json={"orderStatus": {"id": "B"}})
    first = await client.patch(path, json={"item": {"items": [{"line": 1, "isClosed": True}]}})
    assert first.status_code == 204
    half = await read(client, order_id)
    assert half["orderStatus"]["id"] == "B"
    assert [line["isClosed"] for line in half["item"]["items"]] == [True, False]
    await client.patch(path, json={"item": {"items": [{"line": 2, "isClosed": True}]}})
    closed = await read(client, order_id)
    assert closed["orderStatus"] == {"id": "H", "refName": "Closed"}
    assert len(closed["item"]["items"]) == 2  # closing keeps the lines
    assert (await client.post(f"/sandbox/admin/orders/{order_id}/deliver")).status_code == 400
    await client.patch(path, json={"item": {"items": [{"line": 2, "isClosed": False}]}})
    assert (await read(client, order_id))["orderStatus"]["id"] == "B"


# -- credit hold -----------------------------------------------------------------------------
async def test_the_seeded_credit_hold_reads_through_the_api_and_stops_orders(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    held = customer_id(sandbox, demo_data.NETSUITE_CREDIT_HOLD_ACCOUNT)
    customer = (await client.get(url(f"customer/{held}"))).json()
    assert customer["creditHoldOverride"] == {"id": "ON", "refName": "On"}
    assert (await client.get(url("customer/1001"))).json()["creditHoldOverride"]["id"] == "AUTO"
    refused = await client.post(url("salesOrder"), json=order_body(sandbox, entity={"id": held}))
    assert refused.status_code == 400
    assert "credit hold" in error_of(refused)["detail"]


async def test_credit_hold_through_the_admin_endpoint_and_the_balance_rule(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox))  # Fabrikam, 1001
    hold = await client.post("/sandbox/admin/customers/1001/credit-block")
    assert hold.json()["onCreditHold"] is True
    approve = await client.patch(url(f"salesOrder/{order_id}"), json={"orderStatus": {"id": "B"}})
    assert "credit hold" in error_of(approve)["detail"]
    auto = await client.delete("/sandbox/admin/customers/1001/credit-block")
    assert auto.json() == {"id": "1001", "creditHoldOverride": "AUTO", "balance": 0.0,
                           "creditLimit": None, "onCreditHold": False}  # fmt: skip
    # AUTO puts a customer on hold once the balance passes the credit limit.
    await client.patch(url("customer/1001"), json={"creditLimit": 1000})
    over = await client.post(
        "/sandbox/admin/customers/1001/credit-block",
        json={"override": "AUTO", "balance": "1500.00"},
    )
    assert over.json()["onCreditHold"] is True
    rows = await client.post(
        "/services/rest/query/v1/suiteql",
        json={"q": "SELECT creditholdoverride, creditlimit, balance, oncredithold "
                   "FROM customer WHERE id = 1001"},
        headers={"Prefer": "transient"},
    )  # fmt: skip
    assert rows.json()["items"][0] == {"links": [], "creditholdoverride": "AUTO",
                                       "creditlimit": "1000", "balance": "1500",
                                       "oncredithold": "T"}  # fmt: skip
    assert (await client.post("/sandbox/admin/customers/9999/credit-block")).status_code == 404
    bad = await client.post("/sandbox/admin/customers/1001/credit-block", json={"override": "X"})
    assert bad.status_code == 400
