"""What the server really does is what the document says: measured on the running
app, then looked up in the generated document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.v1.codes import COUNTRY_CODES, CURRENCY_CODES
from gateway import openapi_doc
from gateway.app import create_app
from gateway.openapi_schemas import strict_structs
from gateway.wiring import Runtime
from policies.idempotency.key import KEY_VALUE_PATTERN
from tests.conftest import bearer

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def v1() -> dict[str, Any]:
    return openapi_doc.generate("v1")


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


@pytest.fixture
async def anonymous(runtime: Runtime) -> Any:
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


# --- the code lists ---------------------------------------------------------------


def test_code_lists_are_the_iso_ones() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"DE", "GB", "US", "JP", "XK"} - COUNTRY_CODES == {"XK"}  # XK is user-assigned
    assert "QH" not in COUNTRY_CODES
    assert {"EUR", "USD", "GBP", "JPY", "XCG", "ZWG", "XOF"} <= CURRENCY_CODES
    assert not {"XAU", "XTS", "XXX", "XDR", "ABC"} & CURRENCY_CODES


async def test_an_unknown_country_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/customers", json={"name": "Q Holdings", "country": "QH"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["country"], response.json()
    assert "QH" in response.json()["errors"][0]["message"]


async def test_an_unknown_currency_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    customer = (await api.get("/v1/customers", params={"limit": 1})).json()["data"][0]
    product = (await api.get("/v1/products", params={"limit": 1})).json()["data"][0]
    response = await api.post(
        "/v1/pricing/calculate",
        json={
            "customer_id": customer["id"],
            "currency": "EUX",
            "lines": [{"product_id": product["id"], "quantity": "1"}],
            "ship_to": {"country": "ZZ"},
        },
    )
    assert response.status_code == 422
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["currency", "ship_to.country"], response.json()


async def test_an_unknown_country_filter_is_a_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/customers", params={"country": "QH"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "country"


def test_the_document_lists_the_codes(v1: dict[str, Any]) -> None:
    schemas = v1["components"]["schemas"]
    assert set(schemas["CustomerCreate"]["properties"]["country"]["enum"]) == COUNTRY_CODES
    assert set(schemas["Money"]["properties"]["currency"]["enum"]) == CURRENCY_CODES


# --- request rules the server enforces ----------------------------------------------


def test_strict_bodies_say_so(v1: dict[str, Any]) -> None:
    schemas = v1["components"]["schemas"]
    strict = [name for name in strict_structs() if name in schemas]
    assert {"CustomerCreate", "CustomerUpdate", "OrderCreate", "PaymentCreate", "Money"} <= set(
        strict
    )
    for name in strict:
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["Customer"]  # responses may grow


async def test_an_unknown_member_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/customers", json={"name": "Extra Member AG", "country": "CH", "nickname": "x"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["nickname"]


async def test_if_match_is_required_and_its_absence_is_a_428(
    api: httpx.AsyncClient, v1: dict[str, Any]
) -> None:
    patch = operation(v1, "/v1/customers/{customer_id}", "patch")
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    customer = (await api.get("/v1/customers", params={"limit": 1})).json()["data"][0]
    response = await api.patch(f"/v1/customers/{customer['id']}", json={"industry": "Retail"})
    assert response.status_code == 428
    assert response.json()["code"] == "IF_MATCH_REQUIRED"


def test_the_idempotency_key_schema_is_the_servers_rule(v1: dict[str, Any]) -> None:
    for path in ("/v1/orders", "/v1/invoices", "/v1/payments"):
        key = next(
            p for p in operation(v1, path, "post")["parameters"] if p["name"] == "Idempotency-Key"
        )
        assert key["required"] is True
        assert key["schema"]["pattern"] == KEY_VALUE_PATTERN


# --- responses the server sends -----------------------------------------------------


async def test_both_413s_are_one_problem(api: httpx.AsyncClient, anonymous: Any) -> None:
    # The framework's body limit (the token endpoint reads at most 8 KiB) ...
    framework = await anonymous.post(
        "/oauth/token", content=b"grant_type=" + b"x" * 9000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    # ... and the idempotency policy's (it fingerprints at most 1 MiB).
    policy = await api.post(
        "/v1/orders", content=b'{"x": "' + b"y" * (1024 * 1024) + b'"}',
        headers={"content-type": "application/json", "Idempotency-Key": '"big-body"'},
    )
    assert framework.status_code == policy.status_code == 413
    for response in (framework, policy):
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
        assert response.json()["type"] == "http://127.0.0.1:8080/problems/payload-too-large"


def test_every_body_operation_documents_413_and_every_operation_500(v1: dict[str, Any]) -> None:
    for item in v1["paths"].values():
        for method, op in item.items():
            assert "500" in op["responses"], op["operationId"]
            if "requestBody" in op:
                assert "413" in op["responses"], (method, op["operationId"])
                assert PROBLEM in op["responses"]["413"]["content"]


async def test_405_is_a_problem_with_allow_as_documented(
    api: httpx.AsyncClient, v1: dict[str, Any]
) -> None:
    response = await api.delete("/v1/customers")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "GET" in response.headers["allow"]
    assert "ratelimit" not in response.headers
    documented = v1["components"]["responses"]["MethodNotAllowed"]
    assert documented["headers"]["Allow"]["required"] is True
    assert PROBLEM in documented["content"]


async def test_the_token_endpoint_sends_and_documents_ratelimit(
    anonymous: Any, v1: dict[str, Any]
) -> None:
    issued = await anonymous.post(
        "/oauth/token", data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"),
    )
    refused = await anonymous.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("sandbox-client", "x")
    )
    token = operation(v1, "/oauth/token", "post")
    for response, status in ((issued, "200"), (refused, "401")):
        assert response.status_code == int(status)
        assert "ratelimit" in response.headers
        assert "ratelimit-policy" in response.headers
        assert {"RateLimit", "RateLimit-Policy"} <= set(token["responses"][status]["headers"])


async def test_401_and_403_carry_no_ratelimit_and_say_so(
    anonymous: Any, runtime: Runtime, v1: dict[str, Any]
) -> None:
    missing = await anonymous.get("/v1/customers")
    narrow = await anonymous.get("/v1/customers", headers=bearer(runtime, scopes=["orders:read"]))
    assert (missing.status_code, narrow.status_code) == (401, 403)
    for response in (missing, narrow):
        assert "ratelimit" not in response.headers
    responses = operation(v1, "/v1/customers", "get")["responses"]
    for status in ("401", "403"):
        assert "RateLimit" not in responses[status]["headers"]
        assert "WWW-Authenticate" in responses[status]["headers"]
    assert "RateLimit" in responses["200"]["headers"]
    assert "RateLimit" in responses["400"]["headers"]


async def test_the_governance_400_is_a_documented_problem(
    api: httpx.AsyncClient, v1: dict[str, Any]
) -> None:
    response = await api.get("/v1/ops/governance", params={"top_consumers": 0})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    documented = operation(v1, "/v1/ops/governance", "get")["responses"]["400"]["content"]
    assert documented == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}


async def test_the_served_document_names_no_fixed_host(anonymous: Any) -> None:
    document = (await anonymous.get("/schema/openapi.json")).json()
    assert document["servers"] == [
        {"url": "/", "description": document["servers"][0]["description"], "x-internal": False}
    ]


async def test_a_stored_address_the_tax_engine_refuses_names_the_customer_address(
    api: httpx.AsyncClient,
) -> None:
    """Without a ship_to the customer's own address is taxed: when the engine refuses it,
    the client is pointed at the customer record, not at a field it never sent."""
    created = await api.post(
        "/v1/customers",
        json={
            "name": "Nowhere Street Inc",
            "country": "US",
            "address": {"country": "US", "city": "Springfield", "street": "1 Main St"},
        },
    )
    assert created.status_code == 201, created.text
    product = (await api.get("/v1/products", params={"limit": 1})).json()["data"][0]
    body = {
        "customer_id": created.json()["id"],
        "currency": "USD",
        "lines": [{"product_id": product["id"], "quantity": "1"}],
    }
    response = await api.post("/v1/pricing/calculate", json=body)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields
    assert all(f.startswith("customer.address") for f in fields), fields
    explicit = await api.post(
        "/v1/pricing/calculate",
        json={**body, "ship_to": {"country": "US", "city": "Springfield"}},
    )
    assert explicit.status_code == 422, explicit.text
    assert all(e["field"].startswith("ship_to") for e in explicit.json()["errors"])
