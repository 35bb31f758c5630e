"""The Tracer's own sampling decision, the SoR client span hook, and SoR time."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from domains.errors import DependencyUnavailable
from policies.tracing import TraceContext, TracingConfig, current, sor_call_span
from policies.tracing.context import RemoteParent
from policies.tracing.otel import RequestTrace, Tracer, active_request, sdk_sampler
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
def test_the_fast_decision_agrees_with_the_sdk_sampler(config: TracingConfig) -> None:
    tracer = Tracer(config)
    sampler = sdk_sampler(config)
    rng = random.Random(7)
    decisions = []
    for _ in range(400):
        trace_id = rng.getrandbits(128) or 1
        sampled_parent = rng.random() < 0.5
        for parent in (None, RemoteParent(f"{trace_id:032x}", PARENT, sampled_parent)):
            context = Context()
            if parent is not None:
                flags = TraceFlags(TraceFlags.SAMPLED if parent.sampled else 0)
                remote = SpanContext(trace_id, int(PARENT, 16), True, flags)
                context = set_span_in_context(NonRecordingSpan(remote), context)
            decision = sampler.should_sample(context, trace_id, "GET").decision
            expected = decision is Decision.RECORD_AND_SAMPLE
            assert tracer.decide(parent, trace_id) is expected
            decisions.append(expected)
    if config.sampler == "parent_based_ratio" and 0 < config.ratio < 1:
        assert True in decisions
        assert False in decisions
    tracer.shutdown()


def test_outside_a_request_the_hook_yields_nothing() -> None:
    with sor_call_span("stripe", "createPaymentIntent", "POST", "https://api.stripe.com/v1") as h:
        assert h == {}


def test_with_a_trace_but_no_recording_the_sor_parent_is_the_server_span() -> None:
    context = TraceContext(trace_id=TRACE, span_id=PARENT, sampled=False, tracestate="a=1")
    token = current.set(context)
    try:
        with sor_call_span("stripe", "createPaymentIntent", "POST", "https://x.test/") as h:
            assert h == {"traceparent": f"00-{TRACE}-{PARENT}-00", "tracestate": "a=1"}
    finally:
        current.reset(token)


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
        )
        server = tracer.start_server_span("POST", "/v1/payments", None, int(TRACE, 16), "")
        assert server is not None
        request = RequestTrace(tracer, server, {"type": "http", "state": {}}, 0.0)
        span_id = f"{server.get_span_context().span_id:016x}"
        tokens: list[Any] = [
            current.set(TraceContext(trace_id=TRACE, span_id=span_id)),
            active_request.set(request),
        ]
        try:
            with pytest.raises(DependencyUnavailable):
                await upstream.request(
                    "POST", "/v1/payment_intents", operation="createPaymentIntent", retry_safe=False
                )
        finally:
            active_request.reset(tokens[1])
            current.reset(tokens[0])
        server.end()
        recorded = [span for span in spans(tracer, TRACE) if span.kind == "client"]
    # A refused connection never reached Stripe, so Upstream tries once more.
    assert len(recorded) == 2
    for span in recorded:
        assert span.status == "error"
        assert span.attributes["error.type"] == "ConnectError"
        assert span.attributes["url.full"] == "https://api.stripe.test/v1/payment_intents"
        assert span.parent_span_id == span_id
    assert request.sor_calls == 2


def test_sor_time_is_the_union_of_overlapping_calls() -> None:
    with tracer_for() as tracer:
        request = RequestTrace(tracer, None, {"type": "http"}, started=10.0)
        request.add_sor_call(10.1, 10.4)
        request.add_sor_call(10.2, 10.5)  # fanned out, overlaps the first
        request.add_sor_call(10.7, 10.8)
        request.add_sor_call(9.0, 10.05)  # nothing before the request counts
        assert request.sor_seconds(until=11.0) == pytest.approx(0.05 + 0.4 + 0.1)
        assert request.sor_calls == 4
        request.closed = True
        request.add_sor_call(10.9, 12.0)  # a straggler after the response
        assert request.sor_calls == 4
