"""SOQL paging limits the sandbox must enforce like Salesforce: the 2,000-row OFFSET cap,
OFFSET answering one batch only, and Id range filters (the keyset that pages deeper)."""

# ruff: noqa: S608 - the SOQL here embeds ids the sandbox itself minted

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.salesforce.app import API_VERSION, STATIC_TOKEN, SalesforceSandbox, create_app
from tests.support.salesforce import seed_accounts

V = f"/services/data/v{API_VERSION}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(SalesforceSandbox(seed=False)))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://sf.sandbox",
        headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
    ) as http:
        yield http


async def soql(client: httpx.AsyncClient, text: str, **headers: str) -> httpx.Response:
    return await client.get(f"{V}/query", params={"q": text}, headers=headers)


async def records(client: httpx.AsyncClient, text: str) -> list[dict[str, Any]]:
    response = await soql(client, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["done"] is True
    found: list[dict[str, Any]] = body["records"]
    return found


async def test_an_offset_past_2000_is_refused_with_salesforces_error(
    client: httpx.AsyncClient,
) -> None:
    response = await soql(client, "SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 2001")
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "Maximum SOQL offset allowed for apiName Account is 2000",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
        }
    ]
    at_the_cap = await soql(client, "SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 2000")
    assert at_the_cap.status_code == 200
    assert at_the_cap.json() == {"totalSize": 0, "done": True, "records": []}


async def test_a_query_with_offset_answers_its_first_batch_only(
    client: httpx.AsyncClient,
) -> None:
    await seed_accounts(client, 30, prefix="Batch")
    options = {"Sforce-Query-Options": "batchSize=10"}
    plain = (await soql(client, "SELECT Id FROM Account", **options)).json()
    assert plain["done"] is False
    assert plain["totalSize"] == 30
    with_offset = (await soql(client, "SELECT Id FROM Account OFFSET 5", **options)).json()
    assert with_offset["done"] is True
    assert "nextRecordsUrl" not in with_offset
    assert with_offset["totalSize"] == len(with_offset["records"]) == 10


async def test_id_ranges_page_in_id_order_with_15_or_18_character_ids(
    client: httpx.AsyncClient,
) -> None:
    ids = await seed_accounts(client, 12, prefix="Keyset")
    assert ids == sorted(ids)  # minted in ascending base-62 order
    after_third = await records(
        client, f"SELECT Id FROM Account WHERE Id > '{ids[2]}' ORDER BY Id LIMIT 4"
    )
    assert [r["Id"] for r in after_third] == ids[3:7]
    by_15 = await records(
        client,
        f"SELECT Id FROM Account WHERE Id >= '{ids[2][:15]}' AND Id < '{ids[5]}' ORDER BY Id",
    )
    assert [r["Id"] for r in by_15] == ids[2:5]
    descending = await records(
        client, f"SELECT Id FROM Account WHERE Id <= '{ids[1]}' ORDER BY Id DESC"
    )
    assert [r["Id"] for r in descending] == [ids[1], ids[0]]


async def test_booleans_still_compare_only_for_equality(client: httpx.AsyncClient) -> None:
    response = await soql(client, "SELECT Id FROM Product2 WHERE IsActive > true")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
