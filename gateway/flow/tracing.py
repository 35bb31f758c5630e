"""The transaction as the trace's business key in every step's calls and log lines.

A step runs outside any HTTP request, so the gateway's request context is opened for
it: the accepting request's W3C trace (when there was one) continues into every
system-of-record call, and the transaction id travels as ``X-Request-Id`` to each
system (and as the CRM's ``Q2C_Transaction_Id__c`` through the write-back). With the
process's tracer, each attempt of a step is a span of its own carrying the transaction
id, and the step's system-of-record calls are recorded as its children.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from domains.correlation import working_on
from policies.context import RequestContext, current_request
from policies.tracing.context import continued_trace, span_context_of
from policies.tracing.otel import StepSpan, Tracer

log = logging.getLogger("q2c.flow")


@contextmanager
def step_context(
    transaction_id: str,
    traceparent: str | None,
    step: str,
    *,
    tracer: Tracer | None = None,
    tenant: str = "",
) -> Iterator[None]:
    context = RequestContext()
    opened: StepSpan | None = None
    if tracer is not None:
        opened = tracer.start_step(step, transaction_id, tenant, traceparent)
        context.trace = opened.trace
        context.server_span = opened.recorded
    else:
        context.trace = continued_trace(traceparent)
    span = span_context_of(context.trace)
    if span is not None:
        context.trace_id = f"{span.trace_id:032x}"
        context.span_id = f"{span.span_id:016x}"  # this step, as the systems' parent
        context.sampled = span.trace_flags.sampled
    context.request_id = transaction_id
    token = current_request.set(context)
    log.debug("step %s of %s", step, transaction_id, extra={"transaction_id": transaction_id})
    failure: BaseException | None = None
    try:
        with working_on(transaction_id):
            yield
    except BaseException as error:
        failure = error
        raise
    finally:
        current_request.reset(token)
        if opened is not None:
            opened.end(failure)
