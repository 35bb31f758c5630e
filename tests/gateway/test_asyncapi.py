"""The AsyncAPI document covers every event the transaction emits, and resolves."""

from __future__ import annotations

import json

from domains.quote_to_cash.events import TYPES
from gateway import asyncapi_doc, openapi_doc


def test_every_emitted_event_type_is_documented_and_refs_resolve() -> None:
    document = asyncapi_doc.generate()
    assert document["asyncapi"].startswith("3.")
    documented = {m["name"] for m in document["components"]["messages"].values()}
    assert documented == set(TYPES)
    text = json.dumps(document)
    schemas = document["components"]["schemas"]
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name
    cloud_event = schemas["CloudEvent"]
    assert {"id", "source", "type", "time", "transactionid", "tenant"} <= set(
        cloud_event["required"]
    )
    channel = document["channels"]["transactionEvents"]
    for ref in channel["messages"].values():
        assert ref["$ref"].split("/")[-1] in document["components"]["messages"]


def test_the_committed_document_is_current() -> None:
    assert "asyncapi" not in openapi_doc.stale()
