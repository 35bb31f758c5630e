"""What auth contributes to the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

from contracts.problem import PROBLEM_MEDIA_TYPE
from policies.auth import ALL_SCOPES
from policies.auth.openapi import (
    SECURITY_SCHEMES,
    UNAUTHORIZED_RESPONSES,
    security_components,
    security_for,
)
from policies.route import governed


def test_all_scopes_cover_every_domain() -> None:
    domains = ("customers", "products", "prices", "quotes", "orders", "invoices", "payments", "ops")
    expected = {f"{d}:{a}" for d in domains for a in ("read", "write")} | {"ops:admin"}
    assert set(ALL_SCOPES) == expected
    assert len(ALL_SCOPES) == 17


def test_security_for_lists_bearer_and_oauth2_alternatives() -> None:
    assert security_for(["orders:write"]) == [
        {"bearerAuth": ["orders:write"]},
        {"oauth2": ["orders:write"]},
    ]
    assert security_for(()) == [{"bearerAuth": []}, {"oauth2": []}]


def test_schemes_and_responses_render_in_a_document() -> None:
    @get(
        "/v1/orders",
        opt=governed("orders:read"),
        operation_id="listOrders",
        security=security_for(["orders:read"]),
        responses=UNAUTHORIZED_RESPONSES,
    )
    async def list_orders() -> dict[str, Any]:
        return {}

    app = Litestar(
        [list_orders],
        openapi_config=OpenAPIConfig(
            title="t", version="1.0.0", components=[security_components()]
        ),
    )
    document = app.openapi_schema.to_schema()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": SECURITY_SCHEMES["bearerAuth"].description,
    }
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(ALL_SCOPES)
    assert all(flow["scopes"].values())
    operation = document["paths"]["/v1/orders"]["get"]
    assert operation["security"] == [{"bearerAuth": ["orders:read"]}, {"oauth2": ["orders:read"]}]
    for status in ("401", "403"):
        content = operation["responses"][status]["content"]
        assert content[PROBLEM_MEDIA_TYPE]["schema"]["$ref"].endswith("/Problem")
