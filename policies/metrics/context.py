"""Per-request time spent waiting on systems of record.

The middleware opens one ``SorWait`` per request in a ContextVar; the upstream
observer (``GatewayMetrics.observe_sor_call``) runs in the same task, so it can
add to it without the adapters knowing anything about requests.
"""

from __future__ import annotations

from contextvars import ContextVar


class SorWait:
    """SoR call intervals of one request; their union is the time spent waiting.

    The union (not the sum) matters: calls fanned out with ``asyncio.gather``
    overlap, and adding them up would count the same wall time twice and push
    the gateway's own time below zero.
    """

    __slots__ = ("failure", "intervals", "open", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.intervals: list[tuple[float, float]] = []
        self.failure: str | None = None  # error class of the last failed call
        self.open = True

    def add(self, seconds: float, outcome: str, now: float) -> None:
        # A task spawned by the handler may report after the response is done;
        # that time belongs to no request.
        if not self.open:
            return
        # The observer reports when a call ends, so it started `seconds` ago;
        # nothing the request waited for can predate the request.
        self.intervals.append((max(now - seconds, self.started), now))
        if outcome != "ok":
            self.failure = outcome

    @property
    def calls(self) -> int:
        return len(self.intervals)

    def waited(self, until: float) -> float:
        """Wall time between ``started`` and ``until`` with at least one call outstanding."""
        total = 0.0
        current_start = current_end = None
        for start, end in sorted(self.intervals):
            end = min(end, until)
            if current_end is None or current_start is None or start > current_end:
                if current_end is not None and current_start is not None:
                    total += max(0.0, current_end - current_start)
                current_start, current_end = start, end
            elif end > current_end:
                current_end = end
        if current_end is not None and current_start is not None:
            total += max(0.0, current_end - current_start)
        return total


current_wait: ContextVar[SorWait | None] = ContextVar("q2c_metrics_sor_wait", default=None)
