"""SorWait: the union of SoR call intervals within one request."""

from __future__ import annotations

import pytest

from policies.metrics.context import SorWait


def test_union_of_overlapping_and_separate_calls() -> None:
    wait = SorWait(started=10.0)
    wait.add(1.0, "ok", now=11.0)  # [10, 11]
    wait.add(1.0, "ok", now=11.5)  # [10.5, 11.5] overlaps
    wait.add(0.5, "timeout", now=13.0)  # [12.5, 13] separate
    assert wait.calls == 3
    assert wait.waited(until=14.0) == pytest.approx(2.0)
    assert wait.failure == "timeout"


def test_calls_cannot_predate_the_request_or_outlive_it() -> None:
    wait = SorWait(started=10.0)
    wait.add(5.0, "ok", now=11.0)  # reported longer than the request has run
    assert wait.waited(until=12.0) == pytest.approx(1.0)
    assert wait.waited(until=10.5) == pytest.approx(0.5)


def test_closed_wait_ignores_late_reports() -> None:
    wait = SorWait(started=0.0)
    wait.open = False
    wait.add(1.0, "unavailable", now=1.0)
    assert (wait.calls, wait.failure, wait.waited(until=2.0)) == (0, None, 0.0)


def test_a_later_success_keeps_the_last_failure() -> None:
    wait = SorWait(started=0.0)
    wait.add(0.1, "http_5xx", now=0.1)  # a retried attempt
    wait.add(0.1, "ok", now=0.3)
    assert wait.failure == "http_5xx"
