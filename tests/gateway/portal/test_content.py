"""What the portal says: examples the contract accepts, a page for every problem type the
code can emit, the changelog from the diff tool, lifecycles from the configuration."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import pkgutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

import contracts
import domains.errors
import gateway.problems
from gateway.openapi_diff import Change, diff
from gateway.portal.catalog import build_catalog, lifecycle_of, plan_rows
from gateway.portal.changelog import Release, build_changelog, load_releases
from gateway.portal.config import PortalConfig
from gateway.portal.documents import ApiDocument, load_documents
from gateway.portal.examples import build_example
from gateway.portal.pages_docs import changelog_page
from gateway.portal.problem_types import BY_KIND
from gateway.settings import Settings, embedded_settings
from policies.versioning.config import Deprecation, VersioningConfig

POLICIES = Path(domains.errors.__file__).resolve().parents[1] / "policies"
DOCUMENTS = load_documents()


def all_operations() -> list[tuple[ApiDocument, Any]]:
    return [(d, op) for d in DOCUMENTS.values() for op in d.operations]


def contract_types() -> dict[str, type[msgspec.Struct]]:
    """Struct name -> class, over every contracts module (the wire schemas)."""
    found: dict[str, type[msgspec.Struct]] = {}
    for module in pkgutil.walk_packages(contracts.__path__, "contracts."):
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if inspect.isclass(value) and issubclass(value, msgspec.Struct):
                found.setdefault(name, value)
    return found


def test_there_are_documents_to_render() -> None:
    assert {"v1", "v2"} <= set(DOCUMENTS)
    assert sum(len(d.operations) for d in DOCUMENTS.values()) > 30


@pytest.mark.parametrize(("document", "operation"), all_operations(),
                         ids=lambda value: getattr(value, "operation_id", "doc"))
def test_examples_send_what_the_operation_requires(document: ApiDocument, operation: Any
                                                   ) -> None:
    example = build_example(document, operation, "http://127.0.0.1:8080")
    compile(example.python, operation.operation_id, "exec")
    key = operation.header("Idempotency-Key")
    if key is not None and key.required:
        assert "Idempotency-Key" in example.curl
        assert "Idempotency-Key" in example.python
    if operation.method == "PATCH":
        assert '-H "If-Match: $ETAG"' in example.curl
        assert '"If-Match": current.headers["ETag"]' in example.python
    if operation.auth == "bearer":
        assert "Authorization: Bearer $TOKEN" in example.curl
    if operation.auth == "client":
        assert '-u "$CLIENT_ID:$CLIENT_SECRET"' in example.curl
    assert f"-X {operation.method} " in example.curl
    assert f"client.{operation.method.lower()}(" in example.python


def test_example_bodies_are_accepted_by_the_contract() -> None:
    """Every JSON body an example sends decodes into the route's own contract type."""
    from gateway.portal.examples import example_value

    types = contract_types()
    checked = 0
    for document, operation in all_operations():
        if operation.request_schema is None:
            continue
        ref = operation.request_schema.get("$ref", "")
        name = document.resolve(operation.request_schema).get("title") or ref.rsplit("/", 1)[-1]
        body = example_value(document, operation.request_schema)
        example = build_example(document, operation)
        assert json.dumps(body) in example.curl
        contract = types[name]
        msgspec.json.decode(json.dumps(body).encode(), type=contract)
        checked += 1
    assert checked >= 6


def emitted_kinds() -> set[str]:
    """Every problem kind the code can put in a ``type`` URI, found in the code itself."""
    kinds = {
        cls.kind.replace("_", "-")
        for cls in vars(domains.errors).values()
        if inspect.isclass(cls) and issubclass(cls, domains.errors.GatewayError)
    }
    kinds |= {kind for _, kind in gateway.problems._HTTP_CODES.values()}
    kinds.add("http")  # the fallback of gateway.problems.handle_http
    for source in [*POLICIES.rglob("*.py"), Path(gateway.problems.__file__)]:
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            arguments = {k.arg: k.value for k in node.keywords}
            if name == "send_problem":
                value = arguments.get("kind") or arguments.get("code")
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    kinds.add(value.value.lower().replace("_", "-"))
            if name == "problem_type" and node.args and isinstance(node.args[0], ast.Constant):
                kinds.add(str(node.args[0].value).replace("_", "-"))
    return kinds


def test_every_problem_kind_the_code_emits_has_a_page() -> None:
    kinds = emitted_kinds()
    assert {"validation", "unauthorized", "quota-exceeded", "idempotency", "gone"} <= kinds
    missing = kinds - set(BY_KIND)
    assert not missing, f"add pages to gateway/portal/problem_types.py for {sorted(missing)}"
    for problem in BY_KIND.values():
        assert problem.example["type"] == problem.type_uri
        assert problem.example["status"] in problem.statuses
        assert problem.example["code"] in problem.codes
        assert problem.causes
        assert problem.fixes


def test_changelog_classifies_changes_between_releases(tmp_path: Path) -> None:
    current = DOCUMENTS["v1"].raw
    released = copy.deepcopy(current)
    released["info"]["version"] = "1.1.0"
    # The release had an operation the code no longer has, and lacked one it has now.
    released["paths"]["/v1/legacy"] = {"get": {"operationId": "listLegacy", "responses": {}}}
    del released["paths"]["/v1/prices"]
    older = copy.deepcopy(released)
    older["info"]["version"] = "1.0.0"
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "1.1.0.json").write_text(json.dumps(released))
    (tmp_path / "v1-1.0.0.json").write_text(json.dumps(older))
    releases = load_releases(tmp_path)
    assert [r.label for r in releases["v1"]] == ["1.0.0", "1.1.0"]

    entries = build_changelog({"v1": current}, releases, diff)
    assert len(entries) == 2
    head, history = entries
    assert (head.from_label, head.to_label) == ("1.1.0", "unreleased")
    assert any(b.startswith("operation removed: GET /v1/legacy") for b in head.breaking)
    assert any(
        a.startswith("operation added: GET /v1/prices") and "listPrices" in a
        for a in head.additions
    )
    assert history.empty
    assert (history.from_label, history.to_label) == ("1.0.0", "1.1.0")
    page = changelog_page(entries, releases, {"v1": DOCUMENTS["v1"]})
    assert "operation removed: GET /v1/legacy" in page
    assert "Breaking" in page


def test_breaking_and_additive_changes_are_listed_apart() -> None:
    old = Release("v1", "1.0.0", DOCUMENTS["v1"].raw)
    narrowed = Change(kind="enum-narrowed", breaking=True, path="Order.status", detail="x")
    widened = Change(kind="enum-widened", breaking=False, path="Order.status", detail="y")
    entries = build_changelog(
        {"v1": DOCUMENTS["v1"].raw}, {"v1": [old]}, lambda a, b: [narrowed, widened]
    )
    assert entries[0].breaking == ("enum narrowed: Order.status (x)",)
    assert entries[0].additions == ("enum widened: Order.status (y)",)


def with_versioning(*entries: Deprecation, **portal: Any) -> Settings:
    return embedded_settings(versioning=VersioningConfig(deprecations=list(entries)),
                             portal=PortalConfig(**portal))


def test_lifecycle_comes_from_the_versioning_config() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    deprecated = Deprecation(operation="listOrders", deprecated_at=datetime(2026, 6, 1, tzinfo=UTC),
                             sunset=datetime(2027, 6, 1, tzinfo=UTC),
                             link="https://q2c.dev/deprecations/orders")
    retired = Deprecation(operation="listPrices", deprecated_at=datetime(2025, 1, 1, tzinfo=UTC),
                          sunset=datetime(2026, 1, 1, tzinfo=UTC),
                          link="https://q2c.dev/deprecations/prices")
    scheduled = Deprecation(version="v2", deprecated_at=datetime(2028, 1, 1, tzinfo=UTC),
                            link="https://q2c.dev/deprecations/v2")
    settings = with_versioning(deprecated, retired, scheduled)
    assert lifecycle_of("v1", "listOrders", settings, now).state == "deprecated"
    assert lifecycle_of("v1", "listPrices", settings, now).state == "retired"
    assert lifecycle_of("v1", "getOrder", settings, now).state == "ga"
    assert lifecycle_of("v2", None, settings, now).state == "beta"  # not deprecated yet
    assert lifecycle_of("v2", None, settings, datetime(2028, 2, 1, tzinfo=UTC)).state == (
        "deprecated")


def test_catalog_names_owners_systems_and_plans() -> None:
    settings = with_versioning(owning_teams={"orders": "Order desk"}, lifecycle={"v2": "ga"})
    entries = {(e.version, e.api): e for e in build_catalog(DOCUMENTS, settings)}
    orders = entries[("v1", "orders")]
    assert orders.team == "Order desk"
    assert entries[("v1", "customers")].team == "CRM & CPQ integration"
    assert entries[("v2", "orders")].lifecycle.state == "ga"
    owners = {(s.domain, s.legal_entity): s.system for s in orders.systems}
    assert owners[("orders", "")] == "sap_s4hana"
    assert owners[("orders", "ACME-UK")] == "netsuite"
    assert orders.scopes == ("orders:read", "orders:write")
    expected = {op.operation_id for d in DOCUMENTS.values() for op in d.operations}
    listed = {op.operation_id for e in entries.values() for op in e.operations}
    assert listed == expected
    plans = {row.name: row for row in plan_rows(settings)}
    assert plans["anonymous"].roles
    assert plans["default"].quota == 600
