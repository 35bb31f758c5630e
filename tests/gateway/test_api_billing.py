"""Billing, payments, tax and the second ERP through the assembled gateway."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from gateway.settings import Settings
from gateway.wiring import Runtime


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


async def _customer(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    found = (await api.get("/v1/customers", params={"name": name})).json()["data"]
    assert found, name
    customer: dict[str, Any] = found[0]
    return customer


async def _product(api: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
    product: dict[str, Any] = next(p for p in products if p["sku"] == sku)
    return product


async def _order(
    api: httpx.AsyncClient, customer: dict[str, Any], currency: str, lines: list[tuple[str, str]]
) -> dict[str, Any]:
    body = {
        "customer_id": customer["id"],
        "currency": currency,
        "lines": [
            {"product_id": (await _product(api, sku))["id"], "quantity": qty} for sku, qty in lines
        ],
    }
    response = await api.post("/v1/orders", json=body, headers=_key())
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_orders_route_to_the_erp_of_the_legal_entity(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    uk = await _customer(api, "Fabrikam")  # legal entity ACME-UK -> NetSuite
    us = await _customer(api, "Datum Corporation")  # ACME-US -> SAP S/4HANA
    assert (uk["legal_entity"], us["legal_entity"]) == ("ACME-UK", "ACME-US")
    uk_order = await _order(api, uk, "GBP", [("Q2C-1003", "2"), ("Q2C-3001", "4")])
    us_order = await _order(api, us, "USD", [("Q2C-1001", "1")])
    assert [r["system"] for r in uk_order["external_references"]] == ["netsuite"]
    assert [r["system"] for r in us_order["external_references"]] == ["sap_s4hana"]
    netsuite_orders = runtime.sandboxes["netsuite"].records("salesOrder")
    [ns] = [o for o in netsuite_orders if o.get("externalId") == uk_order["id"]]
    assert ns["subsidiary"]["id"] == "2"
    assert uk_order["total_net"] == {"amount": "2660.00", "currency": "GBP"}
    sap_orders = runtime.sandboxes["sap_s4hana"].sales_orders()
    assert [o for o in sap_orders if o["PurchaseOrderByCustomer"] == us_order["id"]]
    assert not [o for o in sap_orders if o["PurchaseOrderByCustomer"] == uk_order["id"]]
    fetched = await api.get(f"/v1/orders/{uk_order['id']}")
    assert fetched.json() == uk_order


@pytest.mark.parametrize(
    ("name", "currency", "lines", "rate"),
    [
        ("Northwind", "EUR", [("Q2C-1004", "3"), ("Q2C-3001", "2.5")], Decimal("0.19")),
        ("Contoso", "USD", [("Q2C-1001", "1"), ("Q2C-1005", "3")], None),
        ("Relecloud", "JPY", [("Q2C-1003", "3"), ("Q2C-2001", "7")], Decimal("0.10")),
    ],
)
async def test_invoice_is_order_total_plus_tax_to_the_cent(
    api: httpx.AsyncClient,
    runtime: Runtime,
    name: str,
    currency: str,
    lines: list[tuple[str, str]],
    rate: Decimal | None,
) -> None:
    order = await _order(api, await _customer(api, name), currency, lines)
    response = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=_key())
    assert response.status_code == 201, response.text
    invoice = response.json()
    net, tax, total = (
        Decimal(order["total_net"]["amount"]),
        Decimal(invoice["tax"]["amount"]),
        Decimal(invoice["total"]["amount"]),
    )
    assert total == net + tax
    assert invoice["amount_due"] == invoice["total"]
    assert invoice["status"] == "open"
    assert invoice["order_id"] == order["id"]
    assert tax > 0
    if rate is not None:
        assert tax == (net * rate).quantize(Decimal(1) if currency == "JPY" else Decimal("0.01"))
    if currency == "JPY":
        assert "." not in invoice["total"]["amount"]
    [stripe] = [r for r in invoice["external_references"] if r["system"] == "stripe"]
    [stripe_invoice] = [
        i for i in runtime.sandboxes["stripe"].objects("invoice") if i["id"] == stripe["id"]
    ]
    minor = 1 if currency == "JPY" else 100
    assert stripe_invoice["total"] == int(total * minor)
    [avalara] = [r for r in invoice["external_references"] if r["system"] == "avalara"]
    committed = [
        t for t in runtime.sandboxes["avalara"].transactions() if t["code"] == avalara["id"]
    ]
    assert [t["status"] for t in committed] == ["Committed"]
    assert Decimal(str(committed[0]["totalTax"])) == tax
    assert (await api.get(f"/v1/invoices/{invoice['id']}")).json() == invoice


async def test_retried_invoice_and_payment_create_one_stripe_object_each(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    stripe = runtime.sandboxes["stripe"]
    order = await _order(api, await _customer(api, "Northwind"), "EUR", [("Q2C-1002", "2")])
    key = _key()
    first = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    again = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    other_key = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=_key())
    assert other_key.status_code == 409
    assert other_key.json()["existing_id"] == first.json()["id"]
    invoices = [
        i for i in stripe.objects("invoice") if i["metadata"].get("q2c_order_id") == order["id"]
    ]
    assert len(invoices) == 1

    invoice = first.json()
    pay_key = _key()
    body = {"invoice_id": invoice["id"], "payment_method": "pm_card_visa"}
    paid = await api.post("/v1/payments", json=body, headers=pay_key)
    replay = await api.post("/v1/payments", json=body, headers=pay_key)
    assert (paid.status_code, replay.status_code) == (201, 201)
    assert paid.json()["status"] == "succeeded"
    assert replay.json() == paid.json()
    intents = [
        p
        for p in stripe.objects("payment_intent")
        if p["metadata"].get("q2c_payment_id") == paid.json()["id"]
    ]
    assert len(intents) == 1
    assert (await api.get(f"/v1/invoices/{invoice['id']}")).json()["status"] == "paid"

    # The same payment, retried inside the domain after a lost answer: still one intent.
    from contracts.v1.billing import PaymentCreate

    order2 = await _order(api, await _customer(api, "Northwind"), "EUR", [("Q2C-1005", "1")])
    invoice2 = (
        await api.post("/v1/invoices", json={"order_id": order2["id"]}, headers=_key())
    ).json()
    data = PaymentCreate(invoice_id=invoice2["id"], payment_method="pm_card_visa")
    payment_id = "pay_01JDQ2C0000000000000000001"
    one = await runtime.services.payments.create("sandbox", data, payment_id)
    assert one.status == "succeeded"
    with pytest.raises(Exception, match="paid"):
        await runtime.services.payments.create("sandbox", data, payment_id)
    assert (
        len(
            [
                p
                for p in stripe.objects("payment_intent")
                if p["metadata"].get("q2c_payment_id") == payment_id
            ]
        )
        == 1
    )


async def test_declined_card_and_refunds(api: httpx.AsyncClient) -> None:
    order = await _order(api, await _customer(api, "Contoso"), "USD", [("Q2C-1005", "2")])
    invoice = (
        await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=_key())
    ).json()
    declined = await api.post(
        "/v1/payments",
        headers=_key(),
        json={"invoice_id": invoice["id"], "payment_method": "pm_card_chargeDeclined"},
    )
    assert declined.status_code == 201
    assert declined.json()["status"] == "failed"
    assert declined.json()["failure_reason"]
    paid = (
        await api.post(
            "/v1/payments",
            headers=_key(),
            json={"invoice_id": invoice["id"], "payment_method": "pm_card_visa"},
        )
    ).json()
    assert paid["status"] == "succeeded"
    partial = await api.post(
        f"/v1/payments/{paid['id']}/refunds",
        headers=_key(),
        json={"amount": {"amount": "10.00", "currency": "USD"}},
    )
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "partially_refunded"
    assert partial.json()["amount_refunded"] == {"amount": "10.00", "currency": "USD"}
    full = await api.post(f"/v1/payments/{paid['id']}/refunds", headers=_key(), json={})
    assert full.json()["status"] == "refunded"
    too_much = await api.post(f"/v1/payments/{paid['id']}/refunds", headers=_key(), json={})
    assert too_much.status_code == 422


async def test_price_calculation_and_tax_engine_down(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await _customer(api, "Northwind")
    product = await _product(api, "Q2C-1001")
    body = {
        "customer_id": customer["id"],
        "currency": "EUR",
        "lines": [{"product_id": product["id"], "quantity": "2", "discount_percent": "10"}],
    }
    response = await api.post("/v1/pricing/calculate", json=body)
    assert response.status_code == 200, response.text
    calc = response.json()
    [line] = calc["lines"]
    assert line["unit_price"] == {"amount": "4800.00", "currency": "EUR"}
    assert line["net_amount"] == {"amount": "8640.00", "currency": "EUR"}
    assert line["tax"] == {"amount": "1641.60", "currency": "EUR"}
    assert calc["total"] == {"amount": "10281.60", "currency": "EUR"}
    assert not [
        t for t in runtime.sandboxes["avalara"].transactions() if t["type"] == "SalesOrder"
    ]  # estimates are not recorded

    missing = await api.post("/v1/pricing/calculate", json={**body, "currency": "CHF"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "lines[0].product_id"

    quotes = (await api.get("/v1/quotes", params={"customer_id": customer["id"]})).json()
    quote = await api.get(f"/v1/quotes/{quotes['data'][0]['id']}")
    net = Decimal(quote.json()["total"]["amount"])
    assert quote.json()["tax"] == {
        "amount": str((net * Decimal("0.19")).quantize(Decimal("0.01"))),
        "currency": "EUR",
    }

    runtime.sandboxes["avalara"].faults.fail_next = 100
    quote_down = await api.get(f"/v1/quotes/{quotes['data'][0]['id']}")
    assert quote_down.status_code == 503
    assert quote_down.json()["system"] == "avalara"
    down = await api.post("/v1/pricing/calculate", json=body)
    assert down.status_code == 503
    problem = down.json()
    assert (problem["code"], problem["system"], problem["retryable"]) == (
        "DEPENDENCY_UNAVAILABLE",
        "avalara",
        True,
    )
    order = await _order(api, customer, "EUR", [("Q2C-1005", "1")])
    no_invoice = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=_key())
    assert no_invoice.status_code == 503
    assert no_invoice.json()["system"] == "avalara"
    assert not [
        i
        for i in runtime.sandboxes["stripe"].objects("invoice")
        if i["metadata"].get("q2c_order_id") == order["id"]
    ]


def test_config_with_an_unknown_owner_fails_naming_it() -> None:
    toml = b"""
[systems.salesforce]
kind = "salesforce"
sandbox = true
[systems.sap_s4hana]
kind = "sap_s4hana"
sandbox = true
[ownership]
customers = "salesforce"
prices = "salesforce"
quotes = "salesforce"
products = "sap_s4hana"
orders = { system = "sap_s4hana", by_legal_entity = { "ACME-UK" = "netsuite" } }
"""
    with pytest.raises(msgspec.ValidationError, match=r"ownership\.orders.*'netsuite'"):
        msgspec.toml.decode(toml, type=Settings)
    wrong_kind = toml.replace(b'products = "sap_s4hana"', b'products = "salesforce"')
    wrong_kind = wrong_kind.replace(b', by_legal_entity = { "ACME-UK" = "netsuite" }', b"")
    with pytest.raises(msgspec.ValidationError, match=r"ownership\.products.*cannot own"):
        msgspec.toml.decode(wrong_kind, type=Settings)
