"""Exactly one system-of-record effect per canonical id, through the assembled gateway
(embedded sandboxes, the SQLite file): the issue-13 failures that need no extra process.

The process-level versions (two gateways, PostgreSQL, killed and restarted servers)
are in tests/faults.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from gateway.app import create_app
from gateway.wiring import Runtime, build_runtime
from tests.conftest import bearer
from tests.support.faults import FailRequests
from tests.support.settings import gateway_settings

PROBLEM = "application/problem+json"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


async def _accepted_quote(api: httpx.AsyncClient, index: int) -> dict[str, Any]:
    quotes = (await api.get("/v1/quotes", params={"status": "accepted"})).json()["data"]
    quote: dict[str, Any] = quotes[index]
    return quote


async def _lines_order(api: httpx.AsyncClient) -> dict[str, Any]:
    customers = (await api.get("/v1/customers", params={"name": "Datum"})).json()["data"]
    products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
    product = next(p for p in products if p["sku"] == "Q2C-1001")
    return {
        "customer_id": customers[0]["id"],
        "currency": "USD",
        "lines": [{"product_id": product["id"], "quantity": "2"}],
    }


def _sap_orders(runtime: Runtime, reference: str) -> list[dict[str, Any]]:
    return [
        o
        for o in runtime.sandboxes["sap_s4hana"].sales_orders()
        if o["PurchaseOrderByCustomer"] == reference
    ]


async def test_an_accepted_quote_becomes_one_order(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    quote = await _accepted_quote(api, 0)
    body = {"customer_id": quote["customer_id"], "quote_id": quote["id"]}
    first = await api.post("/v1/orders", json=body, headers=_key())
    assert first.status_code == 201, first.text
    before = len(runtime.sandboxes["sap_s4hana"].sales_orders())
    again = await api.post("/v1/orders", json=body, headers=_key())  # another key
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    problem = again.json()
    assert problem["code"] == "QUOTE_ALREADY_ORDERED"
    assert problem["existing_id"] == first.json()["id"]
    v2 = await api.post("/v2/orders", json=body, headers=_key())
    assert v2.status_code == 409
    assert v2.json()["existing_id"] == first.json()["id"]
    assert len(runtime.sandboxes["sap_s4hana"].sales_orders()) == before


async def test_one_key_on_v1_and_v2_at_once_makes_one_sap_order(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Issue 13 item 1, in one process: the same key on both versions, concurrently."""
    body = await _lines_order(api)
    runtime.sandboxes["sap_s4hana"].faults.latency_seconds = 0.2  # widen the race
    try:
        for _ in range(3):
            key = _key()
            responses = await asyncio.gather(
                api.post("/v1/orders", json=body, headers=key),
                api.post("/v2/orders", json=body, headers=key),
                api.post("/v1/orders", json=body, headers=key),
                api.post("/v2/orders", json=body, headers=key),
            )
            created = [r for r in responses if r.status_code == 201]
            assert created, [r.text for r in responses]
            assert {r.status_code for r in responses} <= {201, 409, 422}, [
                r.text for r in responses
            ]
            [order_id] = {r.json()["id"] for r in created}
            assert len(_sap_orders(runtime, order_id)) == 1
    finally:
        runtime.sandboxes["sap_s4hana"].faults.latency_seconds = 0.0


async def test_one_key_on_both_versions_without_the_policy_still_makes_one_order(
    runtime: Runtime,
) -> None:
    """With the idempotency policy switched off, the ledger alone holds the line."""
    from policies.idempotency import IdempotencyConfig

    settings = gateway_settings(idempotency=IdempotencyConfig(enabled=False))
    bare = build_runtime(settings)
    await bare.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, bare))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test", headers=bearer(bare)
        ) as api:
            body = await _lines_order(api)
            sap = bare.sandboxes["sap_s4hana"]
            before = len(sap.sales_orders())
            sap.faults.latency_seconds = 0.2
            responses = await asyncio.gather(
                *(api.post(f"/v{1 + n % 2}/orders", json=body) for n in range(4))
            )
    finally:
        await bare.close()
    # No key, so each request is its own order: the ledger must not merge them.
    assert [r.status_code for r in responses] == [201] * 4
    assert len(sap.sales_orders()) == before + 4


async def test_a_server_error_is_not_replayed_and_the_retry_makes_one_order(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Issue 13 item 5 through the gateway: SAP answers 503 to the order POST; the key
    is released (never replayed), the retry looks the order up first and creates it once."""
    body = await _lines_order(api)
    key = _key()
    sap = runtime.sandboxes["sap_s4hana"]
    await api.post("/v1/orders", json=body, headers=_key())  # warm: account, CSRF, caches
    real = sap.faults
    # A warm order is two SAP calls: the products (a GET) and the order POST.
    sap.faults = FailRequests(lambda n: n == 2)
    try:
        failed = await api.post("/v1/orders", json=body, headers=key)
    finally:
        sap.faults = real
    assert failed.status_code == 503, failed.text
    assert failed.headers["retry-after"]
    assert failed.json()["retryable"] is True
    retried = await api.post("/v1/orders", json=body, headers=key)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert len(_sap_orders(runtime, retried.json()["id"])) == 1
    replay = await api.post("/v1/orders", json=body, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_canonical_ids_survive_a_restart_of_the_embedded_gateway() -> None:
    """``make serve`` keeps its records in the SQLite file under $Q2C_HOME."""

    async def product_ids() -> list[str]:
        settings = gateway_settings()
        runtime = build_runtime(settings)
        await runtime.start()
        try:
            transport = httpx.ASGITransport(app=create_app(settings, runtime))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway.test", headers=bearer(runtime)
            ) as api:
                response = await api.get("/v1/products", params={"limit": "10"})
        finally:
            await runtime.close()
        return [p["id"] for p in response.json()["data"]]

    first = await product_ids()
    assert first
    assert await product_ids() == first


# -- invoices: the order of effects ------------------------------------------------------


async def _invoiceable_order(api: httpx.AsyncClient) -> dict[str, Any]:
    customers = (await api.get("/v1/customers", params={"name": "Northwind"})).json()["data"]
    products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
    product = next(p for p in products if p["sku"] == "Q2C-1004")
    body = {
        "customer_id": customers[0]["id"],
        "currency": "EUR",
        "lines": [{"product_id": product["id"], "quantity": "3"}],
    }
    response = await api.post("/v1/orders", json=body, headers=_key())
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _tax_documents(runtime: Runtime, code: str) -> list[dict[str, Any]]:
    return [
        t
        for t in runtime.sandboxes["avalara"].transactions()
        if t["code"] == code and t["type"] == "SalesInvoice"
    ]


def _stripe_invoices(runtime: Runtime, invoice_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in runtime.sandboxes["stripe"].objects("invoice")
        if i.get("metadata", {}).get("q2c_invoice_id") == invoice_id
    ]


async def test_billing_down_at_the_draft_commits_no_tax(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Issue 13 item 8: tax used to be committed before the invoice existed."""
    order = await _invoiceable_order(api)
    key = _key()
    stripe = runtime.sandboxes["stripe"]
    stripe.faults.fail_status = 503
    stripe.faults.fail_next = 1_000
    try:
        failed = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    finally:
        stripe.faults.fail_next = 0
    assert failed.status_code == 503, failed.text
    committed = runtime.sandboxes["avalara"].transactions()
    assert not [t for t in committed if t["type"] == "SalesInvoice"]
    done = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    assert done.status_code == 201, done.text
    invoice = done.json()
    [document] = _tax_documents(runtime, invoice["id"])
    assert document["status"] == "Committed"
    [stripe_invoice] = _stripe_invoices(runtime, invoice["id"])
    assert stripe_invoice["status"] == "open"


async def test_tax_engine_down_at_the_commit_leaves_a_draft_the_retry_finishes(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    order = await _invoiceable_order(api)
    key = _key()
    avalara = runtime.sandboxes["avalara"]
    real = avalara.faults
    # AvaTax answers the estimate (its first call) and is down from the commit on.
    avalara.faults = FailRequests(lambda n: n > 1)
    try:
        failed = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    finally:
        avalara.faults = real
    assert failed.status_code == 503, failed.text
    drafts = [
        i
        for i in runtime.sandboxes["stripe"].objects("invoice")
        if i.get("metadata", {}).get("q2c_order_id") == order["id"]
    ]
    assert [d["status"] for d in drafts] == ["draft"]
    assert not [t for t in avalara.transactions() if t["type"] == "SalesInvoice"]
    done = await api.post("/v1/invoices", json={"order_id": order["id"]}, headers=key)
    assert done.status_code == 201, done.text
    invoice = done.json()
    [stripe_invoice] = _stripe_invoices(runtime, invoice["id"])
    assert stripe_invoice["id"] == drafts[0]["id"]
    assert stripe_invoice["status"] == "open"
    assert len(_tax_documents(runtime, invoice["id"])) == 1
