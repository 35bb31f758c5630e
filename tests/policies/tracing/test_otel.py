"""The SDK's sampling decision at the edge and the SoR client span hook."""

from __future__ import annotations

import random

import httpx
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from domains.errors import DependencyUnavailable
from policies.context import RequestContext, current_request, enter, leave, sor_observer
from policies.tracing import TracingConfig, sor_call_span
from policies.tracing.context import remote_parent
from policies.tracing.otel import ServerSpan, Tracer, sdk_sampler
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig
from tests.policies.tracing.support import PARENT, TRACE, spans, tracer_for


@pytest.mark.parametrize(
    "config",
    [
        TracingConfig(ratio=0.3),
        TracingConfig(ratio=0.0),
        TracingConfig(ratio=1.0),
        TracingConfig(sampler="always_on"),
        TracingConfig(sampler="always_off"),
    ],
    ids=["ratio-0.3", "ratio-0", "ratio-1", "always-on", "always-off"],
)
def test_server_spans_carry_the_sdk_samplers_decision(config: TracingConfig) -> None:
    tracer = Tracer(config)
    sampler = sdk_sampler(config)
    rng = random.Random(7)
    decisions = []
    for _ in range(400):
        flags = "01" if rng.random() < 0.5 else "00"
        for parent in (None, f"00-{rng.getrandbits(128) or 1:032x}-{PARENT}-{flags}"):
            context = remote_parent(parent, None, 0) if parent else Context()
            span = tracer.start_server_span("GET", "/v1/orders", context)
            ids = span.get_span_context()
            assert ids.is_valid
            if parent is not None:
                assert f"{ids.trace_id:032x}" == parent[3:35]
            decision = sampler.should_sample(context, ids.trace_id, "GET").decision
            expected = decision is Decision.RECORD_AND_SAMPLE
            assert ids.trace_flags.sampled is expected
            # Unsampled, the SDK hands back a span that only carries ids.
            assert span.is_recording() is expected
            if expected:
                span.end()
            decisions.append(expected)
    if config.sampler == "parent_based_ratio" and 0 < config.ratio < 1:
        assert True in decisions
        assert False in decisions
    tracer.shutdown()


def test_outside_a_request_the_hook_yields_nothing() -> None:
    with sor_call_span("stripe", "createPaymentIntent", "POST", "https://api.stripe.com/v1") as h:
        assert h == {}


def test_with_a_trace_but_no_recording_the_sor_parent_is_the_server_span() -> None:
    context = RequestContext()
    server = SpanContext(
        int(TRACE, 16), int(PARENT, 16), False, TraceFlags(0), TraceState([("a", "1")])
    )
    context.trace = set_span_in_context(NonRecordingSpan(server), Context())
    token = current_request.set(context)
    try:
        with sor_call_span("stripe", "createPaymentIntent", "POST", "https://x.test/") as h:
            assert h == {"traceparent": f"00-{TRACE}-{PARENT}-00", "tracestate": "a=1"}
    finally:
        current_request.reset(token)


async def test_a_failed_attempt_is_an_error_span_and_the_sor_time_is_counted() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with tracer_for(sampler="always_on") as tracer:
        upstream = Upstream(
            system="stripe",
            transport=HttpxTransport(httpx.AsyncClient(transport=httpx.MockTransport(refuse))),
            base_url="https://sk_live_secret@api.stripe.test",
            config=UpstreamConfig(max_retries=1, backoff_seconds=0.001),
            translate=lambda response: DependencyUnavailable("down", system="stripe"),
            instrument=sor_call_span,
            observe=sor_observer(),
        )
        caller = remote_parent(f"00-{TRACE}-{PARENT}-01", None, 0)
        server = tracer.start_server_span("POST", "/v1/payments", caller)
        assert server.is_recording()
        span_id = f"{server.get_span_context().span_id:016x}"
        request, token = enter({"type": "http", "headers": []})
        request.trace = set_span_in_context(server, caller)
        request.server_span = ServerSpan(tracer, server)
        try:
            with pytest.raises(DependencyUnavailable):
                await upstream.request(
                    "POST", "/v1/payment_intents", operation="createPaymentIntent", retry_safe=False
                )
        finally:
            leave(request, token)
        server.end()
        recorded = [span for span in spans(tracer, TRACE) if span.kind == "client"]
    # A refused connection never reached Stripe, so Upstream tries once more.
    assert len(recorded) == 2
    for span in recorded:
        assert span.status == "error"
        assert span.attributes["error.type"] == "ConnectError"
        assert span.attributes["url.full"] == "https://api.stripe.test/v1/payment_intents"
        assert span.parent_span_id == span_id
    assert (request.sor.calls, request.sor.failure) == (2, "unavailable")

