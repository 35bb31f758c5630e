"""The AsyncAPI 3.0 document of the canonical events (openapi/asyncapi.json), generated
from contracts/events.py and checked for staleness with the OpenAPI documents."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.events import EVENT_DATA, CloudEvent

VERSION = "1.0.0"


def _message_name(kind: str) -> str:
    return "".join(
        part.capitalize() for part in kind.removeprefix("com.q2c.").replace(".", "_").split("_")
    )


def generate() -> dict[str, Any]:
    structs = [CloudEvent, *{struct for struct, _ in EVENT_DATA.values()}]
    _, components = msgspec.json.schema_components(
        structs, ref_template="#/components/schemas/{name}"
    )
    messages: dict[str, Any] = {}
    for kind, (struct, summary) in EVENT_DATA.items():
        messages[_message_name(kind)] = {
            "name": kind,
            "title": kind,
            "summary": summary,
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": kind},
                            "data": {"$ref": f"#/components/schemas/{struct.__name__}"},
                        },
                    },
                ]
            },
        }
    refs = [{"$ref": f"#/channels/transactionEvents/messages/{name}"} for name in messages]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Q2C Gateway canonical events",
            "version": VERSION,
            "description": (
                "Business events of quote-to-cash transactions as CloudEvents 1.0 "
                "(structured JSON). Each is appended, as a step of its transaction, to the "
                "tenant's Redis Stream (at least once: consumers de-duplicate by `id`) and "
                "recorded for `GET /v1/events?after=`. `transactionid` is the transaction "
                "(the trace's business key); `traceparent` is the W3C trace context."
            ),
            "contact": {"name": "Q2C Gateway team", "url": "https://q2c.dev/support"},
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "redis": {
                "host": "127.0.0.1:6379",
                "protocol": "redis",
                "description": "The gateway's Redis ([redis] url); XREAD / XREADGROUP the stream.",
            },
            "gateway": {
                "host": "127.0.0.1:8080",
                "protocol": "http",
                "pathname": "/v1/events",
                "description": "Polling: GET /v1/events?after=<position> (scope orders:read).",
            },
        },
        "channels": {
            "transactionEvents": {
                "address": "{prefix}events:{tenant}",
                "title": "A tenant's transaction events",
                "parameters": {
                    "prefix": {"description": "The gateway's [redis] prefix, e.g. q2c:"},
                    "tenant": {"description": "The tenant (the token's tenant claim)"},
                },
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": {
            "receiveTransactionEvents": {
                "action": "receive",
                "title": "Consume a tenant's transaction events",
                "channel": {"$ref": "#/channels/transactionEvents"},
                "messages": refs,
            }
        },
        "components": {"schemas": components, "messages": messages},
    }
