"""q2c openapi diff: each class of change, on small hand-written documents."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import openapi_doc
from gateway.cli import main
from gateway.openapi_diff import Change, breaking, diff, render_text

Doc = dict[str, Any]


def document() -> Doc:
    """One collection with a create and a list, a schema per side, two scopes."""
    thing = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3},
            "count": {"type": "integer", "minimum": 0, "maximum": 10},
        },
    }
    stored = copy.deepcopy(thing)
    stored["properties"]["id"] = {"type": "string", "maxLength": 30}
    stored["required"] = ["id", "name", "kind"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1.0.0"},
        "paths": {
            "/v1/things": {
                "post": {
                    "operationId": "createThing",
                    "security": [{"oauth2": ["things:write"]}],
                    "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "required": False,
                         "schema": {"type": "string", "maxLength": 50}},
                    ],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/ThingCreate"}}},
                    },
                    "responses": {
                        "201": {"description": "created", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "422": {"description": "invalid"},
                    },
                },
                "get": {
                    "operationId": "listThings",
                    "security": [{"oauth2": ["things:read"]}],
                    "parameters": [
                        {"name": "limit", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                },
            },
        },
        "components": {"schemas": {"ThingCreate": thing, "Thing": stored}},
    }


def create(d: Doc) -> dict[str, Any]:
    operation: dict[str, Any] = d["paths"]["/v1/things"]["post"]
    return operation


def request_schema(d: Doc) -> dict[str, Any]:
    schema: dict[str, Any] = d["components"]["schemas"]["ThingCreate"]
    return schema


def response_schema(d: Doc) -> dict[str, Any]:
    schema: dict[str, Any] = d["components"]["schemas"]["Thing"]
    return schema


def changes_after(edit: Callable[[Doc], None]) -> list[Change]:
    new = document()
    edit(new)
    return diff(document(), new)


def only(changes: list[Change], kind: str) -> Change:
    found = [c for c in changes if c.kind == kind]
    assert len(found) == 1, changes
    return found[0]


# --- breaking ------------------------------------------------------------------


def test_removed_operation_breaks() -> None:
    change = only(changes_after(lambda d: d["paths"]["/v1/things"].pop("get")),
                  "operation-removed")
    assert change.breaking
    assert change.path == "GET /v1/things"


def test_removed_response_breaks() -> None:
    change = only(changes_after(lambda d: create(d)["responses"].pop("422")), "response-removed")
    assert change.breaking


def test_changed_success_status_breaks() -> None:
    def edit(d: Doc) -> None:
        create(d)["responses"]["200"] = create(d)["responses"].pop("201")

    changes = changes_after(edit)
    assert only(changes, "status-code-changed").breaking
    assert only(changes, "response-removed").path == "POST /v1/things 201"


def test_removed_response_field_breaks() -> None:
    change = only(changes_after(lambda d: response_schema(d)["properties"].pop("kind")),
                  "field-removed")
    assert change.breaking
    assert change.path == "POST /v1/things 201.kind"


def test_retyped_field_breaks_in_both_directions() -> None:
    def edit(d: Doc) -> None:
        response_schema(d)["properties"]["count"]["type"] = "string"
        request_schema(d)["properties"]["count"]["type"] = "string"

    retyped = [c for c in changes_after(edit) if c.kind == "field-retyped"]
    assert {c.path for c in retyped} == {
        "POST /v1/things 201.count",
        "POST /v1/things request body.count",
    }
    assert all(c.breaking for c in retyped)


def test_new_required_request_field_breaks() -> None:
    def edit(d: Doc) -> None:
        request_schema(d)["properties"]["owner"] = {"type": "string", "maxLength": 9}
        request_schema(d)["required"].append("owner")

    assert only(changes_after(edit), "required-field-added").breaking


def test_optional_request_field_becoming_required_breaks() -> None:
    change = only(changes_after(lambda d: request_schema(d)["required"].append("kind")),
                  "field-became-required")
    assert change.breaking


def test_response_field_becoming_optional_breaks() -> None:
    change = only(changes_after(lambda d: response_schema(d)["required"].remove("kind")),
                  "field-became-optional")
    assert change.breaking


def test_removed_request_field_breaks_when_unknown_members_are_refused() -> None:
    change = only(changes_after(lambda d: request_schema(d)["properties"].pop("count")),
                  "field-removed")
    assert change.breaking  # ThingCreate says additionalProperties: false

    def tolerant(d: Doc) -> None:
        request_schema(d)["properties"].pop("count")
        request_schema(d).pop("additionalProperties")

    relaxed = [c for c in changes_after(tolerant) if c.kind == "field-removed"]
    assert [c.breaking for c in relaxed] == [False]


def test_new_required_parameter_breaks() -> None:
    def edit(d: Doc) -> None:
        create(d)["parameters"].append(
            {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
        )

    change = only(changes_after(edit), "required-parameter-added")
    assert change.breaking
    assert change.path == "POST /v1/things query tenant"


def test_parameter_becoming_required_breaks() -> None:
    change = only(changes_after(lambda d: create(d)["parameters"][0].update(required=True)),
                  "parameter-became-required")
    assert change.breaking


def test_removed_parameter_breaks() -> None:
    change = only(changes_after(lambda d: create(d).update(parameters=[])), "parameter-removed")
    assert change.breaking


def test_request_body_becoming_required_breaks() -> None:
    change = only(changes_after(lambda d: create(d)["requestBody"].update(required=True)),
                  "request-body-became-required")
    assert change.breaking


def test_narrowed_request_enum_breaks() -> None:
    change = only(changes_after(lambda d: request_schema(d)["properties"]["kind"]["enum"].pop()),
                  "enum-narrowed")
    assert change.breaking
    assert "'b'" in change.detail


def test_widened_response_enum_breaks_readers() -> None:
    change = only(
        changes_after(lambda d: response_schema(d)["properties"]["kind"]["enum"].append("c")),
        "enum-widened",
    )
    assert change.breaking


def test_changed_pattern_breaks() -> None:
    def edit(d: Doc) -> None:
        request_schema(d)["properties"]["code"]["pattern"] = "^[A-Z]{2}$"

    assert only(changes_after(edit), "pattern-changed").breaking


def test_narrowed_request_bounds_break() -> None:
    def edit(d: Doc) -> None:
        request_schema(d)["properties"]["name"]["maxLength"] = 50

    change = only(changes_after(edit), "bounds-narrowed")
    assert change.breaking
    assert change.detail == "maxLength 100 -> 50"


def test_a_new_scope_breaks() -> None:
    change = only(
        changes_after(lambda d: create(d).update(security=[{"oauth2": ["things:write", "x:y"]}])),
        "security-changed",
    )
    assert change.breaking


def test_a_new_security_scheme_breaks() -> None:
    change = only(
        changes_after(lambda d: create(d).update(security=[{"mtls": []}])), "security-changed"
    )
    assert change.breaking


# --- not breaking ---------------------------------------------------------------


def test_additions_do_not_break() -> None:
    def edit(d: Doc) -> None:
        d["paths"]["/v1/things/{id}"] = {"get": {"operationId": "getThing", "responses": {}}}
        response_schema(d)["properties"]["note"] = {"type": "string", "maxLength": 9}
        request_schema(d)["properties"]["note"] = {"type": "string", "maxLength": 9}
        create(d)["parameters"].append(
            {"name": "dry_run", "in": "query", "required": False, "schema": {"type": "boolean"}}
        )
        create(d)["responses"]["409"] = {"description": "conflict"}
        request_schema(d)["properties"]["kind"]["enum"].append("c")
        request_schema(d)["properties"]["name"]["maxLength"] = 200

    changes = changes_after(edit)
    assert {c.kind for c in changes} == {
        "operation-added", "field-added", "parameter-added", "response-added", "enum-widened",
        "bounds-widened",
    }
    assert breaking(changes) == []


def test_fewer_scopes_relax_security() -> None:
    change = only(changes_after(lambda d: create(d).update(security=[{"oauth2": []}])),
                  "security-relaxed")
    assert not change.breaking


def test_nullable_spelling_is_no_change() -> None:
    def as_one_of(d: Doc) -> None:
        member = request_schema(d)["properties"]["name"]
        request_schema(d)["properties"]["name"] = {
            "maxLength": member["maxLength"], "oneOf": [{"type": "string"}, {"type": "null"}],
        }

    def as_type_list(d: Doc) -> None:
        request_schema(d)["properties"]["name"]["type"] = ["string", "null"]

    before, after = document(), document()
    as_one_of(before)
    as_type_list(after)
    assert diff(before, after) == []


def test_identical_documents_have_no_changes() -> None:
    assert diff(document(), document()) == []
    released = openapi_doc.generate("v2")
    assert diff(released, copy.deepcopy(released)) == []


# --- CLI and the released-copy gate ---------------------------------------------


def write(path: Path, document: Doc) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_diff_prints_json_and_fails_on_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write(tmp_path / "old.json", document())
    changed = document()
    changed["paths"]["/v1/things"].pop("get")
    new = write(tmp_path / "new.json", changed)
    assert main(["openapi", "diff", str(old), str(new), "--json"]) == 1
    [change] = json.loads(capsys.readouterr().out)
    assert change == {
        "kind": "operation-removed", "breaking": True, "path": "GET /v1/things",
        "detail": "listThings no longer exists",
    }
    assert main(["openapi", "diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out.strip() == "no changes"


def test_text_output_names_each_change() -> None:
    text = render_text(changes_after(lambda d: d["paths"]["/v1/things"].pop("get")))
    assert text.startswith("BREAKING")
    assert "operation-removed" in text
    assert "GET /v1/things" in text


def test_gate_fails_on_a_breaking_change_within_a_major_version(tmp_path: Path) -> None:
    (tmp_path / "released").mkdir()
    released = openapi_doc.generate("v1")
    write(tmp_path / "released" / "v1.json", released)
    broken = copy.deepcopy(released)
    del broken["paths"]["/v1/quotes/{quote_id}"]
    write(tmp_path / "v1.json", broken)
    found = openapi_doc.incompatible(tmp_path)
    assert [c.path for c in found["v1"]] == ["GET /v1/quotes/{quote_id}"]
    # A new major version may break: its released copy is the next baseline.
    broken["info"]["version"] = "2.0.0"
    write(tmp_path / "v1.json", broken)
    assert openapi_doc.incompatible(tmp_path) == {}


def test_committed_documents_keep_their_released_contract() -> None:
    for version in openapi_doc.VERSIONS:
        assert openapi_doc.released_path(version).exists(), version
    assert openapi_doc.incompatible() == {}
