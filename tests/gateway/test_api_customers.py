"""Customers: listing, identity matching on create, safe updates, full validation errors."""

from __future__ import annotations

import httpx

from gateway.wiring import Runtime

NEW_CUSTOMER = {
    "name": "Quantum Widgets GmbH",
    "country": "DE",
    "tax_id": "DE300100200",
    "website": "quantum-widgets.example",
    "address": {
        "country": "DE",
        "city": "Berlin",
        "street": "Unter den Linden 1",
        "postal_code": "10117",
    },
}


async def test_list_filters_by_country_and_name(api: httpx.AsyncClient) -> None:
    german = (await api.get("/v1/customers", params={"country": "DE", "limit": "50"})).json()
    assert german["data"]
    assert {c["country"] for c in german["data"]} == {"DE"}
    named = (await api.get("/v1/customers", params={"name": "northwind"})).json()["data"]
    assert [c["name"] for c in named] == ["Northwind Traders GmbH"]
    by_tax = (await api.get("/v1/customers", params={"tax_id": "GB220430231"})).json()["data"]
    assert [c["name"] for c in by_tax] == ["Fabrikam Logistics Ltd"]


async def test_create_customer_masters_it_in_the_crm(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await api.post("/v1/customers", json=NEW_CUSTOMER)
    assert response.status_code == 201, response.text
    customer = response.json()
    assert customer["id"].startswith("cus_")
    assert response.headers["location"] == f"/v1/customers/{customer['id']}"
    [reference] = customer["external_references"]
    assert reference["system"] == "salesforce"
    accounts = runtime.sandboxes["salesforce"].records("Account")
    [account] = [a for a in accounts if a["Id"] == reference["id"]]
    assert account["Q2C_Id__c"] == customer["id"]
    assert account["Tax_ID__c"] == "DE300100200"
    fetched = await api.get(f"/v1/customers/{customer['id']}")
    assert fetched.json() == customer


async def test_second_create_of_the_same_company_is_refused_with_the_existing_id(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = (await api.post("/v1/customers", json=NEW_CUSTOMER)).json()
    before = len(runtime.sandboxes["salesforce"].records("Account"))
    variants = [
        {**NEW_CUSTOMER, "name": "QW Holding", "tax_id": "DE 300 100 200"},  # tax id
        {"name": "QUANTUM WIDGETS", "country": "DE"},  # name + country, legal form dropped
        {"name": "Q. Widgets", "country": "DE", "website": "https://www.quantum-widgets.example"},
    ]
    for variant in variants:
        response = await api.post("/v1/customers", json=variant)
        assert response.status_code == 409, (variant, response.text)
        problem = response.json()
        assert problem["code"] == "DUPLICATE_CUSTOMER"
        assert problem["existing_id"] == first["id"]
    assert len(runtime.sandboxes["salesforce"].records("Account")) == before
    # Same name in another country is another company.
    other = await api.post("/v1/customers", json={"name": "Quantum Widgets", "country": "AT"})
    assert other.status_code == 201


async def test_seeded_account_is_matched_too(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/v1/customers", params={"name": "Northwind"})).json()["data"][0]
    response = await api.post("/v1/customers", json={"name": "Northwind Traders", "country": "DE"})
    assert response.status_code == 409
    assert response.json()["existing_id"] == listed["id"]


async def test_patch_needs_a_current_etag(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/customers", json=NEW_CUSTOMER)
    url = created.headers["location"]
    etag = (await api.get(url)).headers["etag"]

    missing = await api.patch(url, json={"industry": "Robotics"})
    assert missing.status_code == 428
    assert missing.json()["code"] == "IF_MATCH_REQUIRED"

    wrong = await api.patch(url, json={"industry": "Robotics"}, headers={"If-Match": '"nope"'})
    assert wrong.status_code == 412

    ok = await api.patch(
        url, json={"industry": "Robotics", "phone": "+49 30 1234"}, headers={"If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["industry"] == "Robotics"
    assert ok.headers["etag"] != etag
    assert (await api.get(url)).headers["etag"] == ok.headers["etag"]

    stale = await api.patch(url, json={"industry": "Other"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert (await api.get(url)).json()["industry"] == "Robotics"


async def test_every_invalid_member_is_reported_with_its_path(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/customers",
        json={
            "name": "",
            "country": "Germany",
            "tax_id": 12,
            "address": {"country": "de", "city": "x" * 101},
            "colour": "blue",
        },
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "VALIDATION_FAILED"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"name", "country", "tax_id", "address.country", "address.city", "colour"}


async def test_missing_required_members_are_listed(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/customers", json={})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "country"}
    assert {e["code"] for e in response.json()["errors"]} == {"required"}


async def test_malformed_json_is_a_400_problem(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/customers", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_BODY"


async def test_bad_cursor_is_a_400_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/customers", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


async def test_salesforce_down_is_a_503_problem_naming_the_system(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.sandboxes["salesforce"].faults.fail_next = 10
    response = await api.get("/v1/customers")
    assert response.status_code == 503
    problem = response.json()
    assert problem["system"] == "salesforce"
    assert problem["retryable"] is True
    assert problem["code"] in {"DEPENDENCY_UNAVAILABLE", "DEPENDENCY_CIRCUIT_OPEN"}


async def test_unexpected_errors_leak_nothing(
    api: httpx.AsyncClient, runtime: Runtime, monkeypatch: object
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(runtime.services.customers, "list_page", explode)
    response = await api.get(
        "/v1/customers",
        headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert response.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
