"""Rate-limit plans and how the limiter behaves, validated at start-up."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from policies.consumer import ANONYMOUS

# Plan names go into the RateLimit headers as structured-field strings and into
# Redis keys, so they stay short and free of quotes, backslashes and colons.
_PLAN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# GCRA keeps times in integer microseconds; Redis Lua numbers are doubles, exact
# only below 2**53, and "now" already uses ~2**51 of that.
_MAX_TOLERANCE_US = 10**15


class Plan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quota per time window, enforced as a GCRA (a smooth leaky bucket)."""

    # Units (requests, or the route's cost) allowed per window on average.
    quota: Annotated[int, msgspec.Meta(ge=1, le=10**9, description="Units per window")]
    # Length of the window in seconds; one unit is regained every window/quota.
    window_seconds: Annotated[
        int, msgspec.Meta(ge=1, le=366 * 86400, description="Window length in seconds")
    ]
    # Units a consumer can spend at once after being idle; None means quota.
    burst: Annotated[int, msgspec.Meta(ge=1, le=10**9)] | None = None

    def __post_init__(self) -> None:
        # Meta constraints only run on decode; a Plan built in code is checked here.
        if self.quota < 1:
            raise ValueError(f"rate_limit plan quota must be >= 1 (got {self.quota})")
        if self.window_seconds < 1:
            raise ValueError(
                f"rate_limit plan window_seconds must be >= 1 (got {self.window_seconds})"
            )
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"rate_limit plan burst must be >= 1 (got {self.burst})")
        if self.quota > self.window_seconds * 1_000_000:
            raise ValueError("rate_limit plan quota must be <= 1000000 per second of window")
        if self.capacity * self.interval_us > _MAX_TOLERANCE_US:
            raise ValueError(
                "rate_limit plan burst * window_seconds / quota must be <= 10**9 seconds"
            )

    @property
    def capacity(self) -> int:
        """The burst in effect (defaults to the quota)."""
        return self.burst if self.burst is not None else self.quota

    @property
    def interval_us(self) -> int:
        """GCRA emission interval: microseconds to regain one unit (rounded up, so a
        plan is never looser than configured)."""
        return -(-self.window_seconds * 1_000_000 // self.quota)


def _default_plans() -> dict[str, Plan]:
    return {
        "default": Plan(quota=600, window_seconds=60, burst=100),
        "gold": Plan(quota=6000, window_seconds=60, burst=1000),
        ANONYMOUS: Plan(quota=60, window_seconds=60),
    }


class RateLimitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-consumer, cluster-wide rate limits (the Redis key prefix is the store's)."""

    # False turns the policy off: no limiting and no RateLimit headers.
    enabled: bool = True
    # Plan name -> plan; a consumer's plan comes from auth (Consumer.plan).
    plans: dict[str, Plan] = msgspec.field(default_factory=_default_plans)
    # Used for consumers whose plan name is not configured.
    default_plan: str = "default"
    # Limits public routes (e.g. the token endpoint) per client IP, before auth.
    ip_plan: str = ANONYMOUS
    # When the store is unreachable: "open" admits without RateLimit values,
    # "closed" answers 503 RATE_LIMITER_UNAVAILABLE.
    failure_mode: Literal["open", "closed"] = "open"
    # Take the client IP from the left-most X-Forwarded-For entry; only safe
    # behind a proxy that overwrites that header.
    trust_forwarded_for: bool = False

    def __post_init__(self) -> None:
        for name in self.plans:
            if not _PLAN_NAME.match(name):
                raise ValueError(f"rate_limit.plans name {name!r} must match {_PLAN_NAME.pattern}")
        if self.default_plan not in self.plans:
            raise ValueError(
                f"rate_limit.default_plan {self.default_plan!r} is not in rate_limit.plans"
            )
        if self.ip_plan not in self.plans:
            raise ValueError(f"rate_limit.ip_plan {self.ip_plan!r} is not in rate_limit.plans")
        if self.failure_mode not in ("open", "closed"):
            raise ValueError("rate_limit.failure_mode must be 'open' or 'closed'")
