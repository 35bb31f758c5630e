"""Sandbox answers pinned to the Salesforce REST API guide for the endpoints the adapter
uses: sObject update and upsert by external id (by API version), composite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app

V46 = "/services/data/v62.0"
V45 = "/services/data/v45.0"


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    return SalesforceSandbox()


@pytest.fixture
async def client(sandbox: SalesforceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)),
        base_url="http://sf.sandbox",
        headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
    ) as http:
        yield http


def only_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()
    assert isinstance(error, dict)
    return error


async def test_an_update_body_must_not_name_the_id(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    account = sandbox.records("Account")[0]
    response = await client.patch(
        f"{V46}/sobjects/Account/{account['Id']}", json={"id": account["Id"], "Phone": "1"}
    )
    assert only_error(response, 400) == {
        "message": "The Id field should not be specified in the sobject data.",
        "errorCode": "INVALID_FIELD",
    }
    assert next(a for a in sandbox.records("Account") if a["Id"] == account["Id"]) == account


async def test_an_upsert_body_must_not_repeat_the_external_id(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    url = f"{V46}/sobjects/Account/Q2C_Id__c/cus_twice"
    response = await client.patch(url, json={"Name": "Twice", "Q2C_Id__c": "cus_twice"})
    assert only_error(response, 400) == {
        "message": "The Q2C_Id__c field should not be specified in the sobject data.",
        "errorCode": "INVALID_FIELD",
    }
    assert not any(a["Q2C_Id__c"] == "cus_twice" for a in sandbox.records("Account"))


async def test_upserts_answer_by_api_version(client: httpx.AsyncClient) -> None:
    old = f"{V45}/sobjects/Account/Q2C_Id__c/cus_v45"
    created = await client.patch(old, json={"Name": "Version 45"})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": []}
    updated = await client.patch(old, json={"Phone": "45"})
    assert updated.status_code == 204
    assert updated.content == b""
    new = f"{V46}/sobjects/Account/Q2C_Id__c/cus_v45"
    again = await client.patch(new, json={"Phone": "46"})
    assert again.status_code == 200
    assert again.json()["created"] is False


async def test_an_unknown_external_id_field_is_the_documented_not_found(
    client: httpx.AsyncClient,
) -> None:
    response = await client.patch(f"{V46}/sobjects/Account/Nope__c/1", json={"Name": "x"})
    assert only_error(response, 404) == {
        "message": "The requested resource does not exist",
        "errorCode": "NOT_FOUND",
    }


async def test_a_composite_may_carry_sobject_collections_from_v43(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [{
            "method": "POST", "url": f"{V46}/composite/sobjects", "referenceId": "batch",
            "body": {"allOrNone": True, "records": [
                {"attributes": {"type": "Account"}, "Name": "Via composite 1"},
                {"attributes": {"type": "Account"}, "Name": "Via composite 2"},
            ]},
        }],
    }  # fmt: skip
    response = await client.post(f"{V46}/composite", json=body)
    [result] = response.json()["compositeResponse"]
    assert result["httpStatusCode"] == 200
    assert [r["success"] for r in result["body"]] == [True, True]
    names = {a["Name"] for a in sandbox.records("Account")}
    assert {"Via composite 1", "Via composite 2"} <= names
