"""The committed documents and the served one are valid OpenAPI 3.1.

Strict code generators refuse an invalid document (a header object without a
schema was enough); openapi-spec-validator checks the whole of the 3.1 schema.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from gateway import openapi_doc
from gateway.app import create_app
from gateway.wiring import Runtime


def _errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]


@pytest.mark.parametrize("version", sorted(openapi_doc.VERSIONS))
def test_committed_document_is_valid_openapi_31(version: str) -> None:
    document = json.loads(openapi_doc.path_for(version).read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    assert _errors(document) == []


async def test_served_document_is_valid_openapi_31(runtime: Runtime) -> None:
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert _errors(response.json()) == []


def test_the_validator_catches_a_header_without_schema() -> None:
    document = openapi_doc.generate("v2")
    created = document["paths"]["/v2/orders"]["post"]["responses"]["201"]
    del created["headers"]["ETag"]["schema"]
    assert any("ETag" in error for error in _errors(document))
