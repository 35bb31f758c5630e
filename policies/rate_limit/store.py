"""The port a rate-limit backend implements: one atomic decision per call."""

from __future__ import annotations

from typing import Protocol

from policies.rate_limit.gcra import Decision, Limit


class RateLimiterUnavailable(Exception):
    """The backend could not decide (e.g. Redis unreachable or timed out)."""


class RateLimitStore(Protocol):
    async def acquire(self, key: str, limit: Limit, cost: int) -> Decision:
        """Spend ``cost`` units of ``key``'s bucket if they are all available.

        Atomic across every gateway process sharing the backend; a rejected call
        spends nothing. Raises RateLimiterUnavailable when no decision is possible.
        """
        ...
