"""Per-consumer, cluster-wide rate limits (GCRA) with draft RateLimit headers."""

from policies.rate_limit.config import Plan, RateLimitConfig
from policies.rate_limit.gcra import Decision, Limit
from policies.rate_limit.memory import MemoryRateLimitStore
from policies.rate_limit.middleware import RateLimitMiddleware
from policies.rate_limit.store import RateLimiterUnavailable, RateLimitStore

__all__ = [
    "Decision",
    "Limit",
    "MemoryRateLimitStore",
    "Plan",
    "RateLimitConfig",
    "RateLimitMiddleware",
    "RateLimitStore",
    "RateLimiterUnavailable",
]
