"""Quote syncing and the Q2C write-back fields in the sandbox's schema: declared fields
are writable, anything else is refused the way Salesforce refuses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.salesforce.app import API_VERSION, STATIC_TOKEN, SalesforceSandbox, create_app

V = f"/services/data/v{API_VERSION}"


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


def first(sandbox: SalesforceSandbox, sobject: str, **match: Any) -> dict[str, Any]:
    return next(
        r for r in sandbox.records(sobject) if all(r[k] == v for k, v in match.items())
    )


async def read(client: httpx.AsyncClient, sobject: str, record_id: str) -> dict[str, Any]:
    response = await client.get(f"{V}/sobjects/{sobject}/{record_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_demo_opportunity_syncs_its_quote(sandbox: SalesforceSandbox) -> None:
    quotes = {q["Id"]: q for q in sandbox.records("Quote")}
    for opportunity in sandbox.records("Opportunity"):
        synced = quotes[opportunity["SyncedQuoteId"]]
        assert synced["OpportunityId"] == opportunity["Id"]
        assert synced["IsSyncing"] is True


async def test_syncing_moves_with_the_opportunitys_synced_quote(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    primary = first(sandbox, "Quote", IsSyncing=True)
    opportunity_id = primary["OpportunityId"]
    created = await client.post(
        f"{V}/sobjects/Quote", json={"Name": "Option B", "OpportunityId": opportunity_id}
    )
    option = created.json()["id"]
    assert (await read(client, "Quote", option))["IsSyncing"] is False
    switched = await client.patch(
        f"{V}/sobjects/Opportunity/{opportunity_id}", json={"SyncedQuoteId": option}
    )
    assert switched.status_code == 204, switched.text
    assert (await read(client, "Quote", option))["IsSyncing"] is True
    assert (await read(client, "Quote", primary["Id"]))["IsSyncing"] is False
    assert (await client.delete(f"{V}/sobjects/Quote/{option}")).status_code == 204
    assert (await read(client, "Opportunity", opportunity_id))["SyncedQuoteId"] is None


async def test_only_a_quote_of_the_opportunity_can_sync_and_syncing_is_read_only(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = first(sandbox, "Quote", IsSyncing=True)
    other = next(
        o for o in sandbox.records("Opportunity") if o["Id"] != quote["OpportunityId"]
    )
    foreign = await client.patch(
        f"{V}/sobjects/Opportunity/{other['Id']}", json={"SyncedQuoteId": quote["Id"]}
    )
    assert foreign.status_code == 400
    assert foreign.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert foreign.json()[0]["fields"] == ["SyncedQuoteId"]
    flag = await client.patch(f"{V}/sobjects/Quote/{quote['Id']}", json={"IsSyncing": False})
    assert flag.status_code == 400
    assert flag.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


async def test_the_q2c_fields_are_declared_and_undeclared_ones_are_refused(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = first(sandbox, "Quote", IsSyncing=True)
    described = (await client.get(f"{V}/sobjects/Quote/describe")).json()
    custom = {f["name"] for f in described["fields"] if f["custom"]}
    assert custom == {
        "Q2C_Transaction_Id__c", "Q2C_Order_Number__c", "Q2C_Invoice_Number__c",
        "Q2C_Payment_Status__c", "Q2C_Stage__c",
    }  # fmt: skip
    ok = await client.patch(
        f"{V}/sobjects/Quote/{quote['Id']}", json={"Q2C_Order_Number__c": "SO-1"}
    )
    assert ok.status_code == 204
    unknown = await client.patch(
        f"{V}/sobjects/Quote/{quote['Id']}", json={"Q2C_Shipment__c": "x"}
    )
    assert unknown.status_code == 400
    assert unknown.json() == [
        {
            "message": "No such column 'Q2C_Shipment__c' on sobject of type Quote",
            "errorCode": "INVALID_FIELD",
        }
    ]
    query = await client.get(f"{V}/query", params={"q": "SELECT Q2C_Shipment__c FROM Quote"})
    assert query.status_code == 400
    [error] = query.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Q2C_Shipment__c' on entity 'Quote'" in error["message"]
    too_long = await client.patch(
        f"{V}/sobjects/Opportunity/{quote['OpportunityId']}", json={"Q2C_Stage__c": "x" * 41}
    )
    assert too_long.status_code == 400
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG"
