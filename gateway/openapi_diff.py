"""What changed between two OpenAPI documents, and whether it breaks a client.

A change is ``{kind, breaking, path, detail}``; the portal renders its changelog
from the same list. Direction decides what breaks: a request schema that accepts
less (new required member, narrower enum, pattern or bounds, another type)
breaks senders; a response schema that promises less (member removed, retyped,
optional, an enum value clients never saw) breaks readers. Removed operations,
parameters and responses, a changed success status and stricter security break
everyone; additions do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import msgspec

Direction = Literal["request", "response"]
Node = dict[str, Any]  # an OpenAPI object (operation, parameter, schema, ...) as JSON
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
# Bounds where a larger value accepts more: (keyword, True when larger is wider).
_BOUNDS = (
    ("maxLength", True), ("maximum", True), ("exclusiveMaximum", True), ("maxItems", True),
    ("minLength", False), ("minimum", False), ("exclusiveMinimum", False), ("minItems", False),
)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    breaking: bool
    path: str
    detail: str


def diff(old: Node, new: Node) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first, then by path."""
    changes = list(_Comparison(old, new).run())
    return sorted(changes, key=lambda c: (not c.breaking, c.path, c.kind))


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def render_text(changes: list[Change]) -> str:
    if not changes:
        return "no changes"
    lines = []
    for change in changes:
        label = "BREAKING" if change.breaking else "added/changed"
        lines.append(f"{label:13} {change.kind:28} {change.path}: {change.detail}")
    return "\n".join(lines)


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS and isinstance(operation, dict)
    }


def _collapse(schema: Node) -> Node:
    """``oneOf: [{type: T, ...}, {type: null}]`` and ``type: [T, null]`` mean the same;
    compare them as the latter."""
    branches = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(branches, list) or not branches:
        return schema
    nulls = [b for b in branches if b == {"type": "null"}]
    values = [b for b in branches if b not in nulls]
    if len(values) != 1 or "$ref" in values[0] or len(nulls) > 1:
        return schema
    merged = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
    merged.update({k: v for k, v in values[0].items() if k not in merged})
    if nulls:
        merged["type"] = sorted(_types(values[0]) | {"null"})
    return merged


def _short(text: Any, limit: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _no_null(schema: Node) -> Node:
    """A query, path or header parameter is absent, never null: ignore a null type."""
    collapsed = _collapse(schema)
    kinds = _types(collapsed) - {"null"}
    if kinds == _types(collapsed):
        return collapsed
    result = {**collapsed, "type": sorted(kinds)[0] if len(kinds) == 1 else sorted(kinds)}
    if isinstance(result.get("enum"), list):
        result["enum"] = [v for v in result["enum"] if v is not None]
    return result


def _types(schema: dict[str, Any]) -> set[str]:
    value = schema.get("type")
    if value is None:
        return set()
    return set(value) if isinstance(value, list) else {value}


class _Comparison:
    def __init__(self, old: Node, new: Node) -> None:
        self.old = old
        self.new = new
        self._seen: set[tuple[str, int, int]] = set()

    def run(self) -> Iterator[Change]:
        old_ops, new_ops = _operations(self.old), _operations(self.new)
        for key in old_ops.keys() - new_ops.keys():
            yield Change(kind="operation-removed", breaking=True, path=key,
                         detail=f"{old_ops[key].get('operationId', key)} no longer exists")
        for key in new_ops.keys() - old_ops.keys():
            yield Change(kind="operation-added", breaking=False, path=key,
                         detail=f"new operation {new_ops[key].get('operationId', key)}")
        for key in sorted(old_ops.keys() & new_ops.keys()):
            yield from self._operation(key, old_ops[key], new_ops[key])

    # --- operations ------------------------------------------------------------
    def _operation(self, where: str, old: Node, new: Node) -> Iterator[Change]:
        yield from self._security(where, old, new)
        yield from self._parameters(where, old, new)
        yield from self._request_body(where, old, new)
        yield from self._responses(where, old, new)

    def _security(self, where: str, old: Node, new: Node) -> Iterator[Change]:
        before = self._requirements(old.get("security", self.old.get("security")))
        after = self._requirements(new.get("security", self.new.get("security")))
        if before == after:
            return
        # A client satisfying an old alternative must still satisfy some new one.
        stricter = any(not any(b >= a for a in after) for b in before) or (after and not before)
        yield Change(
            kind="security-changed" if stricter else "security-relaxed",
            breaking=bool(stricter),
            path=f"{where} security",
            detail=f"{self._show(before)} -> {self._show(after)}",
        )

    @staticmethod
    def _requirements(security: Any) -> list[frozenset[str]]:
        # Each alternative as the schemes it needs plus "scheme:scope" for each scope.
        return [
            frozenset(requirement)
            | {f"{scheme}:{scope}" for scheme, scopes in requirement.items() for scope in scopes}
            for requirement in (security or [])
        ]

    @staticmethod
    def _show(requirements: list[frozenset[str]]) -> str:
        def one(requirement: frozenset[str]) -> str:
            scoped = {token.split(":", 1)[0] for token in requirement if ":" in token}
            return " + ".join(sorted(t for t in requirement if ":" in t or t not in scoped))

        return " | ".join(one(r) for r in requirements) or "none"

    def _parameters(self, where: str, old: Node, new: Node) -> Iterator[Change]:
        before = {(p["in"], p["name"]): p for p in map(self._old_ref, old.get("parameters", []))}
        after = {(p["in"], p["name"]): p for p in map(self._new_ref, new.get("parameters", []))}
        for key in before.keys() - after.keys():
            yield Change(kind="parameter-removed", breaking=True, path=f"{where} {key[0]} {key[1]}",
                         detail="parameter removed; callers sending it lose what it did")
        for key in after.keys() - before.keys():
            required = bool(after[key].get("required"))
            yield Change(
                kind="required-parameter-added" if required else "parameter-added",
                breaking=required, path=f"{where} {key[0]} {key[1]}",
                detail="new required parameter" if required else "new optional parameter",
            )
        for key in sorted(before.keys() & after.keys()):
            path = f"{where} {key[0]} {key[1]}"
            if after[key].get("required") and not before[key].get("required"):
                yield Change(kind="parameter-became-required", breaking=True, path=path,
                             detail="optional parameter is now required")
            yield from self._schema(path, _no_null(self._old_ref(before[key].get("schema", {}))),
                                    _no_null(self._new_ref(after[key].get("schema", {}))),
                                    "request")

    def _request_body(self, where: str, old: Node, new: Node) -> Iterator[Change]:
        before = self._old_ref(old.get("requestBody") or {})
        after = self._new_ref(new.get("requestBody") or {})
        path = f"{where} request body"
        if not before and after:
            yield Change(kind="request-body-added", breaking=bool(after.get("required")),
                         path=path, detail="the operation now reads a body")
            return
        if after.get("required") and not before.get("required"):
            yield Change(kind="request-body-became-required", breaking=True, path=path,
                         detail="a body is now required")
        for media, content in (before.get("content") or {}).items():
            target = (after.get("content") or {}).get(media)
            if target is None:
                yield Change(kind="request-media-type-removed", breaking=True,
                             path=f"{path} {media}", detail=f"{media} is no longer accepted")
                continue
            yield from self._schema(path, content.get("schema", {}), target.get("schema", {}),
                                    "request")

    def _responses(self, where: str, old: Node, new: Node) -> Iterator[Change]:
        before, after = old.get("responses", {}), new.get("responses", {})
        for status in sorted(before.keys() - after.keys()):
            yield Change(kind="response-removed", breaking=True, path=f"{where} {status}",
                         detail=f"response {status} removed")
        old_success = {s for s in before if s.startswith("2")}
        for status in sorted(after.keys() - before.keys()):
            success = status.startswith("2")
            changed = success and bool(old_success)
            yield Change(
                kind="status-code-changed" if changed else "response-added",
                breaking=changed, path=f"{where} {status}",
                detail=(f"success is now {status} (was {', '.join(sorted(old_success))})"
                        if changed else f"new response {status}"),
            )
        for status in sorted(before.keys() & after.keys()):
            old_response = self._old_ref(before[status])
            new_response = self._new_ref(after[status])
            for media, content in (old_response.get("content") or {}).items():
                target = (new_response.get("content") or {}).get(media)
                path = f"{where} {status} {media}"
                if target is None:
                    yield Change(kind="response-media-type-removed", breaking=True, path=path,
                                 detail=f"{status} no longer answers {media}")
                    continue
                yield from self._schema(f"{where} {status}", content.get("schema", {}),
                                        target.get("schema", {}), "response")

    # --- schemas ---------------------------------------------------------------
    def _old_ref(self, node: dict[str, Any]) -> dict[str, Any]:
        return self._resolve(self.old, node)

    def _new_ref(self, node: dict[str, Any]) -> dict[str, Any]:
        return self._resolve(self.new, node)

    @staticmethod
    def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        for _ in range(20):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return node
            target: Any = document
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
        return node

    def _schema(
        self, path: str, old: Node, new: Node, direction: Direction
    ) -> Iterator[Change]:
        old, new = _collapse(self._old_ref(old)), _collapse(self._new_ref(new))
        key = (direction, id(old), id(new))
        if key in self._seen:
            return  # recursive schemas: each pair once
        self._seen.add(key)
        request = direction == "request"
        yield from self._type(path, old, new, request)
        yield from self._enum(path, old, new, request)
        yield from self._pattern(path, old, new, request)
        yield from self._bounds(path, old, new, request)
        yield from self._members(path, old, new, direction)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            yield from self._schema(f"{path}[]", old["items"], new["items"], direction)
        for variant in ("oneOf", "anyOf", "allOf"):
            before, after = old.get(variant) or [], new.get(variant) or []
            if len(before) == len(after):
                for index, (a, b) in enumerate(zip(before, after, strict=True)):
                    yield from self._schema(f"{path}<{variant}[{index}]>", a, b, direction)
            else:
                yield Change(kind="schema-changed", breaking=True, path=path,
                             detail=f"{variant} has {len(after)} alternatives (was {len(before)})")

    @staticmethod
    def _pattern(path: str, old: Node, new: Node, request: bool) -> Iterator[Change]:
        before, after = old.get("pattern"), new.get("pattern")
        if before == after:
            return
        if before is not None and after is not None:
            yield Change(kind="pattern-changed", breaking=True, path=path,
                         detail=f"pattern {_short(before)} -> {_short(after)}")
            return
        added = after is not None
        # A response value without a pattern is still bounded when an enum replaced it.
        breaks = added if request else not added and "enum" not in new and "const" not in new
        yield Change(kind="pattern-added" if added else "pattern-removed", breaking=breaks,
                     path=path, detail=f"pattern {_short(before)} -> {_short(after)}")

    @staticmethod
    def _type(path: str, old: Node, new: Node, request: bool) -> Iterator[Change]:
        before, after = _types(old), _types(new)
        if not before or not after or before == after:
            return
        lost, gained = before - after, after - before
        # A request accepting fewer types, or a response sending new ones, breaks clients.
        breaks = bool(lost) if request else bool(gained)
        yield Change(kind="field-retyped" if breaks else "type-widened", breaking=breaks,
                     path=path, detail=f"type {sorted(before)} -> {sorted(after)}")

    @staticmethod
    def _enum(path: str, old: Node, new: Node, request: bool) -> Iterator[Change]:
        if "enum" not in old and "enum" not in new:
            return
        if "enum" not in new:
            yield Change(kind="enum-removed", breaking=not request, path=path,
                         detail="the value is no longer limited to a list")
            return
        if "enum" not in old:
            yield Change(kind="enum-narrowed", breaking=request, path=path,
                         detail=f"values limited to {len(new['enum'])} choices")
            return
        removed = [v for v in old["enum"] if v not in new["enum"]]
        added = [v for v in new["enum"] if v not in old["enum"]]
        if removed:
            yield Change(kind="enum-narrowed", breaking=request, path=path,
                         detail=f"no longer allowed: {removed[:10]}")
        if added:
            yield Change(kind="enum-widened", breaking=not request, path=path,
                         detail=f"new values: {added[:10]}"
                         + ("" if request else " (readers with a closed enum fail)"))

    @staticmethod
    def _bounds(path: str, old: Node, new: Node, request: bool) -> Iterator[Change]:
        for keyword, larger_is_wider in _BOUNDS:
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if after is None and ("enum" in new or "const" in new):
                continue  # a list of values replaced the bound
            if after is None:
                narrower = False
            elif before is None:
                narrower = True
            else:
                narrower = (after < before) if larger_is_wider else (after > before)
            breaks = narrower if request else not narrower
            yield Change(kind="bounds-narrowed" if narrower else "bounds-widened",
                         breaking=breaks, path=path, detail=f"{keyword} {before} -> {after}")

    def _members(
        self, path: str, old: Node, new: Node, direction: Direction
    ) -> Iterator[Change]:
        before, after = old.get("properties") or {}, new.get("properties") or {}
        old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
        request = direction == "request"
        for name in sorted(before.keys() - after.keys()):
            # A sender of the member is now refused only when unknown members are.
            breaks = not request or new.get("additionalProperties") is False
            yield Change(kind="field-removed", breaking=breaks, path=f"{path}.{name}",
                         detail="member removed")
        for name in sorted(after.keys() - before.keys()):
            required = request and name in new_required
            yield Change(kind="required-field-added" if required else "field-added",
                         breaking=required, path=f"{path}.{name}",
                         detail="new required member" if required else "new member")
        for name in sorted(before.keys() & after.keys()):
            member = f"{path}.{name}"
            if request and name in new_required and name not in old_required:
                yield Change(kind="field-became-required", breaking=True, path=member,
                             detail="optional member is now required")
            if not request and name in old_required and name not in new_required:
                yield Change(kind="field-became-optional", breaking=True, path=member,
                             detail="readers can no longer rely on the member")
            yield from self._schema(member, before[name], after[name], direction)
