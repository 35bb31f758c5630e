"""What the policies add to every operation in the OpenAPI document, applied once at start-up.

Litestar's ResponseSpec cannot carry headers and its own error responses are not
problem details, so what the gateway really sends is attached here: problem+json
on every error, 500 everywhere and 413 wherever a body is read, RateLimit fields
where the limiter answers, Retry-After on 429, WWW-Authenticate on 401/403, a
schema for every response header, the server the document is served from, and
the links that say which response feeds which request. So is the Idempotency-Key
header of the operations whose route policy reads it: only the policy reads it,
so no handler declares it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    Server,
)

from contracts.problem import PROBLEM_MEDIA_TYPE
from gateway.openapi_links import document_links
from gateway.openapi_schemas import normalise_schemas
from gateway.routes.common import ETAG_OPENAPI_HEADER, LOCATION_OPENAPI_HEADER
from policies.auth.openapi import WWW_AUTHENTICATE_HEADER, security_for
from policies.idempotency.openapi import (
    IDEMPOTENT_REPLAYED_OPENAPI_HEADER,
    idempotency_key_parameter,
)
from policies.rate_limit.openapi import RATE_LIMIT_OPENAPI_HEADERS, RETRY_AFTER_HEADER
from policies.route import RoutePolicy
from policies.tracing.openapi import TRACING_OPENAPI_HEADERS

_METHODS = ("get", "put", "post", "patch", "delete")
PROBLEM = Reference(ref="#/components/schemas/Problem")

# Public operations the rate limiter still counts, per client address (RoutePolicy public).
IP_LIMITED_OPERATIONS = frozenset(
    # Public routes: limited per client address (the inbound events are signed, not
    # authenticated by a token).
    {"issueToken", "getJwks", "receiveCrmEvent", "receiveStripeEvent"}
)

# Every response header the gateway documents, with the schema clients validate it by.
DOCUMENTED_HEADERS: dict[str, OpenAPIHeader] = {
    "ETag": ETAG_OPENAPI_HEADER,
    "Location": LOCATION_OPENAPI_HEADER,
    "Idempotent-Replayed": IDEMPOTENT_REPLAYED_OPENAPI_HEADER,
    "Retry-After": RETRY_AFTER_HEADER,
    "WWW-Authenticate": WWW_AUTHENTICATE_HEADER,
    "Cache-Control": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, max_length=200, pattern=r"^[ -~]+$"),
        description="RFC 9111 caching directives",
    ),
    **RATE_LIMIT_OPENAPI_HEADERS,
    **TRACING_OPENAPI_HEADERS,
}

_GOVERNED_ERRORS = {
    "401": "Missing, invalid or expired access token; see WWW-Authenticate",
    "403": "The access token lacks a required scope",
    "429": "Quota exceeded; see Retry-After",
}
_UNEXPECTED = "Unexpected gateway failure (code INTERNAL_ERROR); quote trace_id when reporting it"
_TOO_LARGE = (
    "The request body is larger than the gateway accepts (code PAYLOAD_TOO_LARGE); nothing was done"
)
# Auth answers these before the limiter counts the call, so they carry no RateLimit fields.
_BEFORE_THE_LIMITER = ("401", "403")


@dataclass
class AudienceServer(Server):
    """A Server object with the audience extension (OWASP API9: inventory)."""

    internal: bool = field(default=False, metadata={"alias": "x-internal"})


# Relative, so the document names whichever host and port serve it; the committed
# copies resolve against wherever they are published (the portal serves them).
SERVERS: list[Server] = [
    AudienceServer(
        url="/",
        description="This gateway (local, sandbox or production): the host that serves "
        "this document",
        internal=False,
    )
]


def _operations(document: OpenAPI) -> Iterator[tuple[str, str, Operation]]:
    for path, item in (document.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                yield path, method, operation


def document_policies(document: OpenAPI, policies: Mapping[str, RoutePolicy]) -> None:
    """``policies`` maps operationId -> the policy its route declares."""
    for _, _, operation in _operations(document):
        policy = policies.get(operation.operation_id or "") or RoutePolicy()
        mode = policy.get("idempotency", "none")
        if mode != "none":
            parameter = idempotency_key_parameter(required=mode == "required")
            operation.parameters = [*(operation.parameters or []), parameter]
        needed = policy.get("scopes")
        if needed and not operation.security:
            # Routes built by policy packages (audit, metrics) declare scopes in
            # their route policy but not their OpenAPI security; add it here.
            operation.security = security_for(needed)
        responses = dict(operation.responses or {})
        _problem_details(responses)
        responses.setdefault("500", _problem(_UNEXPECTED))
        if operation.request_body is not None:
            responses.setdefault("413", _problem(_TOO_LARGE))
        if operation.operation_id in IP_LIMITED_OPERATIONS:
            responses["429"] = _problem("Too many requests from this address; see Retry-After")
            _limiter_headers(responses, skip=())
        elif operation.security:
            for status, description in _GOVERNED_ERRORS.items():
                responses.setdefault(status, _problem(description))
            _limiter_headers(responses, skip=_BEFORE_THE_LIMITER)
        operation.responses = dict(sorted(responses.items()))
        _header_schemas(operation)
    components = document.components or Components()
    components.responses = {**(components.responses or {}), **copy.deepcopy(EDGE_RESPONSES)}
    document.components = components
    document_links(document)
    normalise_schemas(document)


def _problem_details(responses: dict[str, OpenAPIResponse | Reference]) -> None:
    """Errors the framework documented in its own shape are problem details on the wire."""
    for status, response in responses.items():
        if not status.startswith(("4", "5")) or not isinstance(response, OpenAPIResponse):
            continue
        content = response.content or {}
        if PROBLEM_MEDIA_TYPE in content:
            continue
        if any(isinstance(m.schema, Reference) for m in content.values()):
            continue  # a named error shape of its own (the token endpoint's RFC 6749 errors)
        response.content = {PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)}


def _limiter_headers(
    responses: dict[str, OpenAPIResponse | Reference], skip: tuple[str, ...]
) -> None:
    for status, response in responses.items():
        if isinstance(response, Reference):
            continue
        headers: dict[str, OpenAPIHeader | Reference] = dict(response.headers or {})
        # Copies: the document is normalised in place, the policies' constants are not.
        if status.startswith(("2", "4")) and status not in skip:
            headers.update(copy.deepcopy(RATE_LIMIT_OPENAPI_HEADERS))
        elif status in skip:
            for name in RATE_LIMIT_OPENAPI_HEADERS:
                headers.pop(name, None)
        if status == "429":
            headers["Retry-After"] = copy.deepcopy(RETRY_AFTER_HEADER)
        if status in ("401", "403") and skip:
            headers["WWW-Authenticate"] = copy.deepcopy(WWW_AUTHENTICATE_HEADER)
        response.headers = headers or None


def _header_schemas(operation: Operation) -> None:
    """Every documented response header has a schema (OpenAPI requires one)."""
    for status, response in (operation.responses or {}).items():
        if isinstance(response, Reference):
            continue
        for name, header in (response.headers or {}).items():
            if isinstance(header, Reference):
                continue
            known = DOCUMENTED_HEADERS.get(name)
            if known is not None and (header.schema is None or name == "Cache-Control"):
                header.schema = copy.deepcopy(known.schema)
            if header.schema is None:
                raise ValueError(
                    f"{operation.operation_id} {status}: response header {name} has no "
                    "schema; add it to DOCUMENTED_HEADERS"
                )


def _problem(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)},
    )


# Answers the HTTP edge gives before any operation is matched: they belong to no
# operation, so they are documented once as reusable responses.
EDGE_RESPONSES: dict[str, OpenAPIResponse | Reference] = {
    "MethodNotAllowed": OpenAPIResponse(
        description=(
            "405 (code METHOD_NOT_ALLOWED) for a method the path does not offer; Allow lists "
            "the ones it does. Sent before authentication, so without RateLimit fields."
        ),
        headers={
            "Allow": OpenAPIHeader(
                schema=Schema(
                    type=OpenAPIType.STRING, max_length=100, pattern=r"^[A-Z]+(, [A-Z]+)*$"
                ),
                description="Methods the path offers",
                required=True,
            )
        },
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)},
    ),
    "NotFound": OpenAPIResponse(
        description="404 (code NOT_FOUND) for a path the gateway does not serve",
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)},
    ),
    "UriTooLong": OpenAPIResponse(
        description=(
            "414 from the HTTP server itself for a request line over 64 KiB, before the "
            "gateway sees the request: an empty body, not a problem. No valid request "
            "comes near the limit (every parameter is bounded)."
        ),
    ),
}
