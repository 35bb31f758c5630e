"""The S/4HANA OData V2 sandbox, exercised in-process over ``httpx.ASGITransport``."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pyodata.v2.model
import pytest

from sandboxes import demo_data
from sandboxes.sap_s4hana.app import SERVICE_ROOT, SapSandbox, create_app
from sandboxes.sap_s4hana.odata import compile_filter

AUTH = ("Q2C_GATEWAY", "sandbox")
PRODUCTS = f"{SERVICE_ROOT}/API_PRODUCT_SRV"
PARTNERS = f"{SERVICE_ROOT}/API_BUSINESS_PARTNER"
ORDERS = f"{SERVICE_ROOT}/API_SALES_ORDER_SRV"
SAP_ACCOUNTS = [a for a in demo_data.ACCOUNTS if a.sap_business_partner]


def _client(sandbox: SapSandbox, **kwargs: Any) -> httpx.AsyncClient:
    kwargs.setdefault("auth", AUTH)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)),
        base_url="http://sap.sandbox",
        headers={"Accept": "application/json"},
        **kwargs,
    )


@pytest.fixture
def sandbox() -> SapSandbox:
    return SapSandbox(clock=lambda: datetime(2026, 11, 27, 8, 30, tzinfo=UTC))


@pytest.fixture
async def client(sandbox: SapSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(sandbox) as http:
        yield http


async def _token(client: httpx.AsyncClient, service: str) -> str:
    response = await client.get(f"{service}/", headers={"X-CSRF-Token": "Fetch"})
    assert response.status_code == 200
    return response.headers["x-csrf-token"]


async def _post(client: httpx.AsyncClient, service: str, entity_set: str, body: Any) -> Any:
    token = await _token(client, service)
    return await client.post(f"{service}/{entity_set}", json=body, headers={"X-CSRF-Token": token})


def _results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["d"]["results"]
    return results


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _order(soldto: str = "1000100", currency: str | None = "EUR", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": "10",
        "OrganizationDivision": "00",
        "SoldToParty": soldto,
        "PurchaseOrderByCustomer": "PO-4711",
        "to_Item": [{"Material": "Q2C-1001", "RequestedQuantity": "4"}],
    }
    if currency:
        body["TransactionCurrency"] = currency
    return body | extra


def _partner(name: str = "Tailspin Energy SA", **extra: Any) -> dict[str, Any]:
    return {
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": name,
        "SearchTerm1": "TAILSPIN",
        "to_BusinessPartnerAddress": [
            {
                "Country": "FR",
                "CityName": "Lyon",
                "PostalCode": "69002",
                "StreetName": "Rue de la Republique",
                "HouseNumber": "12",
            }
        ],
        "to_BusinessPartnerRole": [
            {"BusinessPartnerRole": "FLCU00"},
            {"BusinessPartnerRole": "FLCU01"},
        ],
        "to_BusinessPartnerTax": [{"BPTaxType": "FR0", "BPTaxNumber": "FR40303265045"}],
        "to_Customer": {
            "to_CustomerSalesArea": [
                {
                    "SalesOrganization": "1010",
                    "DistributionChannel": "10",
                    "Division": "00",
                    "Currency": "EUR",
                }
            ]
        },
    } | extra


# -- authentication and CSRF -----------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, ("Q2C_GATEWAY", "wrong"), ("SOMEONE", "sandbox")])
async def test_calls_without_valid_basic_auth_get_401(
    sandbox: SapSandbox, auth: tuple[str, str] | None
) -> None:
    async with _client(sandbox, auth=auth) as http:
        response = await http.get(f"{PRODUCTS}/A_Product")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Basic realm="SAP NetWeaver Application Server [S4H/100]"'
    )


async def test_user_names_are_case_insensitive_like_abap_logons(sandbox: SapSandbox) -> None:
    async with _client(sandbox, auth=("q2c_gateway", "sandbox")) as http:
        assert (await http.get(f"{PRODUCTS}/A_Product('Q2C-1001')")).status_code == 200


async def test_csrf_fetch_returns_token_and_session_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORDERS}/", headers={"X-CSRF-Token": "Fetch"})
    assert response.status_code == 200
    token = response.headers["x-csrf-token"]
    assert len(token) == 24
    cookies = response.headers.get_list("set-cookie")
    assert any(re.match(r"SAP_SESSIONID_S4H_100=[^;]+; path=/", c) for c in cookies)
    again = await client.get(f"{ORDERS}/", headers={"X-CSRF-Token": "fetch"})
    assert again.headers["x-csrf-token"] == token  # same session, same token


async def test_write_with_token_and_cookie_is_accepted(client: httpx.AsyncClient) -> None:
    response = await _post(client, ORDERS, "A_SalesOrder", _order())
    assert response.status_code == 201, response.text


async def test_head_fetch_as_documented_for_pyodata(client: httpx.AsyncClient) -> None:
    response = await client.head(ORDERS, headers={"x-csrf-token": "fetch"})
    assert response.status_code == 200
    assert response.content == b""
    token = response.headers["x-csrf-token"]
    created = await client.post(
        f"{ORDERS}/A_SalesOrder", json=_order(), headers={"x-csrf-token": token}
    )
    assert created.status_code == 201


def _expect_csrf_failure(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert response.headers["x-csrf-token"] == "Required"
    assert response.text == "CSRF token validation failed"


async def test_write_without_token_is_forbidden(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    await _token(client, ORDERS)  # session cookie present, token header missing
    _expect_csrf_failure(await client.post(f"{ORDERS}/A_SalesOrder", json=_order()))
    _expect_csrf_failure(
        await client.post(
            f"{ORDERS}/A_SalesOrder", json=_order(), headers={"X-CSRF-Token": "forged-token"}
        )
    )
    assert sandbox.sales_orders() == []


async def test_write_without_session_cookie_is_forbidden(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    token = await _token(client, ORDERS)
    client.cookies.clear()
    _expect_csrf_failure(
        await client.post(f"{ORDERS}/A_SalesOrder", json=_order(), headers={"X-CSRF-Token": token})
    )
    assert sandbox.sales_orders() == []


# -- documents ---------------------------------------------------------------------------


async def test_service_document_lists_entity_sets(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PARTNERS}/")
    assert response.json() == {
        "d": {
            "EntitySets": [
                "A_BusinessPartner",
                "A_BusinessPartnerAddress",
                "A_BusinessPartnerRole",
                "A_BusinessPartnerTaxNumber",
                "A_Customer",
                "A_CustomerSalesArea",
            ]
        }
    }
    xml = await client.get(f"{PARTNERS}/", headers={"Accept": "application/xml"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert '<app:collection href="A_CustomerSalesArea">' in xml.text


@pytest.mark.parametrize(
    ("service", "sets"),
    [
        ("API_PRODUCT_SRV", {"A_Product", "A_ProductDescription"}),
        (
            "API_BUSINESS_PARTNER",
            {
                "A_BusinessPartner",
                "A_BusinessPartnerAddress",
                "A_BusinessPartnerRole",
                "A_BusinessPartnerTaxNumber",
                "A_Customer",
                "A_CustomerSalesArea",
            },
        ),
        ("API_SALES_ORDER_SRV", {"A_SalesOrder", "A_SalesOrderItem", "A_SalesOrderItemPrElement"}),
    ],
)
async def test_metadata_is_edmx_v2(client: httpx.AsyncClient, service: str, sets: set[str]) -> None:
    response = await client.get(f"{SERVICE_ROOT}/{service}/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    text = response.text
    assert '<edmx:Edmx Version="1.0"' in text
    assert 'm:DataServiceVersion="2.0"' in text
    assert 'm:IsDefaultEntityContainer="true"' in text
    schema = pyodata.v2.model.MetadataBuilder(response.content).build()
    assert {s.name for s in schema.entity_sets} == sets


async def test_metadata_declares_keys_types_and_navigation(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORDERS}/$metadata")
    schema = pyodata.v2.model.MetadataBuilder(response.content).build()
    item = schema.entity_type("A_SalesOrderItemType")
    assert [p.name for p in item.key_proprties] == ["SalesOrder", "SalesOrderItem"]
    quantity = item.proprty("RequestedQuantity")
    assert (quantity.typ.name, quantity.precision, quantity.scale) == ("Edm.Decimal", 15, 3)
    header = schema.entity_type("A_SalesOrderType")
    assert header.proprty("PurchaseOrderByCustomer").max_length == 35
    assert header.proprty("TotalNetAmount").creatable is False
    to_item = header.nav_proprty("to_Item")
    assert to_item.to_role.entity_type.name == "A_SalesOrderItemType"
    assert to_item.to_role.multiplicity == "*"
    assert schema.entity_set("A_SalesOrder").creatable is True
    assert schema.entity_set("A_SalesOrderItem").creatable is False


# -- seeded data and wire formats ----------------------------------------------------------


async def test_seeded_products_follow_demo_catalogue(client: httpx.AsyncClient) -> None:
    products = _results(
        await client.get(
            f"{PRODUCTS}/A_Product",
            params={"$expand": "to_Description", "$inlinecount": "allpages"},
        )
    )
    assert [p["Product"] for p in products] == [p.material for p in demo_data.PRODUCTS]
    by_id = {p["Product"]: p for p in products}
    assert by_id["Q2C-9001"]["IsMarkedForDeletion"] is True
    assert by_id["Q2C-1001"]["IsMarkedForDeletion"] is False
    assert by_id["Q2C-3001"]["BaseUnit"] == "H"
    descriptions = by_id["Q2C-1002"]["to_Description"]["results"]
    assert descriptions[0]["ProductDescription"] == "Edge Gateway Appliance G2 Redundant PSU"
    assert descriptions[0]["Language"] == "EN"
    # Product descriptions are 40 characters in SAP (MAKTX)
    long_name = by_id["Q2C-2001"]["to_Description"]["results"][0]["ProductDescription"]
    assert long_name == "Fleet Monitoring Subscription (per devic"


async def test_entities_carry_metadata_and_wire_types(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PRODUCTS}/A_Product('Q2C-1001')")
    product = response.json()["d"]
    uri = "http://sap.sandbox/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product('Q2C-1001')"
    assert product["__metadata"] == {"id": uri, "uri": uri, "type": "API_PRODUCT_SRV.A_ProductType"}
    assert product["to_Description"] == {"__deferred": {"uri": f"{uri}/to_Description"}}
    assert product["CreationDate"] == "/Date(1705276800000)/"  # Edm.DateTime
    assert product["LastChangeDateTime"] == "/Date(1705276800000+0000)/"  # Edm.DateTimeOffset
    assert product["LastChangeDate"] is None
    assert product["IsMarkedForDeletion"] is False  # Edm.Boolean as JSON boolean


async def test_seeded_business_partners_exist_with_customer_data(
    client: httpx.AsyncClient,
) -> None:
    partners = _results(
        await client.get(
            f"{PARTNERS}/A_BusinessPartner",
            params={
                "$expand": "to_BusinessPartnerAddress,to_BusinessPartnerTax,to_BusinessPartnerRole,"
                "to_Customer/to_CustomerSalesArea"
            },
        )
    )
    assert [p["BusinessPartner"] for p in partners] == [
        a.sap_business_partner for a in SAP_ACCOUNTS
    ]
    northwind = partners[0]
    assert northwind["BusinessPartnerCategory"] == "2"
    assert northwind["BusinessPartnerFullName"] == "Northwind Traders GmbH"
    assert northwind["Customer"] == "1000100"
    address = northwind["to_BusinessPartnerAddress"]["results"][0]
    assert (
        address["Country"],
        address["CityName"],
        address["StreetName"],
        address["HouseNumber"],
    ) == ("DE", "Hamburg", "Speicherstadt", "12")
    taxes = northwind["to_BusinessPartnerTax"]["results"]
    assert [(t["BPTaxType"], t["BPTaxNumber"]) for t in taxes] == [("DE0", "DE811907980")]
    roles = {r["BusinessPartnerRole"] for r in northwind["to_BusinessPartnerRole"]["results"]}
    assert roles == {"FLCU00", "FLCU01"}
    area = northwind["to_Customer"]["to_CustomerSalesArea"]["results"][0]
    assert (
        area["SalesOrganization"],
        area["DistributionChannel"],
        area["Division"],
        area["Currency"],
    ) == ("1010", "10", "00", "EUR")
    contoso = partners[1]
    assert contoso["to_BusinessPartnerTax"]["results"][0]["BPTaxType"] == "US1"
    assert contoso["to_BusinessPartnerAddress"]["results"][0]["HouseNumber"] == "233"
    assert contoso["to_Customer"]["to_CustomerSalesArea"]["results"][0]["Currency"] == "USD"


async def test_unseeded_sandbox_is_empty() -> None:
    empty = SapSandbox(seed=False)
    async with _client(empty) as http:
        assert _results(await http.get(f"{PRODUCTS}/A_Product")) == []
    assert empty.business_partners() == []


# -- query options ---------------------------------------------------------------------------

SERVICES_ = ["Q2C-2001", "Q2C-2002", "Q2C-2003", "Q2C-3001", "Q2C-3002", "Q2C-3003"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("ProductType eq 'DIEN'", SERVICES_),
        (
            "ProductType ne 'DIEN' and IsMarkedForDeletion eq false",
            ["Q2C-1001", "Q2C-1002", "Q2C-1003", "Q2C-1004", "Q2C-1005"],
        ),
        (
            "(ProductGroup eq 'HW01' or ProductGroup eq 'SW02') and not IsMarkedForDeletion",
            ["Q2C-1001", "Q2C-1002", "Q2C-2003"],
        ),
        ("startswith(Product,'Q2C-3')", ["Q2C-3001", "Q2C-3002", "Q2C-3003"]),
        ("startswith(Product, 'Q2C-3') eq true and BaseUnit eq 'H'", ["Q2C-3001", "Q2C-3003"]),
        ("substringof('-200', Product)", ["Q2C-2001", "Q2C-2002", "Q2C-2003"]),
        (
            "substringof('-200', Product) eq false and Product lt 'Q2C-1003'",
            ["Q2C-1001", "Q2C-1002"],
        ),
        ("Product gt 'Q2C-2003' and Product le 'Q2C-3002'", ["Q2C-3001", "Q2C-3002"]),
        ("Product ge 'Q2C-9' or Product lt 'Q2C-1002'", ["Q2C-1001", "Q2C-9001"]),
        ("endswith(Product,'3') and ProductType eq 'FERT'", ["Q2C-1003"]),
        ("LastChangeDate ge datetime'2025-01-01T00:00:00'", ["Q2C-9001"]),
        ("LastChangeDate eq null and ProductGroup eq 'SV02'", ["Q2C-3003"]),
        ("tolower(ProductGroup) eq 'sv01'", ["Q2C-3001", "Q2C-3002"]),
    ],
)
async def test_filter_expressions(
    client: httpx.AsyncClient, expression: str, expected: list[str]
) -> None:
    products = _results(await client.get(f"{PRODUCTS}/A_Product", params={"$filter": expression}))
    assert [p["Product"] for p in products] == expected


@pytest.mark.parametrize(
    "expression",
    [
        "Product eq",
        "Nope eq 'x'",
        "Product eq 5",
        "Product eq 'unterminated",
        "frobnicate(Product)",
        "Product gt true",
        "Product",
        "ProductType eq 'DIEN' and",
        "to_Description/Language eq 'EN'",
        "Product eq guid'00000000-0000-0000-0000-000000000000'",
    ],
)
async def test_bad_filter_is_400_with_envelope(client: httpx.AsyncClient, expression: str) -> None:
    error = _error(await client.get(f"{PRODUCTS}/A_Product", params={"$filter": expression}), 400)
    assert "$filter" in error["message"]["value"]
    assert error["message"]["lang"] == "en"


async def test_filter_string_literals_escape_quotes(client: httpx.AsyncClient) -> None:
    created = await _post(client, PARTNERS, "A_BusinessPartner", _partner("O'Brien Trading Ltd"))
    assert created.status_code == 201, created.text
    found = _results(
        await client.get(
            f"{PARTNERS}/A_BusinessPartner",
            params={"$filter": "OrganizationBPName1 eq 'O''Brien Trading Ltd'"},
        )
    )
    assert [p["BusinessPartner"] for p in found] == ["1000200"]


async def test_top_skip_and_orderby(client: httpx.AsyncClient) -> None:
    products = _results(
        await client.get(
            f"{PRODUCTS}/A_Product", params={"$orderby": "Product desc", "$top": "3", "$skip": "1"}
        )
    )
    assert [p["Product"] for p in products] == ["Q2C-3003", "Q2C-3002", "Q2C-3001"]
    by_group = _results(
        await client.get(
            f"{PRODUCTS}/A_Product",
            params={"$orderby": "ProductGroup desc,Product asc", "$top": "3"},
        )
    )
    assert [p["Product"] for p in by_group] == ["Q2C-2003", "Q2C-2001", "Q2C-2002"]


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "-1"},
        {"$skip": "x"},
        {"$orderby": "Nope"},
        {"$inlinecount": "sometimes"},
        {"$expand": "to_Nowhere"},
        {"$select": "Nope"},
        {"$search": "x"},
        {"$format": "atom"},
    ],
)
async def test_bad_query_options_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    _error(await client.get(f"{PRODUCTS}/A_Product", params=params), 400)


async def test_select_returns_only_selected_properties(client: httpx.AsyncClient) -> None:
    products = _results(
        await client.get(
            f"{PRODUCTS}/A_Product", params={"$select": "Product,BaseUnit", "$top": "1"}
        )
    )
    assert set(products[0]) == {"__metadata", "Product", "BaseUnit"}
    with_nav = _results(
        await client.get(
            f"{PRODUCTS}/A_Product",
            params={
                "$select": "Product,to_Description/ProductDescription",
                "$expand": "to_Description",
                "$top": "1",
            },
        )
    )
    description = with_nav[0]["to_Description"]["results"][0]
    assert set(description) == {"__metadata", "ProductDescription"}


async def test_nested_expand_and_deferred_links(client: httpx.AsyncClient) -> None:
    assert (await _post(client, ORDERS, "A_SalesOrder", _order())).status_code == 201
    order = (
        await client.get(
            f"{ORDERS}/A_SalesOrder('5000000')", params={"$expand": "to_Item/to_PricingElement"}
        )
    ).json()["d"]
    item = order["to_Item"]["results"][0]
    pricing = item["to_PricingElement"]["results"][0]
    assert (pricing["ConditionType"], pricing["ConditionRateValue"]) == ("PPR0", "4800.000000000")
    shallow = (
        await client.get(f"{ORDERS}/A_SalesOrder('5000000')", params={"$expand": "to_Item"})
    ).json()["d"]
    assert shallow["to_Item"]["results"][0]["to_PricingElement"] == {
        "__deferred": {
            "uri": "http://sap.sandbox/sap/opu/odata/sap/API_SALES_ORDER_SRV/"
            "A_SalesOrderItem(SalesOrder='5000000',SalesOrderItem='10')/to_PricingElement"
        }
    }


async def test_inlinecount_and_server_driven_paging() -> None:
    async with _client(SapSandbox(page_size=5)) as http:
        response = await http.get(
            f"{PRODUCTS}/A_Product", params={"$inlinecount": "allpages", "$select": "Product"}
        )
        seen: list[str] = []
        links: list[str] = []
        for _ in range(5):  # bounded: a broken __next must fail, not loop
            body = response.json()["d"]
            assert body["__count"] == "12"
            seen += [p["Product"] for p in body["results"]]
            if "__next" not in body:
                break
            links.append(body["__next"])
            response = await http.get(body["__next"])
        base = "http://sap.sandbox/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?"
        assert links == [
            f"{base}$inlinecount=allpages&$select=Product&$skiptoken=5",
            f"{base}$inlinecount=allpages&$select=Product&$skiptoken=10",
        ]
        assert seen == [p.material for p in demo_data.PRODUCTS]

        limited = (await http.get(f"{PRODUCTS}/A_Product", params={"$top": "7"})).json()["d"]
        assert len(limited["results"]) == 5
        rest = (await http.get(limited["__next"])).json()["d"]
        assert [p["Product"] for p in rest["results"]] == ["Q2C-2001", "Q2C-2002"]
        assert "__next" not in rest


async def test_count_segment(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{PRODUCTS}/A_Product/$count", params={"$filter": "ProductType eq 'DIEN'"}
    )
    assert (response.status_code, response.text) == (200, "6")
    assert response.headers["content-type"].startswith("text/plain")


# -- keys, navigation, errors ---------------------------------------------------------------


async def test_key_and_composite_key_access(client: httpx.AsyncClient) -> None:
    product = (await client.get(f"{PRODUCTS}/A_Product('Q2C-1003')")).json()["d"]
    assert product["ProductType"] == "FERT"
    area_path = (
        "A_CustomerSalesArea(Customer='1000100',SalesOrganization='1010',"
        "DistributionChannel='10',Division='00')"
    )
    area = (await client.get(f"{PARTNERS}/{area_path}")).json()["d"]
    assert area["Currency"] == "EUR"
    encoded = quote("A_ProductDescription(Product='Q2C-1001',Language='EN')")
    description = (await client.get(f"{PRODUCTS}/{encoded}")).json()["d"]
    assert description["ProductDescription"] == "Edge Gateway Appliance G2"
    single_property = (await client.get(f"{PRODUCTS}/A_Product('Q2C-1003')/BaseUnit")).json()
    assert single_property == {"d": {"BaseUnit": "EA"}}


async def test_unknown_key_is_404_with_sap_error_envelope(client: httpx.AsyncClient) -> None:
    error = _error(await client.get(f"{PRODUCTS}/A_Product('NOPE')"), 404)
    assert error["code"] == "/IWBEP/CM_MGW_RT/020"
    assert error["message"] == {
        "lang": "en",
        "value": "Resource not found for segment 'A_ProductType'",
    }
    inner = error["innererror"]
    assert inner["application"] == {
        "component_id": "LO-MD-MM",
        "service_namespace": "/SAP/",
        "service_id": "API_PRODUCT_SRV",
        "service_version": "0001",
    }
    assert re.fullmatch(r"[0-9A-F]{32}", inner["transactionid"])
    assert re.fullmatch(r"\d{14}\.\d{7}", inner["timestamp"])
    assert inner["errordetails"][0]["severity"] == "error"
    assert set(inner["errordetails"][0]) >= {"code", "message", "propertyref", "target"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{PRODUCTS}/A_Nothing", 404),
        (f"{SERVICE_ROOT}/API_NOTHING_SRV/A_Product", 404),
        (f"{PRODUCTS}/A_Product('Q2C-1001')/to_Nowhere", 404),
        (f"{PRODUCTS}/A_Product(Product='Q2C-1001',Extra='x')", 400),
        (f"{PRODUCTS}/A_ProductDescription('Q2C-1001')", 400),
        (f"{PRODUCTS}/A_Product/to_Description", 400),
        (f"{PARTNERS}/A_BusinessPartner('1000101')/to_Customer('1000101')", 400),
    ],
)
async def test_bad_resource_paths(client: httpx.AsyncClient, path: str, status: int) -> None:
    _error(await client.get(path), status)


async def test_methods_not_allowed_are_405(client: httpx.AsyncClient) -> None:
    token = await _token(client, PRODUCTS)
    headers = {"X-CSRF-Token": token}
    _error(await client.delete(f"{PRODUCTS}/A_Product('Q2C-1001')", headers=headers), 405)
    _error(await client.post(f"{PRODUCTS}/A_Product", json={"Product": "X"}, headers=headers), 405)
    _error(await client.patch(f"{PRODUCTS}/A_Product('Q2C-1001')", json={}, headers=headers), 405)
    _error(await client.put(f"{PRODUCTS}/$metadata", json={}, headers=headers), 405)


async def test_navigation_reads(client: httpx.AsyncClient) -> None:
    body = _order(
        to_Item=[
            {"Material": "Q2C-1001", "RequestedQuantity": "1"},
            {"Material": "Q2C-3001", "RequestedQuantity": "8"},
        ]
    )
    assert (await _post(client, ORDERS, "A_SalesOrder", body)).status_code == 201
    items = _results(await client.get(f"{ORDERS}/A_SalesOrder('5000000')/to_Item"))
    assert [i["SalesOrderItem"] for i in items] == ["10", "20"]
    pricing = _results(
        await client.get(
            f"{ORDERS}/A_SalesOrder('5000000')/to_Item(SalesOrder='5000000',SalesOrderItem='20')"
            "/to_PricingElement"
        )
    )
    assert pricing[0]["ConditionAmount"] == "1160.00"
    count = await client.get(f"{ORDERS}/A_SalesOrder('5000000')/to_Item/$count")
    assert count.text == "2"
    customer = (await client.get(f"{PARTNERS}/A_BusinessPartner('1000101')/to_Customer")).json()
    assert customer["d"]["Customer"] == "1000101"


# -- business partners -------------------------------------------------------------------------


async def test_business_partner_deep_insert_creates_customer_and_sales_area(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    response = await _post(client, PARTNERS, "A_BusinessPartner", _partner())
    assert response.status_code == 201, response.text
    created = response.json()["d"]
    assert created["BusinessPartner"] == "1000200"
    assert created["Customer"] == "1000200"
    assert created["BusinessPartnerFullName"] == "Tailspin Energy SA"
    assert created["CreatedByUser"] == "Q2C_GATEWAY"
    assert created["CreationDate"] == "/Date(1795737600000)/"
    assert response.headers["location"].endswith("/A_BusinessPartner('1000200')")
    assert created["to_BusinessPartnerAddress"]["results"][0]["CityName"] == "Lyon"
    assert created["to_Customer"]["to_CustomerSalesArea"]["results"][0]["Currency"] == "EUR"

    customer = (await client.get(f"{PARTNERS}/A_Customer('1000200')")).json()["d"]
    assert customer["CustomerFullName"] == "Tailspin Energy SA"
    area = await client.get(
        f"{PARTNERS}/A_CustomerSalesArea(Customer='1000200',SalesOrganization='1010',"
        "DistributionChannel='10',Division='00')"
    )
    assert area.status_code == 200
    tax = _results(
        await client.get(
            f"{PARTNERS}/A_BusinessPartnerTaxNumber",
            params={"$filter": "BPTaxNumber eq 'FR40303265045'"},
        )
    )
    assert tax[0]["BusinessPartner"] == "1000200"

    second = await _post(client, PARTNERS, "A_BusinessPartner", _partner("Wide World Importers BV"))
    assert second.json()["d"]["BusinessPartner"] == "1000201"
    snapshot = {p["BusinessPartner"]: p for p in sandbox.business_partners()}
    assert snapshot["1000200"]["to_Customer"]["to_CustomerSalesArea"][0]["Division"] == "00"
    assert snapshot["1000201"]["OrganizationBPName1"] == "Wide World Importers BV"

    order = await _post(client, ORDERS, "A_SalesOrder", _order(soldto="1000200"))
    assert order.status_code == 201, order.text


async def test_business_partner_accepts_results_wrapped_navigation(
    client: httpx.AsyncClient,
) -> None:
    body = _partner()
    body["to_BusinessPartnerRole"] = {"results": body["to_BusinessPartnerRole"]}
    body["to_Customer"]["to_CustomerSalesArea"] = {
        "results": body["to_Customer"]["to_CustomerSalesArea"]
    }
    response = await _post(client, PARTNERS, "A_BusinessPartner", body)
    assert response.status_code == 201, response.text


async def test_business_partner_without_customer_role_has_no_customer(
    client: httpx.AsyncClient,
) -> None:
    body = _partner(to_BusinessPartnerRole=[{"BusinessPartnerRole": "FLVN00"}])
    error = _error(await _post(client, PARTNERS, "A_BusinessPartner", body), 400)
    assert "FLCU0" in error["message"]["value"]
    plain = _partner(to_BusinessPartnerRole=[])
    del plain["to_Customer"]
    created = (await _post(client, PARTNERS, "A_BusinessPartner", plain)).json()["d"]
    assert created["Customer"] == ""
    _error(await client.get(f"{PARTNERS}/A_BusinessPartner('1000200')/to_Customer"), 404)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"BusinessPartnerCategory": "3"}, "category"),
        ({"OrganizationBPName1": ""}, "OrganizationBPName1"),
        ({"BusinessPartner": "4711"}, "assigned internally"),
        ({"SearchTerm1": "X" * 21}, "maximum length of 20"),
        ({"Unknown": "x"}, "'Unknown' is invalid"),
        ({"to_BusinessPartnerRole": [{"BusinessPartnerRole": "NOPE"}]}, "NOPE"),
        (
            {
                "to_Customer": {
                    "to_CustomerSalesArea": [
                        {"SalesOrganization": "2000", "DistributionChannel": "10", "Division": "00"}
                    ]
                }
            },
            "2000/10/00",
        ),
    ],
)
async def test_business_partner_validation(
    client: httpx.AsyncClient, change: dict[str, Any], fragment: str
) -> None:
    error = _error(await _post(client, PARTNERS, "A_BusinessPartner", _partner(**change)), 400)
    assert fragment in error["message"]["value"]


async def test_patch_and_merge_business_partner(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    token = await _token(client, PARTNERS)
    response = await client.patch(
        f"{PARTNERS}/A_BusinessPartner('1000100')",
        json={"OrganizationBPName1": "Northwind Traders SE"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 204
    assert response.content == b""
    merged = await client.request(
        "MERGE",
        f"{PARTNERS}/A_BusinessPartner('1000100')",
        json={"SearchTerm1": "NORTHWIND"},
        headers={"X-CSRF-Token": token},
    )
    assert merged.status_code == 204
    partner = (
        await client.get(
            f"{PARTNERS}/A_BusinessPartner('1000100')", params={"$expand": "to_Customer"}
        )
    ).json()["d"]
    assert partner["OrganizationBPName1"] == "Northwind Traders SE"
    assert partner["BusinessPartnerFullName"] == "Northwind Traders SE"
    assert partner["SearchTerm1"] == "NORTHWIND"
    assert partner["LastChangeDate"] == "/Date(1795737600000)/"
    assert partner["to_Customer"]["CustomerFullName"] == "Northwind Traders SE"
    found = _results(
        await client.get(
            f"{PARTNERS}/A_BusinessPartner",
            params={"$filter": "OrganizationBPName1 eq 'Northwind Traders SE'"},
        )
    )
    assert [p["BusinessPartner"] for p in found] == ["1000100"]
    _error(
        await client.patch(
            f"{PARTNERS}/A_BusinessPartner('1999999')", json={}, headers={"X-CSRF-Token": token}
        ),
        404,
    )


# -- sales orders -----------------------------------------------------------------------------


async def test_sales_order_deep_insert_computes_net_amounts(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    body = _order(
        to_Item=[
            {"Material": "Q2C-1001", "RequestedQuantity": "4"},
            {
                "Material": "Q2C-3001",
                "RequestedQuantity": "16",
                "to_PricingElement": [
                    {
                        "ConditionType": "PPR0",
                        "ConditionRateValue": "130.50",
                        "ConditionCurrency": "EUR",
                    }
                ],
            },
            {"Material": "Q2C-1004", "RequestedQuantity": "2.5"},
        ]
    )
    response = await _post(client, ORDERS, "A_SalesOrder", body)
    assert response.status_code == 201, response.text
    order = response.json()["d"]
    assert order["SalesOrder"] == "5000000"
    assert order["TotalNetAmount"] == "21762.75"  # 19200.00 + 2088.00 + 474.75
    assert order["OverallSDProcessStatus"] == "A"
    assert order["TransactionCurrency"] == "EUR"
    assert "V1/311" in response.headers["sap-message"]
    items = order["to_Item"]["results"]
    assert [(i["SalesOrderItem"], i["NetAmount"], i["RequestedQuantity"]) for i in items] == [
        ("10", "19200.00", "4"),
        ("20", "2088.00", "16"),
        ("30", "474.75", "2.5"),
    ]
    assert items[0]["SalesOrderItemText"] == "Edge Gateway Appliance G2"
    assert items[1]["to_PricingElement"]["results"][0]["ConditionIsManuallyChanged"] is True

    stored = sandbox.sales_orders()
    assert len(stored) == 1
    assert stored[0]["TotalNetAmount"] == Decimal("21762.75")
    assert stored[0]["to_Item"][1]["to_PricingElement"][0]["ConditionRateValue"] == Decimal(
        "130.50"
    )
    again = await _post(client, ORDERS, "A_SalesOrder", _order())
    assert again.json()["d"]["SalesOrder"] == "5000001"


async def test_sales_order_rounds_to_currency_decimals(client: httpx.AsyncClient) -> None:
    body = _order(
        soldto="1000105",
        currency="JPY",
        to_Item=[
            {
                "Material": "Q2C-2001",
                "RequestedQuantity": "3",
                "to_PricingElement": [{"ConditionType": "PPR0", "ConditionRateValue": "1999.5"}],
            },
            {"Material": "Q2C-1001", "RequestedQuantity": "2"},
        ],
    )
    order = (await _post(client, ORDERS, "A_SalesOrder", body)).json()["d"]
    assert [i["NetAmount"] for i in order["to_Item"]["results"]] == ["5999", "1560000"]
    assert order["TotalNetAmount"] == "1565999"


async def test_sales_order_accepts_results_wrapper_and_explicit_item_numbers(
    client: httpx.AsyncClient,
) -> None:
    body = _order(
        to_Item={
            "results": [
                {"SalesOrderItem": "100", "Material": "Q2C-1005", "RequestedQuantity": "1"},
                {"Material": "Q2C-1005", "RequestedQuantity": "1"},
            ]
        }
    )
    response = await _post(client, ORDERS, "A_SalesOrder", body)
    assert response.status_code == 201, response.text
    items = response.json()["d"]["to_Item"]["results"]
    assert [i["SalesOrderItem"] for i in items] == ["100", "110"]


async def test_sales_order_currency_defaults_to_sales_area(client: httpx.AsyncClient) -> None:
    order = (
        await _post(client, ORDERS, "A_SalesOrder", _order(soldto="1000106", currency=None))
    ).json()["d"]
    assert order["TransactionCurrency"] == "GBP"
    assert order["TotalNetAmount"] == "16600.00"


async def test_unknown_material_is_rejected_naming_material_and_item(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    body = _order(
        to_Item=[
            {"Material": "Q2C-1001", "RequestedQuantity": "1"},
            {"Material": "Q2C-0000", "RequestedQuantity": "1"},
        ]
    )
    error = _error(await _post(client, ORDERS, "A_SalesOrder", body), 400)
    message = error["message"]["value"]
    assert "Q2C-0000" in message
    assert "Item 20" in message
    assert error["innererror"]["errordetails"][0]["message"] == message
    assert sandbox.sales_orders() == []


async def test_material_marked_for_deletion_is_rejected(client: httpx.AsyncClient) -> None:
    body = _order(to_Item=[{"Material": "Q2C-9001", "RequestedQuantity": "2"}])
    message = _error(await _post(client, ORDERS, "A_SalesOrder", body), 400)["message"]["value"]
    assert "Q2C-9001" in message
    assert "marked for deletion" in message
    assert "Item 10" in message


async def test_all_item_errors_are_reported(client: httpx.AsyncClient) -> None:
    body = _order(
        to_Item=[
            {"Material": "Q2C-0001", "RequestedQuantity": "1"},
            {"Material": "Q2C-9001", "RequestedQuantity": "1"},
            {"Material": "Q2C-1001", "RequestedQuantity": "0"},
        ]
    )
    error = _error(await _post(client, ORDERS, "A_SalesOrder", body), 400)
    details = [d["message"] for d in error["innererror"]["errordetails"]]
    assert len(details) == 3
    assert [d.split(":")[0] for d in details] == ["Item 10", "Item 20", "Item 30"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_order(soldto="9999999"), "9999999"),
        (_order(SalesOrganization="2000"), "2000/10/00"),
        (_order(SoldToParty=""), "SoldToParty"),
        (_order(currency="XYZ"), "XYZ"),
        (_order(currency="CHF"), "no price"),
        (_order(to_Item=[{"Material": "Q2C-1001", "RequestedQuantity": "-1"}]), "positive"),
        (_order(to_Item=[{"Material": "Q2C-1001", "RequestedQuantity": "abc"}]), "decimal"),
        (
            _order(
                to_Item=[
                    {
                        "Material": "Q2C-1001",
                        "RequestedQuantity": "1",
                        "RequestedQuantityUnit": "KG",
                    }
                ]
            ),
            "base unit",
        ),
        (
            _order(
                to_Item=[
                    {
                        "Material": "Q2C-1001",
                        "RequestedQuantity": "1",
                        "to_PricingElement": [{"ConditionType": "K007", "ConditionRateValue": "5"}],
                    }
                ]
            ),
            "K007",
        ),
        (_order(PurchaseOrderByCustomer="P" * 36), "maximum length of 35"),
        (
            _order(
                to_Item=[
                    {"SalesOrderItem": "10", "Material": "Q2C-1001", "RequestedQuantity": "1"},
                    {"SalesOrderItem": "10", "Material": "Q2C-1002", "RequestedQuantity": "1"},
                ]
            ),
            "twice",
        ),
    ],
)
async def test_sales_order_validation(
    client: httpx.AsyncClient, sandbox: SapSandbox, body: dict[str, Any], fragment: str
) -> None:
    error = _error(await _post(client, ORDERS, "A_SalesOrder", body), 400)
    assert fragment in error["message"]["value"]
    assert sandbox.sales_orders() == []


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    token = await _token(client, ORDERS)
    response = await client.post(
        f"{ORDERS}/A_SalesOrder",
        content=b"{not json",
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert "Malformed JSON" in _error(response, 400)["message"]["value"]


async def test_lookup_by_purchase_order_reference(client: httpx.AsyncClient) -> None:
    for reference in ("PO-A", "PO-B", "PO-C"):
        created = await _post(
            client, ORDERS, "A_SalesOrder", _order(PurchaseOrderByCustomer=reference)
        )
        assert created.status_code == 201
    found = _results(
        await client.get(
            f"{ORDERS}/A_SalesOrder",
            params={
                "$filter": "PurchaseOrderByCustomer eq 'PO-B'",
                "$expand": "to_Item",
                "$top": "1",
            },
        )
    )
    assert [o["SalesOrder"] for o in found] == ["5000001"]
    assert found[0]["to_Item"]["results"][0]["Material"] == "Q2C-1001"
    none = _results(
        await client.get(
            f"{ORDERS}/A_SalesOrder", params={"$filter": "PurchaseOrderByCustomer eq 'PO-Z'"}
        )
    )
    assert none == []
    newest_first = _results(
        await client.get(
            f"{ORDERS}/A_SalesOrder",
            params={"$filter": "SoldToParty eq '1000100'", "$orderby": "SalesOrder desc"},
        )
    )
    assert [o["SalesOrder"] for o in newest_first] == ["5000002", "5000001", "5000000"]


def test_equality_filters_report_index_candidates() -> None:
    from sandboxes.sap_s4hana.metadata import A_SALES_ORDER

    both = compile_filter(A_SALES_ORDER, "PurchaseOrderByCustomer eq 'X' and SoldToParty ne 'Y'")
    assert both.equalities == (("PurchaseOrderByCustomer", "X"),)
    either = compile_filter(A_SALES_ORDER, "SoldToParty eq 'A' or SoldToParty eq 'B'")
    assert either.equalities == ()


# -- fault injection --------------------------------------------------------------------------


async def test_fail_next_answers_503_with_envelope(
    client: httpx.AsyncClient, sandbox: SapSandbox
) -> None:
    sandbox.faults.fail_next = 2
    for _ in range(2):
        error = _error(await client.get(f"{PRODUCTS}/A_Product('Q2C-1001')"), 503)
        assert error["innererror"]["application"]["service_id"] == "API_PRODUCT_SRV"
    assert (await client.get(f"{PRODUCTS}/A_Product('Q2C-1001')")).status_code == 200
    assert sandbox.faults.fail_next == 0


async def test_latency_is_injected(client: httpx.AsyncClient, sandbox: SapSandbox) -> None:
    sandbox.faults.latency_seconds = 0.05
    started = time.perf_counter()
    response = await client.get(f"{PRODUCTS}/A_Product('Q2C-1001')")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.05


async def test_lifespan_is_acknowledged(sandbox: SapSandbox) -> None:
    app = create_app(sandbox)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
