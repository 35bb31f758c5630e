"""The Salesforce REST API sandbox, exercised in-process over httpx.ASGITransport."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from sandboxes import demo_data
from sandboxes.salesforce.app import (
    API_VERSION,
    STATIC_TOKEN,
    SalesforceSandbox,
    create_app,
)

V = f"/services/data/v{API_VERSION}"
AUTH = {"Authorization": f"Bearer {STATIC_TOKEN}"}
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$")
KEY_PREFIXES = {
    "Account": "001", "Product2": "01t", "Pricebook2": "01s", "PricebookEntry": "01u",
    "Opportunity": "006", "Quote": "0Q0", "QuoteLineItem": "0QL",
}  # fmt: skip


def checksum(id15: str) -> str:
    """Salesforce's case-safe suffix, written independently of the sandbox."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        value = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        out += alphabet[value]
    return out


def money(value: Decimal, currency: str) -> Decimal:
    places = Decimal(1) if currency == "JPY" else Decimal("0.01")
    return value.quantize(places, rounding=ROUND_HALF_UP)


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    return SalesforceSandbox()


@pytest.fixture
async def client(sandbox: SalesforceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sf.sandbox", headers=AUTH
    ) as http:
        yield http


async def query(client: httpx.AsyncClient, soql: str, **headers: str) -> dict[str, Any]:
    response = await client.get(f"{V}/query", params={"q": soql}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def query_error(client: httpx.AsyncClient, soql: str) -> dict[str, Any]:
    response = await client.get(f"{V}/query", params={"q": soql})
    assert response.status_code == 400, response.text
    errors = response.json()
    assert isinstance(errors, list)
    assert len(errors) == 1
    error: dict[str, Any] = errors[0]
    return error


async def create(client: httpx.AsyncClient, sobject: str, body: dict[str, Any]) -> str:
    response = await client.post(f"{V}/sobjects/{sobject}/", json=body)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


def single_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    errors = response.json()
    assert isinstance(errors, list)
    assert len(errors) == 1
    error: dict[str, Any] = errors[0]
    return error


def standard_entry(sandbox: SalesforceSandbox, material: str, currency: str) -> dict[str, Any]:
    standard = next(p for p in sandbox.records("Pricebook2") if p["IsStandard"])
    return next(
        e
        for e in sandbox.records("PricebookEntry")
        if e["ProductCode"] == material
        and e["CurrencyIsoCode"] == currency
        and e["Pricebook2Id"] == standard["Id"]
    )


# ----------------------------------------------------------------- discovery


async def test_versions_are_listed_without_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get("/services/data/", headers={"Authorization": ""})
    assert response.status_code == 200
    versions = response.json()
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(40, 67)]
    v62 = next(v for v in versions if v["version"] == "62.0")
    assert v62 == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}


async def test_unsupported_version_and_unknown_route_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/services/data/v39.0/sobjects", "/services/data/v67.0/limits", "/nope",
                 f"{V}/nothing/here"):  # fmt: skip
        error = single_error(await client.get(path), 404)
        assert error == {
            "errorCode": "NOT_FOUND",
            "message": "The requested resource does not exist",
        }
    assert (await client.get("/services/data/v40.0/limits")).status_code == 200
    assert (await client.get("/services/data/v66.0/limits")).status_code == 200


async def test_describe_global_and_describe(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V}/sobjects/")
    assert response.status_code == 200
    names = {o["name"]: o["keyPrefix"] for o in response.json()["sobjects"]}
    assert names == KEY_PREFIXES
    describe = (await client.get(f"{V}/sobjects/account/describe")).json()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Q2C_Id__c"]["externalId"] is True
    assert fields["Q2C_Id__c"]["unique"] is True
    assert fields["Name"]["nillable"] is False
    assert fields["Id"]["createable"] is False
    status = (await client.get(f"{V}/sobjects/Quote/describe")).json()
    picklist = next(f for f in status["fields"] if f["name"] == "Status")
    assert picklist["restrictedPicklist"] is True
    assert [p["value"] for p in picklist["picklistValues"]][:2] == ["Draft", "Needs Review"]


# ---------------------------------------------------------------------- auth


async def test_client_credentials_token_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "q2c-gateway",
              "client_secret": "sandbox-secret"},
        headers={"Authorization": ""},
    )  # fmt: skip
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == "http://sf.sandbox"
    assert token["issued_at"].isdigit()
    assert {"access_token", "id", "signature"} <= token.keys()
    data = await client.get(
        f"{V}/sobjects/Account/describe",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert data.status_code == 200


async def test_password_grant_and_basic_client_authentication(
    client: httpx.AsyncClient,
) -> None:
    basic = base64.b64encode(b"q2c-gateway:sandbox-secret").decode()
    response = await client.post(
        "/services/oauth2/token",
        data={"grant_type": "password", "username": "gateway@q2c.example", "password": "pw"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("00D")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "q2c-gateway",
          "client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "someone-else",
          "client_secret": "sandbox-secret"}, "invalid_client_id"),
        ({"grant_type": "password", "client_id": "q2c-gateway",
          "client_secret": "sandbox-secret", "username": "u"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)  # fmt: skip
async def test_token_failures(client: httpx.AsyncClient, form: dict[str, str], error: str) -> None:
    response = await client.post("/services/oauth2/token", data=form)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    if error == "invalid_client":
        assert body["error_description"] == "invalid client credentials"


@pytest.mark.parametrize("authorization", ["", "Bearer not-a-token", f"Basic {STATIC_TOKEN}"])
async def test_data_calls_need_a_session(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get(f"{V}/sobjects/Account/describe",
                                headers={"Authorization": authorization})  # fmt: skip
    assert single_error(response, 401) == {
        "message": "Session expired or invalid",
        "errorCode": "INVALID_SESSION_ID",
    }


# ---------------------------------------------------------------- seed, ids


def test_seeded_counts_follow_demo_data(sandbox: SalesforceSandbox) -> None:
    assert len(sandbox.records("Account")) == len(demo_data.ACCOUNTS)
    assert len(sandbox.records("Product2")) == len(demo_data.PRODUCTS)
    assert len(sandbox.records("Pricebook2")) == 2
    prices = sum(len(p.list_prices) for p in demo_data.PRODUCTS)
    assert len(sandbox.records("PricebookEntry")) == 2 * prices
    assert len(sandbox.records("Opportunity")) == len(demo_data.QUOTES)
    assert len(sandbox.records("Quote")) == len(demo_data.QUOTES)
    assert len(sandbox.records("QuoteLineItem")) == sum(len(q.lines) for q in demo_data.QUOTES)
    assert SalesforceSandbox(seed=False).records("Account") == []


def test_seeded_accounts_and_products_carry_demo_values(sandbox: SalesforceSandbox) -> None:
    northwind = sandbox.records("Account")[0]
    assert northwind["Name"] == "Northwind Traders GmbH"
    assert northwind["BillingCountryCode"] == "DE"
    assert northwind["Website"] == "northwind.example"
    assert northwind["Tax_ID__c"] == "DE811907980"
    assert northwind["Q2C_Id__c"] is None
    assert northwind["CurrencyIsoCode"] == "EUR"
    by_code = {p["ProductCode"]: p for p in sandbox.records("Product2")}
    assert set(by_code) == {p.material for p in demo_data.PRODUCTS}
    assert by_code["Q2C-9001"]["IsActive"] is False
    assert by_code["Q2C-1001"]["IsActive"] is True


def test_ids_are_18_chars_with_prefix_and_checksum(sandbox: SalesforceSandbox) -> None:
    assert checksum("00300000003T2PG") == "AA0"  # the example from Salesforce Help
    for sobject, prefix in KEY_PREFIXES.items():
        for record in sandbox.records(sobject):
            record_id = record["Id"]
            assert len(record_id) == 18
            assert record_id.startswith(prefix)
            assert record_id[15:] == checksum(record_id[:15])
            assert DATETIME_RE.match(record["CreatedDate"])


def test_seed_is_deterministic() -> None:
    first, second = SalesforceSandbox(), SalesforceSandbox()
    for sobject in KEY_PREFIXES:
        assert first.records(sobject) == second.records(sobject)
        for record in first.records(sobject):  # fixed seed clock, not "now"
            assert record["CreatedDate"] <= record["SystemModstamp"] < "2026-01-07"
    assert first.records("Account")[0]["Id"] == "001Q20000000001IAA"


def test_records_returns_a_snapshot(sandbox: SalesforceSandbox) -> None:
    snapshot = sandbox.records("Account")
    snapshot[0]["Name"] = "changed"
    assert sandbox.records("Account")[0]["Name"] == "Northwind Traders GmbH"
    with pytest.raises(KeyError):
        sandbox.records("Contact")


async def test_get_accepts_15_and_case_insensitive_18_char_ids(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    record_id = sandbox.records("Account")[3]["Id"]
    for form in (record_id, record_id[:15], record_id.lower(), record_id.upper()):
        response = await client.get(f"{V}/sobjects/Account/{form}")
        assert response.status_code == 200, form
        assert response.json()["Id"] == record_id
    wrong_case = record_id[:15].swapcase()
    assert (await client.get(f"{V}/sobjects/Account/{wrong_case}")).status_code == 404


def test_partner_book_is_ten_percent_below_standard(sandbox: SalesforceSandbox) -> None:
    books = {p["Name"]: p["Id"] for p in sandbox.records("Pricebook2")}
    entries = sandbox.records("PricebookEntry")
    standard = {(e["ProductCode"], e["CurrencyIsoCode"]): e for e in entries
                if e["Pricebook2Id"] == books["Standard Price Book"]}  # fmt: skip
    partner = {(e["ProductCode"], e["CurrencyIsoCode"]): e for e in entries
               if e["Pricebook2Id"] == books["Partner Price Book"]}  # fmt: skip
    assert standard.keys() == partner.keys()
    for (code, currency), entry in partner.items():
        expected = money(Decimal(str(standard[(code, currency)]["UnitPrice"])) * Decimal("0.9"),
                         currency)  # fmt: skip
        assert Decimal(str(entry["UnitPrice"])) == expected
    assert partner[("Q2C-1004", "EUR")]["UnitPrice"] == 170.91  # 189.90 * 0.9
    assert partner[("Q2C-1004", "JPY")]["UnitPrice"] == 27720.0
    assert standard[("Q2C-1001", "USD")]["UnitPrice"] == 5200.0


# --------------------------------------------------------------------- SOQL


async def test_where_and_or_parentheses(client: httpx.AsyncClient) -> None:
    result = await query(
        client,
        "SELECT Name FROM Account WHERE (BillingCountryCode = 'DE' OR BillingCountryCode = 'AT')"
        " AND Industry != 'Wholesale' ORDER BY Name",
    )
    assert [r["Name"] for r in result["records"]] == [
        "Alpine Ski House AG",
        "Litware Software GmbH",
    ]
    assert result["totalSize"] == 2
    assert result["done"] is True
    assert result["records"][0]["attributes"]["type"] == "Account"


async def test_like_is_case_insensitive_with_wildcards(client: httpx.AsyncClient) -> None:
    result = await query(client, "select name from account where name like '%GMBH'")
    assert sorted(r["Name"] for r in result["records"]) == [
        "Litware Software GmbH",
        "Northwind Traders GmbH",
    ]
    single = await query(client, "SELECT Name FROM Account WHERE Name LIKE 'Nod Publisher_ Oy'")
    assert [r["Name"] for r in single["records"]] == ["Nod Publishers Oy"]


async def test_in_not_in_and_count(client: httpx.AsyncClient) -> None:
    result = await query(
        client, "SELECT COUNT() FROM Account WHERE BillingCountryCode IN ('US','GB')"
    )
    expected = sum(1 for a in demo_data.ACCOUNTS if a.country in ("US", "GB"))
    assert result == {"totalSize": expected, "done": True, "records": []}
    rest = await query(client, "SELECT Id FROM Account WHERE BillingCountryCode NOT IN ('US','GB')")
    assert rest["totalSize"] == len(demo_data.ACCOUNTS) - expected
    counted = await query(client, "SELECT COUNT(Id) total FROM Quote WHERE Status = 'Accepted'")
    assert counted["records"][0]["total"] == sum(
        1 for q in demo_data.QUOTES if q.status == "Accepted"
    )


async def test_order_by_limit_offset(client: httpx.AsyncClient) -> None:
    names = sorted((a.name for a in demo_data.ACCOUNTS), key=str.casefold, reverse=True)
    page = await query(client, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 3 OFFSET 2")
    assert [r["Name"] for r in page["records"]] == names[2:5]
    assert page["totalSize"] == 3


async def test_typed_filters_numbers_booleans_dates_nulls(client: httpx.AsyncClient) -> None:
    big = await query(client, "SELECT Name FROM Quote WHERE GrandTotal > 20000 AND "
                              "CurrencyIsoCode = 'EUR' ORDER BY GrandTotal DESC")  # fmt: skip
    assert [r["Name"] for r in big["records"]] == ["Northwind rollout phase 1"]
    inactive = await query(client, "SELECT ProductCode FROM Product2 WHERE IsActive = false")
    assert [r["ProductCode"] for r in inactive["records"]] == ["Q2C-9001"]
    later = await query(client, "SELECT Name FROM Quote WHERE ExpirationDate >= 2027-03-01")
    assert {r["Name"] for r in later["records"]} == {
        q.name for q in demo_data.QUOTES if q.expiration_date >= "2027-03-01"
    }
    nulls = await query(client, "SELECT COUNT() FROM Account WHERE Q2C_Id__c = null")
    assert nulls["totalSize"] == len(demo_data.ACCOUNTS)
    recent = await query(
        client, "SELECT COUNT() FROM Account WHERE CreatedDate > 2026-01-01T00:00:00Z"
    )
    assert recent["totalSize"] == len(demo_data.ACCOUNTS)


async def test_string_escapes_and_relationships(client: httpx.AsyncClient) -> None:
    result = await query(client, "SELECT Id FROM Account WHERE Name = 'Margie\\'s Travel Pty Ltd'")
    assert result["totalSize"] == 1
    lines = await query(
        client,
        "SELECT Quote.Name, Product2.ProductCode, Quantity FROM QuoteLineItem "
        "WHERE Quote.Account.BillingCountryCode = 'JP' ORDER BY Product2.ProductCode",
    )
    assert [r["Product2"]["ProductCode"] for r in lines["records"]] == ["Q2C-1001", "Q2C-2001"]
    assert lines["records"][0]["Quote"]["Name"] == "Relecloud Tokyo DC"
    assert lines["records"][0]["Quote"]["attributes"]["type"] == "Quote"


async def test_child_subquery(client: httpx.AsyncClient) -> None:
    result = await query(
        client,
        "SELECT Name, (SELECT Quantity FROM QuoteLineItems ORDER BY LineNumber) FROM Quote "
        "WHERE Name IN ('Alpine lifts telemetry', 'Northwind rollout phase 1') ORDER BY Name",
    )
    alpine, northwind = result["records"]
    assert alpine["QuoteLineItems"]["totalSize"] == 1
    assert [r["Quantity"] for r in northwind["QuoteLineItems"]["records"]] == [4.0, 4.0, 16.0]
    empty = await query(client, "SELECT Name, (SELECT Id FROM Quotes) FROM Account "
                                "WHERE Name = 'Bellows College'")  # fmt: skip
    assert empty["records"][0]["Quotes"] is None


async def test_paging_with_batch_size_and_locator(client: httpx.AsyncClient) -> None:
    first = await query(client, "SELECT Name FROM Account ORDER BY Name",
                        **{"Sforce-Query-Options": "batchSize=10"})  # fmt: skip
    assert first["done"] is False
    assert first["totalSize"] == len(demo_data.ACCOUNTS)
    assert len(first["records"]) == 10
    locator_url = first["nextRecordsUrl"]
    assert re.fullmatch(rf"{V}/query/01g\w{{15}}-10", locator_url)
    names = [r["Name"] for r in first["records"]]
    page = first
    while not page["done"]:
        response = await client.get(page["nextRecordsUrl"])
        assert response.status_code == 200
        page = response.json()
        assert page["totalSize"] == len(demo_data.ACCOUNTS)
        names.extend(r["Name"] for r in page["records"])
    assert "nextRecordsUrl" not in page
    assert names == sorted((a.name for a in demo_data.ACCOUNTS), key=str.casefold)
    bad = single_error(await client.get(f"{V}/query/01gXXXXXXXXXXXXXXX-10"), 400)
    assert bad["errorCode"] == "INVALID_QUERY_LOCATOR"


async def test_default_batch_returns_everything_at_once(client: httpx.AsyncClient) -> None:
    result = await query(client, "SELECT Id FROM PricebookEntry")
    assert result["done"] is True
    assert len(result["records"]) == result["totalSize"] > 10


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id FRM Account", "MALFORMED_QUERY", "unexpected token: FRM"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
         "MALFORMED_QUERY", "unexpected token: OR"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY", "<EOF>"),
        ("SELECT Foo FROM Account", "INVALID_FIELD", "No such column 'Foo' on entity 'Account'"),
        ("SELECT Id FROM Contact", "INVALID_TYPE", "sObject type 'Contact' is not supported"),
        ("SELECT Id FROM Quote WHERE GrandTotal > '5'", "INVALID_QUERY_FILTER_OPERATOR",
         "must be of type double"),
        ("SELECT Id FROM Account WHERE Id = 'xyz'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid ID field: xyz"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
    ],
)  # fmt: skip
async def test_query_errors(client: httpx.AsyncClient, soql: str, code: str, fragment: str) -> None:
    error = await query_error(client, soql)
    assert error["errorCode"] == code
    assert fragment in error["message"]


async def test_malformed_query_message_points_at_the_token(client: httpx.AsyncClient) -> None:
    error = await query_error(client, "SELECT Id FRM Account")
    assert error["message"] == (
        "\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM"
    )
    missing = single_error(await client.get(f"{V}/query"), 400)
    assert missing["errorCode"] == "MALFORMED_QUERY"


# ---------------------------------------------------------------------- CRUD


async def test_create_get_patch_delete(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V}/sobjects/Account", json={
        "Name": "Acme Corp", "BillingCountryCode": "us", "Website": "acme.example",
    })  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    record_id = body["id"]
    assert record_id.startswith("001")
    assert record_id[15:] == checksum(record_id[:15])
    assert response.headers["Location"] == f"{V}/sobjects/Account/{record_id}"

    record = (await client.get(f"{V}/sobjects/Account/{record_id}")).json()
    assert record["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{record_id}"}
    assert record["Name"] == "Acme Corp"
    assert record["BillingCountryCode"] == "US"
    assert record["BillingCountry"] == "United States"
    assert record["CurrencyIsoCode"] == "EUR"
    assert DATETIME_RE.match(record["CreatedDate"])
    assert record["SystemModstamp"] == record["LastModifiedDate"]

    narrow = (await client.get(f"{V}/sobjects/Account/{record_id}",
                               params={"fields": "Name,Website"})).json()  # fmt: skip
    assert set(narrow) == {"attributes", "Name", "Website"}

    patch = await client.patch(f"{V}/sobjects/Account/{record_id}",
                               json={"Phone": "+1 555 0100", "Website": None})  # fmt: skip
    assert patch.status_code == 204
    assert patch.content == b""
    updated = (await client.get(f"{V}/sobjects/Account/{record_id}")).json()
    assert updated["Phone"] == "+1 555 0100"
    assert updated["Website"] is None
    assert updated["LastModifiedDate"] >= record["LastModifiedDate"]

    assert (await client.delete(f"{V}/sobjects/Account/{record_id}")).status_code == 204
    gone = single_error(await client.get(f"{V}/sobjects/Account/{record_id}"), 404)
    assert gone["errorCode"] == "NOT_FOUND"
    again = single_error(await client.delete(f"{V}/sobjects/Account/{record_id}"), 404)
    assert again["errorCode"] == "NOT_FOUND"


async def test_basic_info_lists_recent_items(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V}/sobjects/Product2")
    assert response.status_code == 200
    body = response.json()
    assert body["objectDescribe"]["keyPrefix"] == "01t"
    assert body["recentItems"][0]["attributes"]["type"] == "Product2"


# -------------------------------------------------------------------- upsert


async def test_upsert_creates_then_updates(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    url = f"{V}/sobjects/Account/Q2C_Id__c/cus_01HZX"
    created = await client.patch(url, json={"Name": "Upsert Ltd", "BillingCountryCode": "GB"})
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    updated = await client.patch(url, json={"Name": "Upsert Ltd (renamed)"})
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    matches = [a for a in sandbox.records("Account") if a["Q2C_Id__c"] == "cus_01HZX"]
    assert len(matches) == 1
    assert matches[0]["Name"] == "Upsert Ltd (renamed)"
    fetched = await client.get(url)
    assert fetched.status_code == 200
    assert fetched.json()["Id"] == body["id"]
    missing = single_error(await client.get(f"{V}/sobjects/Account/Q2C_Id__c/none"), 404)
    assert missing["errorCode"] == "NOT_FOUND"


async def test_upsert_with_several_matches_answers_300(client: httpx.AsyncClient) -> None:
    first = await create(client, "Account", {"Name": "A", "SAP_Business_Partner__c": "9000001"})
    second = await create(client, "Account", {"Name": "B", "SAP_Business_Partner__c": "9000001"})
    url = f"{V}/sobjects/Account/SAP_Business_Partner__c/9000001"
    for response in (await client.get(url), await client.patch(url, json={"Phone": "1"})):
        assert response.status_code == 300
        assert sorted(response.json()) == sorted(
            [f"{V}/sobjects/Account/{first}", f"{V}/sobjects/Account/{second}"]
        )


async def test_upsert_on_a_field_that_is_not_an_external_id(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{V}/sobjects/Account/Name/Acme", json={"Phone": "1"})
    # The REST API guide's answer for an incorrect external ID field.
    assert single_error(response, 404) == {
        "message": "The requested resource does not exist",
        "errorCode": "NOT_FOUND",
    }


# -------------------------------------------------------------------- errors


async def test_required_field_missing(client: httpx.AsyncClient) -> None:
    error = single_error(await client.post(f"{V}/sobjects/Account", json={"Phone": "1"}), 400)
    assert error == {
        "message": "Required fields are missing: [Name]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["Name"],
    }
    first = (await query(client, "SELECT Id FROM Account LIMIT 1"))["records"][0]["Id"]
    cleared = await client.patch(f"{V}/sobjects/Account/{first}", json={"Name": ""})
    assert single_error(cleared, 400)["errorCode"] == "REQUIRED_FIELD_MISSING"


async def test_unknown_and_read_only_fields(client: httpx.AsyncClient) -> None:
    unknown = single_error(
        await client.post(f"{V}/sobjects/Account", json={"Name": "x", "Colour__c": "red"}), 400
    )
    assert unknown["errorCode"] == "INVALID_FIELD"
    assert unknown["message"] == "No such column 'Colour__c' on sobject of type Account"
    quote_id = (await query(client, "SELECT Id FROM Quote LIMIT 1"))["records"][0]["Id"]
    read_only = single_error(
        await client.patch(f"{V}/sobjects/Quote/{quote_id}", json={"TotalPrice": 1}), 400
    )
    assert read_only["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert read_only["fields"] == ["TotalPrice"]


async def test_restricted_picklist(client: httpx.AsyncClient) -> None:
    quote_id = (await query(client, "SELECT Id FROM Quote LIMIT 1"))["records"][0]["Id"]
    error = single_error(
        await client.patch(f"{V}/sobjects/Quote/{quote_id}", json={"Status": "Won"}), 400
    )
    assert error == {
        "message": "Status: bad value for restricted picklist field: Won",
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "fields": ["Status"],
    }
    currency = single_error(
        await client.post(f"{V}/sobjects/Account", json={"Name": "x", "CurrencyIsoCode": "XYZ"}),
        400,
    )
    assert currency["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    ok = await client.patch(f"{V}/sobjects/Quote/{quote_id}", json={"Status": "Presented"})
    assert ok.status_code == 204


async def test_duplicate_external_id(client: httpx.AsyncClient) -> None:
    first = await create(client, "Account", {"Name": "One", "Q2C_Id__c": "cus_dup"})
    response = await client.post(
        f"{V}/sobjects/Account", json={"Name": "Two", "Q2C_Id__c": "CUS_DUP"}
    )
    error = single_error(response, 400)
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert error["fields"] == ["Q2C_Id__c"]
    assert first in error["message"]


async def test_malformed_ids(client: httpx.AsyncClient, sandbox: SalesforceSandbox) -> None:
    body = {"Name": "Opp", "StageName": "Prospecting", "CloseDate": "2026-12-31",
            "AccountId": "not-an-id"}  # fmt: skip
    error = single_error(await client.post(f"{V}/sobjects/Opportunity", json=body), 400)
    assert error == {
        "message": "Account ID: id value of incorrect type: not-an-id",
        "errorCode": "MALFORMED_ID",
        "fields": ["AccountId"],
    }
    quote_id = sandbox.records("Quote")[0]["Id"]
    wrong_type = single_error(await client.get(f"{V}/sobjects/Account/{quote_id}"), 400)
    assert wrong_type["errorCode"] == "MALFORMED_ID"
    not_an_id = single_error(await client.get(f"{V}/sobjects/Account/12345"), 404)
    assert not_an_id["message"] == (
        "Provided external ID field does not exist or is not accessible: 12345"
    )
    dangling = dict(body, AccountId="001Q2000000ZZZZ")
    missing = single_error(await client.post(f"{V}/sobjects/Opportunity", json=dangling), 400)
    assert missing["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


async def test_method_not_allowed(client: httpx.AsyncClient, sandbox: SalesforceSandbox) -> None:
    record_id = sandbox.records("Account")[0]["Id"]
    response = await client.put(f"{V}/sobjects/Account/{record_id}", json={"Name": "x"})
    error = single_error(response, 405)
    assert error["errorCode"] == "METHOD_NOT_ALLOWED"
    assert error["message"] == "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE"
    assert "PATCH" in response.headers["Allow"]
    assert (await client.delete(f"{V}/query")).status_code == 405


async def test_json_parser_errors(client: httpx.AsyncClient) -> None:
    broken = await client.post(f"{V}/sobjects/Account", content=b"{not json",
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert single_error(broken, 400)["errorCode"] == "JSON_PARSER_ERROR"
    array = await client.post(f"{V}/sobjects/Account", json=[{"Name": "x"}])
    assert single_error(array, 400)["errorCode"] == "JSON_PARSER_ERROR"
    bad_number = await client.post(f"{V}/sobjects/Opportunity", json={
        "Name": "x", "StageName": "Prospecting", "CloseDate": "31.12.2026",
    })  # fmt: skip
    assert single_error(bad_number, 400)["errorCode"] == "JSON_PARSER_ERROR"
    empty = await client.post(f"{V}/sobjects/Account")
    assert single_error(empty, 400)["errorCode"] == "JSON_PARSER_ERROR"


async def test_unknown_sobject_in_path(client: httpx.AsyncClient) -> None:
    error = single_error(await client.post(f"{V}/sobjects/Contact", json={"LastName": "x"}), 404)
    assert error["errorCode"] == "NOT_FOUND"


# ------------------------------------------------------------------- quotes


async def test_seeded_quote_totals_match_lines(client: httpx.AsyncClient) -> None:
    result = await query(
        client,
        "SELECT Name, CurrencyIsoCode, LineItemCount, Subtotal, TotalPrice, GrandTotal, Tax, "
        "(SELECT Quantity, UnitPrice, ListPrice, Discount, Subtotal, TotalPrice "
        "FROM QuoteLineItems) FROM Quote",
    )
    assert result["totalSize"] == len(demo_data.QUOTES)
    by_name = {q.name: q for q in demo_data.QUOTES}
    for quote in result["records"]:
        demo = by_name[quote["Name"]]
        lines = quote["QuoteLineItems"]["records"]
        assert quote["LineItemCount"] == len(demo.lines) == len(lines)
        subtotal = total = Decimal(0)
        for line, demo_line in zip(lines, demo.lines, strict=True):
            unit = Decimal(demo_data.PRODUCTS[[p.material for p in demo_data.PRODUCTS].index(
                demo_line.material)].list_prices[demo.currency])  # fmt: skip
            assert Decimal(str(line["UnitPrice"])) == unit
            assert line["ListPrice"] == line["UnitPrice"]
            line_subtotal = money(Decimal(demo_line.quantity) * unit, demo.currency)
            line_total = money(
                line_subtotal * (1 - Decimal(demo_line.discount_percent) / 100), demo.currency
            )
            assert Decimal(str(line["Subtotal"])) == line_subtotal
            assert Decimal(str(line["TotalPrice"])) == line_total
            subtotal += line_subtotal
            total += line_total
        assert Decimal(str(quote["Subtotal"])) == subtotal
        assert Decimal(str(quote["TotalPrice"])) == total
        assert quote["GrandTotal"] == quote["TotalPrice"]
        assert quote["Tax"] == 0
    relecloud = next(q for q in result["records"] if q["CurrencyIsoCode"] == "JPY")
    assert relecloud["TotalPrice"] == 2 * 780000 + 50 * 2000


async def test_line_writes_recompute_the_quote(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = next(q for q in sandbox.records("Quote") if q["Name"] == "Tailspin pilot")
    entry = standard_entry(sandbox, "Q2C-1004", "EUR")
    line_id = await create(client, "QuoteLineItem", {
        "QuoteId": quote["Id"], "PricebookEntryId": entry["Id"], "Quantity": 3,
        "UnitPrice": 180, "Discount": 12.5,
    })  # fmt: skip
    line = (await client.get(f"{V}/sobjects/QuoteLineItem/{line_id}")).json()
    assert line["Product2Id"] == entry["Product2Id"]
    assert line["ListPrice"] == 189.9
    assert line["Subtotal"] == 540.0
    assert line["TotalPrice"] == 472.5
    assert re.fullmatch(r"\d{5}", line["LineNumber"])
    after = (await client.get(f"{V}/sobjects/Quote/{quote['Id']}")).json()
    assert after["LineItemCount"] == quote["LineItemCount"] + 1
    assert after["TotalPrice"] == quote["TotalPrice"] + 472.5
    assert after["Subtotal"] == quote["Subtotal"] + 540.0

    patch = await client.patch(f"{V}/sobjects/QuoteLineItem/{line_id}", json={"Quantity": 1})
    assert patch.status_code == 204
    after_patch = (await client.get(f"{V}/sobjects/Quote/{quote['Id']}")).json()
    assert after_patch["TotalPrice"] == quote["TotalPrice"] + 157.5

    assert (await client.delete(f"{V}/sobjects/QuoteLineItem/{line_id}")).status_code == 204
    restored = (await client.get(f"{V}/sobjects/Quote/{quote['Id']}")).json()
    assert restored["TotalPrice"] == quote["TotalPrice"]
    assert restored["LineItemCount"] == quote["LineItemCount"]


async def test_line_rules_on_price_book_currency_and_activity(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = next(q for q in sandbox.records("Quote") if q["Name"] == "Tailspin pilot")
    partner_book = next(p for p in sandbox.records("Pricebook2") if not p["IsStandard"])
    partner_entry = next(
        e for e in sandbox.records("PricebookEntry")
        if e["Pricebook2Id"] == partner_book["Id"] and e["CurrencyIsoCode"] == "EUR"
    )  # fmt: skip
    usd_entry = standard_entry(sandbox, "Q2C-1001", "USD")
    inactive = standard_entry(sandbox, "Q2C-9001", "EUR")
    for entry in (partner_entry, usd_entry, inactive):
        response = await client.post(f"{V}/sobjects/QuoteLineItem", json={
            "QuoteId": quote["Id"], "PricebookEntryId": entry["Id"], "Quantity": 1,
            "UnitPrice": 1,
        })  # fmt: skip
        error = single_error(response, 400)
        assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
        assert error["fields"] == ["PricebookEntryId"]
    missing = await client.post(f"{V}/sobjects/QuoteLineItem", json={"QuoteId": quote["Id"]})
    error = single_error(missing, 400)
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["fields"] == ["PricebookEntryId", "Quantity", "UnitPrice"]


async def test_quote_derives_account_currency_and_number(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    account = sandbox.records("Account")[5]
    standard = next(p for p in sandbox.records("Pricebook2") if p["IsStandard"])
    opportunity = await create(client, "Opportunity", {
        "Name": "New deal", "AccountId": account["Id"], "StageName": "Prospecting",
        "CloseDate": "2027-06-30", "Pricebook2Id": standard["Id"], "CurrencyIsoCode": "USD",
    })  # fmt: skip
    quote_id = await create(client, "Quote", {"Name": "New deal Q1", "OpportunityId": opportunity})
    quote = (await client.get(f"{V}/sobjects/Quote/{quote_id}")).json()
    assert quote["AccountId"] == account["Id"]
    assert quote["CurrencyIsoCode"] == "USD"
    assert quote["Pricebook2Id"] == standard["Id"]
    assert quote["Status"] == "Draft"
    assert quote["QuoteNumber"] == f"{len(demo_data.QUOTES) + 1:08d}"
    assert quote["LineItemCount"] == 0
    assert quote["TotalPrice"] == 0
    read_only = await client.post(f"{V}/sobjects/Quote", json={
        "Name": "x", "OpportunityId": opportunity, "AccountId": account["Id"],
    })  # fmt: skip
    assert single_error(read_only, 400)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


async def test_delete_cascades_and_restricts(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    northwind = sandbox.records("Account")[0]
    assert (await client.delete(f"{V}/sobjects/Account/{northwind['Id']}")).status_code == 204
    assert all(o["AccountId"] != northwind["Id"] for o in sandbox.records("Opportunity"))
    assert all(q["AccountId"] != northwind["Id"] for q in sandbox.records("Quote"))
    quote_ids = {q["Id"] for q in sandbox.records("Quote")}
    assert all(line["QuoteId"] in quote_ids for line in sandbox.records("QuoteLineItem"))
    used = standard_entry(sandbox, "Q2C-1003", "USD")
    blocked = single_error(await client.delete(f"{V}/sobjects/PricebookEntry/{used['Id']}"), 400)
    assert blocked["errorCode"] == "DELETE_FAILED"
    standard = next(p for p in sandbox.records("Pricebook2") if p["IsStandard"])
    refused = await client.delete(f"{V}/sobjects/Pricebook2/{standard['Id']}")
    assert single_error(refused, 400)["errorCode"] == "DELETE_FAILED"


async def test_price_book_entry_rules(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    product = await create(client, "Product2", {"Name": "Widget", "ProductCode": "Q2C-7777",
                                                "IsActive": True})  # fmt: skip
    books = {p["Name"]: p["Id"] for p in sandbox.records("Pricebook2")}
    custom_first = await client.post(f"{V}/sobjects/PricebookEntry", json={
        "Pricebook2Id": books["Partner Price Book"], "Product2Id": product, "UnitPrice": 9,
    })  # fmt: skip
    assert single_error(custom_first, 400)["errorCode"] == "STANDARD_PRICE_NOT_DEFINED"
    entry = await create(client, "PricebookEntry", {
        "Pricebook2Id": books["Standard Price Book"], "Product2Id": product,
        "UnitPrice": "10.005", "CurrencyIsoCode": "USD", "IsActive": True,
    })  # fmt: skip
    record = (await client.get(f"{V}/sobjects/PricebookEntry/{entry}")).json()
    assert record["UnitPrice"] == 10.01
    assert record["ProductCode"] == "Q2C-7777"
    assert record["Name"] == "Widget"
    duplicate = await client.post(f"{V}/sobjects/PricebookEntry", json={
        "Pricebook2Id": books["Standard Price Book"], "Product2Id": product, "UnitPrice": 11,
        "CurrencyIsoCode": "USD",
    })  # fmt: skip
    assert single_error(duplicate, 400)["errorCode"] == "DUPLICATE_VALUE"


# ----------------------------------------------------------------- composite


def composite_body(all_or_none: bool, *subrequests: dict[str, Any]) -> dict[str, Any]:
    return {"allOrNone": all_or_none, "compositeRequest": list(subrequests)}


async def test_composite_with_references(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    standard = next(p for p in sandbox.records("Pricebook2") if p["IsStandard"])
    entry = standard_entry(sandbox, "Q2C-1001", "GBP")
    body = composite_body(
        True,
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Composite plc", "BillingCountryCode": "GB", "CurrencyIsoCode": "GBP"}},
        {"method": "POST", "url": f"{V}/sobjects/Opportunity", "referenceId": "opp",
         "body": {"Name": "Composite deal", "AccountId": "@{acct.id}", "StageName": "Prospecting",
                  "CloseDate": "2027-01-31", "Pricebook2Id": standard["Id"],
                  "CurrencyIsoCode": "GBP"}},
        {"method": "POST", "url": f"{V}/sobjects/Quote", "referenceId": "quote",
         "body": {"Name": "Composite quote", "OpportunityId": "@{opp.id}"}},
        {"method": "POST", "url": f"{V}/sobjects/QuoteLineItem", "referenceId": "line",
         "body": {"QuoteId": "@{quote.id}", "PricebookEntryId": entry["Id"], "Quantity": 2,
                  "UnitPrice": 4000}},
        {"method": "GET", "url": f"{V}/sobjects/Quote/@{{quote.id}}?fields=TotalPrice,AccountId",
         "referenceId": "read"},
        {"method": "GET", "url": f"{V}/query?q=SELECT+Name+FROM+Account+WHERE+Id+%3D+%27"
                                 "@{acct.id}%27", "referenceId": "find"},
    )  # fmt: skip
    response = await client.post(f"{V}/composite", json=body)
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert [r["referenceId"] for r in results] == ["acct", "opp", "quote", "line", "read", "find"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 201, 201, 200, 200]
    account_id = results[0]["body"]["id"]
    assert results[0]["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{account_id}"}
    assert results[4]["body"]["TotalPrice"] == 8000.0
    assert results[4]["body"]["AccountId"] == account_id
    assert results[5]["body"]["records"][0]["Name"] == "Composite plc"


async def test_composite_all_or_none_rolls_back(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    accounts_before = sandbox.records("Account")
    quote_id = sandbox.records("Quote")[0]["Id"]
    body = composite_body(
        True,
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Rolled back Inc"}},
        {"method": "PATCH", "url": f"{V}/sobjects/Quote/{quote_id}", "referenceId": "bad",
         "body": {"Status": "Won"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "never",
         "body": {"Name": "Never created"}},
    )  # fmt: skip
    response = await client.post(f"{V}/composite", json=body)
    assert response.status_code == 200
    acct, bad, never = response.json()["compositeResponse"]
    assert bad["httpStatusCode"] == 400
    assert bad["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    for halted in (acct, never):
        assert halted["httpStatusCode"] == 400
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sandbox.records("Account") == accounts_before


async def test_composite_without_all_or_none_keeps_successes(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    body = composite_body(
        False,
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "bad",
         "body": {"Phone": "no name"}},
        {"method": "POST", "url": f"{V}/sobjects/Opportunity", "referenceId": "dependent",
         "body": {"Name": "x", "AccountId": "@{bad.id}", "StageName": "Prospecting",
                  "CloseDate": "2027-01-01"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "good",
         "body": {"Name": "Kept Ltd"}},
    )  # fmt: skip
    results = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201]
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "bad.id" in results[1]["body"][0]["message"]
    assert any(a["Name"] == "Kept Ltd" for a in sandbox.records("Account"))


async def test_composite_request_validation(client: httpx.AsyncClient) -> None:
    sub = {"method": "GET", "url": f"{V}/sobjects/Account/describe", "referenceId": "r"}
    too_many = [dict(sub, referenceId=f"r{i}") for i in range(26)]
    response = await client.post(f"{V}/composite", json=composite_body(False, *too_many))
    # Salesforce answers 200 with one failed entry, no subrequest executed.
    assert response.status_code == 200
    assert response.json() == {"compositeResponse": [{
        "body": [{"errorCode": "LIMIT_EXCEEDED",
                  "message": "The request can\u2019t contain more than 25 operations."}],
        "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None,
    }]}  # fmt: skip
    missing_ref = {"method": "GET", "url": f"{V}/sobjects/Account/describe"}
    error = single_error(
        await client.post(f"{V}/composite", json=composite_body(False, missing_ref)), 400
    )
    assert error == {"message": "'referenceId' is a required field.",
                     "errorCode": "JSON_PARSER_ERROR"}  # fmt: skip
    ok = await client.post(f"{V}/composite", json=composite_body(False, *too_many[:25]))
    assert ok.status_code == 200
    assert len(ok.json()["compositeResponse"]) == 25


async def test_sobject_collections(client: httpx.AsyncClient, sandbox: SalesforceSandbox) -> None:
    before = len(sandbox.records("Account"))
    response = await client.post(f"{V}/composite/sobjects", json={
        "allOrNone": False,
        "records": [{"attributes": {"type": "Account"}, "Name": "Coll 1"},
                    {"attributes": {"type": "Account"}, "Phone": "missing name"}],
    })  # fmt: skip
    assert response.status_code == 200
    ok, failed = response.json()
    assert ok["success"] is True
    assert failed["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(sandbox.records("Account")) == before + 1
    rolled = await client.post(f"{V}/composite/sobjects", json={
        "allOrNone": True,
        "records": [{"attributes": {"type": "Account"}, "Name": "Coll 2"},
                    {"attributes": {"type": "Account"}, "Phone": "missing name"}],
    })  # fmt: skip
    first, _ = rolled.json()
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert len(sandbox.records("Account")) == before + 1


# -------------------------------------------------------------------- faults


async def test_fail_next_then_recovery(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    sandbox.faults.fail_next = 2
    for _ in range(2):
        error = single_error(await client.get(f"{V}/sobjects/Account/describe"), 503)
        assert error["errorCode"] == "SERVER_UNAVAILABLE"
    assert sandbox.faults.fail_next == 0
    assert (await client.get(f"{V}/sobjects/Account/describe")).status_code == 200


async def test_latency_is_added(client: httpx.AsyncClient, sandbox: SalesforceSandbox) -> None:
    sandbox.faults.latency_seconds = 0.05
    started = time.monotonic()
    response = await client.get(f"{V}/limits")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.05
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


async def test_lifespan_protocol_is_answered() -> None:
    app = create_app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# -------------------------------------------------------- indexes, encoding


async def test_indexed_filters_match_a_full_scan(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = next(q for q in sandbox.records("Quote") if q["Name"] == "Datum lab expansion")
    soql = "SELECT Id, LineNumber FROM QuoteLineItem WHERE QuoteId = '{}' ORDER BY LineNumber"
    lines = await query(client, soql.format(quote["Id"][:15]))
    expected = sorted(
        (line for line in sandbox.records("QuoteLineItem") if line["QuoteId"] == quote["Id"]),
        key=lambda line: line["LineNumber"],
    )
    assert [r["Id"] for r in lines["records"]] == [line["Id"] for line in expected]
    accounts = sandbox.records("Account")
    soql = "SELECT Name FROM Account WHERE Id IN ('{}', '{}')"
    by_ids = await query(client, soql.format(accounts[7]["Id"], accounts[2]["Id"].lower()))
    assert [r["Name"] for r in by_ids["records"]] == [accounts[2]["Name"], accounts[7]["Name"]]
    await client.patch(f"{V}/sobjects/Account/Q2C_Id__c/cus_Index", json={"Name": "Indexed"})
    by_external = await query(client, "SELECT Name FROM Account WHERE Q2C_Id__c = 'CUS_INDEX' "
                                      "AND Name != null")  # fmt: skip
    assert [r["Name"] for r in by_external["records"]] == ["Indexed"]


async def test_numbers_are_encoded_like_the_real_api(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    quote = next(q for q in sandbox.records("Quote") if q["CurrencyIsoCode"] == "JPY")
    fields = {"fields": "TotalPrice,LineItemCount,ExpirationDate"}
    response = await client.get(f"{V}/sobjects/Quote/{quote['Id']}", params=fields)
    assert '"TotalPrice":1660000.0' in response.text
    assert '"LineItemCount":2,' in response.text
    assert '"ExpirationDate":"2027-01-31"' in response.text
    entry = standard_entry(sandbox, "Q2C-1001", "JPY")
    huge = await client.post(f"{V}/sobjects/QuoteLineItem", json={
        "QuoteId": quote["Id"], "PricebookEntryId": entry["Id"], "Quantity": 1e12,
        "UnitPrice": 1,
    })  # fmt: skip
    assert single_error(huge, 400)["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


async def test_head_answers_headers_only(client: httpx.AsyncClient) -> None:
    response = await client.head(f"{V}/limits")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


async def test_an_unexpected_failure_is_a_500_and_rolls_back(
    client: httpx.AsyncClient, sandbox: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    quote = next(q for q in sandbox.records("Quote") if q["Name"] == "Tailspin pilot")
    before = sandbox.records("QuoteLineItem")

    def boom(quote_id: str) -> None:
        raise RuntimeError("recompute failed")

    monkeypatch.setattr(sandbox._org, "_recompute_quote", boom)
    entry = standard_entry(sandbox, "Q2C-1005", "EUR")
    response = await client.post(f"{V}/sobjects/QuoteLineItem", json={
        "QuoteId": quote["Id"], "PricebookEntryId": entry["Id"], "Quantity": 1, "UnitPrice": 1,
    })  # fmt: skip
    assert single_error(response, 500)["errorCode"] == "UNKNOWN_EXCEPTION"
    assert sandbox.records("QuoteLineItem") == before
