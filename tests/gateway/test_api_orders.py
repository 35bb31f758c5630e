"""Orders: from an accepted quote or explicit lines into SAP, validated before any write."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from contracts.v1.orders import OrderCreate
from domains.ids import derived_id
from gateway.app import create_app
from gateway.wiring import Runtime, build_runtime
from policies.idempotency import IdempotencyConfig
from tests.conftest import bearer
from tests.support.settings import gateway_settings


async def _quote(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    quotes = (await api.get("/v1/quotes", params={"limit": "50"})).json()["data"]
    return next(q for q in quotes if q["name"] == name)


async def _product(api: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
    return next(p for p in products if p["sku"] == sku)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


def _sap_orders(runtime: Runtime) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = runtime.sandboxes["sap_s4hana"].sales_orders()
    return orders


def _items(order: dict[str, Any]) -> list[dict[str, Any]]:
    items = order.get("to_Item", [])
    return list(items["results"] if isinstance(items, dict) else items)


async def test_order_from_accepted_quote_reaches_sap_with_quote_lines(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    quote = await _quote(api, "Northwind rollout phase 1")
    response = await api.post(
        "/v1/orders",
        headers=_key(),
        json={
            "customer_id": quote["customer_id"],
            "quote_id": quote["id"],
            "purchase_order_reference": "PO-4711",
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["quote_id"] == quote["id"]
    assert order["customer_id"] == quote["customer_id"]
    assert order["purchase_order_reference"] == "PO-4711"
    assert order["total_net"] == quote["total"]  # the CPQ price is what the ERP books
    [sap] = [o for o in _sap_orders(runtime) if o["PurchaseOrderByCustomer"] == order["id"]]
    assert order["external_references"] == [{"system": "sap_s4hana", "id": sap["SalesOrder"]}]
    assert sap["SoldToParty"] == "1000100"  # Northwind already is an SAP customer
    items = _items(sap)
    assert [(i["Material"], Decimal(i["RequestedQuantity"])) for i in items] == [
        (line["sku"], Decimal(line["quantity"])) for line in quote["lines"]
    ]
    fetched = await api.get(f"/v1/orders/{order['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == order
    listed = (await api.get("/v1/orders", params={"customer_id": quote["customer_id"]})).json()
    assert order["id"] in [o["id"] for o in listed["data"]]


async def test_order_for_a_new_customer_creates_one_erp_customer(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = (
        await api.post(
            "/v1/customers",
            json={
                "name": "Brightline Robotics BV",
                "country": "NL",
                "tax_id": "NL001122334B01",
                "address": {"country": "NL", "city": "Utrecht"},
            },
        )
    ).json()
    product = await _product(api, "Q2C-1003")
    partners_before = len(runtime.sandboxes["sap_s4hana"].business_partners())
    for quantity in ("2", "1.5"):
        response = await api.post(
            "/v1/orders",
            headers=_key(),
            json={
                "customer_id": customer["id"],
                "currency": "EUR",
                "lines": [{"product_id": product["id"], "quantity": quantity}],
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["lines"][0]["quantity"] == quantity
    partners = runtime.sandboxes["sap_s4hana"].business_partners()
    assert len(partners) == partners_before + 1
    orders = (await api.get("/v1/orders", params={"customer_id": customer["id"]})).json()["data"]
    assert len(orders) == 2
    assert {o["total_net"]["amount"] for o in orders} == {"2500.00", "1875.00"}


async def test_every_bad_line_is_named_and_nothing_reaches_sap(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    customers = (await api.get("/v1/customers", params={"name": "Datum"})).json()["data"]
    good = await _product(api, "Q2C-1001")
    retired = await _product(api, "Q2C-9001")
    before = len(_sap_orders(runtime))
    response = await api.post(
        "/v1/orders",
        headers=_key(),
        json={
            "customer_id": customers[0]["id"],
            "currency": "USD",
            "lines": [
                {"product_id": good["id"], "quantity": "1"},
                {"product_id": "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": "1"},
                {"product_id": retired["id"], "quantity": "2"},
            ],
        },
    )
    assert response.status_code == 422
    problem = response.json()
    fields = {e["field"]: e["code"] for e in problem["errors"]}
    assert fields == {
        "lines[1].product_id": "unknown_product",
        "lines[2].product_id": "inactive_product",
    }
    assert len(_sap_orders(runtime)) == before


async def test_quote_rules(api: httpx.AsyncClient) -> None:
    draft = await _quote(api, "Tailspin pilot")
    accepted = await _quote(api, "Northwind rollout phase 1")
    not_accepted = await api.post(
        "/v1/orders",
        headers=_key(),
        json={"customer_id": draft["customer_id"], "quote_id": draft["id"]},
    )
    assert not_accepted.status_code == 422
    assert not_accepted.json()["errors"][0]["code"] == "quote_not_accepted"
    foreign = await api.post(
        "/v1/orders",
        headers=_key(),
        json={"customer_id": draft["customer_id"], "quote_id": accepted["id"]},
    )
    assert {e["code"] for e in foreign.json()["errors"]} == {"quote_customer_mismatch"}
    both = await api.post(
        "/v1/orders",
        headers=_key(),
        json={
            "customer_id": accepted["customer_id"],
            "quote_id": accepted["id"],
            "lines": [{"product_id": accepted["lines"][0]["product_id"], "quantity": "1"}],
        },
    )
    assert both.status_code == 422
    neither = await api.post(
        "/v1/orders", headers=_key(), json={"customer_id": accepted["customer_id"]}
    )
    assert neither.status_code == 422
    unknown = await api.post(
        "/v1/orders",
        headers=_key(),
        json={"customer_id": "cus_01ARZ3NDEKTSV4RRFFQ69G5FAV", "quote_id": accepted["id"]},
    )
    assert "customer_id" in {e["field"] for e in unknown.json()["errors"]}


async def test_sap_down_gives_503_and_no_order(api: httpx.AsyncClient, runtime: Runtime) -> None:
    quote = await _quote(api, "Contoso plant sensors")
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 50
    response = await api.post(
        "/v1/orders",
        headers=_key(),
        json={"customer_id": quote["customer_id"], "quote_id": quote["id"]},
    )
    assert response.status_code == 503
    problem = response.json()
    assert problem["system"] == "sap_s4hana"
    assert problem["retryable"] is True
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 0
    assert not [o for o in _sap_orders(runtime) if o["SoldToParty"] == "1000101"]


async def test_a_retried_submission_with_a_fixed_id_finds_the_first_erp_order(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    quote = await _quote(api, "Datum lab expansion")
    data = OrderCreate(customer_id=quote["customer_id"], quote_id=quote["id"])
    order_id = derived_id("order", "sandbox/client", "key-1")
    first = await runtime.services.orders.create("sandbox", data, order_id)
    second = await runtime.services.orders.create("sandbox", data, order_id)
    assert first == second
    assert len([o for o in _sap_orders(runtime) if o["PurchaseOrderByCustomer"] == order_id]) == 1


async def test_the_order_id_derives_from_the_key_the_policy_parsed(
    api: httpx.AsyncClient,
) -> None:
    quote = await _quote(api, "Datum lab expansion")
    body = {"customer_id": quote["customer_id"], "quote_id": quote["id"]}
    key = f"k-{uuid.uuid4()}"
    # The sf-string's quotes are not part of the key: the id is the consumer's and
    # the key's, as the idempotency policy parsed them.
    response = await api.post("/v2/orders", json=body, headers={"Idempotency-Key": f'"{key}"'})
    assert response.status_code == 201, response.text
    assert response.json()["id"] == derived_id("order", "sandbox/sandbox-client", key)


async def test_with_the_idempotency_policy_off_nothing_reads_the_key() -> None:
    settings = gateway_settings(idempotency=IdempotencyConfig(enabled=False))
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, runtime))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers=bearer(runtime)
        ) as api:
            quote = await _quote(api, "Datum lab expansion")
            product = await _product(api, "Q2C-1001")
            # Explicit lines: one accepted quote becomes one order, whatever the key.
            body = {
                "customer_id": quote["customer_id"],
                "currency": "USD",
                "lines": [{"product_id": product["id"], "quantity": "1"}],
            }
            first = await api.post("/v1/orders", json=body)
            second = await api.post("/v1/orders", json=body, headers={"Idempotency-Key": '"k"'})
    finally:
        await runtime.close()
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["id"] != second.json()["id"]


async def test_tenants_do_not_see_each_others_records(runtime: Runtime) -> None:
    from contracts.v1.customers import CustomerCreate
    from domains.customer.ports import CustomerQuery
    from domains.errors import NotFound

    customers = runtime.services.customers
    created = await customers.create("acme", CustomerCreate(name="Tenant Only Ltd", country="GB"))
    assert (await customers.get("acme", created.id)).name == "Tenant Only Ltd"
    try:
        await customers.get("globex", created.id)
        raise AssertionError("another tenant read the customer")
    except NotFound:
        pass
    query = CustomerQuery(name="Tenant Only")
    listed = await customers.list_page("acme", query, None, 10)
    assert [c.id for c in listed.items] == [created.id]
    assert (await customers.list_page("globex", query, None, 10)).items == []
