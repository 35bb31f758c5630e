"""The NetSuite REST web services sandbox, exercised in-process over httpx.ASGITransport."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandboxes import demo_data
from sandboxes.netsuite.app import (
    ACCESS_TOKEN,
    RECORD_ROOT,
    SUITEQL_PATH,
    NetSuiteSandbox,
    create_app,
)

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
TRANSIENT = {"Prefer": "transient"}
UK_ACCOUNTS = [a for a in demo_data.ACCOUNTS if a.selling_entity == "ACME-UK"]
RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"


@pytest.fixture
def sandbox() -> NetSuiteSandbox:
    return NetSuiteSandbox()


@pytest.fixture
async def client(sandbox: NetSuiteSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH) as http:
        yield http


def url(path: str) -> str:
    return f"{RECORD_ROOT}/{path}"


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The single ``o:errorDetails`` entry, after checking the envelope around it."""
    body = response.json()
    assert response.headers["content-type"] == "application/vnd.oracle.resource+json; type=error"
    assert body["status"] == response.status_code
    assert body["type"].startswith(RFC9110)
    assert isinstance(body["title"], str)
    assert len(body["o:errorDetails"]) == 1
    detail: dict[str, Any] = body["o:errorDetails"][0]
    assert isinstance(detail["detail"], str)
    return detail


async def suiteql(client: httpx.AsyncClient, q: str, **params: Any) -> httpx.Response:
    return await client.post(SUITEQL_PATH, json={"q": q}, headers=TRANSIENT, params=params)


async def create(client: httpx.AsyncClient, record_type: str, body: dict[str, Any]) -> str:
    response = await client.post(url(record_type), json=body)
    assert response.status_code == 204, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def customer_id(sandbox: NetSuiteSandbox, name: str) -> str:
    return str(next(c["id"] for c in sandbox.records("customer") if c["companyName"] == name))


def item_id(sandbox: NetSuiteSandbox, material: str) -> str:
    for record_type in ("inventoryItem", "serviceSaleItem"):
        for item in sandbox.records(record_type):
            if item["itemId"] == material:
                return str(item["id"])
    raise AssertionError(material)


def order_body(sandbox: NetSuiteSandbox, **extra: Any) -> dict[str, Any]:
    return {
        "entity": {"id": customer_id(sandbox, "Fabrikam Logistics Ltd")},
        "otherRefNum": "PO-4711",
        "item": {"items": [
            {"item": {"id": item_id(sandbox, "Q2C-1003")}, "quantity": 6},
            {"item": {"id": item_id(sandbox, "Q2C-2002")}, "quantity": 3, "rate": 199.99},
        ]},
        **extra,
    }  # fmt: skip


# ==================================================================== seed data


def test_seed_reference_data(sandbox: NetSuiteSandbox) -> None:
    subsidiaries = {s["id"]: s for s in sandbox.records("subsidiary")}
    assert {k: v["name"] for k, v in subsidiaries.items()} == {
        "1": "ACME Group", "2": "ACME UK Ltd", "3": "ACME Inc.",
    }  # fmt: skip
    assert "parent" not in subsidiaries["1"]
    assert subsidiaries["2"]["parent"]["id"] == "1"
    assert subsidiaries["2"]["currency"]["refName"] == "British pound"
    assert subsidiaries["3"]["currency"]["id"] == "2"
    assert subsidiaries["2"]["fullName"] == "ACME Group : ACME UK Ltd"
    currencies = {c["symbol"]: c["id"] for c in sandbox.records("currency")}
    assert currencies == {"GBP": "1", "USD": "2", "EUR": "3", "JPY": "4"}


def test_seed_items_follow_the_demo_catalogue(sandbox: NetSuiteSandbox) -> None:
    inventory = {i["itemId"]: i for i in sandbox.records("inventoryItem")}
    services = {i["itemId"]: i for i in sandbox.records("serviceItem")}  # alias accepted
    for product in demo_data.PRODUCTS:
        is_service = product.product_type == "DIEN"
        item = (services if is_service else inventory)[product.material]
        assert item["displayName"] == product.name
        assert item["isInactive"] is (not product.active)
        assert item["itemType"]["id"] == ("Service" if is_service else "InvtPart")
        if "GBP" in product.list_prices:
            assert Decimal(str(item["rate"])) == Decimal(product.list_prices["GBP"])
        else:
            assert "rate" not in item
    assert len(inventory) + len(services) == len(demo_data.PRODUCTS)
    assert inventory["Q2C-9001"]["isInactive"] is True
    ids = [int(i["id"]) for i in [*inventory.values(), *services.values()]]
    assert len(set(ids)) == len(ids)  # one internal id sequence for every item type


def test_seed_customers_are_the_uk_selling_entity_accounts(sandbox: NetSuiteSandbox) -> None:
    customers = sandbox.records("customer")
    assert [c["companyName"] for c in customers] == [a.name for a in UK_ACCOUNTS]
    assert [c["id"] for c in customers] == [str(1001 + n) for n in range(len(UK_ACCOUNTS))]
    for customer, account in zip(customers, UK_ACCOUNTS, strict=True):
        assert "externalId" not in customer
        assert customer["isPerson"] is False
        assert customer["subsidiary"]["id"] == "2"
        assert customer["currency"]["id"] == "1"
        assert customer["vatRegNumber"] == account.tax_id
        address = customer["addressBook"]["items"][0]["addressBookAddress"]
        assert address["country"]["id"] == account.country
        assert address["zip"] == account.postal_code
        assert account.city in customer["defaultAddress"]


def test_seed_is_deterministic_and_optional() -> None:
    assert NetSuiteSandbox().records("customer") == NetSuiteSandbox().records("customer")
    empty = NetSuiteSandbox(seed=False)
    assert empty.records("customer") == []
    assert empty.records("inventoryItem") == []
    assert len(empty.records("subsidiary")) == 3  # reference data is always there
    with pytest.raises(KeyError):
        empty.records("vendor")


# ======================================================================= auth


async def test_missing_or_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Basic dXNlcjpwdw=="}):  # fmt: skip
        response = await client.get(url("customer/1001"), headers=headers)
        assert response.status_code == 401
        detail = error_of(response)
        assert detail["o:errorCode"] == "INVALID_LOGIN"
        assert detail["detail"].startswith("Invalid login attempt.")
    assert response.json()["title"] == "Unauthorized"


def oauth_header(realm: str = "1234567_SB1", method: str = "HMAC-SHA256") -> str:
    return (
        f'OAuth realm="{realm}", oauth_consumer_key="ck", oauth_token="tk", '
        f'oauth_signature_method="{method}", oauth_timestamp="1767600000", '
        'oauth_nonce="n0nce", oauth_version="1.0", oauth_signature="c2ln%3D"'
    )


async def test_token_based_authentication_header_shape(client: httpx.AsyncClient) -> None:
    ok = await client.get(url("customer/1001"), headers={"Authorization": oauth_header()})
    assert ok.status_code == 200
    dashed = await client.get(
        url("customer/1001"), headers={"Authorization": oauth_header("1234567-sb1")}
    )
    assert dashed.status_code == 200
    for header in (oauth_header("7654321"), oauth_header(method="HMAC-SHA1"),
                   'OAuth realm="1234567_SB1", oauth_token="tk"'):  # fmt: skip
        denied = await client.get(url("customer/1001"), headers={"Authorization": header})
        assert denied.status_code == 401
        assert error_of(denied)["o:errorCode"] == "INVALID_LOGIN"


async def test_custom_account_and_token() -> None:
    sandbox = NetSuiteSandbox(account_id="TSTDRV42", access_token="other")
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        bearer = await http.get(url("customer"), headers={"Authorization": "Bearer other"})
        assert bearer.status_code == 200
        tba = await http.get(url("customer"), headers={"Authorization": oauth_header("TSTDRV42")})
        assert tba.status_code == 200
        old = await http.get(url("customer"), headers=AUTH)
        assert old.status_code == 401
    assert sandbox.base_url == "https://tstdrv42.suitetalk.api.netsuite.com"


# ===================================================================== records


async def test_create_answers_204_with_location(client: httpx.AsyncClient) -> None:
    response = await client.post(url("customer"), json={
        "companyName": "Contoso UK Ltd", "subsidiary": {"id": "2"}, "externalId": "CRM-1",
        "email": "ap@contoso.example", "vatRegNumber": "GB999999973",
    })  # fmt: skip
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["location"] == f"{BASE}{RECORD_ROOT}/customer/1006"
    record = (await client.get(response.headers["location"])).json()
    assert record["id"] == "1006"
    assert record["links"] == [{"rel": "self", "href": f"{BASE}{RECORD_ROOT}/customer/1006"}]
    assert record["companyName"] == "Contoso UK Ltd"
    assert record["entityId"] == "Contoso UK Ltd"
    assert record["externalId"] == "CRM-1"
    assert record["isPerson"] is False
    assert record["currency"]["id"] == "1"  # defaulted from the subsidiary
    assert record["subsidiary"]["refName"] == "ACME Group : ACME UK Ltd"
    assert record["subsidiary"]["links"][0]["href"].endswith("/subsidiary/2")
    keys = [k for k in record if k != "links"]
    assert keys == sorted(keys, key=str.casefold)  # fields come back alphabetically


async def test_get_record_content_type_and_eid(client: httpx.AsyncClient) -> None:
    await create(client, "customer", {"companyName": "EID Ltd", "subsidiary": "2",
                                      "externalId": "crm-ac_42"})  # fmt: skip
    by_eid = await client.get(url("customer/eid:crm-ac_42"))
    assert by_eid.status_code == 200
    assert by_eid.headers["content-type"] == ("application/vnd.oracle.resource+json; type=singular")
    assert by_eid.json()["companyName"] == "EID Ltd"
    assert (await client.get(url("customer/eid:crm-ac_43"))).status_code == 404
    assert (await client.get(url("Customer/1001"))).status_code == 200  # type is case-insensitive


async def test_sublists_are_links_unless_expanded(client: httpx.AsyncClient) -> None:
    plain = (await client.get(url("customer/1001"))).json()
    assert plain["addressBook"] == {
        "links": [{"rel": "self", "href": f"{BASE}{RECORD_ROOT}/customer/1001/addressBook"}]
    }
    expanded = (await client.get(url("customer/1001"),
                                 params={"expandSubResources": "true"})).json()  # fmt: skip
    book = expanded["addressBook"]
    assert book["count"] == book["totalResults"] == 1
    line = book["items"][0]
    assert line["defaultBilling"] is True
    assert line["addressBookAddress"]["addr1"] == "1 Spinningfields"
    assert line["addressBookAddress"]["country"] == {"id": "GB", "refName": "United Kingdom"}
    sub = await client.get(url("customer/1001/addressBook"))
    assert sub.status_code == 200
    assert sub.json()["items"] == [{"links": line["links"]}]
    one = await client.get(line["links"][0]["href"])
    assert one.json()["addressBookAddress"]["city"] == "Manchester"
    assert (await client.get(url("customer/1001/addressBook/999"))).status_code == 404
    assert (await client.get(url("customer/1001/contacts"))).status_code == 404


async def test_duplicate_external_id_is_refused(client: httpx.AsyncClient) -> None:
    body = {"companyName": "Dup Ltd", "subsidiary": {"id": "2"}, "externalId": "CRM-DUP"}
    await create(client, "customer", body)
    again = await client.post(url("customer"), json={**body, "companyName": "Dup Two"})
    assert again.status_code == 400
    detail = error_of(again)
    assert detail["o:errorCode"] == "DUP_RCRD"
    assert "already exists" in detail["detail"]
    listing = (await client.get(url("customer"), params={"q": 'externalId IS "CRM-DUP"'})).json()
    assert listing["totalResults"] == 1
    # PATCHing another record to the taken external id is refused as well
    patch = await client.patch(url("customer/1001"), json={"externalId": "CRM-DUP"})
    assert patch.status_code == 400
    assert error_of(patch)["o:errorCode"] == "DUP_RCRD"


async def test_mandatory_fields_and_invalid_values(client: httpx.AsyncClient) -> None:
    missing = await client.post(url("customer"), json={"email": "a@b.example"})
    assert missing.status_code == 400
    detail = error_of(missing)
    assert detail["o:errorCode"] == "USER_ERROR"
    assert detail["detail"] == (
        "Error while accessing a resource. Please enter value(s) for: Company Name, "
        "Primary Subsidiary."
    )
    person = await client.post(url("customer"), json={"isPerson": True, "subsidiary": "2"})
    assert "First Name, Last Name" in error_of(person)["detail"]
    bad_sub = await client.post(url("customer"), json={"companyName": "X", "subsidiary": "9"})
    detail = error_of(bad_sub)
    assert detail["o:errorPath"] == "subsidiary"
    assert "Invalid Field Value 9 for the following field: subsidiary" in detail["detail"]
    wrong_type = await client.post(
        url("customer"), json={"companyName": {"x": 1}, "subsidiary": "2"}
    )
    detail = error_of(wrong_type)
    assert detail["o:errorCode"] == "INVALID_VALUE"
    assert detail["o:errorPath"] == "companyName"
    bad_email = await client.post(
        url("customer"), json={"companyName": "X", "subsidiary": "2", "email": "nope"}
    )
    assert error_of(bad_email)["o:errorPath"] == "email"


async def test_invalid_json_and_media_type(client: httpx.AsyncClient) -> None:
    broken = await client.post(
        url("customer"), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert error_of(broken)["o:errorCode"] == "INVALID_CONTENT"
    array = await client.post(url("customer"), json=[1, 2])
    assert error_of(array)["detail"] == "Invalid content in the request body."
    form = await client.post(
        url("customer"),
        content=b"a=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert error_of(form)["o:errorHeader"] == "Content-Type"


async def test_unknown_type_id_and_route_are_404(client: httpx.AsyncClient) -> None:
    unknown_type = await client.get(url("vendorThing/1"))
    assert unknown_type.status_code == 404
    detail = error_of(unknown_type)
    assert detail["detail"] == "Record type 'vendorThing' does not exist."
    assert detail["o:errorUrl"] == f"{RECORD_ROOT}/vendorThing/1"
    # the REST record type of a service item is serviceSaleItem; "serviceItem" is no REST type
    assert (await client.get(url("serviceItem"))).status_code == 404
    missing = await client.get(url("customer/424242"))
    assert missing.status_code == 404
    detail = error_of(missing)
    assert detail["o:errorCode"] == "NONEXISTENT_ID"
    assert detail["detail"] == (
        "The record instance does not exist. Provide a valid record instance ID."
    )
    invalid = await client.get(url("customer/abc"))
    assert invalid.status_code == 400
    assert error_of(invalid)["o:errorCode"] == "INVALID_ID"
    assert (await client.get("/services/rest/record/v2/customer")).status_code == 404
    assert (await client.get("/elsewhere")).status_code == 404


async def test_patch_updates_and_answers_204(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    before = sandbox.records("customer")[0]
    response = await client.patch(
        url("customer/1001"), json={"phone": "+44 161 000 0000", "unknownField": 1}
    )
    assert response.status_code == 204
    assert response.content == b""
    after = (await client.get(url("customer/1001"))).json()
    assert after["phone"] == "+44 161 000 0000"
    assert after["companyName"] == before["companyName"]
    assert after["lastModifiedDate"] > before["lastModifiedDate"]
    assert "unknownField" not in after
    by_eid = await client.patch(url("customer/eid:nope"), json={"phone": "1"})
    assert by_eid.status_code == 404


async def test_upsert_by_external_id_creates_then_updates(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    body = {"companyName": "Upsert Ltd", "subsidiary": {"id": "2"}}
    created = await client.put(url("customer/eid:CRM-UP-1"), json=body)
    assert created.status_code == 204
    location = created.headers["location"]
    assert location == f"{BASE}{RECORD_ROOT}/customer/1006"
    updated = await client.put(
        url("customer/eid:CRM-UP-1"), json={"email": "ap@upsert.example", "externalId": "ignored"}
    )
    assert updated.status_code == 204
    assert updated.headers["location"] == location
    record = (await client.get(url("customer/eid:CRM-UP-1"))).json()
    assert record["id"] == "1006"
    assert record["externalId"] == "CRM-UP-1"
    assert record["email"] == "ap@upsert.example"
    assert record["companyName"] == "Upsert Ltd"
    assert len(sandbox.records("customer")) == len(UK_ACCOUNTS) + 1
    invalid_create = await client.put(url("customer/eid:CRM-UP-2"), json={"email": "x@y.example"})
    assert invalid_create.status_code == 400
    next_id = await create(client, "customer", {"companyName": "Next Ltd", "subsidiary": "2"})
    assert next_id == "1007"  # a refused create consumes no internal id
    by_internal_id = await client.put(url("customer/1001"), json={"phone": "1"})
    assert by_internal_id.status_code == 400
    assert error_of(by_internal_id)["o:errorCode"] == "INVALID_ID"


async def test_delete(client: httpx.AsyncClient, sandbox: NetSuiteSandbox) -> None:
    new_id = await create(client, "customer", {"companyName": "Gone Ltd", "subsidiary": "2",
                                               "externalId": "CRM-GONE"})  # fmt: skip
    response = await client.delete(url(f"customer/{new_id}"))
    assert response.status_code == 204
    assert (await client.get(url(f"customer/{new_id}"))).status_code == 404
    assert (await client.get(url("customer/eid:CRM-GONE"))).status_code == 404
    assert (await client.delete(url(f"customer/{new_id}"))).status_code == 404
    # the external id is free again
    await create(client, "customer", {"companyName": "Back Ltd", "subsidiary": "2",
                                      "externalId": "CRM-GONE"})  # fmt: skip
    # a customer with orders has dependent records
    await create(client, "salesOrder", order_body(sandbox))
    blocked = await client.delete(url("customer/1001"))
    assert blocked.status_code == 400
    assert "dependent records" in error_of(blocked)["detail"]


async def test_read_only_reference_records(client: httpx.AsyncClient) -> None:
    listing = (await client.get(url("currency"))).json()
    assert [i["id"] for i in listing["items"]] == ["1", "2", "3", "4"]
    currency = (await client.get(url("currency/1"))).json()
    assert currency["symbol"] == "GBP"
    assert currency["isBaseCurrency"] is True
    refused = await client.post(url("subsidiary"), json={"name": "ACME EU"})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET"
    assert error_of(refused)["o:errorCode"] == "METHOD_NOT_ALLOWED"
    assert (await client.delete(url("currency/1"))).status_code == 405


# ================================================================ sales orders


async def test_sales_order_lines_and_totals(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox, externalId="Q2C-SO-1",
                                                             memo="Depot rollout"))  # fmt: skip
    assert order_id == "5001"
    plain = (await client.get(url(f"salesOrder/{order_id}"))).json()
    assert plain["item"] == {
        "links": [{"rel": "self", "href": f"{BASE}{RECORD_ROOT}/salesOrder/5001/item"}]
    }
    order = (await client.get(url("salesOrder/eid:Q2C-SO-1"),
                              params={"expandSubResources": "true"})).json()  # fmt: skip
    assert order["tranId"] == "SO1001"
    assert order["entity"]["refName"] == "Fabrikam Logistics Ltd"
    assert order["subsidiary"]["id"] == "2"
    assert order["currency"]["id"] == "1"
    assert order["otherRefNum"] == "PO-4711"
    assert order["memo"] == "Depot rollout"
    assert order["orderStatus"] == {"id": "A", "refName": "Pending Approval"}
    assert order["status"] == {"id": "A", "refName": "Pending Approval"}
    lines = order["item"]["items"]
    assert [line["line"] for line in lines] == [1, 2]
    first, second = lines
    assert first["item"]["refName"] == "Q2C-1003"
    assert first["item"]["links"][0]["href"].endswith("/inventoryItem/103")
    assert first["rate"] == 1080.0  # the GBP list price
    assert first["amount"] == 6480.0
    assert first["quantity"] == 6.0
    assert first["price"] == {"id": "1", "refName": "Base Price"}
    assert first["description"] == "Industrial Sensor Hub S8"
    assert second["item"]["links"][0]["href"].endswith(f"/serviceSaleItem/{second['item']['id']}")
    assert second["itemType"]["id"] == "Service"
    assert second["rate"] == 199.99
    assert second["amount"] == 599.97
    assert second["price"] == {"id": "-1", "refName": "Custom"}
    assert order["subtotal"] == 7079.97
    assert order["total"] == 7079.97
    line_two = await client.get(url("salesOrder/5001/item/2"))
    assert line_two.json()["amount"] == 599.97
    listing = await client.get(url("salesOrder/5001/item"))
    assert listing.json()["totalResults"] == 2


async def test_sales_order_defaults_and_status(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(
        sandbox, tranDate="2026-02-01", orderStatus={"id": "B"}, subsidiary={"id": "2"},
        currency={"id": "1"},
    ))  # fmt: skip
    order = (await client.get(url(f"salesOrder/{order_id}"))).json()
    assert order["tranDate"] == "2026-02-01"
    assert order["orderStatus"] == {"id": "B", "refName": "Pending Fulfillment"}
    second = await create(client, "salesOrder", order_body(sandbox))
    assert (await client.get(url(f"salesOrder/{second}"))).json()["tranId"] == "SO1002"
    approve = await client.patch(url(f"salesOrder/{second}"), json={"orderStatus": {"id": "B"}})
    assert approve.status_code == 204
    assert (await client.get(url(f"salesOrder/{second}"))).json()["status"]["id"] == "B"
    bad = await client.patch(url(f"salesOrder/{second}"), json={"orderStatus": {"id": "G"}})
    assert error_of(bad)["o:errorPath"] == "orderStatus"


async def test_sales_order_keeps_its_ship_date(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox, shipDate="2028-02-29"))
    assert (await client.get(url(f"salesOrder/{order_id}"))).json()["shipDate"] == "2028-02-29"
    rows = (await suiteql(client, "SELECT id, shipdate FROM transaction")).json()["items"]
    dates = {row["id"]: row.get("shipdate") for row in rows}
    assert dates[order_id] == "29/02/2028"  # in the account's date format
    bad = await client.post(url("salesOrder"), json=order_body(sandbox, shipDate="2026-02-30"))
    assert error_of(bad)["o:errorPath"] == "shipDate"
    cleared = await client.patch(url(f"salesOrder/{order_id}"), json={"shipDate": None})
    assert cleared.status_code == 204
    assert "shipDate" not in (await client.get(url(f"salesOrder/{order_id}"))).json()


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"entity": {"id": "999999"}}, "entity", "USER_ERROR"),
        ({"entity": {"externalId": "nobody"}}, "entity", "USER_ERROR"),
        ({"subsidiary": {"id": "3"}}, "subsidiary", "USER_ERROR"),
        ({"currency": {"id": "2"}}, "currency", "USER_ERROR"),
        ({"item": {"items": [{"item": {"id": "999"}, "quantity": 1}]}},
         "item.items[0].item", "USER_ERROR"),
        ({"item": {"items": [{"item": {"id": "112"}, "quantity": 1}]}},
         "item.items[0].item", "USER_ERROR"),  # Q2C-9001 is inactive
        ({"item": {"items": [{"item": {"id": "101"}, "quantity": 1},
                             {"item": {"id": "101"}, "quantity": 0}]}},
         "item.items[1].quantity", "USER_ERROR"),
        ({"item": {"items": [{"item": {"id": "101"}, "quantity": -2}]}},
         "item.items[0].quantity", "USER_ERROR"),
        ({"item": {"items": [{"item": {"id": "101"}, "quantity": "many"}]}},
         "item.items[0].quantity", "INVALID_VALUE"),
        ({"item": {"items": [{"item": {"id": "101"}, "quantity": 1, "rate": -1}]}},
         "item.items[0].rate", "USER_ERROR"),
    ],
)  # fmt: skip
async def test_sales_order_validation(
    client: httpx.AsyncClient,
    sandbox: NetSuiteSandbox,
    change: dict[str, Any],
    path: str,
    code: str,
) -> None:
    response = await client.post(url("salesOrder"), json=order_body(sandbox, **change))
    assert response.status_code == 400
    detail = error_of(response)
    assert detail["o:errorPath"] == path
    assert detail["o:errorCode"] == code
    if code == "USER_ERROR":
        assert detail["detail"].startswith(
            "Error while accessing a resource. You have entered an Invalid Field Value "
        )
        assert detail["detail"].endswith(f"for the following field: {path.rsplit('.', 1)[-1]}")
    assert sandbox.records("salesOrder") == []


async def test_sales_order_needs_a_customer_and_lines(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    no_lines = await client.post(url("salesOrder"), json=order_body(sandbox, item={"items": []}))
    assert error_of(no_lines)["detail"] == (
        "Error while accessing a resource. You must enter at least one line item for this "
        "transaction."
    )
    body = order_body(sandbox)
    del body["entity"]
    no_customer = await client.post(url("salesOrder"), json=body)
    assert "Please enter value(s) for: Customer" in error_of(no_customer)["detail"]
    inactive_id = await create(
        client, "customer", {"companyName": "Dormant Ltd", "subsidiary": "2", "isInactive": True}
    )
    inactive = await client.post(
        url("salesOrder"), json=order_body(sandbox, entity={"id": inactive_id})
    )
    assert error_of(inactive)["o:errorPath"] == "entity"
    us_customer = await create(client, "customer", {"companyName": "Yank Inc",
                                                    "subsidiary": "3"})  # fmt: skip
    us_order = await client.post(url("salesOrder"), json={
        "entity": {"id": us_customer},
        "item": {"items": [{"item": {"id": item_id(sandbox, "Q2C-1001")}, "quantity": 1}]},
    })  # fmt: skip
    assert us_order.status_code == 204
    order = sandbox.records("salesOrder")[-1]
    assert order["currency"]["id"] == "2"
    assert order["subsidiary"]["id"] == "3"
    assert order["item"]["items"][0]["rate"] == 5200.0  # the USD list price


async def test_sales_order_patch_merges_or_replaces_lines(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    order_id = await create(client, "salesOrder", order_body(sandbox))
    merged = await client.patch(url(f"salesOrder/{order_id}"), json={"item": {"items": [
        {"line": 1, "quantity": 10},
        {"item": {"id": item_id(sandbox, "Q2C-3001")}, "quantity": 8},
    ]}})  # fmt: skip
    assert merged.status_code == 204
    order = sandbox.records("salesOrder")[0]
    lines = order["item"]["items"]
    assert [(line["line"], line["quantity"]) for line in lines] == [(1, 10.0), (2, 3.0), (3, 8.0)]
    assert lines[0]["amount"] == 10800.0
    assert lines[2]["amount"] == 1000.0  # 8 h at 125.00 GBP
    assert order["total"] == 10800.0 + 599.97 + 1000.0
    replaced = await client.patch(
        url(f"salesOrder/{order_id}"), params={"replace": "item"},
        json={"item": {"items": [
            {"line": 2, "quantity": 1},
            {"item": {"id": item_id(sandbox, "Q2C-1005")}, "quantity": 2},
        ]}},
    )  # fmt: skip
    assert replaced.status_code == 204
    assert replaced.headers["location"] == f"{BASE}{RECORD_ROOT}/salesOrder/{order_id}"
    order = sandbox.records("salesOrder")[0]
    lines = order["item"]["items"]
    assert [(line["line"], line["item"]["refName"]) for line in lines] == [
        (2, "Q2C-2002"), (4, "Q2C-1005"),
    ]  # fmt: skip
    assert order["total"] == 199.99 + 136.8
    bad = await client.patch(
        url(f"salesOrder/{order_id}"), json={"item": {"items": [{"line": 2, "quantity": 0}]}}
    )
    assert bad.status_code == 400
    assert sandbox.records("salesOrder")[0]["total"] == 336.79  # a refused patch changes nothing
    unknown_line = await client.patch(
        url(f"salesOrder/{order_id}"), json={"item": {"items": [{"line": 9, "quantity": 1}]}}
    )
    assert "Item" in error_of(unknown_line)["detail"]  # an unmatched line is a new, itemless one


async def test_customer_address_book_updates(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    customer = await create(client, "customer", {
        "companyName": "Addresses Ltd", "subsidiary": "2",
        "addressBook": {"items": [{
            "defaultBilling": True, "defaultShipping": True, "label": "HQ",
            "addressBookAddress": {"addr1": "1 High St", "city": "Leeds", "zip": "LS1 1AA",
                                   "country": {"id": "GB"}},
        }]},
    })  # fmt: skip
    record = sandbox.record("customer", customer)
    assert record is not None
    first = record["addressBook"]["items"][0]
    assert record["defaultAddress"] == "1 High St\nLeeds LS1 1AA\nUnited Kingdom"
    added = await client.patch(url(f"customer/{customer}"), json={"addressBook": {"items": [
        {"label": "Depot", "defaultBilling": True,
         "addressBookAddress": {"addr1": "2 Dock Rd", "city": "Hull", "country": "GB"}},
    ]}})  # fmt: skip
    assert added.status_code == 204
    record = sandbox.record("customer", customer)
    assert record is not None
    book = record["addressBook"]["items"]
    assert [line["label"] for line in book] == ["HQ", "Depot"]
    assert [line["defaultBilling"] for line in book] == [False, True]  # one default billing
    assert record["defaultAddress"].startswith("2 Dock Rd")
    kept = await client.patch(
        url(f"customer/{customer}"), params={"replace": "addressBook"},
        json={"addressBook": {"items": [{"id": first["id"], "label": "Head office"}]}},
    )  # fmt: skip
    assert kept.status_code == 204
    record = sandbox.record("customer", customer)
    assert record is not None
    assert [line["label"] for line in record["addressBook"]["items"]] == ["Head office"]
    bad_country = await client.patch(url(f"customer/{customer}"), json={"addressBook": {
        "items": [{"addressBookAddress": {"country": "Britain"}}]}})  # fmt: skip
    assert error_of(bad_country)["o:errorPath"] == "addressBook.items[0].addressBookAddress.country"


async def test_sales_order_upsert_is_idempotent(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    body = order_body(sandbox)
    first = await client.put(url("salesOrder/eid:Q2C-ORD-77"), json=body)
    assert first.status_code == 204
    second = await client.put(
        url("salesOrder/eid:Q2C-ORD-77"), json={"memo": "retried", "otherRefNum": "PO-4711"}
    )
    assert second.status_code == 204
    assert first.headers["location"] == second.headers["location"]
    orders = sandbox.records("salesOrder")
    assert len(orders) == 1
    assert orders[0]["externalId"] == "Q2C-ORD-77"
    assert orders[0]["memo"] == "retried"
    duplicate = await client.post(url("salesOrder"), json={**body, "externalId": "Q2C-ORD-77"})
    assert error_of(duplicate)["o:errorCode"] == "DUP_RCRD"


async def test_items_can_be_created_and_must_be_unique(client: httpx.AsyncClient) -> None:
    new_id = await create(
        client,
        "serviceSaleItem",
        {"itemId": "Q2C-4001", "rate": 99.5, "displayName": "Remote Audit"},
    )
    assert new_id == "113"
    item = (await client.get(url(f"serviceSaleItem/{new_id}"))).json()
    assert item["subtype"] == {"id": "Sale", "refName": "For Sale"}
    assert item["rate"] == 99.5
    subsidiaries = (await client.get(url(f"serviceSaleItem/{new_id}/subsidiary"))).json()
    assert [s["refName"] for s in subsidiaries["items"]] == ["ACME Group"]
    assert item["includeChildren"] is True
    await create(client, "inventoryItem", {"itemId": "Q2C-4002", "externalId": "PIM-4002"})
    by_eid = (await client.get(url("inventoryItem/eid:PIM-4002"))).json()
    assert by_eid["itemType"] == {"id": "InvtPart", "refName": "Inventory Item"}
    clash = await client.post(url("serviceSaleItem"),
                              json={"itemId": "Q2C-4003", "externalId": "PIM-4002"})
    assert error_of(clash)["o:errorCode"] == "DUP_RCRD"  # items share one external id space
    taken = await client.post(url("inventoryItem"), json={"itemId": "Q2C-4001"})
    assert error_of(taken)["o:errorPath"] == "itemId"
    nameless = await client.post(url("inventoryItem"), json={"displayName": "x"})
    assert "Item Name/Number" in error_of(nameless)["detail"]


# ================================================================== collections


async def test_list_paging(client: httpx.AsyncClient) -> None:
    first = await client.get(url("customer"), params={"limit": 2})
    assert first.headers["content-type"] == (
        "application/vnd.oracle.resource+json; type=collection"
    )
    page = first.json()
    assert list(page) == ["links", "count", "hasMore", "items", "offset", "totalResults"]
    assert page["count"] == 2
    assert page["hasMore"] is True
    assert page["offset"] == 0
    assert page["totalResults"] == len(UK_ACCOUNTS)
    assert page["items"][0] == {
        "links": [{"rel": "self", "href": f"{BASE}{RECORD_ROOT}/customer/1001"}],
        "id": "1001",
    }
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["self"] == f"{BASE}{RECORD_ROOT}/customer?limit=2&offset=0"
    assert rels["next"] == f"{BASE}{RECORD_ROOT}/customer?limit=2&offset=2"
    assert rels["last"] == f"{BASE}{RECORD_ROOT}/customer?limit=2&offset=4"
    assert "prev" not in rels
    seen = [item["id"] for item in page["items"]]
    next_url = rels["next"]
    while next_url:
        page = (await client.get(next_url)).json()
        seen += [item["id"] for item in page["items"]]
        rels = {link["rel"]: link["href"] for link in page["links"]}
        assert rels["first"].endswith("offset=0")
        next_url = rels.get("next", "")
    assert seen == [str(1001 + n) for n in range(len(UK_ACCOUNTS))]
    assert page["hasMore"] is False
    default = (await client.get(url("inventoryItem"))).json()
    assert default["links"][-1]["href"].endswith("?limit=1000&offset=0")
    beyond = (await client.get(url("customer"), params={"offset": 50})).json()
    assert beyond["items"] == []
    assert beyond["count"] == 0


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"limit": "x"},
                                    {"offset": -1}])  # fmt: skip
async def test_bad_paging_parameters(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get(url("customer"), params=params)
    assert response.status_code == 400
    detail = error_of(response)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["o:errorQueryParam"] == next(iter(params))


@pytest.mark.parametrize(
    ("record_type", "q", "expected"),
    [
        ("customer", 'companyName START_WITH "fab"', ["1001"]),
        ("customer", "companyName START_WITH Fourth", ["1002"]),
        ("customer", 'companyName IS "VanArsdel Ltd"', ["1005"]),
        ("customer", "companyName CONTAIN ltd", ["1001", "1002", "1004", "1005"]),
        ("customer", "companyName CONTAIN_NOT ltd", ["1003"]),
        ("customer", "id ANY_OF [1001, 1003]", ["1001", "1003"]),
        ("customer", "id BETWEEN [1002, 1004]", ["1002", "1003", "1004"]),
        ("customer", "id GREATER_OR_EQUAL 1004", ["1004", "1005"]),
        ("customer", 'vatRegNumber START_WITH "IE"', ["1004"]),
        ("customer", "externalId EMPTY", ["1001", "1002", "1003", "1004", "1005"]),
        ("customer", "externalId EMPTY_NOT", []),
        ("customer", "subsidiary ANY_OF [2]", ["1001", "1002", "1003", "1004", "1005"]),
        ("customer", '(companyName START_WITH "Fab" OR companyName START_WITH "Van") '
                     "AND id LESS 1005", ["1001"]),
        ("inventoryItem", "isInactive IS true", ["112"]),
        ("serviceSaleItem", 'itemId START_WITH "Q2C-3"', ["109", "110", "111"]),
        ("inventoryItem", "rate GREATER 1000", ["101", "103"]),
        ("customer", "dateCreated ON_OR_AFTER 2026-01-05", ["1001", "1002", "1003", "1004",
                                                             "1005"]),
        ("customer", "dateCreated AFTER 1/5/2026", []),
    ],
)  # fmt: skip
async def test_list_q_filter(
    client: httpx.AsyncClient, record_type: str, q: str, expected: list[str]
) -> None:
    response = await client.get(url(record_type), params={"q": q})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == expected
    assert body["totalResults"] == len(expected)
    assert "q=" in body["links"][-1]["href"]


@pytest.mark.parametrize("q", ["nosuchfield IS x", "companyName GREATER 3", "companyName IS",
                               "(companyName IS x", "id BETWEEN [1]", "isInactive IS maybe",
                               "id EQUAL abc", "companyName IS x y"])  # fmt: skip
async def test_bad_q_filter(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get(url("customer"), params={"q": q})
    assert response.status_code == 400
    detail = error_of(response)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["o:errorQueryParam"] == "q"


async def test_filter_sales_orders_by_external_id(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    await create(client, "salesOrder", order_body(sandbox, externalId="Q2C-A"))
    target = await create(client, "salesOrder", order_body(sandbox, externalId="Q2C-B"))
    found = (await client.get(url("salesOrder"), params={"q": 'externalId IS "Q2C-B"'})).json()
    assert [item["id"] for item in found["items"]] == [target]
    by_po = (await client.get(url("salesOrder"), params={"q": "otherRefNum IS PO-4711"})).json()
    assert by_po["totalResults"] == 2


# ====================================================================== SuiteQL


async def test_suiteql_item_lookup(client: httpx.AsyncClient) -> None:
    response = await suiteql(client, "SELECT id, itemid FROM item WHERE itemid = 'Q2C-1001'")
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.oracle.resource+json; type=collection"
    )
    body = response.json()
    assert body == {
        "links": [{"rel": "self", "href": f"{BASE}{SUITEQL_PATH}?limit=1000&offset=0"}],
        "count": 1,
        "hasMore": False,
        "items": [{"links": [], "id": "101", "itemid": "Q2C-1001"}],
        "offset": 0,
        "totalResults": 1,
    }


async def test_suiteql_requires_prefer_transient(client: httpx.AsyncClient) -> None:
    response = await client.post(SUITEQL_PATH, json={"q": "SELECT id FROM item"})
    assert response.status_code == 400
    assert error_of(response)["o:errorHeader"] == "Prefer"
    assert (await client.get(SUITEQL_PATH)).status_code == 405
    empty = await client.post(SUITEQL_PATH, json={"q": " "}, headers=TRANSIENT)
    assert error_of(empty)["o:errorCode"] == "INVALID_CONTENT"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("SELECT itemid FROM item WHERE itemtype = 'Service' AND isinactive = 'F' "
         "ORDER BY itemid DESC", ["Q2C-3003", "Q2C-3002", "Q2C-3001", "Q2C-2003", "Q2C-2002",
                                  "Q2C-2001"]),
        ("SELECT i.itemid FROM item i WHERE i.itemid LIKE 'Q2C-10%' AND i.id > 103",
         ["Q2C-1004", "Q2C-1005"]),
        ("SELECT itemid FROM item WHERE itemid IN ('Q2C-9001', 'Q2C-1002') ORDER BY itemid",
         ["Q2C-1002", "Q2C-9001"]),
        ("SELECT itemid FROM item WHERE isinactive = 'T' OR (id BETWEEN 101 AND 102)",
         ["Q2C-1001", "Q2C-1002", "Q2C-9001"]),
        ("SELECT itemid FROM item WHERE NOT itemtype = 'InvtPart' AND itemid NOT LIKE '%-2%'",
         ["Q2C-3001", "Q2C-3002", "Q2C-3003"]),
        ("SELECT itemid FROM item WHERE itemid = 'q2c-1001'", []),  # '=' is case-sensitive
        ("SELECT itemid FROM item WHERE externalid IS NULL AND id <= 101", ["Q2C-1001"]),
    ],
)  # fmt: skip
async def test_suiteql_where_and_order(
    client: httpx.AsyncClient, q: str, expected: list[str]
) -> None:
    response = await suiteql(client, q)
    assert response.status_code == 200, response.text
    assert [row["itemid"] for row in response.json()["items"]] == expected


async def test_suiteql_tables_values_and_aliases(
    client: httpx.AsyncClient, sandbox: NetSuiteSandbox
) -> None:
    await create(client, "salesOrder", order_body(sandbox, externalId="Q2C-SQL",
                                                  tranDate="2026-03-09"))  # fmt: skip
    rows = (await suiteql(client, "SELECT id, tranid AS Number, trandate, foreigntotal, status, "
                                  "entity FROM transaction WHERE type = 'SalesOrd' AND "
                                  "externalid = 'Q2C-SQL'")).json()["items"]  # fmt: skip
    assert rows == [{"links": [], "id": "5001", "number": "SO1001", "trandate": "09/03/2026",
                     "foreigntotal": "7079.97", "status": "A", "entity": "1001"}]  # fmt: skip
    customers = (await suiteql(client, "select companyname, subsidiary, currency, isperson from "
                                       "customer where id = 1005")).json()["items"]  # fmt: skip
    assert customers == [{"links": [], "companyname": "VanArsdel Ltd", "subsidiary": "2",
                          "currency": "1", "isperson": "F"}]  # fmt: skip
    subs = (await suiteql(client, "SELECT id, name, parent FROM subsidiary ORDER BY id")).json()
    assert subs["items"][0] == {"links": [], "id": "1", "name": "ACME Group"}  # null left out
    assert subs["items"][1]["parent"] == "1"
    everything = (await suiteql(client, "SELECT * FROM currency WHERE symbol = 'JPY'")).json()
    assert everything["items"][0]["exchangerate"] == "0.0053"
    assert everything["items"][0]["isbasecurrency"] == "F"
    distinct = (await suiteql(client, "SELECT DISTINCT itemtype FROM item")).json()
    assert {row["itemtype"] for row in distinct["items"]} == {"InvtPart", "Service"}
    assert distinct["totalResults"] == 2


async def test_suiteql_paging(client: httpx.AsyncClient) -> None:
    first = (await suiteql(client, "SELECT id FROM item ORDER BY id", limit=5)).json()
    assert first["count"] == 5
    assert first["hasMore"] is True
    assert first["totalResults"] == len(demo_data.PRODUCTS)
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert rels["next"] == f"{BASE}{SUITEQL_PATH}?limit=5&offset=5"
    third = (await suiteql(client, "SELECT id FROM item ORDER BY id", limit=5, offset=10)).json()
    assert [row["id"] for row in third["items"]] == ["111", "112"]
    assert third["hasMore"] is False
    too_many = await suiteql(client, "SELECT id FROM item", limit=5000)
    assert error_of(too_many)["o:errorQueryParam"] == "limit"


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("SELECT id FROM vendorthing", "Record 'vendorthing' was not found."),
        ("SELECT nope FROM item", "Field 'nope' for record 'item' was not found."),
        ("SELECT id FROM item WHERE", "expected an identifier but found the end of the query."),
        ("SELECT id, FROM item", "Syntax error"),
        ("UPDATE item SET itemid = 'x'", "Syntax error"),
        ("SELECT id FROM item WHERE id = 'abc'", "Invalid number"),
        ("SELECT x.id FROM item i", "Unknown identifier 'x.id'."),
        ("SELECT id FROM item WHERE trandate = 5", "Field 'trandate'"),
    ],
)  # fmt: skip
async def test_suiteql_errors(client: httpx.AsyncClient, q: str, message: str) -> None:
    response = await suiteql(client, q)
    assert response.status_code == 400
    detail = error_of(response)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["o:errorQueryParam"] == "q"
    assert detail["detail"].startswith("Invalid search query.")
    assert message in detail["detail"]


# ======================================================================= faults


async def test_fail_next_answers_503(client: httpx.AsyncClient, sandbox: NetSuiteSandbox) -> None:
    sandbox.faults.fail_next = 2
    for _ in range(2):
        response = await client.get(url("customer/1001"))
        assert response.status_code == 503
        detail = error_of(response)
        assert response.json()["title"] == "Service Unavailable"
        assert detail["o:errorCode"] == "UNEXPECTED_ERROR"
    assert sandbox.faults.fail_next == 0
    assert (await client.get(url("customer/1001"))).status_code == 200
    sandbox.faults.fail_next = 1
    create_attempt = await client.post(
        url("customer"), json={"companyName": "Lost Ltd", "subsidiary": "2"}
    )
    assert create_attempt.status_code == 503
    assert len(sandbox.records("customer")) == len(UK_ACCOUNTS)  # nothing was written


async def test_latency(client: httpx.AsyncClient, sandbox: NetSuiteSandbox) -> None:
    sandbox.faults.latency_seconds = 0.05
    started = time.monotonic()
    assert (await client.get(url("customer/1001"))).status_code == 200
    assert time.monotonic() - started >= 0.05


async def test_api_calls_counter_and_lifespan(sandbox: NetSuiteSandbox) -> None:
    app = create_app(sandbox)
    assert app.sandbox is sandbox
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH) as http:
        await http.get(url("customer"))
        head = await http.head(url("customer/1001"))
        assert head.status_code == 200
        assert head.content == b""
    assert sandbox.api_calls == 2
