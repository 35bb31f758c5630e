"""The Salesforce REST client's session handling and error arrays, against scripted responses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from domains.errors import DependencyRejected, DependencyUnavailable
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import SYSTEM, translate
from tests.support.fakes import scripted

BASE = "https://acme.my.salesforce.example"
ROOT = "/services/data/v62.0"
CREDENTIALS = SalesforceAuth(client_id="q2c", client_secret="s3cret")


@pytest.fixture
async def fake() -> AsyncIterator[tuple[respx.MockRouter, SalesforceClient]]:
    async with scripted(BASE, SYSTEM, translate) as (router, upstream):
        yield router, SalesforceClient(upstream, CREDENTIALS)


def _token(value: str) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "instance_url": BASE})


async def test_an_expired_session_logs_in_again_once(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    login = router.post("/services/oauth2/token").mock(
        side_effect=[_token("first"), _token("second")]
    )
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    query = router.get(f"{ROOT}/query").mock(
        side_effect=[
            httpx.Response(401, json=expired),
            httpx.Response(200, json={"totalSize": 0, "done": True, "records": []}),
        ]
    )  # fmt: skip
    result = await client.query("SELECT Id FROM Account", operation="Account.query")
    assert result.records == []
    assert login.call_count == 2
    assert b"grant_type=client_credentials" in login.calls.last.request.content
    assert [call.request.headers["authorization"] for call in query.calls] == [
        "Bearer first",
        "Bearer second",
    ]


async def test_a_session_refused_twice_is_unavailable_not_a_loop(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    query = router.get(f"{ROOT}/query").mock(
        return_value=httpx.Response(
            401, json=[{"message": "no", "errorCode": "INVALID_SESSION_ID"}]
        )
    )
    with pytest.raises(DependencyUnavailable, match="INVALID_SESSION_ID"):
        await client.query("SELECT Id FROM Account", operation="Account.query")
    assert query.call_count == 2


async def test_an_upsert_answered_without_a_body_finds_the_id_by_its_external_id(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    router.patch(f"{ROOT}/sobjects/Account/Q2C_Id__c/cus_1").mock(return_value=httpx.Response(204))
    lookup = router.get(f"{ROOT}/query").mock(
        return_value=httpx.Response(
            200, json={"totalSize": 1, "done": True, "records": [{"Id": "001Q2000000abcDEF"}]}
        )
    )
    assert (
        await client.upsert("Account", "Q2C_Id__c", "cus_1", {"Name": "N"}) == "001Q2000000abcDEF"
    )
    assert lookup.calls.last.request.url.params["q"] == (
        "SELECT Id FROM Account WHERE Q2C_Id__c = 'cus_1' LIMIT 1"
    )


async def test_an_error_array_becomes_a_rejection_naming_each_field(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    router.patch(f"{ROOT}/sobjects/Account/001Q2000000abcDEF").mock(
        return_value=httpx.Response(
            400,
            json=[
                {
                    "message": "Billing Country: bad value",
                    "errorCode": "FIELD_INTEGRITY_EXCEPTION",
                    "fields": ["BillingCountry", "BillingCountryCode"],
                }
            ],
        )
    )
    with pytest.raises(DependencyRejected) as rejected:
        await client.update("Account", "001Q2000000abcDEF", {"BillingCountry": "Atlantis"})
    assert rejected.value.vendor_code == "FIELD_INTEGRITY_EXCEPTION"
    assert [issue.field for issue in rejected.value.errors] == [
        "BillingCountry",
        "BillingCountryCode",
    ]


async def test_a_malformed_id_reads_as_no_record(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    read = router.get(f"{ROOT}/sobjects/Account/not-an-id").mock(
        return_value=httpx.Response(400, json=[{"message": "bad id", "errorCode": "MALFORMED_ID"}])
    )
    assert await client.get("Account", "not-an-id", ("Id", "Name")) is None
    assert read.calls.last.request.url.params["fields"] == "Id,Name"
