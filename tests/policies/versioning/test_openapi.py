"""Deprecations documented on a real Litestar app's generated OpenAPI document."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar, get

from policies.versioning.config import Deprecation, VersioningConfig
from policies.versioning.openapi import deprecated_operation_ids, document_deprecations
from tests.policies.versioning.support import build_app

V1_NOTICE = "https://developer.q2c.dev/deprecations/v1"
CREATE_NOTICE = "https://developer.q2c.dev/deprecations/create-order"

V1 = Deprecation(
    version="v1",
    deprecated_at=datetime(2025, 12, 31, tzinfo=UTC),
    link=V1_NOTICE,
)
CREATE_ORDER = Deprecation(
    operation="createOrder",
    deprecated_at=datetime(2026, 3, 1, tzinfo=UTC),
    sunset=datetime(2027, 6, 30, tzinfo=UTC),
    link=CREATE_NOTICE,
    sunset_link="https://developer.q2c.dev/sunset-policy",
    replacement="POST /v2/orders",
)


def documented(*entries: Deprecation, app: Litestar | None = None) -> dict[str, Any]:
    app = app or build_app()
    document_deprecations(app.openapi_schema, VersioningConfig(deprecations=list(entries)))
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for item in document["paths"].values()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_deprecated_operations_are_marked_and_others_are_not() -> None:
    ops = operations(documented(CREATE_ORDER))
    assert ops["createOrder"]["deprecated"] is True
    for name in ("listOrders", "getOrder", "createOrderV2", "getHealth"):
        assert ops[name].get("deprecated", False) is False, name
        assert "410" not in ops[name]["responses"]
        for response in ops[name]["responses"].values():
            assert not {"Deprecation", "Sunset", "Link"} & set(response.get("headers", {}))


def test_version_entry_marks_every_operation_of_that_version() -> None:
    ops = operations(documented(V1))
    deprecated = {name for name, op in ops.items() if op.get("deprecated")}
    # V1PricesListPrices is Litestar's generated id for a handler that declares none.
    assert deprecated == {"listOrders", "createOrder", "getOrder", "V1PricesListPrices"}
    # No sunset: no 410 and no Sunset header is promised.
    assert "410" not in ops["listOrders"]["responses"]
    assert set(ops["listOrders"]["responses"]["200"]["headers"]) == {"Deprecation", "Link"}


def test_success_responses_document_the_three_headers() -> None:
    created = operations(documented(CREATE_ORDER))["createOrder"]
    headers = created["responses"]["201"]["headers"]
    assert set(headers) == {"Deprecation", "Sunset", "Link"}
    for name, field in headers.items():
        assert field["schema"]["type"] == "string", name
        assert field["schema"]["maxLength"] > 0, name
        assert field["description"], name
    assert headers["Deprecation"]["example"] == "@1772323200"
    assert re.match(headers["Deprecation"]["schema"]["pattern"], "@1772323200")
    assert headers["Sunset"]["example"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert re.match(headers["Sunset"]["schema"]["pattern"], "Wed, 30 Jun 2027 00:00:00 GMT")
    assert headers["Link"]["example"] == (
        f'<{CREATE_NOTICE}>; rel="deprecation", '
        '<https://developer.q2c.dev/sunset-policy>; rel="sunset"'
    )
    assert 'rel="deprecation"' in headers["Link"]["description"]


def test_a_sunset_documents_the_410_problem() -> None:
    document = documented(CREATE_ORDER)
    gone = operations(document)["createOrder"]["responses"]["410"]
    assert gone["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "Problem" in document["components"]["schemas"]
    assert "API_SUNSET" in gone["description"]
    assert "POST /v2/orders" in gone["description"]
    assert set(gone["headers"]) == {"Deprecation", "Sunset", "Link"}


def test_operation_description_and_external_docs_point_to_the_notice() -> None:
    created = operations(documented(CREATE_ORDER))["createOrder"]
    assert created["externalDocs"] == {"url": CREATE_NOTICE, "description": "Deprecation notice"}
    assert created["description"] == (
        "Deprecated since 2026-03-01; answers 410 API_SUNSET from 2027-06-30; "
        f"use POST /v2/orders instead. See {CREATE_NOTICE}."
    )


def test_operation_entry_wins_over_its_version_in_the_document() -> None:
    ops = operations(documented(V1, CREATE_ORDER))
    assert ops["createOrder"]["responses"]["201"]["headers"]["Deprecation"]["example"] == (
        "@1772323200"
    )
    assert ops["listOrders"]["responses"]["200"]["headers"]["Deprecation"]["example"] == (
        "@1767139200"
    )


def test_unknown_operations_and_versions_fail_loudly() -> None:
    typo = Deprecation(
        operation="creatOrder", deprecated_at=datetime(2026, 1, 1, tzinfo=UTC), link=V1_NOTICE
    )
    with pytest.raises(ValueError, match=r"deprecations\[1\]\.operation 'creatOrder' is not"):
        documented(V1, typo)
    v9 = Deprecation(version="v9", deprecated_at=datetime(2026, 1, 1, tzinfo=UTC), link=V1_NOTICE)
    with pytest.raises(ValueError, match=r"deprecations\[0\]\.version 'v9' has no operations"):
        documented(v9)


def test_a_sunset_needs_the_problem_component() -> None:
    @get("/v1/things", operation_id="listThings", sync_to_thread=False)
    def list_things() -> dict[str, str]:
        return {}

    app = Litestar([list_things])
    entry = Deprecation(
        operation="listThings",
        deprecated_at=datetime(2026, 1, 1, tzinfo=UTC),
        sunset=datetime(2027, 1, 1, tzinfo=UTC),
        link=V1_NOTICE,
    )
    with pytest.raises(ValueError, match="no 'Problem' schema component"):
        documented(entry, app=app)


def test_applying_twice_gives_the_same_document() -> None:
    app = build_app()
    config = VersioningConfig(deprecations=[V1, CREATE_ORDER])
    document_deprecations(app.openapi_schema, config)
    once = app.openapi_schema.to_schema()
    document_deprecations(app.openapi_schema, config)
    assert app.openapi_schema.to_schema() == once


def test_empty_config_leaves_the_document_alone() -> None:
    before = build_app().openapi_schema.to_schema()
    assert documented() == before


async def test_the_served_document_shows_the_deprecation() -> None:
    app = build_app()
    document_deprecations(app.openapi_schema, VersioningConfig(deprecations=[CREATE_ORDER]))
    transport = httpx.ASGITransport(app=cast("Any", app))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        served = (await client.get("/schema/openapi.json")).json()
    assert operations(served)["createOrder"]["deprecated"] is True


def test_deprecated_operation_ids_from_a_route_table() -> None:
    config = VersioningConfig(deprecations=[V1, CREATE_ORDER])
    table = {
        "/v1/orders": ["listOrders", "createOrder"],
        "/v1/prices": ["listPrices"],
        "/v2/orders": ["createOrderV2"],
        "/health": ["getHealth"],
    }
    assert deprecated_operation_ids(config, table) == {"listOrders", "createOrder", "listPrices"}
    only_create = VersioningConfig(deprecations=[CREATE_ORDER])
    assert deprecated_operation_ids(only_create, table) == {"createOrder"}
