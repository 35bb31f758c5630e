"""What tracing adds to the OpenAPI document: echoed id headers and the W3C request headers."""

from __future__ import annotations

from litestar import Litestar, get

from policies.tracing import TRACING_HEADERS, TRACING_OPENAPI_HEADERS, TRACING_PARAMETERS


def test_the_id_headers_and_trace_parameters_document_an_operation() -> None:
    @get(
        "/v1/orders",
        operation_id="listOrders",
        response_headers=TRACING_HEADERS,
        sync_to_thread=False,
    )
    def list_orders() -> dict[str, str]:
        return {}

    app = Litestar(route_handlers=[list_orders], logging_config=None)
    operation = app.openapi_schema.to_schema()["paths"]["/v1/orders"]["get"]
    assert {"X-Request-Id", "X-Trace-Id"} <= operation["responses"]["200"]["headers"].keys()
    assert TRACING_OPENAPI_HEADERS["X-Trace-Id"].schema is not None
    assert TRACING_OPENAPI_HEADERS["X-Trace-Id"].to_schema()["schema"]["pattern"] == (
        "^[0-9a-f]{32}$"
    )
    names = {parameter.name: parameter.to_schema() for parameter in TRACING_PARAMETERS}
    assert set(names) == {"traceparent", "tracestate", "baggage", "X-Request-Id"}
    assert all(schema["in"] == "header" and not schema["required"] for schema in names.values())
