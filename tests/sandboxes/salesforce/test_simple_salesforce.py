"""The vendor's own client (simple-salesforce) against the sandbox served over real HTTPS."""

# ruff: noqa: S608 - the SOQL here embeds ids the sandbox itself minted

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sandboxes import demo_data
from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from sandboxes.salesforce.oauth import INTEGRATION_USER
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


# ------------------------------------------- every operation the gateway's adapter uses


class ToSandbox(HTTPAdapter):
    """Sends what simple-salesforce addresses to ``https://<domain>.salesforce.com`` (its
    token endpoints are hard-wired to that host) to the sandbox instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith(".salesforce.com"):
            request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


@pytest.fixture(scope="module")
def login_session(org: Org) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = org.sf.session.verify
        session.mount("https://", ToSandbox(org.base_url))
        yield session


@pytest.fixture(scope="module")
def rsa_pem(org: Org) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org.sandbox.connected_app.trust_certificate(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_jwt_bearer_login_and_a_renewed_session(
    org: Org, login_session: requests.Session, rsa_pem: str
) -> None:
    sf = Salesforce(
        username=INTEGRATION_USER, consumer_key="q2c-gateway", privatekey=rsa_pem,
        domain="login", session=login_session, version="62.0",
    )  # fmt: skip
    assert sf.base_url == f"{org.base_url}/services/data/v62.0/"
    first_session = sf.session_id
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    org.sandbox.connected_app.expire_sessions()
    account = org.sandbox.records("Account")[0]
    # simple-salesforce logs in again on INVALID_SESSION_ID, as the adapter does.
    assert sf.Account.get(account["Id"])["Name"] == account["Name"]
    assert sf.session_id != first_session


def test_client_credentials_login(org: Org, login_session: requests.Session) -> None:
    sf = Salesforce(
        consumer_key="q2c-gateway", consumer_secret="sandbox-secret", domain="acme.my",
        session=login_session, version="62.0",
    )  # fmt: skip
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        Salesforce(
            consumer_key="q2c-gateway", consumer_secret="wrong", domain="acme.my",
            session=login_session, version="62.0",
        )  # fmt: skip
    assert refused.value.code == "invalid_client"


def test_keyset_pages_and_the_offset_cap(org: Org) -> None:
    ids = sorted(a["Id"] for a in org.sandbox.records("Account"))
    page = org.sf.query(f"SELECT Id FROM Account WHERE Id > '{ids[1]}' ORDER BY Id LIMIT 3")
    assert [r["Id"] for r in page["records"]] == ids[2:5]
    with pytest.raises(SalesforceMalformedRequest) as capped:
        org.sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1 OFFSET 2001")
    assert content(capped) == [{
        "message": "Maximum SOQL offset allowed for apiName Account is 2000",
        "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
    }]  # fmt: skip


def test_get_with_a_field_list(org: Org) -> None:
    quote = next(q for q in org.sandbox.records("Quote") if q["IsSyncing"])
    record = org.sf.Quote.get(quote["Id"], params={"fields": "Id,OpportunityId,IsSyncing"})
    assert set(record) == {"attributes", "Id", "OpportunityId", "IsSyncing"}
    assert record["IsSyncing"] is True


def test_upsert_on_api_45_answers_204_and_keys_stay_out_of_bodies(org: Org) -> None:
    old = Salesforce(
        instance_url=org.base_url, session_id=STATIC_TOKEN, session=org.sf.session,
        version="45.0",
    )  # fmt: skip
    assert old.Account.upsert("Q2C_Id__c/cus_simple_45", {"Name": "Forty-five"}) == 201
    assert old.Account.upsert("Q2C_Id__c/cus_simple_45", {"Phone": "45"}) == 204
    with pytest.raises(SalesforceMalformedRequest) as repeated:
        org.sf.Account.upsert("Q2C_Id__c/cus_simple_45", {"Q2C_Id__c": "cus_simple_45"})
    assert content(repeated)[0]["errorCode"] == "INVALID_FIELD"
    record_id = org.sf.Account.get_by_custom_id("Q2C_Id__c", "cus_simple_45")["Id"]
    with pytest.raises(SalesforceMalformedRequest) as with_id:
        org.sf.Account.update(record_id, {"Id": record_id, "Phone": "1"})
    assert content(with_id) == [{
        "message": "The Id field should not be specified in the sobject data.",
        "errorCode": "INVALID_FIELD",
    }]  # fmt: skip


def test_write_back_fields_and_the_composite_that_carries_them(org: Org) -> None:
    quote = next(q for q in org.sandbox.records("Quote") if q["IsSyncing"])
    assert org.sf.Quote.update(quote["Id"], {"Q2C_Transaction_Id__c": "txn_simple"}) == 204
    assert org.sf.Quote.get(quote["Id"])["Q2C_Transaction_Id__c"] == "txn_simple"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        org.sf.Quote.update(quote["Id"], {"Q2C_Tracking__c": "1Z999"})
    assert content(unknown) == [{
        "message": "No such column 'Q2C_Tracking__c' on sobject of type Quote",
        "errorCode": "INVALID_FIELD",
    }]  # fmt: skip
    root = "/services/data/v62.0/sobjects"
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "PATCH", "url": f"{root}/Quote/{quote['Id']}", "referenceId": "quote",
         "body": {"Q2C_Order_Number__c": "SO-SIMPLE"}},
        {"method": "PATCH", "url": f"{root}/Opportunity/{quote['OpportunityId']}",
         "referenceId": "opportunity", "body": {"Q2C_Order_Number__c": "SO-SIMPLE"}},
    ]}  # fmt: skip
    result = org.sf.restful("composite", method="POST", json=body)
    assert result is not None
    assert [r["httpStatusCode"] for r in result["compositeResponse"]] == [204, 204]
    assert org.sf.Opportunity.get(quote["OpportunityId"])["Q2C_Order_Number__c"] == "SO-SIMPLE"
