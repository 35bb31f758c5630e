"""Pieces every controller shares: parameters, documented problems, ETag and Location."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Schema
from litestar.params import ParameterKwarg, PathParameter, QueryParameter

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem
from contracts.v1.codes import CountryCodeValue, CurrencyCodeValue
from contracts.v1.common import (
    CURSOR_PATTERN,
    LEGAL_ENTITY_PATTERN,
    ULID_BODY,
)
from domains.paging import DEFAULT_LIMIT, MAX_LIMIT
from domains.versioning import version_tag
from policies.auth.openapi import UNAUTHORIZED_RESPONSES, security_for
from policies.idempotency.openapi import IDEMPOTENCY_RESPONSES, IDEMPOTENT_REPLAYED_HEADER
from policies.rate_limit.openapi import RATE_LIMIT_HEADERS, TOO_MANY_REQUESTS
from policies.route import IdempotencyMode, governed


def id_parameter(
    prefix: str,
    what: str,
    where: type[ParameterKwarg] = QueryParameter,
    *,
    where_path: bool = False,
) -> Any:
    """OpenAPI and validation for a canonical id in a path or query."""
    where = PathParameter if where_path else where
    return where(
        pattern=f"^{prefix}_{ULID_BODY}$",
        min_length=len(prefix) + 27,
        max_length=len(prefix) + 27,
        description=f"Canonical {what} id",
    )


CustomerIdPath = Annotated[str, id_parameter("cus", "customer", PathParameter)]
ProductIdPath = Annotated[str, id_parameter("prd", "product", PathParameter)]
QuoteIdPath = Annotated[str, id_parameter("quo", "quote", PathParameter)]
OrderIdPath = Annotated[str, id_parameter("ord", "order", PathParameter)]
CustomerIdQuery = Annotated[str | None, id_parameter("cus", "customer")]
ProductIdQuery = Annotated[str | None, id_parameter("prd", "product")]
CountryQuery = Annotated[
    CountryCodeValue | None,
    QueryParameter(description="ISO 3166-1 alpha-2 country code"),
]
CurrencyQuery = Annotated[
    CurrencyCodeValue | None,
    QueryParameter(description="ISO 4217 currency code"),
]
LegalEntityQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=LEGAL_ENTITY_PATTERN,
        min_length=1,
        max_length=20,
        description="Selling legal entity (routes to its ERP)",
    ),
]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT})."),
]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        pattern=CURSOR_PATTERN,
        min_length=1,
        max_length=512,
        description="Opaque cursor from the previous page's next_cursor.",
    ),
]
DEFAULT_PAGE = DEFAULT_LIMIT

_DESCRIPTIONS = {
    400: "Malformed request or invalid parameters",
    401: "Missing or invalid credentials (or signature)",
    404: "No such resource (or not visible to this consumer)",
    409: "Conflicts with an existing record",
    412: "If-Match does not match the current ETag",
    422: "The request body or business rules are invalid; every problem is listed",
    428: "If-Match is required",
    500: "Unexpected gateway failure",
    502: "The system of record rejected the data",
    503: "The system of record is unavailable",
    504: "The system of record timed out",
}
READ = (400, 500, 502, 503, 504)

# The operations an Idempotency-Key names, shared by every API version of each; the
# composition root gives each its lease from the systems it calls.
ORDER_CREATE = "orders.create"
INVOICE_CREATE = "invoices.create"
PAYMENT_CREATE = "payments.create"
PAYMENT_REFUND = "payments.refund"
# The domains (and so the systems of record) each keyed operation may call.
KEYED_OPERATIONS: dict[str, tuple[str, ...]] = {
    ORDER_CREATE: ("customers", "quotes", "products", "orders", "erp_customers"),
    INVOICE_CREATE: ("orders", "customers", "products", "tax", "invoices", "erp_customers"),
    PAYMENT_CREATE: ("invoices", "payments"),
    PAYMENT_REFUND: ("payments",),
}


def governed_route(
    *scopes: str,
    errors: tuple[int, ...] = READ,
    idempotency: IdempotencyMode = "none",
    idempotency_scope: str | None = None,
    headers: tuple[ResponseHeader, ...] = (),
) -> dict[str, Any]:
    """Route decorator arguments for a governed operation: the policy declaration that
    auth, rate limits and idempotency read, and the matching OpenAPI documentation."""
    responses = {
        **problems(*errors),
        **UNAUTHORIZED_RESPONSES,
        **TOO_MANY_REQUESTS,
    }
    response_headers = [*headers, *RATE_LIMIT_HEADERS]
    if idempotency != "none":
        responses.update(IDEMPOTENCY_RESPONSES)
        response_headers.append(IDEMPOTENT_REPLAYED_HEADER)
    return {
        "opt": governed(*scopes, idempotency=idempotency, idempotency_scope=idempotency_scope),
        "security": security_for(scopes),
        "responses": responses,
        "response_headers": response_headers,
    }


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem+json errors an operation really returns."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }


ETAG_HEADER = ResponseHeader(
    name="ETag", description="Strong validator for If-Match on updates", documentation_only=True
)
LOCATION_HEADER = ResponseHeader(
    name="Location", description="URL of the created resource", documentation_only=True
)
# What the two headers look like on the wire (ResponseHeader cannot carry a schema).
ETAG_OPENAPI_HEADER = OpenAPIHeader(
    schema=Schema(
        type=OpenAPIType.STRING,
        pattern=r'^"[\x21\x23-\x7e]{1,64}"$',
        max_length=66,
        description="A strong entity tag: opaque, quoted (RFC 9110 section 8.8.3)",
    ),
    description=ETAG_HEADER.description,
)
LOCATION_OPENAPI_HEADER = OpenAPIHeader(
    schema=Schema(
        type=OpenAPIType.STRING,
        pattern=r"^/v[0-9]+/[a-z/-]+/[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$",
        max_length=200,
        description="Path of the created resource, relative to the gateway",
    ),
    description=LOCATION_HEADER.description,
)


def etag(tag: str) -> str:
    return f'"{tag}"'


R = TypeVar("R", bound=msgspec.Struct)


def tagged(resource: R) -> Response[R]:
    """A representation with its strong ETag (what If-Match is later checked against)."""
    return Response(resource, headers={"ETag": etag(version_tag(resource))})


def created(resource: R, location: str) -> Response[R]:
    """201 with the new resource's ETag and Location."""
    headers = {"ETag": etag(version_tag(resource)), "Location": location}
    return Response(resource, status_code=201, headers=headers)


def parse_if_match(value: str | None) -> list[str] | None:
    """RFC 9110 If-Match: ``*`` or a list of strong entity tags (weak ones never match)."""
    if value is None:
        return None
    tags = []
    for part in value.split(","):
        item = part.strip()
        if item == "*":
            tags.append("*")
        elif item.startswith('"') and item.endswith('"') and len(item) >= 2:
            tags.append(item[1:-1])
    return tags
