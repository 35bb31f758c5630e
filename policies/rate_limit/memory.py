"""In-process GCRA for the single-process embedded default."""

from __future__ import annotations

import time
from collections.abc import Callable

from policies.rate_limit.gcra import MICROSECONDS, Decision, Limit, decide, step


class MemoryRateLimitStore:
    """Exact for one process; every worker of a multi-process server has its own."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, sweep_every: int = 10_000
    ) -> None:
        self._clock = clock
        self._tat: dict[str, int] = {}
        self._sweep_every = sweep_every
        self._calls = 0

    async def acquire(self, key: str, limit: Limit, cost: int) -> Decision:
        # No await between read and write: the event loop makes this atomic.
        now = round(self._clock() * MICROSECONDS)
        self._calls += 1
        if self._calls >= self._sweep_every:
            self._sweep(now)
        admitted, tat = step(self._tat.get(key), now, limit, cost)
        if admitted:
            self._tat[key] = tat
        return decide(limit, cost, admitted, tat - now)

    def _sweep(self, now: int) -> None:
        # A TAT in the past is the same as no entry; drop those so idle
        # consumers do not accumulate.
        self._calls = 0
        self._tat = {key: tat for key, tat in self._tat.items() if tat > now}

    def __len__(self) -> int:
        return len(self._tat)
