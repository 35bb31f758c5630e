"""The request context: one per request, one tracker of its SoR calls."""

from __future__ import annotations

import asyncio

import pytest

from policies.asgi import Scope
from policies.consumer import Consumer
from policies.context import (
    SorTracker,
    current_request,
    enter,
    leave,
    request_context,
    sor_observer,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _tracker(started: float) -> tuple[SorTracker, Clock]:
    clock = Clock(started)
    return SorTracker(clock, started), clock


def _scope() -> Scope:
    return {"type": "http", "method": "GET", "path": "/v1/orders", "headers": []}


def test_union_of_overlapping_and_separate_calls() -> None:
    tracker, clock = _tracker(10.0)
    clock.now = 11.0
    tracker.add(1.0, "ok")  # [10, 11]
    clock.now = 11.5
    tracker.add(1.0, "ok")  # [10.5, 11.5] overlaps
    clock.now = 13.0
    tracker.add(0.5, "timeout")  # [12.5, 13] separate
    assert tracker.calls == 3
    assert tracker.waited(until=14.0) == pytest.approx(2.0)
    assert tracker.failure == "timeout"


def test_calls_cannot_predate_the_request_or_outlive_it() -> None:
    tracker, clock = _tracker(10.0)
    clock.now = 11.0
    tracker.add(5.0, "ok")  # reported longer than the request has run
    assert tracker.waited(until=12.0) == pytest.approx(1.0)
    assert tracker.waited(until=10.5) == pytest.approx(0.5)


def test_a_closed_tracker_ignores_late_reports() -> None:
    tracker, clock = _tracker(0.0)
    tracker.open = False
    clock.now = 1.0
    tracker.add(1.0, "unavailable")
    assert (tracker.calls, tracker.failure, tracker.waited(until=2.0)) == (0, None, 0.0)


def test_a_later_success_keeps_the_last_failure() -> None:
    tracker, clock = _tracker(0.0)
    clock.now = 0.1
    tracker.add(0.1, "http_5xx")  # a retried attempt
    clock.now = 0.3
    tracker.add(0.1, "ok")
    assert tracker.failure == "http_5xx"


def test_one_context_per_scope_and_its_defaults() -> None:
    scope = _scope()
    context = request_context(scope)
    assert request_context(scope) is context
    assert (context.tenant, context.client_id, context.idempotency_key) == (
        "default",
        "anonymous",
        None,
    )
    context.consumer = Consumer(client_id="crm-app", tenant="acme")
    assert (context.tenant, context.client_id) == ("acme", "crm-app")
    assert request_context(_scope()) is not context


def test_the_outermost_edge_opens_and_closes_the_request() -> None:
    scope = _scope()
    outer, token = enter(scope, Clock(5.0))
    assert token is not None
    assert current_request.get() is outer
    assert outer.sor.started == 5.0
    inner, inner_token = enter(scope)
    assert (inner, inner_token) == (outer, None)
    leave(inner, inner_token)  # the inner edge does not end the request
    assert current_request.get() is outer
    assert outer.sor.open
    leave(outer, token)
    assert current_request.get() is None
    assert not outer.sor.open


async def test_the_upstream_observer_feeds_the_current_request_and_then_metrics() -> None:
    seen: list[tuple[str, str, float, str]] = []
    observe = sor_observer(lambda *call: seen.append(call))
    observe("erp", "outside", 0.1, "ok")  # no request: only the listener hears it
    scope = _scope()
    context, token = enter(scope)

    async def adapter_call() -> None:
        observe("erp", "getOrder", 0.01, "timeout")

    try:
        # A task the handler spawns belongs to the same request.
        await asyncio.create_task(adapter_call())
    finally:
        leave(context, token)
    observe("erp", "late", 0.01, "ok")  # after the response: nobody's
    assert [call[1] for call in seen] == ["outside", "getOrder", "late"]
    assert (context.sor.calls, context.sor.failure) == (1, "timeout")
