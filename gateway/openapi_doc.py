"""The committed OpenAPI documents: export, staleness check and the gate against the
released copies (openapi/released/) within a major version."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from gateway.app import create_litestar
from gateway.openapi_diff import Change, breaking, diff
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


def documents() -> dict[str, dict[str, Any]]:
    """Every committed document by file stem: the OpenAPI versions and the AsyncAPI one."""
    from gateway import asyncapi_doc

    found = {version: generate(version) for version in VERSIONS}
    found["asyncapi"] = asyncapi_doc.generate()
    return found


def export(directory: Path = OPENAPI_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents().items():
        target = path_for(name, directory)
        target.write_text(render(document), encoding="utf-8")
        written.append(target)
    return written


def stale(directory: Path = OPENAPI_DIR) -> dict[str, str]:
    """version -> unified diff, for every committed document that differs from the code."""
    result = {}
    for version, document in documents().items():
        target = path_for(version, directory)
        committed = target.read_text(encoding="utf-8") if target.exists() else ""
        current = render(document)
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


def released_path(version: str, directory: Path = OPENAPI_DIR) -> Path:
    return directory / "released" / f"{version}.json"


def incompatible(directory: Path = OPENAPI_DIR) -> dict[str, list[Change]]:
    """version -> breaking changes of the committed document against its released copy,
    for every version whose released copy has the same major version."""
    result: dict[str, list[Change]] = {}
    for version in VERSIONS:
        released_file = released_path(version, directory)
        committed_file = path_for(version, directory)
        if not released_file.exists() or not committed_file.exists():
            continue
        released = json.loads(released_file.read_text(encoding="utf-8"))
        committed = json.loads(committed_file.read_text(encoding="utf-8"))
        if _major(released) != _major(committed):
            continue  # a new major version may break; its released copy is replaced
        found = breaking(diff(released, committed))
        if found:
            result[version] = found
    return result


def _major(document: dict[str, Any]) -> str:
    return str(document.get("info", {}).get("version", "0")).split(".", 1)[0]
