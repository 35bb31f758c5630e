"""The committed OpenAPI documents: current, per version, and guarded against breaks."""

from __future__ import annotations

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
