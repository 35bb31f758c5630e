"""The committed OpenAPI documents: current, per version, and guarded against breaks."""

from __future__ import annotations

import copy
import json

from gateway import openapi_doc


def test_committed_documents_match_the_code() -> None:
    stale = openapi_doc.stale()
    assert not stale, "run `q2c openapi export`:\n" + "\n".join(stale.values())[:3000]


def test_each_version_has_its_own_document() -> None:
    v1 = openapi_doc.generate("v1")
    v2 = openapi_doc.generate("v2")
    assert v1["info"]["version"].startswith("1.")
    assert v2["info"]["version"].startswith("2.")
    assert not [p for p in v1["paths"] if p.startswith("/v2/")]
    assert not [p for p in v2["paths"] if p.startswith("/v1/")]
    assert "fulfillment_status" in v2["components"]["schemas"]["OrderV2"]["properties"]
    assert "fulfillment_status" not in v1["components"]["schemas"]["Order"]["properties"]
    # Every $ref in a document resolves inside it.
    for document in (v1, v2):
        text = json.dumps(document)
        for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
            assert name in document["components"]["schemas"], name


def test_governance_rules_on_every_operation() -> None:
    document = openapi_doc.generate("v1")
    assert document["info"]["contact"]["email"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("operationId"), (method, path)
            assert operation.get("tags"), (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "content" in response:
                    assert list(response["content"]) in (
                        ["application/problem+json"],
                        ["application/json"],
                    ), (method, path, status)
            if operation["operationId"] == "issueToken":
                assert "429" in operation["responses"]
                continue
            if not operation.get("security"):
                continue
            responses = operation["responses"]
            assert {"401", "403", "429"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
            for status in responses:
                if status.startswith(("2", "4")):
                    assert "RateLimit" in responses[status].get("headers", {}), (path, status)
            params = {p["name"]: p for p in operation.get("parameters", [])}
            if "limit" in params:
                assert params["limit"]["schema"]["maximum"] <= 500
                assert "cursor" in params
    create = document["paths"]["/v1/orders"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    assert {"400", "409", "422"} <= set(create["responses"])
    patch = document["paths"]["/v1/customers/{customer_id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"]}
    assert "412" in patch["responses"]


def test_breaking_changes_are_detected() -> None:
    released = openapi_doc.generate("v1")
    assert openapi_doc.breaking_changes(released, released) == []
    changed = copy.deepcopy(released)
    del changed["paths"]["/v1/quotes/{quote_id}"]
    del changed["components"]["schemas"]["Customer"]["properties"]["website"]
    changed["components"]["schemas"]["CustomerCreate"]["required"].append("tax_id")
    problems = openapi_doc.breaking_changes(released, changed)
    assert "operation removed: GET /v1/quotes/{quote_id}" in problems
    assert "schema Customer: member website removed" in problems
    assert "schema CustomerCreate: member tax_id became required" in problems
