"""Products, prices and quotes through the embedded gateway."""

from __future__ import annotations

from decimal import Decimal

import httpx

from sandboxes.demo_data import PRODUCTS, QUOTES


async def test_products_page_through_the_whole_catalogue(api: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        response = await api.get("/v1/products", params=params)
        assert response.status_code == 200
        body = response.json()
        assert len(body["data"]) <= 5
        seen.extend(p["sku"] for p in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(p.material for p in PRODUCTS)
    assert len(set(seen)) == len(seen)


async def test_product_ids_are_stable_and_carry_the_erp_reference(api: httpx.AsyncClient) -> None:
    first = (await api.get("/v1/products", params={"limit": "3"})).json()["data"][0]
    again = (await api.get("/v1/products", params={"limit": "3"})).json()["data"][0]
    assert first["id"] == again["id"]
    assert first["id"].startswith("prd_")
    assert first["external_references"] == [{"system": "sap_s4hana", "id": first["sku"]}]
    single = await api.get(f"/v1/products/{first['id']}")
    assert single.status_code == 200
    assert single.json() == first
    assert single.headers["etag"].startswith('"')


async def test_service_filter_and_inactive_products(api: httpx.AsyncClient) -> None:
    services = (await api.get("/v1/products", params={"kind": "service", "limit": "50"})).json()
    assert {p["sku"] for p in services["data"]} == {
        p.material for p in PRODUCTS if p.product_type == "DIEN"
    }
    inactive = (await api.get("/v1/products", params={"active": "false"})).json()["data"]
    assert [p["sku"] for p in inactive] == ["Q2C-9001"]


async def test_unknown_product_is_a_404_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/products/prd_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "PRODUCT_NOT_FOUND"
    assert problem["status"] == 404
    assert problem["trace_id"]


async def test_malformed_id_is_a_400_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/products/not-an-id")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


async def test_prices_by_product_price_list_and_currency(api: httpx.AsyncClient) -> None:
    products = (await api.get("/v1/products", params={"limit": "1"})).json()["data"]
    product = products[0]
    response = await api.get("/v1/prices", params={"product_id": product["id"], "currency": "EUR"})
    assert response.status_code == 200
    prices = {p["price_list"]: p for p in response.json()["data"]}
    assert prices["Standard Price Book"]["unit_price"] == {"amount": "4800.00", "currency": "EUR"}
    assert prices["Standard Price Book"]["product_id"] == product["id"]
    partner = Decimal(prices["Partner Price Book"]["unit_price"]["amount"])
    assert partner == Decimal("4320.00")
    jpy = await api.get(
        "/v1/prices",
        params={
            "product_id": product["id"],
            "currency": "JPY",
            "price_list": "Standard Price Book",
        },
    )
    assert [p["unit_price"] for p in jpy.json()["data"]] == [
        {"amount": "780000", "currency": "JPY"}
    ]


async def test_quotes_by_status_carry_lines_and_consistent_totals(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/quotes", params={"status": "accepted", "limit": "50"})
    assert response.status_code == 200
    quotes = response.json()["data"]
    assert len(quotes) == sum(1 for q in QUOTES if q.status == "Accepted")
    for quote in quotes:
        assert quote["status"] == "accepted"
        total = sum(Decimal(line["total"]["amount"]) for line in quote["lines"])
        assert Decimal(quote["total"]["amount"]) == total
        assert all(line["product_id"].startswith("prd_") for line in quote["lines"])
    one = (await api.get(f"/v1/quotes/{quotes[0]['id']}")).json()
    # A single quote adds the tax estimate; everything else equals the list entry.
    taxless = {k: v for k, v in one.items() if k not in ("tax", "total_with_tax")}
    assert taxless == {k: v for k, v in quotes[0].items() if k not in ("tax", "total_with_tax")}
    assert quotes[0]["tax"] is None  # lists carry no estimate
    assert Decimal(one["total_with_tax"]["amount"]) == (
        Decimal(one["total"]["amount"]) + Decimal(one["tax"]["amount"])
    )


async def test_quotes_of_a_customer(api: httpx.AsyncClient) -> None:
    quotes = (await api.get("/v1/quotes", params={"limit": "50"})).json()["data"]
    customer_id = quotes[0]["customer_id"]
    mine = (await api.get("/v1/quotes", params={"customer_id": customer_id})).json()["data"]
    assert mine
    assert {q["customer_id"] for q in mine} == {customer_id}
