"""Stripe's published schemas for the pinned API version (tests/fixtures/vendor/stripe),
as validators for sandbox responses and parameter lists."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

EXTRACT = Path(__file__).resolve().parents[2] / "fixtures/vendor/stripe/stripe-endive-extract.json"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EXTRACT.read_text(encoding="utf-8"))
    return loaded


@cache
def _json_schema_components() -> dict[str, Any]:
    converted: dict[str, Any] = _without_nullable(document()["components"])
    return converted


def _without_nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: the schema, or null."""
    if isinstance(node, list):
        return [_without_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _without_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _validator(schema: dict[str, Any]) -> Draft4Validator:
    # The root carries the components so that "#/components/schemas/..." resolves.
    root = {**_without_nullable(schema), "components": _json_schema_components()}
    return Draft4Validator(root)


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{pattern}$"), template))
    # literal segments first: /v1/customers/search before /v1/customers/{customer}
    found.sort(key=lambda item: item[1].count("{"))
    return found


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The extracted operation serving ``method path`` (a concrete path), if any."""
    for pattern, template in _templates():
        if pattern.match(path):
            found: dict[str, Any] | None = document()["paths"][template].get(method.lower())
            if found is not None:
                return found
    return None


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Why a response of ``method path`` does not match the vendor's schema ([] if it does).

    ``path`` must be one of the extracted operations."""
    op = operation(method, path)
    assert op is not None, f"{method} {path} is not an extracted operation"
    key = "200" if status == 200 else "default"
    schema = op["responses"][key]["content"]["application/json"]["schema"]
    return [_describe(e) for e in _validator(schema).iter_errors(body)]


def event_problems(event: dict[str, Any]) -> list[str]:
    """Why an event object does not match its typed declaration ([] if it does)."""
    ref = document()["x-event-types"].get(event.get("type"))
    assert ref is not None, f"no typed declaration for {event.get('type')!r}"
    return [_describe(e) for e in _validator({"$ref": ref}).iter_errors(event)]


def accepted_parameters(method: str, template: str) -> set[str]:
    """The top-level parameters the pinned version accepts on an operation."""
    op = document()["paths"][template][method.lower()]
    return set(op["x-parameters"]["accepted"])


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:300]}"
