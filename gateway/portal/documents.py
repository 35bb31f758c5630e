"""The committed OpenAPI documents (openapi/vN.json) as the portal reads them.

The portal renders what is committed, not what the running code would generate:
the committed document is the contract CI checks and the one clients generate
code from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

OPENAPI_DIR = Path(__file__).resolve().parent.parent.parent / "openapi"
_VERSION_FILE = re.compile(r"^(v[0-9]{1,3})\.json$")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header
    required: bool
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One operation of one document, with what a caller must send."""

    version: str
    method: str  # upper case
    path: str
    operation_id: str
    summary: str
    description: str
    api: str  # the first tag: customers, orders, operations, auth...
    scopes: tuple[str, ...]
    # "bearer" (an access token), "client" (client id and secret, the token endpoint)
    # or "none" (public).
    auth: str
    deprecated: bool
    parameters: tuple[Parameter, ...]
    request_schema: dict[str, Any] | None
    form_schema: dict[str, Any] | None
    responses: tuple[str, ...]
    returns_json: bool = True

    @property
    def anchor(self) -> str:
        return f"op-{self.operation_id}"

    def header(self, name: str) -> Parameter | None:
        for parameter in self.parameters:
            if parameter.location == "header" and parameter.name.lower() == name.lower():
                return parameter
        return None


@dataclass
class ApiDocument:
    version: str
    raw: dict[str, Any]
    operations: list[Operation] = field(default_factory=list)

    @cached_property
    def title(self) -> str:
        info = self.raw.get("info", {})
        return f"{info.get('title', 'API')} {info.get('version', '')}".strip()

    @property
    def info_version(self) -> str:
        return str(self.raw.get("info", {}).get("version", ""))

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref``s (``#/components/...``) until a schema object."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
            target: Any = self.raw
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
            seen += 1
        return node

    def apis(self) -> list[str]:
        """The APIs (first tags) of this document, in the document's tag order."""
        order = [t.get("name") for t in self.raw.get("tags", []) if isinstance(t, dict)]
        used = {op.api for op in self.operations}
        known = [name for name in order if name in used]
        return known + sorted(used.difference(known))

    def tag_description(self, api: str) -> str:
        for tag in self.raw.get("tags", []):
            if isinstance(tag, dict) and tag.get("name") == api:
                return str(tag.get("description", ""))
        return ""


def parse(version: str, raw: dict[str, Any]) -> ApiDocument:
    document = ApiDocument(version=version, raw=raw)
    for path, item in raw.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                document.operations.append(_operation(document, method, path, op, shared))
    return document


def _operation(
    document: ApiDocument, method: str, path: str, op: dict[str, Any], shared: list[Any]
) -> Operation:
    scopes: dict[str, None] = {}
    auth = "none"
    schemes = document.raw.get("components", {}).get("securitySchemes", {})
    for requirement in op.get("security", document.raw.get("security", [])) or []:
        for scheme, needed in requirement.items():
            definition = schemes.get(scheme, {})
            if definition.get("type") == "http" and definition.get("scheme") == "basic":
                auth = "client"
                continue
            auth = "bearer"
            scopes.update(dict.fromkeys(needed))
    parameters = []
    for entry in [*shared, *op.get("parameters", [])]:
        parameter = document.resolve(entry)
        if isinstance(parameter, dict) and "name" in parameter:
            parameters.append(
                Parameter(
                    name=str(parameter["name"]),
                    location=str(parameter.get("in", "query")),
                    required=bool(parameter.get("required", False)),
                    description=str(parameter.get("description", "")),
                    schema=document.resolve(parameter.get("schema", {})) or {},
                )
            )
    body = document.resolve(op.get("requestBody", {}))
    content = body.get("content", {}) if isinstance(body, dict) else {}
    json_body = content.get("application/json", {})
    form_body = content.get("application/x-www-form-urlencoded", {})
    tags = op.get("tags") or ["other"]
    return Operation(
        version=document.version,
        method=method.upper(),
        path=path,
        operation_id=str(op.get("operationId") or f"{method}{path}"),
        summary=str(op.get("summary", "")),
        description=str(op.get("description", "")),
        api=str(tags[0]),
        scopes=tuple(scopes),
        auth=auth,
        deprecated=bool(op.get("deprecated", False)),
        parameters=tuple(parameters),
        request_schema=json_body.get("schema") if isinstance(json_body, dict) else None,
        form_schema=form_body.get("schema") if isinstance(form_body, dict) else None,
        responses=tuple(sorted(op.get("responses", {}))),
        returns_json=_returns_json(document, op),
    )


def _returns_json(document: ApiDocument, op: dict[str, Any]) -> bool:
    for status, response in sorted(op.get("responses", {}).items()):
        if status.startswith("2"):
            content = document.resolve(response).get("content", {})
            return not content or any(t.endswith("json") for t in content)
    return True


def load_documents(directory: Path = OPENAPI_DIR) -> dict[str, ApiDocument]:
    """version -> document, for every ``vN.json`` in ``directory``, in version order."""
    found: dict[str, ApiDocument] = {}
    if not directory.is_dir():
        return found
    files = sorted(
        (p for p in directory.iterdir() if _VERSION_FILE.match(p.name)),
        key=lambda p: int(p.stem[1:]),
    )
    for path in files:
        version = path.stem
        found[version] = parse(version, json.loads(path.read_text(encoding="utf-8")))
    return found


def versioned(document: ApiDocument) -> list[Operation]:
    """The operations that belong to this version (its /vN/ paths), without the
    unversioned ones every document repeats (token endpoint, health, metrics)."""
    prefix = f"/{document.version}/"
    return [op for op in document.operations if op.path.startswith(prefix)]


def unversioned(documents: dict[str, ApiDocument]) -> list[Operation]:
    """Operations outside any version path, once (from the first document)."""
    for document in documents.values():
        prefix = f"/{document.version}/"
        return [op for op in document.operations if not op.path.startswith(prefix)]
    return []
