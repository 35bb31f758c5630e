"""The AvaTax REST v2 sandbox, exercised in-process over httpx.ASGITransport."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandboxes.avalara.app import API_VERSION, AvalaraSandbox, create_app

ACCOUNT, LICENSE = "2000123456", "q2c-sandbox-license"
CREATE = "/api/v2/transactions/create"
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NEW_YORK = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "country": "US",
            "postalCode": "10118"}  # fmt: skip
BERLIN = {"line1": "Unter den Linden 77", "city": "Berlin", "country": "DE", "postalCode": "10117"}


def addr(country: str, region: str = "", city: str = "Somewhere") -> dict[str, str]:
    return {"line1": "1 Main St", "city": city, "region": region, "country": country,
            "postalCode": "00000"}  # fmt: skip


def line(amount: Any, tax_code: str = "P0000000", **extra: Any) -> dict[str, Any]:
    return {"quantity": 1, "amount": amount, "taxCode": tax_code, "itemCode": "Q2C-1001", **extra}


def model(
    ship_to: dict[str, str] | None = None, lines: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "SalesOrder", "companyCode": "ACME", "date": "2026-01-05",
        "customerCode": "CUST-1", "lines": lines if lines is not None else [line(100)],
    }  # fmt: skip
    if ship_to is not None:
        body["addresses"] = {"shipTo": ship_to}
    body.update(extra)
    return body


def decimal(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def sandbox() -> AvalaraSandbox:
    return AvalaraSandbox()


@pytest.fixture
async def client(sandbox: AvalaraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://avatax.sandbox", auth=(ACCOUNT, LICENSE)
    ) as http:
        yield http


@pytest.fixture
async def anonymous(sandbox: AvalaraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no credentials of its own."""
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://avatax.sandbox") as http:
        yield http


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


async def create(client: httpx.AsyncClient, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = await client.post(CREATE, json=body, params=params)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Checks the AvaTax error envelope; returns its single detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert err["code"] == code
    assert set(err) == {"code", "message", "target", "details"}
    (detail,) = err["details"]
    assert detail["code"] == code
    assert err["message"] == detail["message"]
    assert {"number", "message", "description", "faultCode", "helpLink", "severity"} <= set(detail)
    assert detail["helpLink"] == f"http://developer.avalara.com/avatax/errors/{code}"
    assert isinstance(detail["number"], int)
    result: dict[str, Any] = detail
    return result


# ============================================================== ping and auth


async def test_ping_reports_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/utilities/ping")
    assert response.status_code == 200
    assert GUID_RE.match(response.headers["x-correlation-id"])
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "version": API_VERSION, "authenticated": True,
        "authenticationType": "AccountIdLicenseKey", "authenticatedUserName": ACCOUNT,
        "authenticatedAccountId": int(ACCOUNT),
    }  # fmt: skip


@pytest.mark.parametrize("auth", [None, ("2000123456", "wrong"), ("1", LICENSE)])
async def test_ping_never_fails_for_bad_credentials(
    anonymous: httpx.AsyncClient, auth: tuple[str, str] | None
) -> None:
    headers = {} if auth is None else {"Authorization": basic(*auth)}
    response = await anonymous.get("/api/v2/utilities/ping", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "version": API_VERSION, "authenticated": False, "authenticationType": "None",
    }  # fmt: skip


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic(ACCOUNT, "not-the-key"),
        basic("999", LICENSE),
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer some-token",
    ],
)
async def test_protected_calls_answer_401_authentication_exception(
    anonymous: httpx.AsyncClient, sandbox: AvalaraSandbox, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await anonymous.post(CREATE, json=model(NEW_YORK), headers=headers)
    detail = error(response, 401, "AuthenticationException")
    assert detail["number"] == 30
    assert detail["message"] == "Authentication failed."
    assert response.json()["error"]["target"] == "HttpRequestHeaders"
    lookup = await anonymous.get("/api/v2/companies/ACME/transactions/X", headers=headers)
    error(lookup, 401, "AuthenticationException")
    assert sandbox.create_calls == 0


# ===================================================================== rates

EU_RATES = [
    ("DE", "19"), ("FR", "20"), ("NL", "21"), ("AT", "20"), ("BE", "21"), ("ES", "21"),
    ("IT", "22"), ("IE", "23"), ("FI", "25.5"), ("SE", "25"), ("DK", "25"), ("PL", "23"),
    ("HU", "27"), ("GB", "20"), ("CH", "8.1"), ("AU", "10"),
]  # fmt: skip


@pytest.mark.parametrize(("country", "percent"), EU_RATES)
async def test_vat_countries_charge_the_standard_rate(
    client: httpx.AsyncClient, country: str, percent: str
) -> None:
    result = await create(client, model(addr(country), [line(100)], currencyCode="EUR"))
    assert decimal(result["totalTax"]) == Decimal(percent)
    (detail,) = result["lines"][0]["details"]
    assert detail["jurisType"] == "CNT"
    assert detail["jurisdictionType"] == "Country"
    assert detail["jurisCode"] == country
    assert detail["taxType"] == "Output"
    assert detail["rateType"] == "Standard"
    assert decimal(detail["rate"]) == Decimal(percent) / 100
    (summary,) = result["summary"]
    assert summary["jurisType"] == "Country"
    assert decimal(summary["taxable"]) == 100
    assert decimal(summary["tax"]) == Decimal(percent)


async def test_japan_consumption_tax_in_yen(client: httpx.AsyncClient) -> None:
    tokyo = {"line1": "1-1-2 Otemachi", "city": "Tokyo", "country": "JP", "postalCode": "100-0004"}
    result = await create(client, model(tokyo, [line(780000)], currencyCode="JPY"))
    assert result["currencyCode"] == "JPY"
    assert decimal(result["totalTax"]) == 78000
    (detail,) = result["lines"][0]["details"]
    assert (detail["jurisName"], detail["taxName"]) == ("JAPAN", "Consumption Tax")


US_RATES = [
    # (region, city, total percent, [(jurisType, jurisCode, percent)])
    ("CA", "Irvine", "7.25", [("STA", "06", "6"), ("CTY", "059", "0.25"),
                              ("STJ", "EM0590", "1")]),
    ("TX", "Houston", "6.25", [("STA", "48", "6.25")]),
    ("TX", "Austin", "8.25", [("STA", "48", "6.25"), ("CIT", "05000", "1"),
                              ("STJ", "3227004", "1")]),
    ("NY", "Albany", "4", [("STA", "36", "4")]),
    ("NY", "New York", "8.875", [("STA", "36", "4"), ("CIT", "51000", "4.5"),
                                 ("STJ", "359071", "0.375")]),
    ("WA", "Seattle", "6.5", [("STA", "53", "6.5")]),
    ("IL", "Chicago", "6.25", [("STA", "17", "6.25")]),
    ("CO", "Denver", "2.9", [("STA", "08", "2.9")]),
    ("GA", "Atlanta", "4", [("STA", "13", "4")]),
    ("MN", "Minneapolis", "6.875", [("STA", "27", "6.875")]),
    ("OR", "Portland", "0", [("STA", "41", "0")]),
    ("MA", "Boston", "6.25", [("STA", "25", "6.25")]),
]  # fmt: skip


@pytest.mark.parametrize(("region", "city", "total", "expected"), US_RATES)
async def test_us_sales_tax_by_state_with_local_splits(
    client: httpx.AsyncClient,
    region: str,
    city: str,
    total: str,
    expected: list[tuple[str, str, str]],
) -> None:
    result = await create(client, model(addr("US", region, city), [line(1000)]))
    details = result["lines"][0]["details"]
    assert [(d["jurisType"], d["jurisCode"], decimal(d["rate"]) * 100) for d in details] == [
        (t, c, Decimal(p)) for t, c, p in expected
    ]
    assert all(d["taxType"] == "Sales" and d["rateTypeCode"] == "G" for d in details)
    assert details[0]["jurisdictionType"] == "State"
    assert decimal(result["totalTax"]) == Decimal(total) * 10
    assert decimal(result["lines"][0]["tax"]) == sum(decimal(d["tax"]) for d in details)
    assert len(result["summary"]) == len(expected)
    assert (result["country"], result["region"]) == ("US", region)


async def test_canada_gst_plus_provincial_tax(client: httpx.AsyncClient) -> None:
    ontario = await create(client, model(addr("CA", "ON", "Toronto"), [line(100)]))
    assert [(d["jurisType"], d["taxName"], decimal(d["tax"]))
            for d in ontario["lines"][0]["details"]] == [
        ("CNT", "HST", Decimal(5)), ("STA", "HST", Decimal(8)),
    ]  # fmt: skip
    quebec = await create(client, model(addr("CA", "QC", "Montreal"), [line(100)]))
    assert decimal(quebec["totalTax"]) == Decimal("14.98")  # 5 + 9.975 -> 9.98
    alberta = await create(client, model(addr("CA", "AB", "Calgary"), [line(100)]))
    assert [d["taxName"] for d in alberta["lines"][0]["details"]] == ["GST"]
    assert decimal(alberta["totalTax"]) == 5


async def test_country_without_nexus_is_not_taxed(client: httpx.AsyncClient) -> None:
    result = await create(client, model(addr("BR", "SP", "Sao Paulo"), [line(100)]))
    assert decimal(result["totalTax"]) == 0
    assert decimal(result["totalExempt"]) == 100
    (detail,) = result["lines"][0]["details"]
    assert detail["nonTaxableType"] == "NexusRule"
    assert decimal(detail["nonTaxableAmount"]) == 100


async def test_destination_is_resolved_per_line(client: httpx.AsyncClient) -> None:
    berlin_line = line(100, addresses={"shipTo": BERLIN})
    result = await create(client, model(NEW_YORK, [line(100), berlin_line], type="SalesInvoice"))
    first, second = result["lines"]
    assert decimal(first["tax"]) == Decimal("8.88")  # 4 + 4.5 + 0.375 (0.38), each rounded
    assert decimal(second["tax"]) == 19
    assert first["destinationAddressId"] != second["destinationAddressId"]
    assert {a["country"] for a in result["addresses"]} == {"US", "DE"}


# =============================================================== taxability


@pytest.mark.parametrize(
    ("region", "taxable"),
    [("TX", True), ("NY", True), ("WA", True), ("CA", False), ("IL", False), ("CO", False)],
)
async def test_saas_taxability_differs_between_states(
    client: httpx.AsyncClient, region: str, taxable: bool
) -> None:
    result = await create(client, model(addr("US", region), [line(200, "SW054000")]))
    (saas,) = result["lines"]
    assert saas["isItemTaxable"] is taxable
    if taxable:
        assert decimal(saas["tax"]) > 0
        assert decimal(saas["taxableAmount"]) == 200
    else:
        assert decimal(saas["tax"]) == 0
        assert decimal(saas["taxableAmount"]) == 0
        assert decimal(saas["exemptAmount"]) == 200
        assert all(decimal(d["nonTaxableAmount"]) == 200 for d in saas["details"])
        assert decimal(result["summary"][0]["nonTaxable"]) == 200


async def test_saas_is_taxable_under_vat(client: httpx.AsyncClient) -> None:
    result = await create(client, model(BERLIN, [line(200, "SW054000")]))
    assert decimal(result["totalTax"]) == 38


@pytest.mark.parametrize(
    ("ship_to", "tax_code", "expected_tax"),
    [
        (NEW_YORK, "SV", "0"),  # installation/training: not taxed in US states
        (addr("GB", city="London"), "SV", "20"),  # ... but VAT applies
        (BERLIN, "NT", "0"),
        (NEW_YORK, "NT", "0"),
        (addr("US", "CA", "Irvine"), "OF400000", "0"),  # shipping: CA does not tax it
        (addr("US", "TX", "Houston"), "OF400000", "6.25"),
        (BERLIN, "OF400000", "19"),
        (BERLIN, "", "19"),  # no tax code: P0000000
    ],
)
async def test_tax_codes(
    client: httpx.AsyncClient, ship_to: dict[str, str], tax_code: str, expected_tax: str
) -> None:
    result = await create(client, model(ship_to, [line(100, tax_code)]))
    assert decimal(result["totalTax"]) == Decimal(expected_tax)
    assert result["lines"][0]["taxCode"] == (tax_code or "P0000000")


# =============================================================== exemptions


@pytest.mark.parametrize(
    "exemption", [{"entityUseCode": "G"}, {"exemptionNo": "RESALE-123"},
                  {"customerUsageType": "E"}],
)  # fmt: skip
async def test_document_exemption_exempts_every_line(
    client: httpx.AsyncClient, exemption: dict[str, str]
) -> None:
    result = await create(client, model(NEW_YORK, [line(100), line(50)], **exemption))
    assert decimal(result["totalTax"]) == 0
    assert decimal(result["totalExempt"]) == 150
    assert decimal(result["totalTaxable"]) == 0
    for exempt_line in result["lines"]:
        assert exempt_line["isItemTaxable"] is True
        assert decimal(exempt_line["exemptAmount"]) == decimal(exempt_line["lineAmount"])
        assert all(decimal(d["exemptAmount"]) == decimal(exempt_line["lineAmount"])
                   and decimal(d["tax"]) == 0 for d in exempt_line["details"])  # fmt: skip
    assert decimal(result["summary"][0]["exemption"]) == 150


async def test_line_exemption_code_exempts_only_that_line(client: httpx.AsyncClient) -> None:
    result = await create(client, model(BERLIN, [line(100), line(100, exemptionCode="EX-9")]))
    taxed, exempt = result["lines"]
    assert decimal(taxed["tax"]) == 19
    assert decimal(exempt["tax"]) == 0
    assert exempt["exemptNo"] == "EX-9"
    assert decimal(result["totalExempt"]) == 100
    assert decimal(result["totalTaxable"]) == 100


async def test_taxable_entity_use_code_overrides_an_exemption(client: httpx.AsyncClient) -> None:
    body = model(BERLIN, [line(100, entityUseCode="TAXABLE")], exemptionNo="RESALE-1")
    result = await create(client, body)
    assert decimal(result["totalTax"]) == 19
    custom = await create(client, model(BERLIN, [line(100)], entityUseCode="VIP-CUSTOMERS"))
    assert decimal(custom["totalTax"]) == 19  # a custom code without rules exempts nothing


# ================================================================= rounding


async def test_tax_is_rounded_per_line_half_up_in_yen(client: httpx.AsyncClient) -> None:
    tokyo = {"city": "Tokyo", "country": "JP"}
    result = await create(
        client, model(tokyo, [line(1005), line(1005), line(1004)], currencyCode="JPY")
    )
    assert [decimal(x["tax"]) for x in result["lines"]] == [101, 101, 100]
    assert decimal(result["totalTax"]) == 302  # one rounding on 3014 would give 301
    assert all(isinstance(x["tax"], int) for x in result["lines"])  # no decimals in yen


async def test_cents_are_rounded_half_up(client: httpx.AsyncClient) -> None:
    result = await create(client, model(addr("US", "TX", "Houston"), [line(2), line("0.40")]))
    assert [decimal(x["tax"]) for x in result["lines"]] == [
        Decimal("0.13"),  # 0.125
        Decimal("0.03"),  # 0.025
    ]


# ========================================================= document lifecycle


async def test_sales_order_is_an_estimate_and_never_stored(
    client: httpx.AsyncClient, sandbox: AvalaraSandbox
) -> None:
    result = await create(client, model(NEW_YORK, code="Q-1", commit=True))
    assert result["status"] == "Temporary"
    assert result["id"] == 0
    assert result["lines"][0]["id"] == 0
    assert result["lines"][0]["details"][0]["id"] == 0
    assert sandbox.transactions() == []
    response = await client.get("/api/v2/companies/ACME/transactions/Q-1")
    detail = error(response, 404, "EntityNotFoundError")
    assert detail["description"] == "The Document with code 'Q-1' was not found."
    commit = await client.post(
        "/api/v2/companies/ACME/transactions/Q-1/commit", json={"commit": True}
    )
    error(commit, 404, "EntityNotFoundError")


async def test_type_defaults_to_sales_order_and_code_to_a_guid(client: httpx.AsyncClient) -> None:
    body = model(NEW_YORK)
    del body["type"], body["companyCode"]
    result = await create(client, body)
    assert result["type"] == "SalesOrder"
    assert result["companyId"] == 1_234_501  # the default company, ACME
    assert GUID_RE.match(result["code"])
    assert result["currencyCode"] == "USD"


async def test_sales_invoice_lifecycle(client: httpx.AsyncClient, sandbox: AvalaraSandbox) -> None:
    saved = await create(client, model(NEW_YORK, type="SalesInvoice", code="INV-1001"))
    assert saved["status"] == "Saved"
    assert saved["id"] > 0
    assert saved["version"] == 1
    fetched = (await client.get("/api/v2/companies/ACME/transactions/INV-1001")).json()
    assert fetched == saved | {"modifiedDate": fetched["modifiedDate"]}

    # A Saved document is replaced by a new create with the same code.
    replaced = await create(
        client, model(NEW_YORK, [line(200)], type="SalesInvoice", code="INV-1001")
    )
    assert (replaced["id"], replaced["version"], replaced["status"]) == (saved["id"], 2, "Saved")
    assert decimal(replaced["totalAmount"]) == 200

    committed = await client.post(
        "/api/v2/companies/ACME/transactions/INV-1001/commit", json={"commit": True}
    )
    assert committed.status_code == 200
    assert committed.json()["status"] == "Committed"
    again = await client.post(
        "/api/v2/companies/ACME/transactions/INV-1001/commit", json={"commit": True}
    )
    assert again.json()["status"] == "Committed"  # committing twice is harmless

    one = sandbox.transaction("acme", "inv-1001")
    assert one is not None
    assert one["status"] == "Committed"
    (snapshot,) = sandbox.transactions()
    assert snapshot["code"] == "INV-1001"
    assert snapshot["companyCode"] == "ACME"
    assert snapshot["status"] == "Committed"
    assert decimal(snapshot["totalTax"]) == decimal(replaced["totalTax"])
    by_id = await client.get(f"/api/v2/transactions/{saved['id']}")
    assert by_id.json()["code"] == "INV-1001"


async def test_committed_code_cannot_post_tax_twice(
    client: httpx.AsyncClient, sandbox: AvalaraSandbox
) -> None:
    body = model(NEW_YORK, type="SalesInvoice", code="INV-2002", commit=True)
    first = await create(client, body)
    assert first["status"] == "Committed"
    retry = await client.post(CREATE, json=body)
    detail = error(retry, 400, "DocumentCodeConflict")
    assert detail["number"] == 303
    assert len(sandbox.transactions()) == 1
    stored = await client.get("/api/v2/companies/acme/transactions/INV-2002")
    assert stored.json()["totalTax"] == first["totalTax"]  # the client's check-before-retry
    assert stored.json()["version"] == 1
    # An estimate with the same code is still fine: it is never recorded.
    estimate = await create(client, body | {"type": "SalesOrder"})
    assert estimate["status"] == "Temporary"


async def test_void_then_no_commit_no_reuse(client: httpx.AsyncClient) -> None:
    await create(client, model(BERLIN, type="SalesInvoice", code="INV-3003"))
    url = "/api/v2/companies/ACME/transactions/INV-3003"
    voided = await client.post(f"{url}/void", json={"code": "DocVoided"})
    assert voided.status_code == 200
    assert voided.json()["status"] == "Cancelled"
    error(await client.post(f"{url}/void", json={"code": "DocVoided"}), 400,
                "TransactionAlreadyCancelled")  # fmt: skip
    error(await client.post(f"{url}/commit", json={"commit": True}), 400,
                "InvalidDocumentStatusForCommit")  # fmt: skip
    recreate = model(BERLIN, type="SalesInvoice", code="INV-3003")
    error(await client.post(CREATE, json=recreate), 400, "DocumentCodeConflict")
    bad = await client.post(f"{url}/void", json={"code": "Nope"})
    error(bad, 400, "InvalidEnumValue")


async def test_create_or_adjust_adjusts_a_committed_document(client: httpx.AsyncClient) -> None:
    body = model(NEW_YORK, type="SalesInvoice", code="INV-4004", commit=True)
    first = await create(client, body)
    response = await client.post(
        "/api/v2/transactions/createoradjust",
        json={"createTransactionModel": body | {"lines": [line(300)]}},
    )
    assert response.status_code == 201
    adjusted = response.json()
    assert (adjusted["id"], adjusted["version"]) == (first["id"], 2)
    assert adjusted["adjustmentReason"] == "Other"
    assert adjusted["status"] == "Committed"
    assert decimal(adjusted["totalAmount"]) == 300


async def test_commit_defaults_to_the_sales_invoice_type(client: httpx.AsyncClient) -> None:
    await create(client, model(NEW_YORK, [line(-100)], type="ReturnInvoice", code="RMA-1"))
    url = "/api/v2/companies/ACME/transactions/RMA-1"
    wrong = await client.post(f"{url}/commit", json={"commit": True})
    detail = error(wrong, 400, "InvalidDocumentType")
    assert detail["number"] == 1310
    ok = await client.post(
        f"{url}/commit", params={"documentType": "ReturnInvoice"}, json={"commit": True}
    )
    assert ok.json()["status"] == "Committed"
    assert decimal(ok.json()["totalTax"]) == Decimal("-8.88")
    typed = await client.get(f"{url}/types/ReturnInvoice")
    assert typed.json()["type"] == "ReturnInvoice"


async def test_codes_are_case_insensitive_and_path_escapes_work(client: httpx.AsyncClient) -> None:
    await create(client, model(BERLIN, type="SalesInvoice", code="INV/2026+7"))
    response = await client.get("/api/v2/companies/acme/transactions/inv_-ava2f-_2026_-ava2b-_7")
    assert response.status_code == 200
    assert response.json()["code"] == "INV/2026+7"


# ================================================================= requests


async def test_request_binding_is_lenient_like_avatax(client: httpx.AsyncClient) -> None:
    body = {
        "Type": "SalesInvoice", "CompanyCode": "acme-eu", "Date": "2026-01-05 10:11:12.123456",
        "CustomerCode": "C-9", "Code": "EU-1",
        "Addresses": {"ShipTo": BERLIN},
        "Lines": [{"Number": 1, "Amount": "99.90", "TaxCode": "p0000000"}],
    }  # fmt: skip
    result = await create(client, body)
    assert result["companyId"] == 1_234_504
    assert result["currencyCode"] == "EUR"  # the company's default currency
    assert result["date"] == "2026-01-05"
    assert result["lines"][0]["lineNumber"] == "1"
    assert decimal(result["lines"][0]["quantity"]) == 1
    assert decimal(result["totalTax"]) == Decimal("18.98")
    origin = next(a for a in result["addresses"] if a["id"] == result["originAddressId"])
    assert (origin["country"], origin["city"]) == ("NL", "Amsterdam")  # ACME-EU's warehouse


@pytest.mark.parametrize(
    ("include", "has_lines", "has_details", "has_summary", "has_addresses"),
    [
        (None, True, True, True, True),
        ("Lines", True, False, False, False),
        ("Details", True, True, False, False),
        ("Summary,Addresses", True, True, True, True),
        ("LinesOnly", True, False, False, False),
        ("SummaryOnly", False, False, True, False),
    ],
)
async def test_include_shapes_the_model(
    client: httpx.AsyncClient,
    include: str | None,
    has_lines: bool,
    has_details: bool,
    has_summary: bool,
    has_addresses: bool,
) -> None:
    params = {} if include is None else {"$include": include}
    result = await create(client, model(NEW_YORK), **params)
    assert ("lines" in result) is has_lines
    if has_lines:
        assert ("details" in result["lines"][0]) is has_details
    assert bool(result["summary"]) is has_summary
    assert ("addresses" in result) is has_addresses


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (model(NEW_YORK, companyCode="NOPE"), 404, "EntityNotFoundError"),
        (model(NEW_YORK, lines=[]), 400, "MissingLine"),
        ({k: v for k, v in model(NEW_YORK).items() if k != "lines"}, 400, "MissingLine"),
        (model(NEW_YORK, date=None), 400, "ValueRequiredError"),
        (model(NEW_YORK, date="05/01/2026"), 400, "DateFormatError"),
        (model(NEW_YORK, customerCode=""), 400, "ValueRequiredError"),
        (model(NEW_YORK, type="Estimate"), 400, "InvalidEnumValue"),
        (model({"line1": "1 Main", "city": "Austin", "region": "TX"}), 400, "InvalidAddress"),
        (model(addr("US")), 400, "InvalidAddress"),
        (model(addr("US", "ZZ")), 400, "InvalidCountryRegion"),
        (model(addr("ZZ")), 400, "InvalidCountry"),
        (model(None), 400, "MissingAddress"),
        (model(NEW_YORK, [{"quantity": 1}]), 400, "ValueRequiredError"),
        (model(NEW_YORK, [line("abc")]), 400, "ModelStateInvalid"),
        (model(NEW_YORK, [line(10, taxIncluded=True)]), 400, "InvalidParameterValue"),
        (model(NEW_YORK, code="X" * 51), 400, "StringLengthError"),
        ([1, 2], 400, "ModelStateInvalid"),
    ],
)
async def test_validation_errors(
    client: httpx.AsyncClient, body: Any, status: int, code: str
) -> None:
    error(await client.post(CREATE, json=body), status, code)


async def test_unknown_company_message(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=model(NEW_YORK, companyCode="NOPE"))
    detail = error(response, 404, "EntityNotFoundError")
    assert detail["message"] == "Company not found."
    assert response.json()["error"]["target"] == "HttpRequest"


async def test_missing_or_malformed_body(client: httpx.AsyncClient) -> None:
    missing = await client.post(CREATE, content=b"", headers={"Content-Type": "application/json"})
    assert (error(missing, 400, "ModelRequiredException"))["number"] == 38
    broken = await client.post(
        CREATE, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (error(broken, 400, "JsonFormatError"))["number"] == 47


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v2/nothing/here")
    assert (missing.status_code, missing.content) == (404, b"")
    wrong = await client.get(CREATE)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    empty_company = await client.post("/api/v2/companies//transactions/X/commit", json={})
    assert empty_company.status_code == 404
    unknown_id = await client.get("/api/v2/transactions/42")
    error(unknown_id, 404, "EntityNotFoundError")


# ==================================================================== faults


async def test_fail_next_answers_503_then_recovers(
    client: httpx.AsyncClient, sandbox: AvalaraSandbox
) -> None:
    sandbox.faults.fail_next = 2
    for _ in range(2):
        response = await client.post(CREATE, json=model(NEW_YORK))
        detail = error(response, 503, "ServiceNotReady")
        assert detail["faultCode"] == "Server"
    assert sandbox.faults.fail_next == 0
    assert (await client.post(CREATE, json=model(NEW_YORK))).status_code == 201


async def test_latency_is_added(client: httpx.AsyncClient, sandbox: AvalaraSandbox) -> None:
    sandbox.faults.latency_seconds = 0.05
    started = time.monotonic()
    assert (await client.get("/api/v2/utilities/ping")).status_code == 200
    assert time.monotonic() - started >= 0.05


# ================================================================== account


def test_seeded_companies() -> None:
    companies = {c["code"]: c for c in AvalaraSandbox().companies()}
    assert set(companies) == {"ACME", "ACME-US", "ACME-UK", "ACME-EU"}
    assert companies["ACME"]["isDefault"] is True
    assert companies["ACME"]["origin"]["region"] == "WA"
    assert companies["ACME-EU"]["currencyCode"] == "EUR"
    assert AvalaraSandbox(seed=False).companies() == []


async def test_unseeded_account_has_no_company() -> None:
    app = create_app(AvalaraSandbox(seed=False, account_id="1", license_key="k"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a", auth=("1", "k")
    ) as http:
        error(await http.post(CREATE, json=model(NEW_YORK)), 404, "EntityNotFoundError")


async def test_lifespan_and_snapshot_accessor(sandbox: AvalaraSandbox) -> None:
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
    assert sandbox.transaction("ACME", "missing") is None
