"""Copy-paste examples per operation, in curl and Python (httpx), from the OpenAPI document.

Each example sends what the operation requires: the bearer token, an
Idempotency-Key where the document makes it required (money-moving POSTs), an
If-Match taken from a prior GET on PATCH, the required query parameters and a
request body built from the schema's own examples.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gateway.portal.documents import ApiDocument, Operation

_MAX_DEPTH = 6
_ID_PATTERN = re.compile(r"^\^([a-z]{2,5})_\[0-9A-HJKMNP-TV-Z\]\{26\}\$$")
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)\}")
# A well-formed (Crockford base32) ULID body for example ids.
_ULID_BODY = "01JDQ2C0000000000000000000"


@dataclass(frozen=True)
class Example:
    curl: str
    python: str


def example_value(document: ApiDocument, schema: Any, depth: int = 0) -> Any:
    """A plausible value for ``schema``: its own example first, then its shape."""
    schema = document.resolve(schema)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    for key in ("examples", "example", "default"):
        if key in schema:
            value = schema[key]
            return value[0] if key == "examples" and isinstance(value, list) and value else value
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("oneOf", "anyOf", "allOf"):
        options = [document.resolve(s) for s in schema.get(combinator, [])]
        concrete = [s for s in options if isinstance(s, dict) and s.get("type") != "null"]
        if concrete:
            merged = {k: v for k, v in schema.items() if k != combinator}
            return example_value(document, {**concrete[0], **merged}, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return _example_object(document, schema, depth)
    if kind == "array":
        item = example_value(document, schema.get("items", {}), depth + 1)
        return [item] if item is not None else []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        return _example_string(schema)
    return None


def _example_object(document: ApiDocument, schema: dict[str, Any], depth: int) -> dict[str, Any]:
    required = set(schema.get("required", []))
    result = {}
    for name, member in schema.get("properties", {}).items():
        resolved = document.resolve(member)
        shown = name in required or (isinstance(resolved, dict) and "examples" in resolved)
        if shown:
            value = example_value(document, member, depth + 1)
            if value is not None:
                result[name] = value
    return result


def _example_string(schema: dict[str, Any]) -> str:
    pattern = str(schema.get("pattern", ""))
    match = _ID_PATTERN.match(pattern)
    if match:
        return f"{match.group(1)}_{_ULID_BODY}"
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-15T09:30:00Z"
    if fmt == "date" or pattern == r"^\d{4}-\d{2}-\d{2}$":
        return "2026-01-15"
    if pattern == "^[A-Z]{3}$":
        return "EUR"
    if pattern == "^[A-Z]{2}$":
        return "DE"
    return "example"


def _path_with_examples(document: ApiDocument, operation: Operation) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        for parameter in operation.parameters:
            if parameter.location == "path" and parameter.name == name:
                value = example_value(document, parameter.schema)
                return str(value) if value not in (None, "example") else _id_for(name)
        return _id_for(name)

    return _PATH_PARAMETER.sub(replace, operation.path)


def _id_for(name: str) -> str:
    prefixes = {"customer": "cus", "product": "prd", "quote": "quo", "order": "ord",
                "invoice": "inv", "payment": "pay", "price": "prc"}
    prefix = prefixes.get(name.removesuffix("_id"), "id")
    return f"{prefix}_{_ULID_BODY}"


def _query(document: ApiDocument, operation: Operation) -> dict[str, str]:
    found = {}
    for parameter in operation.parameters:
        if parameter.location != "query":
            continue
        if parameter.required:
            found[parameter.name] = str(example_value(document, parameter.schema))
        elif parameter.name == "limit":
            found["limit"] = "10"
    return found


def build_example(
    document: ApiDocument, operation: Operation, base_url: str = "http://127.0.0.1:8080"
) -> Example:
    path = _path_with_examples(document, operation)
    query = _query(document, operation)
    body = (
        example_value(document, operation.request_schema)
        if operation.request_schema is not None
        else None
    )
    form = _form(document, operation)
    idempotency = operation.header("Idempotency-Key")
    key = (
        f'"{operation.operation_id}-0001"'
        if idempotency is not None and idempotency.required
        else None
    )
    needs_match = operation.method == "PATCH" and operation.header("If-Match") is not None
    call = _Call(operation, base_url, path, query, body, form, key, needs_match)
    return Example(curl=call.curl(), python=call.python())


def _form(document: ApiDocument, operation: Operation) -> dict[str, str] | None:
    if operation.form_schema is None:
        return None
    schema = document.resolve(operation.form_schema)
    required = set(schema.get("required", [])) if isinstance(schema, dict) else set()
    form = {}
    for name in sorted(required):
        member = document.resolve(schema["properties"].get(name, {}))
        value = example_value(document, member)
        form[name] = str(value)
    return form


@dataclass(frozen=True)
class _Call:
    operation: Operation
    base_url: str
    path: str
    query: dict[str, str]
    body: Any
    form: dict[str, str] | None
    key: str | None
    needs_match: bool

    def curl(self) -> str:
        op = self.operation
        lines = []
        auth = ""
        if op.auth == "bearer":
            auth = '-H "Authorization: Bearer $TOKEN"'
        elif op.auth == "client":
            auth = '-u "$CLIENT_ID:$CLIENT_SECRET"'
        if self.needs_match:
            lines += [
                "# PATCH needs the ETag of the representation you change (412 when stale).",
                f'ETAG=$(curl -sS -o /dev/null -D - {auth} "$Q2C_URL{self.path}" \\',
                "  | tr -d '\\r' | awk 'tolower($1) == \"etag:\" {print $2}')",
            ]
        if self.key is not None:
            lines.append("# A new Idempotency-Key per new request; send the same one on a retry.")
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        url = f"$Q2C_URL{self.path}" + (f"?{query}" if query else "")
        parts = [f'curl -sS -X {op.method} "{url}"']
        if auth:
            parts.append(auth)
        if self.key is not None:
            parts.append("-H " + _shell_quote("Idempotency-Key: " + self.key))
        if self.needs_match:
            parts.append('-H "If-Match: $ETAG"')
        if self.body is not None:
            parts.append("-H 'Content-Type: application/json'")
            parts.append("-d " + _shell_quote(json.dumps(self.body)))
        for name, value in (self.form or {}).items():
            parts.append("-d " + _shell_quote(f"{name}={value}"))
        return "\n".join([*lines, " \\\n  ".join(parts)])

    def python(self) -> str:
        op = self.operation
        lines = ["import os", "", "import httpx", "", "client = httpx.Client("]
        lines.append(f'    base_url=os.environ.get("Q2C_URL", {_literal(self.base_url)}),')
        if op.auth == "bearer":
            lines.append("    headers={\"Authorization\": f\"Bearer {os.environ['TOKEN']}\"},")
        lines.append(")")
        arguments = [_literal(self.path)]
        if self.needs_match:
            lines.append(f"current = client.get({_literal(self.path)})")
            lines.append("current.raise_for_status()")
        if op.auth == "client":
            arguments.append('auth=(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])')
        if self.query:
            arguments.append(f"params={_literal(self.query, 1)}")
        headers = []
        if self.key is not None:
            lines.append("# A new Idempotency-Key per new request; send the same one on a retry.")
            headers.append(f'"Idempotency-Key": {_literal(self.key)}')
        if self.needs_match:
            headers.append('"If-Match": current.headers["ETag"]')
        if headers:
            arguments.append("headers={" + ", ".join(headers) + "}")
        if self.body is not None:
            arguments.append(f"json={_literal(self.body, 1)}")
        if self.form is not None:
            arguments.append(f"data={_literal(self.form, 1)}")
        method = op.method.lower()
        if len(arguments) == 1:
            lines.append(f"response = client.{method}({arguments[0]})")
        else:
            lines.append(f"response = client.{method}(")
            lines += [f"    {argument}," for argument in arguments]
            lines.append(")")
        shown = "response.json()" if op.returns_json else "response.text"
        lines += ["response.raise_for_status()", f"print({shown})"]
        return "\n".join(lines)


def _literal(value: Any, level: int = 0) -> str:
    """``value`` as Python source, one member per line for containers."""
    inner, outer = "    " * (level + 1), "    " * level
    if isinstance(value, dict) and value:
        members = [f"{inner}{json.dumps(str(k))}: {_literal(v, level + 1)}," for k, v in
                   value.items()]
        return "{\n" + "\n".join(members) + f"\n{outer}}}"
    if isinstance(value, list) and value:
        items = [f"{inner}{_literal(v, level + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{outer}]"
    if isinstance(value, str):
        return repr(value) if '"' in value else json.dumps(value)
    return repr(value)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
