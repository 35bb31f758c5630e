"""The quote-to-cash transaction's progress written back to Salesforce: the quote always,
its opportunity while the quote syncs, both in one all-or-none call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from domains.errors import DependencyRejected
from domains.quote.ports import QuoteProgress
from sandboxes.salesforce.app import API_VERSION, SalesforceSandbox
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import SYSTEM, translate
from tests.support.fakes import scripted
from tests.systems.salesforce.support import Wired, wired

V = f"/services/data/v{API_VERSION}"
ORDER = QuoteProgress(transaction_id="txn_01JQ2C", order_number="SO-4711", stage="ordered")


@pytest.fixture
async def org() -> AsyncIterator[Wired]:
    async with wired(SalesforceSandbox()) as wired_org:
        yield wired_org


def record(org: Wired, sobject: str, record_id: str) -> dict[str, Any]:
    return next(r for r in org.sandbox.records(sobject) if r["Id"] == record_id)


def synced_quote(org: Wired) -> dict[str, Any]:
    return next(q for q in org.sandbox.records("Quote") if q["IsSyncing"])


async def test_progress_lands_on_the_quote_and_its_synced_opportunity(org: Wired) -> None:
    quote = synced_quote(org)
    await org.adapter.write_back(quote["Id"], ORDER)
    written = record(org, "Quote", quote["Id"])
    assert written["Q2C_Transaction_Id__c"] == "txn_01JQ2C"
    assert written["Q2C_Order_Number__c"] == "SO-4711"
    assert written["Q2C_Stage__c"] == "ordered"
    assert written["Q2C_Invoice_Number__c"] is None
    opportunity = record(org, "Opportunity", quote["OpportunityId"])
    assert opportunity["SyncedQuoteId"] == quote["Id"]
    assert opportunity["Q2C_Order_Number__c"] == "SO-4711"
    assert opportunity["Q2C_Stage__c"] == "ordered"
    composite = [r for r in org.transport.requests if r.url.path == f"{V}/composite"]
    [call] = composite
    sent = json.loads(call.content)
    assert sent["allOrNone"] is True
    assert [sub["method"] for sub in sent["compositeRequest"]] == ["PATCH", "PATCH"]


async def test_the_same_progress_twice_changes_nothing_and_later_parts_add_up(
    org: Wired,
) -> None:
    quote = synced_quote(org)
    await org.adapter.write_back(quote["Id"], ORDER)
    first = record(org, "Quote", quote["Id"])
    await org.adapter.write_back(quote["Id"], ORDER)
    again = record(org, "Quote", quote["Id"])
    assert {k: v for k, v in again.items() if k.startswith("Q2C_")} == {
        k: v for k, v in first.items() if k.startswith("Q2C_")
    }
    paid = QuoteProgress(
        transaction_id="txn_01JQ2C", invoice_number="INV-0042", payment_status="paid",
        stage="paid",
    )  # fmt: skip
    await org.adapter.write_back(quote["Id"], paid)
    later = record(org, "Quote", quote["Id"])
    assert later["Q2C_Order_Number__c"] == "SO-4711"  # not blanked by the partial update
    assert later["Q2C_Invoice_Number__c"] == "INV-0042"
    assert later["Q2C_Payment_Status__c"] == "paid"
    assert record(org, "Opportunity", quote["OpportunityId"])["Q2C_Stage__c"] == "paid"


async def test_a_quote_that_does_not_sync_leaves_the_opportunity_alone(org: Wired) -> None:
    primary = synced_quote(org)
    created = await org.direct.post(
        f"{V}/sobjects/Quote",
        json={"Name": "Alternative offer", "OpportunityId": primary["OpportunityId"]},
    )
    assert created.status_code == 201, created.text
    alternative = created.json()["id"]
    assert record(org, "Quote", alternative)["IsSyncing"] is False
    await org.adapter.write_back(alternative, ORDER)
    assert record(org, "Quote", alternative)["Q2C_Order_Number__c"] == "SO-4711"
    opportunity = record(org, "Opportunity", primary["OpportunityId"])
    assert opportunity["Q2C_Order_Number__c"] is None
    assert not any(r.url.path.endswith("/composite") for r in org.transport.requests)


async def test_a_quote_salesforce_no_longer_has_is_a_rejection(org: Wired) -> None:
    with pytest.raises(DependencyRejected) as rejected:
        await org.adapter.write_back("0Q0Q2000000ZZZZAAA", ORDER)
    assert rejected.value.vendor_code == "NOT_FOUND"


async def test_a_failed_subrequest_is_reported_not_the_rollback_it_caused() -> None:
    base = "https://acme.my.salesforce.example"
    root = "/services/data/v62.0"
    async with scripted(base, SYSTEM, translate) as (router, upstream):
        adapter = SalesforceAdapter(
            SalesforceClient(upstream, SalesforceAuth(access_token="00Dfixed"))
        )
        router.get(f"{root}/sobjects/Quote/0Q0Q20000000001AAA").mock(
            return_value=httpx.Response(200, json={
                "Id": "0Q0Q20000000001AAA", "OpportunityId": "006Q20000000001AAA",
                "IsSyncing": True,
            })
        )  # fmt: skip
        halted = [{"errorCode": "PROCESSING_HALTED", "message": "rolled back"}]
        missing = [{
            "message": "No such column 'Q2C_Stage__c' on sobject of type Opportunity",
            "errorCode": "INVALID_FIELD",
        }]  # fmt: skip
        router.post(f"{root}/composite").mock(
            return_value=httpx.Response(200, json={"compositeResponse": [
                {"body": halted, "httpHeaders": {}, "httpStatusCode": 400,
                 "referenceId": "quote"},
                {"body": missing, "httpHeaders": {}, "httpStatusCode": 400,
                 "referenceId": "opportunity"},
            ]})
        )  # fmt: skip
        with pytest.raises(DependencyRejected) as rejected:
            await adapter.write_back("0Q0Q20000000001AAA", ORDER)
    assert rejected.value.vendor_code == "INVALID_FIELD"
    assert "Q2C_Stage__c" in rejected.value.vendor_message


async def test_a_composite_takes_at_most_25_subrequests() -> None:
    async with scripted("https://x.example", SYSTEM, translate) as (router, upstream):
        client = SalesforceClient(upstream, SalesforceAuth(access_token="t"))
        get = {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "r"}
        with pytest.raises(ValueError, match="1 to 25"):
            await client.composite([get] * 26, operation="too.many")
    assert not router.calls

