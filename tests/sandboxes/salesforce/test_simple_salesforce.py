"""The vendor's own client (simple-salesforce) against the sandbox served over real HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sandboxes import demo_data
from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from tests.support.servers import serve_in_thread
from tests.support.tls import make_tls

pytestmark = pytest.mark.e2e


@dataclass
class Org:
    sandbox: SalesforceSandbox
    sf: Any  # simple-salesforce types attribute access as a bulk-handler union
    base_url: str


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    sandbox = SalesforceSandbox()
    with (
        serve_in_thread(
            create_app(sandbox), ssl_certfile=str(tls.cert_file), ssl_keyfile=str(tls.key_file)
        ) as base_url,
        requests.Session() as session,
    ):
        # Trust exactly the test CA. trust_env=False matters: requests lets REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE from the environment override Session.verify (psf/requests#3829), and
        # proxy variables must not capture loopback traffic either.
        session.trust_env = False
        session.verify = str(tls.ca_file)
        sf = Salesforce(
            instance_url=base_url, session_id=STATIC_TOKEN, session=session, version="62.0"
        )
        yield Org(sandbox, sf, base_url)


def content(error: pytest.ExceptionInfo[Exception]) -> Any:
    """The decoded error body a simple-salesforce exception carries."""
    return getattr(error.value, "content", None)


def account_id(org: Org, name: str) -> str:
    return str(next(a["Id"] for a in org.sandbox.records("Account") if a["Name"] == name))


def test_the_client_talks_https_to_the_sandbox(org: Org) -> None:
    assert org.base_url.startswith("https://127.0.0.1:")
    assert org.sf.base_url == f"{org.base_url}/services/data/v62.0/"


def test_query(org: Org) -> None:
    result = org.sf.query(
        "SELECT Id, Name, BillingCountryCode FROM Account WHERE BillingCountryCode = 'DE' "
        "ORDER BY Name"
    )
    assert result["totalSize"] == 2
    assert result["done"] is True
    assert [r["Name"] for r in result["records"]] == [
        "Litware Software GmbH",
        "Northwind Traders GmbH",
    ]
    assert result["records"][0]["attributes"]["type"] == "Account"


def test_query_all_follows_next_records_url(org: Org) -> None:
    calls_before = org.sandbox.api_calls
    result = org.sf.query_all(
        "SELECT Id, ProductCode, UnitPrice FROM PricebookEntry ORDER BY ProductCode",
        headers={"Sforce-Query-Options": "batchSize=20"},
    )
    expected = 2 * sum(len(p.list_prices) for p in demo_data.PRODUCTS)
    assert result["totalSize"] == expected
    assert len({r["Id"] for r in result["records"]}) == expected
    assert org.sandbox.api_calls - calls_before == -(-expected // 20)  # one call per page
    codes = [r["ProductCode"] for r in result["records"]]
    assert codes == sorted(codes)


def test_account_create_get_update_delete(org: Org) -> None:
    created = org.sf.Account.create({"Name": "Simple Salesforce GmbH", "BillingCountryCode": "DE"})
    assert created["success"] is True
    assert created["errors"] == []
    record_id = created["id"]
    record = org.sf.Account.get(record_id)
    assert record["Name"] == "Simple Salesforce GmbH"
    assert record["BillingCountry"] == "Germany"
    assert record["attributes"]["url"].endswith(record_id)

    assert org.sf.Account.update(record_id, {"Phone": "+49 40 0000"}) == 204
    assert org.sf.Account.get(record_id)["Phone"] == "+49 40 0000"

    assert org.sf.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as missing:
        org.sf.Account.get(record_id)
    assert content(missing)[0]["errorCode"] == "NOT_FOUND"


def test_upsert_and_get_by_custom_id(org: Org) -> None:
    data = {"Name": "Upserted via simple-salesforce", "BillingCountryCode": "FR"}
    assert org.sf.Account.upsert("Q2C_Id__c/cus_simple_1", data) == 201
    assert org.sf.Account.upsert("Q2C_Id__c/cus_simple_1", {"Phone": "+33 1"}) == 200
    record = org.sf.Account.get_by_custom_id("Q2C_Id__c", "cus_simple_1")
    assert record["Name"] == "Upserted via simple-salesforce"
    assert record["Phone"] == "+33 1"
    assert record["Q2C_Id__c"] == "cus_simple_1"
    raw = org.sf.Account.upsert("Q2C_Id__c/cus_simple_1", {"Phone": "+33 2"}, raw_response=True)
    assert raw.json()["created"] is False


def test_vendor_exceptions_for_error_responses(org: Org) -> None:
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        org.sf.Account.create({"Website": "no-name.example"})
    assert content(malformed) == [{
        "message": "Required fields are missing: [Name]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["Name"],
    }]  # fmt: skip
    org.sf.Account.create({"Name": "Twin A", "SAP_Business_Partner__c": "7700"})
    org.sf.Account.create({"Name": "Twin B", "SAP_Business_Partner__c": "7700"})
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        org.sf.Account.get_by_custom_id("SAP_Business_Partner__c", "7700")
    assert len(content(several)) == 2
    with pytest.raises(SalesforceMalformedRequest) as bad_query:
        org.sf.query("SELECT Nope FROM Account")
    assert content(bad_query)[0]["errorCode"] == "INVALID_FIELD"


def test_expired_session(org: Org) -> None:
    stale = Salesforce(
        instance_url=org.base_url, session_id="00Dstale!token", session=org.sf.session,
        version="62.0",
    )  # fmt: skip
    with pytest.raises(SalesforceExpiredSession) as expired:
        stale.query("SELECT Id FROM Account")
    assert content(expired)[0]["errorCode"] == "INVALID_SESSION_ID"


def test_product_get_and_describe(org: Org) -> None:
    product = next(p for p in org.sandbox.records("Product2") if p["ProductCode"] == "Q2C-1003")
    record = org.sf.Product2.get(product["Id"])
    assert record["Name"] == "Industrial Sensor Hub S8"
    assert record["IsActive"] is True
    described = org.sf.Product2.describe()
    assert {f["name"] for f in described["fields"]} >= {"Name", "ProductCode", "IsActive"}
    global_describe = org.sf.describe()
    assert global_describe is not None
    assert "Quote" in {o["name"] for o in global_describe["sobjects"]}


def test_restful_composite(org: Org) -> None:
    account = account_id(org, "Contoso Manufacturing Inc.")
    body: dict[str, Any] = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": "/services/data/v62.0/sobjects/Opportunity",
             "referenceId": "opp",
             "body": {"Name": "Via restful", "AccountId": account, "StageName": "Prospecting",
                      "CloseDate": "2027-05-31", "CurrencyIsoCode": "USD"}},
            {"method": "GET",
             "url": "/services/data/v62.0/sobjects/Opportunity/@{opp.id}?fields=Name,AccountId",
             "referenceId": "read"},
        ],
    }  # fmt: skip
    result = org.sf.restful("composite", method="POST", json=body)
    assert result is not None
    created, read = result["compositeResponse"]
    assert created["httpStatusCode"] == 201
    assert read["httpStatusCode"] == 200
    assert read["body"]["AccountId"] == account
