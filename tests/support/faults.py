"""Fault injection that picks its requests: for sandboxes whose own knobs fail "the next N".

Every sandbox reads ``faults.latency_seconds`` once at the start of each request and
``faults.fail_next`` when it decides whether to fail it; ``FailRequests`` stands in for
a sandbox's ``faults`` and fails exactly the requests it was told to (numbered from 1,
counted from when it was installed), answering the sandbox's own 503.
"""

from __future__ import annotations

from collections.abc import Callable


class FailRequests:
    def __init__(self, failing: Callable[[int], bool], latency_seconds: float = 0.0) -> None:
        self.count = 0
        self._failing = failing
        self._latency = latency_seconds
        self.failed: list[int] = []

    @property
    def latency_seconds(self) -> float:
        self.count += 1  # read once at the start of every request
        return self._latency

    @property
    def fail_next(self) -> int:
        return 1 if self._failing(self.count) and self.count not in self.failed else 0

    @fail_next.setter
    def fail_next(self, value: int) -> None:
        del value  # the sandbox counting down: this request is failed now
        self.failed.append(self.count)
