"""Lists across tenants: full pages while more records follow, and cursors that are
signed and bound to the caller, the list and its filters."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from gateway.app import create_app
from gateway.settings import (
    PagingSettings,
    ServerSettings,
    Settings,
    cursor_key,
    load_settings,
)
from gateway.wiring import Runtime, build_runtime
from tests.conftest import bearer
from tests.support.settings import gateway_settings


@pytest.fixture
async def globex(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The same gateway, called by a second tenant."""
    app = create_app(runtime.settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway.test",
        headers=bearer(runtime, tenant="globex", client_id="globex-client"),
    ) as client:
        yield client


async def walk(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    """Every page of a list; asserts no page is empty while a cursor follows it."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert page["data"], f"page {len(pages)} is empty but carries a cursor"
        assert len(pages) < 500


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for page in pages for record in page["data"]]


def names_of(pages: list[dict[str, Any]]) -> set[str]:
    return {record["name"] for page in pages for record in page["data"]}


async def test_a_tenant_walking_customers_one_at_a_time_never_gets_an_empty_page(
    api: httpx.AsyncClient, globex: httpx.AsyncClient
) -> None:
    ours = {f"Aardvark Paging {n} GmbH" for n in range(6)}
    ours |= {f"Zebra Paging {n} AG" for n in range(6)}
    for name in sorted(ours):
        created = await api.post("/v1/customers", json={"name": name, "country": "DE"})
        assert created.status_code == 201, created.text
    theirs = await walk(globex, "/v1/customers", limit="1")
    assert all(len(page["data"]) == 1 for page in theirs[:-1])
    assert not names_of(theirs) & ours
    mine = await walk(api, "/v1/customers", limit="1")
    assert ours <= names_of(mine)
    assert len(names_of(mine)) == len(names_of(theirs)) + len(ours)
    assert len(ids_of(mine)) == len(set(ids_of(mine)))


async def test_a_tenant_walking_orders_sees_only_its_own_and_full_pages(
    api: httpx.AsyncClient, globex: httpx.AsyncClient
) -> None:
    quotes = (await api.get("/v1/quotes", params={"status": "accepted", "limit": "10"})).json()
    made = []
    for n, quote in enumerate(quotes["data"][:4]):
        order = await api.post(
            "/v1/orders",
            json={"customer_id": quote["customer_id"], "quote_id": quote["id"]},
            headers={"Idempotency-Key": f'"paging-{n}"'},
        )
        if order.status_code == 201 and order.json().get("legal_entity") != "ACME-UK":
            made.append(order.json()["id"])
    assert made
    mine = ids_of(await walk(api, "/v1/orders", limit="1"))
    assert set(made) <= set(mine)
    theirs = ids_of(await walk(globex, "/v1/orders", limit="1"))
    assert not set(theirs) & set(made)


async def test_orders_of_a_uk_customer_are_listed_without_naming_the_legal_entity(
    api: httpx.AsyncClient,
) -> None:
    customers = (await api.get("/v1/customers", params={"limit": "200"})).json()["data"]
    uk = next(c for c in customers if c["legal_entity"] == "ACME-UK")
    product = (await api.get("/v1/products")).json()["data"][0]
    order = await api.post(
        "/v1/orders",
        json={
            "customer_id": uk["id"],
            "lines": [{"product_id": product["id"], "quantity": "1"}],
            "currency": "GBP",
        },
        headers={"Idempotency-Key": '"uk-list"'},
    )
    assert order.status_code == 201, order.text
    listed = await api.get("/v1/orders", params={"customer_id": uk["id"]})
    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["data"]] == [order.json()["id"]]
    named = await api.get("/v1/orders", params={"customer_id": uk["id"], "legal_entity": "ACME-UK"})
    assert [o["id"] for o in named.json()["data"]] == [order.json()["id"]]


# --- cursors ------------------------------------------------------------------------------------


async def a_cursor(client: httpx.AsyncClient, **params: str) -> str:
    page = (await client.get("/v1/customers", params={"limit": "1", **params})).json()
    cursor: str = page["next_cursor"]
    assert cursor
    return cursor


def edited(cursor: str, at: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[at] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


async def test_an_edited_cursor_is_400(api: httpx.AsyncClient) -> None:
    cursor = await a_cursor(api)
    assert (await api.get("/v1/customers", params={"limit": "2", "cursor": cursor})).is_success
    for at in (1, 4, 10, 20):
        params = {"limit": "2", "cursor": edited(cursor, at)}
        response = await api.get("/v1/customers", params=params)
        assert response.status_code == 400, at
        assert response.json()["code"] == "INVALID_CURSOR"
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


async def test_an_unsigned_offset_cursor_is_400(api: httpx.AsyncClient) -> None:
    forged = base64.urlsafe_b64encode(msgspec.json.encode({"o": 50, "f": "3bb7cd03a234"}))
    response = await api.get("/v1/customers", params={"cursor": forged.decode().rstrip("=")})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


async def test_another_tenants_cursor_is_400(
    api: httpx.AsyncClient, globex: httpx.AsyncClient
) -> None:
    cursor = await a_cursor(api)
    response = await globex.get("/v1/customers", params={"limit": "2", "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CURSOR"


async def test_a_cursor_of_other_filters_or_another_list_is_400(api: httpx.AsyncClient) -> None:
    cursor = await a_cursor(api, country="DE")
    for path, params in [
        ("/v1/customers", {"country": "FR"}),
        ("/v1/customers", {}),
        ("/v1/products", {}),
        ("/v1/quotes", {}),
    ]:
        response = await api.get(path, params={**params, "cursor": cursor})
        assert response.status_code == 400, (path, params)
        assert response.json()["code"] == "INVALID_CURSOR"


async def test_gateways_with_one_configured_key_accept_each_others_cursors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_CURSOR_KEY", "k" * 40)
    shared = gateway_settings(paging=PagingSettings(cursor_key_env="TEST_CURSOR_KEY"))
    cursors = []
    for home in ("one", "two"):
        monkeypatch.setenv("Q2C_HOME", str(tmp_path / home))
        runtime = build_runtime(shared)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(shared, runtime)),
            base_url="http://gateway.test",
            headers=bearer(runtime),
        ) as client:
            if cursors:
                params = {"limit": "2", "cursor": cursors[0]}
                again = await client.get("/v1/customers", params=params)
                assert again.status_code == 200, again.text
            cursors.append(await a_cursor(client))
        await runtime.close()
    # Two embedded gateways on machines of their own generate different keys.
    monkeypatch.setenv("Q2C_HOME", str(tmp_path / "three"))
    alone = build_runtime(gateway_settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(alone.settings, alone)),
        base_url="http://gateway.test",
        headers=bearer(alone),
    ) as client:
        refused = await client.get("/v1/customers", params={"limit": "2", "cursor": cursors[0]})
        assert refused.status_code == 400
    await alone.close()


# --- the key ----------------------------------------------------------------------------------


def test_the_embedded_key_is_generated_once_and_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("Q2C_HOME", str(tmp_path / "home"))
    first = cursor_key(PagingSettings())
    assert len(first) >= 32
    assert cursor_key(PagingSettings()) == first
    key_file = tmp_path / "home" / "cursor.key"
    assert key_file.read_bytes() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not [p for p in key_file.parent.iterdir() if p.name.startswith(".")]


def test_a_configured_key_comes_from_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = PagingSettings(cursor_key_env="TEST_CURSOR_KEY")
    monkeypatch.delenv("TEST_CURSOR_KEY", raising=False)
    with pytest.raises(SystemExit, match=r"paging\.cursor_key_env: .*TEST_CURSOR_KEY is not set"):
        cursor_key(settings)
    monkeypatch.setenv("TEST_CURSOR_KEY", "too-short")
    with pytest.raises(SystemExit, match=r"paging\.cursor_key_env: .*at least 32"):
        cursor_key(settings)
    monkeypatch.setenv("TEST_CURSOR_KEY", "s" * 32)
    assert cursor_key(settings) == b"s" * 32


def test_several_workers_without_a_configured_key_stop_the_start_naming_the_field(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match=r"paging\.cursor_key_env"):
        Settings(server=ServerSettings(workers=2))
    config = tmp_path / "gateway.toml"
    config.write_text("[server]\nworkers = 2\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"paging\.cursor_key_env"):
        load_settings(config)
    config.write_text(
        '[server]\nworkers = 2\n[paging]\ncursor_key_env = "Q2C_CURSOR_KEY"\n', encoding="utf-8"
    )
    assert load_settings(config).paging.cursor_key_env == "Q2C_CURSOR_KEY"
    assert os.environ.get("Q2C_HOME")  # the suite's own folder, never the checkout's


async def test_building_reads_no_key_and_starting_checks_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gateway.openapi_doc import generate

    monkeypatch.setenv("Q2C_HOME", str(tmp_path / "home"))
    generate("v1")  # the documents need no key
    runtime = build_runtime(gateway_settings())
    assert not (tmp_path / "home" / "cursor.key").exists()
    await runtime.start()
    assert (tmp_path / "home" / "cursor.key").exists()
    await runtime.close()
    monkeypatch.delenv("TEST_CURSOR_KEY", raising=False)
    configured = gateway_settings(paging=PagingSettings(cursor_key_env="TEST_CURSOR_KEY"))
    missing = build_runtime(configured)
    with pytest.raises(SystemExit, match=r"paging\.cursor_key_env"):
        await missing.start()
    await missing.close()
