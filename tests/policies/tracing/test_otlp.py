"""OTLP/HTTP export: built only when configured, and it really posts the spans."""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.policies.tracing.support import (
    PARENT,
    TRACE,
    FakeSor,
    build_app,
    client_for,
    tracer_for,
)
from tests.support.servers import serve_in_thread


class Collector:
    """Just enough of an OpenTelemetry collector's OTLP/HTTP receiver."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        content_type = dict(scope["headers"]).get(b"content-type", b"").decode()
        self.posts.append((scope["path"], content_type, body))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/x-protobuf")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def test_no_exporter_is_built_unless_an_endpoint_is_configured() -> None:
    with tracer_for() as tracer:
        assert tracer.otlp_exporter is None
        assert tracer.ring is not None
        assert tracer.recording
    with tracer_for(ring_size=0) as tracer:
        assert tracer.otlp_exporter is None
        assert not tracer.recording  # nowhere to send spans: none are built
    with tracer_for(otlp_endpoint="http://127.0.0.1:9/") as tracer:
        assert isinstance(tracer.otlp_exporter, OTLPSpanExporter)


async def test_spans_are_exported_to_the_configured_collector() -> None:
    collector = Collector()
    with (
        serve_in_thread(collector) as base_url,
        tracer_for(otlp_endpoint=base_url, ring_size=0, service_name="q2c-test") as tracer,
    ):
        async with client_for(build_app(tracer, FakeSor())) as client:
            response = await client.get(
                "/v1/orders/ord_42", headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}
            )
        assert response.status_code == 200
        assert tracer.force_flush(10_000)
    assert collector.posts
    path, content_type, _ = collector.posts[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    exported: list[Any] = []
    services: set[str] = set()
    for _, _, body in collector.posts:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services.update(
                attribute.value.string_value
                for attribute in resource_spans.resource.attributes
                if attribute.key == "service.name"
            )
            for scope_spans in resource_spans.scope_spans:
                exported.extend(scope_spans.spans)
    assert services == {"q2c-test"}
    assert {span.name for span in exported} == {
        "GET /v1/orders/{order_id}",
        "sap_s4hana getSalesOrder",
    }
    assert {span.trace_id.hex() for span in exported} == {TRACE}
