"""HTTP semantics on every route: canonical paths, HEAD, OPTIONS and 405 with Allow,
conditional GETs, and query parameters the operation does not declare."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from gateway.wiring import Runtime

PROBLEM = "application/problem+json"


async def ids(api: httpx.AsyncClient) -> dict[str, str]:
    """One real id per path parameter, so every GET template can be filled in."""

    async def first(path: str, **params: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = (await api.get(path, params=params)).json()["data"]
        return data[0]

    customer = await first("/v1/customers", limit="200")
    product = await first("/v1/products")
    quote = await first("/v1/quotes", status="accepted")
    order = await api.post(
        "/v1/orders",
        json={"customer_id": quote["customer_id"], "quote_id": quote["id"]},
        headers={"Idempotency-Key": '"semantics-order"'},
    )
    assert order.status_code == 201, order.text
    invoice = await api.post(
        "/v1/invoices",
        json={"order_id": order.json()["id"]},
        headers={"Idempotency-Key": '"semantics-invoice"'},
    )
    assert invoice.status_code == 201, invoice.text
    payment = await api.post(
        "/v1/payments",
        json={"invoice_id": invoice.json()["id"], "payment_method": "pm_card_visa"},
        headers={"Idempotency-Key": '"semantics-payment"'},
    )
    assert payment.status_code == 201, payment.text
    return {
        "customer_id": customer["id"],
        "product_id": product["id"],
        "quote_id": quote["id"],
        "order_id": order.json()["id"],
        "invoice_id": invoice.json()["id"],
        "payment_id": payment.json()["id"],
    }


def get_templates(runtime: Runtime, api: httpx.AsyncClient) -> list[str]:
    del api
    from gateway.app import create_litestar

    app = create_litestar(runtime.settings, runtime)
    return sorted(
        route.path_format
        for route in app.routes
        if "GET" in getattr(route, "methods", ()) and not route.path_format.startswith("/schema")
    )


# --- query parameters -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/customers", "/v2/orders", "/v1/products"])
async def test_an_undeclared_query_parameter_is_400_naming_it(
    api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path, params={"limt": "1"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "UNKNOWN_QUERY_PARAMETER"
    assert [e["field"] for e in problem["errors"]] == ["limt"]
    assert "limit" in problem["errors"][0]["message"]


async def test_a_repeated_query_parameter_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/products?limit=1&limit=2")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "DUPLICATE_QUERY_PARAMETER"
    assert [e["field"] for e in response.json()["errors"]] == ["limit"]


async def test_the_ops_routes_check_their_query_too(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/ops/governance?top=3")).status_code == 400
    assert (await api.get("/v1/ops/governance?top_consumers=3")).status_code == 200


# --- canonical paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://gateway.test/v1/customers/", "/v1/customers"),
        ("http://gateway.test//v1/customers", "/v1/customers"),
        ("http://gateway.test/v1//customers", "/v1/customers"),
        ("http://gateway.test/v1/products/?limit=1", "/v1/products"),
        ("http://gateway.test/health/live/", "/health/live"),
    ],
)
async def test_a_path_with_a_trailing_slash_or_empty_segment_is_404(
    api: httpx.AsyncClient, url: str, canonical: str
) -> None:
    response = await api.get(httpx.URL(url))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert f"did you mean {canonical}?" in response.json()["detail"]
    assert "location" not in response.headers


async def test_a_post_to_a_trailing_slash_creates_nothing(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = len(runtime.sandboxes["salesforce"].records("Account"))
    response = await api.post("/v1/customers/", json={"name": "Slash GmbH", "country": "DE"})
    assert response.status_code == 404
    assert len(runtime.sandboxes["salesforce"].records("Account")) == before


# --- HEAD, OPTIONS, 405 -------------------------------------------------------------------


async def test_head_answers_every_get_resource_like_the_get_without_a_body(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    known = await ids(api)
    # The portal's pages, by one real instance of each parameter.
    known |= {"file_path": "portal.css", "version": "v1", "api": "customers",
              "name": "v1.json", "kind": "validation"}  # fmt: skip
    # Well-formed ids of records that do not exist: GET and HEAD must both be 404.
    known |= {"transaction_id": "txn_01JDQ2C0000000000000000000",
              "exception_id": "exc_01JDQ2C0000000000000000000"}  # fmt: skip
    templates = get_templates(runtime, api)
    assert len(templates) >= 15
    for template in templates:
        path = re.sub(r"\{(\w+)\}", lambda m: known[m.group(1)], template)
        got = await api.get(path)
        headed = await api.head(path)
        assert headed.status_code == got.status_code, (path, headed.status_code)
        assert headed.content == b"", path
        assert headed.headers.get("content-type") == got.headers.get("content-type"), path
        if got.headers.get("etag"):
            assert headed.headers["etag"] == got.headers["etag"], path
        assert int(headed.headers["content-length"]) == len(got.content) or path.startswith(
            ("/metrics", "/v1/ops")  # live data: the next call's body differs
        ), path


async def test_options_lists_every_method_of_the_path(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    from gateway.app import create_litestar

    expected = {
        "/v1/customers": "GET, HEAD, POST, OPTIONS",
        "/v1/customers/cus_01JDQ2C0000000000000000000": "GET, HEAD, PATCH, OPTIONS",
        "/v1/orders": "GET, HEAD, POST, OPTIONS",
        "/v1/payments": "POST, OPTIONS",
        "/v1/pricing/calculate": "POST, OPTIONS",
    }
    for path, allow in expected.items():
        response = await api.options(path)
        assert response.status_code in (200, 204), response.text
        assert response.headers["allow"] == allow, path
    app = create_litestar(runtime.settings, runtime)
    for route in app.routes:
        if route.path_format.startswith("/schema") or "{" in route.path_format:
            continue
        answer = await api.options(route.path_format)
        allow = {method.strip() for method in answer.headers["allow"].split(",")}
        assert set(route.methods) <= allow, route.path_format
        assert ("HEAD" in allow) is ("GET" in route.methods), route.path_format


async def test_405_lists_every_method_with_head(api: httpx.AsyncClient) -> None:
    response = await api.delete("/v1/customers")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    head_on_post_only = await api.head("/v1/payments")
    assert head_on_post_only.status_code == 405
    assert head_on_post_only.headers["allow"] == "POST, OPTIONS"


# --- If-None-Match ---------------------------------------------------------------------------


async def test_if_none_match_with_the_current_etag_is_304_without_a_body(
    api: httpx.AsyncClient,
) -> None:
    customer = (await api.get("/v1/customers")).json()["data"][0]
    path = f"/v1/customers/{customer['id']}"
    current = await api.get(path)
    etag = current.headers["etag"]
    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await api.get(path, headers={"If-None-Match": validator})
        assert response.status_code == 304, validator
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-type" not in response.headers
        assert "ratelimit" in response.headers
    headed = await api.head(path, headers={"If-None-Match": etag})
    assert headed.status_code == 304
    changed = await api.get(path, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200
    assert changed.json() == current.json()
