"""Avalara's own Python SDK (PyPI ``Avalara``) against the sandbox served over real HTTP.

``AvataxClient(environment=...)`` accepts any ``http://``/``https://`` URL as its base, so
the SDK talks to the sandbox unchanged. Its methods return ``requests`` responses; its
logging decorator reads the ``x-correlation-id`` response header on every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from avalara import AvataxClient
from avalara.transaction_builder import TransactionBuilder

from sandboxes.avalara.app import API_VERSION, AvalaraSandbox, create_app
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.e2e

ACCOUNT, LICENSE = "2000123456", "q2c-sandbox-license"
SEATTLE = {"line1": "1100 2nd Ave", "city": "Seattle", "region": "WA", "country": "US",
           "postalCode": "98101"}  # fmt: skip
NEW_YORK = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "country": "US",
            "postalCode": "10118"}  # fmt: skip


@dataclass
class Account:
    sandbox: AvalaraSandbox
    client: Any  # the SDK is untyped
    base_url: str


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    sandbox = AvalaraSandbox()
    with serve_in_thread(create_app(sandbox)) as base_url:
        client = AvataxClient("q2c-tests", "1.0", "ci", base_url).add_credentials(ACCOUNT, LICENSE)
        yield Account(sandbox, client, base_url)


def sales_model(code: str, doc_type: str, *, commit: bool = False) -> dict[str, Any]:
    return {
        "type": doc_type, "code": code, "companyCode": "ACME", "date": "2026-01-05",
        "customerCode": "CUST-7", "commit": commit, "currencyCode": "USD",
        "addresses": {"shipFrom": SEATTLE, "shipTo": NEW_YORK},
        "lines": [
            {"number": "1", "quantity": 4, "amount": 20800, "taxCode": "P0000000",
             "itemCode": "Q2C-1001", "description": "Edge Gateway Appliance G2"},
            {"number": "2", "quantity": 16, "amount": 2560, "taxCode": "SV",
             "itemCode": "Q2C-3001", "description": "Installation Service (per hour)"},
        ],
    }  # fmt: skip


def test_the_sdk_targets_the_sandbox_url(account: Account) -> None:
    assert account.base_url.startswith("http://127.0.0.1:")
    assert account.client.base_url == account.base_url


def test_ping(account: Account) -> None:
    response = account.client.ping()
    assert response.status_code == 200
    assert response.json()["version"] == API_VERSION
    assert response.json()["authenticated"] is True
    assert response.json()["authenticatedAccountId"] == int(ACCOUNT)
    anonymous = AvataxClient("q2c-tests", "1.0", "ci", account.base_url)
    assert anonymous.ping().json()["authenticated"] is False


def test_sales_order_estimate_is_not_recorded(account: Account) -> None:
    response = account.client.create_transaction(sales_model("SDK-Q-1", "SalesOrder"))
    assert response.status_code == 201
    estimate = response.json()
    assert estimate["status"] == "Temporary"
    # 20800 * 8.875 % (4 + 4.5 + 0.375); installation services are not taxed in NY
    assert Decimal(str(estimate["totalTax"])) == Decimal("1846.00")
    assert [line["isItemTaxable"] for line in estimate["lines"]] == [True, False]
    missing = account.client.get_transaction_by_code("ACME", "SDK-Q-1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "EntityNotFoundError"


def test_sales_invoice_commit_and_retry(account: Account) -> None:
    created = account.client.create_transaction(sales_model("SDK-INV-1", "SalesInvoice"))
    assert created.status_code == 201
    assert created.json()["status"] == "Saved"

    fetched = account.client.get_transaction_by_code("ACME", "SDK-INV-1", {"$include": "Lines"})
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "Saved"
    assert "details" not in fetched.json()["lines"][0]

    committed = account.client.commit_transaction("ACME", "SDK-INV-1", {"commit": True})
    assert committed.status_code == 200
    assert committed.json()["status"] == "Committed"

    retry = account.client.create_transaction(sales_model("SDK-INV-1", "SalesInvoice"))
    assert retry.status_code == 400
    assert retry.json()["error"]["code"] == "DocumentCodeConflict"
    after = account.client.get_transaction_by_code("ACME", "SDK-INV-1").json()
    assert after["status"] == "Committed"
    assert after["totalTax"] == created.json()["totalTax"]
    assert [t["code"] for t in account.sandbox.transactions()].count("SDK-INV-1") == 1


def test_transaction_builder_commit_then_void(account: Account) -> None:
    response = (
        TransactionBuilder(account.client, "ACME", "SalesInvoice", "CUST-8")
        .with_address("ShipTo", {"line1": "500 W 2nd St", "city": "Austin", "region": "TX",
                                 "country": "US", "postalCode": "78701"})
        .with_line(1000, 1, "Q2C-2003", "SW054000")
        .with_exempt_line(50, "Q2C-1005", "RESALE-77")
        .with_transaction_code("SDK-INV-2")
        .with_commit()
        .create()
    )  # fmt: skip
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["status"] == "Committed"
    saas, exempt = invoice["lines"]
    assert Decimal(str(saas["tax"])) == Decimal("82.50")  # SaaS is taxable in Texas (8.25 %)
    assert Decimal(str(exempt["exemptAmount"])) == 50
    assert exempt["exemptNo"] == "RESALE-77"

    voided = account.client.void_transaction("ACME", "SDK-INV-2", {"code": "DocVoided"})
    assert voided.status_code == 200
    assert voided.json()["status"] == "Cancelled"
    by_id = account.client.get_transaction_by_id(invoice["id"])
    assert by_id.json()["status"] == "Cancelled"


def test_sdk_sees_avatax_errors(account: Account) -> None:
    stranger = AvataxClient("q2c-tests", "1.0", "ci", account.base_url).add_credentials(
        ACCOUNT, "wrong-license"
    )
    denied = stranger.create_transaction(sales_model("SDK-X", "SalesOrder"))
    assert denied.status_code == 401
    assert denied.json()["error"]["details"][0]["number"] == 30

    no_lines = sales_model("SDK-X", "SalesOrder") | {"lines": []}
    invalid = account.client.create_transaction(no_lines)
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "MissingLine"

    account.sandbox.faults.fail_next = 1
    unavailable = account.client.ping()
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["code"] == "ServiceNotReady"
    assert account.client.ping().status_code == 200


def test_without_include_the_sdk_gets_the_documented_default(account: Account) -> None:
    """AvaTax: "If you omit the $include parameter, the API will assume you want
    Summary,Addresses" (Summary implies details, details imply lines)."""
    bare = account.client.create_transaction(sales_model("SDK-INC-1", "SalesOrder")).json()
    explicit = account.client.create_transaction(
        sales_model("SDK-INC-1", "SalesOrder"), {"$include": "Summary,Addresses"}
    ).json()
    assert all("details" in line for line in bare["lines"])
    assert bare["summary"]
    assert {a["city"] for a in bare["addresses"]} == {"Seattle", "New York"}
    volatile = {"date", "modifiedDate", "createdDate", "reconciled", "id"}
    assert {k: v for k, v in bare.items() if k not in volatile} == {
        k: v for k, v in explicit.items() if k not in volatile
    }


def test_the_adapters_calls_through_the_sdk(account: Account) -> None:
    """Each request the AvaTax adapter makes, made with the vendor's SDK: create with
    ``$include=Lines,Details``, the DocumentCodeConflict of a re-created committed code,
    the read by code and type, void with ``documentType`` (twice), and an address error."""
    include = {"$include": "Lines,Details"}
    created = account.client.create_transaction(
        sales_model("SDK-ADP-1", "SalesInvoice", commit=True), include
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "Committed"
    assert all("details" in line for line in body["lines"])
    assert body["summary"] == []
    assert "addresses" not in body

    again = account.client.create_transaction(
        sales_model("SDK-ADP-1", "SalesInvoice", commit=True), include
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "DocumentCodeConflict"

    read = account.client.get_transaction_by_code(
        "ACME", "SDK-ADP-1", {"documentType": "SalesInvoice", **include}
    )
    assert read.status_code == 200
    assert read.json()["totalTax"] == body["totalTax"]
    missing = account.client.get_transaction_by_code(
        "ACME", "SDK-ADP-NONE", {"documentType": "SalesInvoice"}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "EntityNotFoundError"

    void = {"documentType": "SalesInvoice", **include}
    voided = account.client.void_transaction("ACME", "SDK-ADP-1", {"code": "DocVoided"}, void)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "Cancelled"
    twice = account.client.void_transaction("ACME", "SDK-ADP-1", {"code": "DocVoided"}, void)
    assert twice.status_code == 400
    never = account.client.void_transaction("ACME", "SDK-ADP-NONE", {"code": "DocVoided"}, void)
    assert never.status_code == 404

    nowhere = sales_model("SDK-ADP-2", "SalesOrder")
    nowhere["addresses"]["shipTo"] = {"line1": "1 Main", "city": "X", "country": "XX"}
    refused = account.client.create_transaction(nowhere, include)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidCountry"
    assert refused.json()["error"]["details"][0]["refersTo"].endswith("shipTo")
