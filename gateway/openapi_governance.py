"""What the policies add to every governed operation in the OpenAPI document.

Litestar's ResponseSpec cannot carry headers, so the headers that error
responses really send (RateLimit on 4xx, Retry-After on 429, WWW-Authenticate on
401/403) are attached to the generated document here, once, at start-up. So is
the Idempotency-Key header of the operations whose route policy reads it: only
the policy reads it, so no handler declares it.
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
)

from contracts.problem import PROBLEM_MEDIA_TYPE
from policies.auth.openapi import WWW_AUTHENTICATE_HEADER, security_for
from policies.idempotency.openapi import idempotency_key_parameter
from policies.rate_limit.openapi import RATE_LIMIT_OPENAPI_HEADERS, RETRY_AFTER_HEADER
from policies.route import RoutePolicy

_METHODS = ("get", "put", "post", "patch", "delete")


def operations(document: OpenAPI) -> list[Operation]:
    found = []
    for item in (document.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                found.append(operation)
    return found


_GOVERNED_ERRORS = {
    "401": "Missing, invalid or expired access token; see WWW-Authenticate",
    "403": "The access token lacks a required scope",
    "429": "Quota exceeded; see Retry-After",
}


def document_policies(document: OpenAPI, policies: Mapping[str, RoutePolicy]) -> None:
    """``policies`` maps operationId -> the policy its route declares."""
    for operation in operations(document):
        if operation.operation_id == "issueToken":
            _document_ip_limit(operation)
            continue
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
            for status, description in _GOVERNED_ERRORS.items():
                responses.setdefault(status, _problem(description))
            operation.responses = responses
        if not operation.security:
            continue  # unprotected operations carry no rate-limit or auth headers
        for status, response in (operation.responses or {}).items():
            if isinstance(response, Reference):
                continue
            headers: dict[str, OpenAPIHeader | Reference] = dict(response.headers or {})
            if status.startswith(("2", "4")):
                headers.update(RATE_LIMIT_OPENAPI_HEADERS)
            if status == "429":
                headers["Retry-After"] = RETRY_AFTER_HEADER
            if status in ("401", "403"):
                headers["WWW-Authenticate"] = WWW_AUTHENTICATE_HEADER
            response.headers = headers


def _document_ip_limit(operation: Operation) -> None:
    """The token endpoint is limited per client IP before anyone is authenticated."""
    responses = dict(operation.responses or {})
    response = _problem("Too many token requests from this address; see Retry-After")
    response.headers = {"Retry-After": RETRY_AFTER_HEADER, **RATE_LIMIT_OPENAPI_HEADERS}
    responses["429"] = response
    operation.responses = responses


def _problem(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                schema=Reference(ref="#/components/schemas/Problem")
            )
        },
    )
