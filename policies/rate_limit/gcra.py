"""The generic cell rate algorithm, in integer microseconds.

One value per key, the theoretical arrival time (TAT): when the consumer's
bucket would be empty again if nothing more were spent. A call costing ``c``
units is admitted when ``max(TAT, now) + c * interval - tolerance <= now``;
only an admitted call moves the TAT, so rejected calls are free. The Redis
backend runs the same arithmetic in Lua; this module is the reference and turns
the backlog (``TAT - now``) either backend reports into header values.
"""

from __future__ import annotations

from typing import NamedTuple

from policies.rate_limit.config import Plan

MICROSECONDS = 1_000_000


class Limit(NamedTuple):
    """A plan as the algorithm sees it."""

    interval: int  # microseconds to regain one unit
    tolerance: int  # burst * interval: how far the TAT may run ahead of now
    burst: int

    @classmethod
    def of(cls, plan: Plan) -> Limit:
        interval = plan.interval_us
        return cls(interval=interval, tolerance=plan.capacity * interval, burst=plan.capacity)


class Decision(NamedTuple):
    admitted: bool
    remaining: int  # whole units that could be spent right now
    reset: int  # seconds until one more unit is available (0 when the bucket is full)
    retry_after: int  # seconds until this call would be admitted (0 when admitted)


def step(tat: int | None, now: int, limit: Limit, cost: int) -> tuple[bool, int]:
    """One decision: (admitted, new TAT). Rejection returns the TAT unchanged."""
    start = now if tat is None or tat < now else tat
    new_tat = start + cost * limit.interval
    if new_tat - limit.tolerance > now:
        return False, start
    return True, new_tat


def _ceil_seconds(microseconds: int) -> int:
    return -(-microseconds // MICROSECONDS)


def decide(limit: Limit, cost: int, admitted: bool, backlog: int) -> Decision:
    """Header values from the backlog (TAT - now, after the decision)."""
    backlog = max(backlog, 0)
    spare = limit.tolerance - backlog
    remaining = min(spare // limit.interval, limit.burst) if spare > 0 else 0
    if remaining >= limit.burst:
        reset = 0
    else:
        # The next unit frees up when the backlog has shrunk to
        # tolerance - (remaining + 1) * interval.
        reset = _ceil_seconds(backlog - limit.tolerance + (remaining + 1) * limit.interval)
    retry_after = 0
    if not admitted:
        retry_after = max(1, _ceil_seconds(backlog + cost * limit.interval - limit.tolerance))
    return Decision(admitted=admitted, remaining=remaining, reset=reset, retry_after=retry_after)
