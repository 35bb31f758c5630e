from __future__ import annotations

from litestar import Litestar, get

from policies.rate_limit.openapi import (
    RATE_LIMIT_HEADERS,
    RETRY_AFTER_HEADER,
    TOO_MANY_REQUESTS,
    TOO_MANY_REQUESTS_HEADERS,
)
from policies.route import governed


def test_route_documents_the_fields_and_the_429_problem() -> None:
    @get(
        "/orders",
        opt=governed("orders:read"),
        response_headers=RATE_LIMIT_HEADERS,
        responses=TOO_MANY_REQUESTS,
        sync_to_thread=False,
    )
    def list_orders() -> dict[str, str]:
        return {}

    document = Litestar([list_orders]).openapi_schema.to_schema()
    responses = document["paths"]["/orders"]["get"]["responses"]
    assert set(responses["200"]["headers"]) == {"RateLimit", "RateLimit-Policy"}
    too_many = responses["429"]
    assert list(too_many["content"]) == ["application/problem+json"]
    assert "QUOTA_EXCEEDED" in too_many["description"]


def test_retry_after_is_a_required_positive_integer_header() -> None:
    schema = RETRY_AFTER_HEADER.to_schema()
    assert schema["required"] is True
    assert schema["schema"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000_000}
    assert set(TOO_MANY_REQUESTS_HEADERS) == {"Retry-After", "RateLimit", "RateLimit-Policy"}
