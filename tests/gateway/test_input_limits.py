"""Bad input is refused at the edge with a clear problem before any work is done:
body size and depth, media type, a body that never arrives, calendar dates, control
characters in single-line text, and quantities that are not above zero."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from gateway.app import create_app
from gateway.wiring import Runtime, build_runtime
from policies.input import InputConfig
from tests.conftest import bearer
from tests.support.servers import serve_in_thread
from tests.support.settings import gateway_settings

PROBLEM = "application/problem+json"
DEEP = b"[" * 1000 + b"]" * 1000  # 2 KB, 1,000 levels

# Every route that takes a JSON body, with the headers it needs to get past the
# policies in front of the input checks (none do: the checks run first).
JSON_ROUTES = [
    ("POST", "/v1/customers"),
    ("PATCH", "/v1/customers/cus_01JDQ2C0000000000000000000"),
    ("POST", "/v1/orders"),
    ("POST", "/v2/orders"),
    ("POST", "/v1/invoices"),
    ("POST", "/v1/payments"),
    ("POST", "/v1/payments/pay_01JDQ2C0000000000000000000/refunds"),
    ("POST", "/v1/pricing/calculate"),
]


def keyed(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f'"{name}"'}


async def first(api: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await api.get(path, params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data[0]


async def customer_of(api: httpx.AsyncClient, legal_entity: str) -> dict[str, Any]:
    response = await api.get("/v1/customers", params={"limit": "200"})
    return next(c for c in response.json()["data"] if c["legal_entity"] == legal_entity)


async def order_body(api: httpx.AsyncClient, legal_entity: str) -> dict[str, Any]:
    customer = await customer_of(api, legal_entity)
    product = await first(api, "/v1/products")
    return {
        "customer_id": customer["id"],
        "lines": [{"product_id": product["id"], "quantity": "2"}],
        "currency": "GBP" if legal_entity == "ACME-UK" else "EUR",
    }


# --- JSON depth -------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
async def test_json_nested_a_thousand_levels_is_a_400_on_every_json_route(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await api.request(
        method,
        path,
        content=DEEP,
        headers={"content-type": "application/json", **keyed(f"deep-{method}-{path}")},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "JSON_TOO_DEEP"
    assert "32" in problem["detail"]


async def test_deep_objects_inside_strings_do_not_count(api: httpx.AsyncClient) -> None:
    # Brackets inside a string are text; the name is refused for its length only.
    name = "[" * 250 + "{" * 50
    response = await api.post("/v1/customers", json={"name": name, "country": "DE"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["name"]


# --- size ---------------------------------------------------------------------------


async def test_a_body_over_the_size_limit_is_413_also_without_idempotency(
    api: httpx.AsyncClient,
) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'", "country": "DE"}'
    response = await api.post(
        "/v1/customers", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "PAYLOAD_TOO_LARGE"
    assert problem["type"] == "http://127.0.0.1:8080/problems/payload-too-large"


async def test_a_streamed_body_without_length_is_cut_at_the_limit(
    api: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(64):
            sent += 1
            yield b"x" * 65_536
        yield b'", "country": "DE"}'

    response = await api.post(
        "/v1/customers", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


# --- media type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", None],
)
async def test_an_order_body_that_is_not_json_is_415_and_creates_nothing(
    api: httpx.AsyncClient, runtime: Runtime, content_type: str | None
) -> None:
    body = msgspec.json.encode(await order_body(api, "ACME-EU"))
    before = len(runtime.sandboxes["sap_s4hana"].sales_orders())
    headers = keyed(f"media-{content_type}")
    if content_type is not None:
        headers["content-type"] = content_type
    request = api.build_request("POST", "/v1/orders", content=body, headers=headers)
    assert request.headers.get("content-type") == content_type
    response = await api.send(request)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert len(runtime.sandboxes["sap_s4hana"].sales_orders()) == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/vnd.q2c+json"],
)
async def test_json_media_types_with_parameters_or_a_suffix_are_accepted(
    api: httpx.AsyncClient, content_type: str
) -> None:
    response = await api.post(
        "/v1/customers",
        content=b'{"name": "Media Type Test GmbH", "country": "DE"}',
        headers={"content-type": content_type},
    )
    assert response.status_code == 201, response.text


# --- a body that never arrives ---------------------------------------------------------


@pytest.fixture
async def slow_body_gateway() -> AsyncIterator[tuple[str, Runtime]]:
    settings = gateway_settings(input=InputConfig(body_timeout_seconds=1.0))
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        with serve_in_thread(create_app(settings, runtime)) as url:
            yield url, runtime
    finally:
        await runtime.close()


def _send_short_body(port: int, token: str) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/customers HTTP/1.1\r\nHost: gateway.test\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"name": "'
        )
        started = time.monotonic()
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65_536)
            if not chunk:
                break
            received += chunk
        return time.monotonic() - started, received


async def test_a_body_shorter_than_its_content_length_is_408_after_the_timeout(
    slow_body_gateway: tuple[str, Runtime],
) -> None:
    url, runtime = slow_body_gateway
    token = bearer(runtime)["Authorization"].removeprefix("Bearer ")
    port = int(url.rsplit(":", 1)[1])
    waited, answer = await asyncio.to_thread(_send_short_body, port, token)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert 0.9 <= waited < 5.0


# --- calendar dates --------------------------------------------------------------------


@pytest.mark.parametrize("legal_entity", ["ACME-EU", "ACME-UK"])
@pytest.mark.parametrize("date", ["2026-02-30", "2026-13-01", "0000-00-00", "2025-02-29"])
async def test_an_impossible_delivery_date_is_422_naming_the_field(
    api: httpx.AsyncClient, runtime: Runtime, legal_entity: str, date: str
) -> None:
    body = {**await order_body(api, legal_entity), "requested_delivery_date": date}
    before = len(runtime.sandboxes["sap_s4hana"].sales_orders())
    response = await api.post("/v1/orders", json=body, headers=keyed(f"date-{date}"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["requested_delivery_date"]
    assert len(runtime.sandboxes["sap_s4hana"].sales_orders()) == before


@pytest.mark.parametrize("legal_entity", ["ACME-EU", "ACME-UK"])
async def test_a_real_delivery_date_is_kept_by_both_erps(
    api: httpx.AsyncClient, legal_entity: str
) -> None:
    body = {**await order_body(api, legal_entity), "requested_delivery_date": "2028-02-29"}
    response = await api.post("/v1/orders", json=body, headers=keyed(f"leap-{legal_entity}"))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["requested_delivery_date"] == "2028-02-29"
    fetched = await api.get(f"/v1/orders/{order['id']}")
    assert fetched.json()["requested_delivery_date"] == "2028-02-29"


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Evil\x00Corp", "Evil\r\nCorp", "Evil\nCorp", "Evil\x1bCorp",
                                 "Evil\u2028Corp", "Evil\x7fCorp", "Evil\x85Corp"])
async def test_control_characters_in_a_customer_name_are_422(
    api: httpx.AsyncClient, bad: str
) -> None:
    response = await api.post("/v1/customers", json={"name": bad, "country": "DE"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["name"]


async def test_control_characters_in_single_line_fields_are_each_named(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/customers",
        json={
            "name": "Line Break GmbH",
            "country": "DE",
            "industry": "Retail\r\nX-Injected: 1",
            "website": "linebreak.example/\x00",
            "address": {
                "country": "DE", "city": "Ber\nlin", "street": "A\tB", "postal_code": "1\x00"
            },
        },
    )
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "industry", "website", "address.city", "address.street", "address.postal_code"
    }


async def test_control_characters_in_a_rename_and_an_order_reference_are_422(
    api: httpx.AsyncClient,
) -> None:
    customer = await first(api, "/v1/customers")
    current = await api.get(f"/v1/customers/{customer['id']}")
    renamed = await api.patch(
        f"/v1/customers/{customer['id']}",
        json={"name": "Renamed\x00"},
        headers={"If-Match": current.headers["etag"]},
    )
    assert renamed.status_code == 422, renamed.text
    assert [e["field"] for e in renamed.json()["errors"]] == ["name"]
    body = {**await order_body(api, "ACME-EU"), "purchase_order_reference": "PO-1\r\n"}
    ordered = await api.post("/v1/orders", json=body, headers=keyed("po-crlf"))
    assert ordered.status_code == 422, ordered.text
    assert [e["field"] for e in ordered.json()["errors"]] == ["purchase_order_reference"]


async def test_a_name_search_with_control_characters_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/customers", params={"name": "north\x00wind"})
    assert response.status_code == 400, response.text


# --- quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0", "0.0", "0.000", "00", "-1"])
async def test_pricing_refuses_a_quantity_that_is_not_above_zero(
    api: httpx.AsyncClient, quantity: str
) -> None:
    customer = await first(api, "/v1/customers")
    product = await first(api, "/v1/products")
    response = await api.post(
        "/v1/pricing/calculate",
        json={
            "customer_id": customer["id"],
            "currency": "EUR",
            "lines": [{"product_id": product["id"], "quantity": quantity}],
        },
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["lines[0].quantity"]


@pytest.mark.parametrize("quantity", ["0.001", "0.01", "0.5", "1", "12.250"])
async def test_pricing_accepts_small_positive_quantities(
    api: httpx.AsyncClient, quantity: str
) -> None:
    customer = await customer_of(api, "ACME-EU")
    product = await first(api, "/v1/products")
    response = await api.post(
        "/v1/pricing/calculate",
        json={
            "customer_id": customer["id"],
            "currency": "EUR",
            "lines": [{"product_id": product["id"], "quantity": quantity}],
        },
    )
    assert response.status_code == 200, response.text


async def test_an_order_line_of_zero_is_422(api: httpx.AsyncClient) -> None:
    body = await order_body(api, "ACME-EU")
    body["lines"][0]["quantity"] = "0.000"
    response = await api.post("/v1/orders", json=body, headers=keyed("qty-zero"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["lines[0].quantity"]
