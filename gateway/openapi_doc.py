"""The committed OpenAPI documents: export, staleness check and breaking-change diff."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from gateway.app import create_litestar
from gateway.openapi_links import prune_links
from gateway.settings import embedded_settings

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"
VERSIONS = {"v1": "1.0.0", "v2": "2.0.0"}


def generate(version: str = "v1") -> dict[str, Any]:
    """One version's document as the code describes it (the embedded default's shape):
    that version's paths, the unversioned ones every client needs (token endpoint,
    health), and only the components they reference."""
    if version not in VERSIONS:
        raise ValueError(f"unknown API version {version!r}; known: {', '.join(VERSIONS)}")
    full: dict[str, Any] = create_litestar(embedded_settings()).openapi_schema.to_schema()
    others = tuple(f"/{v}/" for v in VERSIONS if v != version)
    paths = {p: item for p, item in full["paths"].items() if not p.startswith(others)}
    document = {**full, "paths": paths}
    document["info"] = {**full["info"], "version": VERSIONS[version]}
    components = dict(full.get("components", {}))
    schemas = components.get("schemas", {})
    components["schemas"] = {name: schemas[name] for name in sorted(_referenced(paths, schemas))}
    document["components"] = components
    prune_links(document)
    return document


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """Names of component schemas reachable from ``root`` through $ref."""
    found: set[str] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found and name in schemas:
                    found.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def path_for(version: str, directory: Path = OPENAPI_DIR) -> Path:
    return directory / f"{version}.json"


def export(directory: Path = OPENAPI_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for version in VERSIONS:
        target = path_for(version, directory)
        target.write_text(render(generate(version)), encoding="utf-8")
        written.append(target)
    return written


def stale(directory: Path = OPENAPI_DIR) -> dict[str, str]:
    """version -> unified diff, for every committed document that differs from the code."""
    result = {}
    for version in VERSIONS:
        target = path_for(version, directory)
        committed = target.read_text(encoding="utf-8") if target.exists() else ""
        current = render(generate(version))
        if committed != current:
            result[version] = "".join(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    current.splitlines(keepends=True),
                    fromfile=f"committed/{target.name}",
                    tofile=f"code/{target.name}",
                    n=2,
                )
            )
    return result


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Changes that break an existing client: removed operations, responses, members,
    and newly required request members or parameters."""
    problems: list[str] = []
    old_ops = _operations(old)
    new_ops = _operations(new)
    for key, op in old_ops.items():
        if key not in new_ops:
            problems.append(f"operation removed: {key[0].upper()} {key[1]}")
            continue
        new_op = new_ops[key]
        for status in op.get("responses", {}):
            if status not in new_op.get("responses", {}):
                problems.append(f"{key[0].upper()} {key[1]}: response {status} removed")
        old_params = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        for param in new_op.get("parameters", []):
            if param.get("required") and (param["in"], param["name"]) not in old_params:
                problems.append(
                    f"{key[0].upper()} {key[1]}: new required parameter {param['name']}"
                )
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            problems.append(f"schema removed: {name}")
            continue
        for member in schema.get("properties", {}):
            if member not in new_schemas[name].get("properties", {}):
                problems.append(f"schema {name}: member {member} removed")
        added_required = set(new_schemas[name].get("required", [])) - set(
            schema.get("required", [])
        )
        for member in sorted(added_required):
            problems.append(f"schema {name}: member {member} became required")
    return problems


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    }
