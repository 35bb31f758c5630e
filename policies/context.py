"""One typed context per request: what the policies establish, for the policies
after them and for the route handler.

The outermost policy (tracing; see gateway/policy_chain.py) opens it in the ASGI
scope and each later policy fills in what it learns: tracing the trace ids, auth
the consumer, idempotency the parsed Idempotency-Key. ``request_context`` is the
one way to reach it from a scope. Code below the handler that has no scope (the
hooks the upstream client calls around each system-of-record call, log
formatting) reaches the same object through ``current_request``, which the
edge sets for the request's task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from policies.consumer import ANONYMOUS, DEFAULT_TENANT, Consumer

if TYPE_CHECKING:
    from opentelemetry.context import Context as OtelContext

    from policies.asgi import Scope

Clock = Callable[[], float]
# (system, operation, seconds, outcome): the upstream client's observer signature.
CallObserver = Callable[[str, str, float, str], None]

SCOPE_KEY = "q2c.context"


class SorTracker:
    """The calls to systems of record made while serving one request.

    Metrics split a request's time into the gateway's own and the time spent
    waiting on systems of record; the access line and the server span report the
    same numbers. Waiting is the union of the call intervals, not their sum: calls
    fanned out with ``asyncio.gather`` overlap, and adding them up would count the
    same wall time twice.
    """

    __slots__ = ("clock", "failure", "intervals", "open", "started")

    def __init__(self, clock: Clock, started: float) -> None:
        self.clock = clock
        self.started = started
        self.intervals: list[tuple[float, float]] = []
        self.failure: str | None = None  # error class of the last failed call
        self.open = True

    def add(self, seconds: float, outcome: str) -> None:
        """One call (attempt) that just ended after ``seconds``; ``outcome`` is "ok" or
        its error class."""
        # A task the handler left running may report after the response is done;
        # that time belongs to no request.
        if not self.open:
            return
        now = self.clock()
        # Nothing the request waited for can predate the request.
        self.intervals.append((max(now - seconds, self.started), now))
        if outcome != "ok":
            self.failure = outcome

    @property
    def calls(self) -> int:
        return len(self.intervals)

    def waited(self, until: float) -> float:
        """Wall time up to ``until`` with at least one call outstanding."""
        total = 0.0
        run_start = run_end = -1.0
        for start, end in sorted(self.intervals):
            end = min(end, until)
            if start > run_end:
                total += max(0.0, run_end - run_start)
                run_start, run_end = start, end
            elif end > run_end:
                run_end = end
        return total + max(0.0, run_end - run_start)


class RequestContext:
    """Everything the policies know about one request."""

    __slots__ = (
        "consumer",
        "idempotency_key",
        "metered",
        "request_id",
        "sampled",
        "server_span",
        "sor",
        "span_id",
        "trace",
        "trace_headers",
        "trace_id",
    )

    def __init__(self, clock: Clock = time.perf_counter, started: float | None = None) -> None:
        # Trace context (tracing): the OpenTelemetry context holding the gateway's
        # server span (the parent the systems of record see) and the caller's
        # baggage; its ids in the hex form responses, problems and logs show.
        self.trace: OtelContext | None = None
        self.trace_id = ""
        self.span_id = ""
        self.sampled = False
        self.request_id = ""
        # The headers that carry ``trace`` to a system of record, made on first use.
        self.trace_headers: Mapping[str, str] | None = None
        # Tracing's record of the server span, set only when the request is recorded.
        self.server_span: Any = None
        self.consumer: Consumer | None = None  # auth
        self.idempotency_key: str | None = None  # idempotency: the parsed key, once
        self.metered = False  # metrics: an outer MetricsMiddleware measures this request
        self.sor = SorTracker(clock, clock() if started is None else started)

    @property
    def client_id(self) -> str:
        consumer = self.consumer
        return consumer.client_id if consumer is not None else ANONYMOUS

    @property
    def tenant(self) -> str:
        consumer = self.consumer
        return consumer.tenant if consumer is not None else DEFAULT_TENANT


current_request: ContextVar[RequestContext | None] = ContextVar("q2c_request", default=None)


def request_context(scope: Scope) -> RequestContext:
    """The request's context. A policy that runs without the edge in front of it
    (a standalone app, a test) gets one made on first use."""
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        context = scope[SCOPE_KEY] = RequestContext()
    return context


def enter(
    scope: Scope, clock: Clock = time.perf_counter, started: float | None = None
) -> tuple[RequestContext, Token[RequestContext | None] | None]:
    """For the edge policies: the request's context, current for the code below.

    The first caller opens it (on its clock) and gets the token; it must hand both
    to ``leave`` when the request is over.
    """
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        context = scope[SCOPE_KEY] = RequestContext(clock, started)
    if current_request.get() is context:
        return context, None
    return context, current_request.set(context)


def leave(context: RequestContext, token: Token[RequestContext | None] | None) -> None:
    """The request is answered: later SoR calls belong to no request."""
    if token is not None:
        current_request.reset(token)
        context.sor.open = False


def sor_observer(then: CallObserver | None = None) -> CallObserver:
    """``Upstream(observe=...)``: each call to a system of record is added to the
    current request's SoR tracker, then passed to ``then`` (the per-call metrics)."""

    def observe(system: str, operation: str, seconds: float, outcome: str) -> None:
        context = current_request.get()
        if context is not None:
            context.sor.add(seconds, outcome)
        if then is not None:
            then(system, operation, seconds, outcome)

    return observe
