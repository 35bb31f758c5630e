"""What the policies add to every governed operation in the OpenAPI document.

Litestar's ResponseSpec cannot carry headers, so the headers that error
responses really send (RateLimit on 4xx, Retry-After on 429, WWW-Authenticate on
401/403) are attached to the generated document here, once, at start-up.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIHeader, Operation, Reference

from policies.auth.openapi import WWW_AUTHENTICATE_HEADER
from policies.rate_limit.openapi import RATE_LIMIT_OPENAPI_HEADERS, RETRY_AFTER_HEADER

_METHODS = ("get", "put", "post", "patch", "delete")


def operations(document: OpenAPI) -> list[Operation]:
    found = []
    for item in (document.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                found.append(operation)
    return found


def document_policies(document: OpenAPI) -> None:
    for operation in operations(document):
        if not operation.security:
            continue  # public operations carry no rate-limit or auth headers
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
