"""The Spectral ruleset (openapi/.spectral.yaml) passes the committed documents and
catches each defect it exists for.

One Spectral run lints the two committed documents plus one broken copy of v1 per
rule; each broken copy must be reported by its rule (so no rule passes vacuously).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import openapi_doc

ROOT = Path(__file__).resolve().parents[2]
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
RULESET = ROOT / "openapi" / ".spectral.yaml"

Document = dict[str, Any]


def _op(document: Document, path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def _drop_parameter(operation: dict[str, Any], name: str) -> None:
    operation["parameters"] = [p for p in operation["parameters"] if p["name"] != name]


def _no_idempotency_key(d: Document) -> None:
    _drop_parameter(_op(d, "/v1/orders", "post"), "Idempotency-Key")


def _optional_if_match(d: Document) -> None:
    patch = _op(d, "/v1/customers/{customer_id}", "patch")
    next(p for p in patch["parameters"] if p["name"] == "If-Match")["required"] = False


def _no_etag(d: Document) -> None:
    del _op(d, "/v1/orders/{order_id}", "get")["responses"]["200"]["headers"]["ETag"]


def _json_error(d: Document) -> None:
    response = _op(d, "/v1/orders", "post")["responses"]["422"]
    response["content"] = {"application/json": response["content"]["application/problem+json"]}


def _no_ratelimit(d: Document) -> None:
    del _op(d, "/v1/customers", "get")["responses"]["200"]["headers"]["RateLimit-Policy"]


def _optional_retry_after(d: Document) -> None:
    _op(d, "/v1/products", "get")["responses"]["429"]["headers"]["Retry-After"]["required"] = False


def _loose_id(d: Document) -> None:
    d["components"]["schemas"]["Customer"]["properties"]["id"]["pattern"] = "^.+$"


def _numeric_money(d: Document) -> None:
    d["components"]["schemas"]["Money"]["properties"]["amount"] = {
        "type": "number", "minimum": 0, "maximum": 1e15,
    }


def _float_total(d: Document) -> None:
    d["components"]["schemas"]["Invoice"]["properties"]["total"] = {
        "type": "number", "minimum": 0, "maximum": 1e15,
    }


def _no_cursor(d: Document) -> None:
    _drop_parameter(_op(d, "/v1/customers", "get"), "cursor")


def _unbounded_limit(d: Document) -> None:
    limit = next(p for p in _op(d, "/v1/quotes", "get")["parameters"] if p["name"] == "limit")
    del limit["schema"]["maximum"]


def _unversioned_path(d: Document) -> None:
    d["paths"]["/customers"] = copy.deepcopy(d["paths"]["/v1/customers"])
    for operation in d["paths"]["/customers"].values():
        operation["operationId"] += "Unversioned"


def _deprecated_without_headers(d: Document) -> None:
    _op(d, "/v1/orders", "get")["deprecated"] = True


def _unknown_scope(d: Document) -> None:
    _op(d, "/v1/orders", "post")["security"] = [{"bearerAuth": ["orders:destroy"]}]


def _open_body(d: Document) -> None:
    del d["components"]["schemas"]["CustomerCreate"]["additionalProperties"]


def _loose_version(d: Document) -> None:
    d["info"]["version"] = "1.0"


def _no_contact(d: Document) -> None:
    del d["info"]["contact"]


def _no_operation_id(d: Document) -> None:
    del _op(d, "/v1/quotes", "get")["operationId"]


def _no_tags(d: Document) -> None:
    del _op(d, "/v1/quotes", "get")["tags"]


def _unbounded_string(d: Document) -> None:
    del d["components"]["schemas"]["CustomerCreate"]["properties"]["name"]["maxLength"]


def _unbounded_array(d: Document) -> None:
    del d["components"]["schemas"]["CustomerPage"]["properties"]["data"]["maxItems"]


def _unbounded_integer(d: Document) -> None:
    del d["components"]["schemas"]["InvoiceCreate"]["properties"]["days_until_due"]["maximum"]


BREAKAGES: dict[str, tuple[Callable[[Document], None], str]] = {
    "no-idempotency-key": (_no_idempotency_key, "q2c-idempotency-key"),
    "optional-if-match": (_optional_if_match, "q2c-conditional-requests"),
    "no-etag": (_no_etag, "q2c-conditional-requests"),
    "json-error": (_json_error, "q2c-problem-details"),
    "no-ratelimit": (_no_ratelimit, "q2c-rate-limit-headers"),
    "optional-retry-after": (_optional_retry_after, "q2c-rate-limit-headers"),
    "loose-id": (_loose_id, "q2c-canonical-ids"),
    "numeric-money": (_numeric_money, "q2c-money-shape"),
    "float-total": (_float_total, "q2c-money-shape"),
    "no-cursor": (_no_cursor, "q2c-cursor-pagination"),
    "unbounded-limit": (_unbounded_limit, "q2c-cursor-pagination"),
    "unversioned-path": (_unversioned_path, "q2c-version-in-path"),
    "deprecated-without-headers": (_deprecated_without_headers, "q2c-deprecation-headers"),
    "unknown-scope": (_unknown_scope, "q2c-declared-scopes"),
    "open-body": (_open_body, "q2c-closed-request-bodies"),
    "loose-version": (_loose_version, "q2c-semantic-version"),
    "no-contact": (_no_contact, "info-contact"),
    "no-operation-id": (_no_operation_id, "operation-operationId"),
    "no-tags": (_no_tags, "operation-tags"),
    "unbounded-string": (_unbounded_string, "owasp:api4:2023-string-limit"),
    "unbounded-array": (_unbounded_array, "owasp:api4:2023-array-limit"),
    "unbounded-integer": (_unbounded_integer, "owasp:api4:2023-integer-limit"),
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Spectral's findings per linted file (committed documents and broken copies)."""
    if not SPECTRAL.exists():
        if os.environ.get("CI") == "true" or shutil.which("npm") is not None:
            pytest.fail("node_modules is missing: run `make contract-lint` (npm ci) first")
        pytest.skip("Spectral needs Node and npm")
    workdir = tmp_path_factory.mktemp("spectral")
    base = openapi_doc.generate("v1")
    files = [openapi_doc.path_for("v1"), openapi_doc.path_for("v2")]
    for name, (breakage, _) in BREAKAGES.items():
        document = copy.deepcopy(base)
        breakage(document)
        target = workdir / f"{name}.json"
        target.write_text(json.dumps(document), encoding="utf-8")
        files.append(target)
    run = subprocess.run(
        [str(SPECTRAL), "lint", *map(str, files), "--ruleset", str(RULESET), "-f", "json", "-q",
         "--fail-severity=error"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert run.stdout.strip(), run.stderr
    by_file: dict[str, list[dict[str, Any]]] = {str(f.resolve()): [] for f in files}
    for finding in json.loads(run.stdout):
        by_file.setdefault(str(Path(finding["source"]).resolve()), []).append(finding)
    return {Path(name).stem: found for name, found in by_file.items()}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_committed_documents_have_no_findings(
    findings: dict[str, list[dict[str, Any]]], version: str
) -> None:
    assert [f"{f['code']} {f['path']}: {f['message']}" for f in findings[version]] == []


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_rule_reports_its_defect(
    findings: dict[str, list[dict[str, Any]]], breakage: str
) -> None:
    rule = BREAKAGES[breakage][1]
    reported = [f for f in findings[breakage] if f["code"] == rule]
    assert reported, f"{rule} missed {breakage}: {[f['code'] for f in findings[breakage]]}"
    assert all(f["severity"] == 0 for f in reported), "governance rules are errors"
