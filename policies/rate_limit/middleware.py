"""Pure-ASGI rate limiting: one store round trip per governed request.

Runs after auth, so authenticated routes are limited per consumer and plan;
routes declared ``public()`` (and governed routes reached without a consumer)
are limited per client IP with the IP plan. Routes without a policy
declaration pass through untouched.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Literal

from policies.asgi import ASGIApp, Receive, Scope, Send, add_headers, header, send_problem
from policies.context import request_context
from policies.rate_limit.config import Plan, RateLimitConfig
from policies.rate_limit.gcra import Decision, Limit
from policies.rate_limit.store import RateLimiterUnavailable, RateLimitStore
from policies.route import route_policy

Outcome = Literal["admitted", "limited", "error_open", "error_closed"]
DecisionObserver = Callable[[str, str], None]

_LOG = logging.getLogger("q2c.policies.rate_limit")
_RATELIMIT = b"ratelimit"
_RATELIMIT_POLICY = b"ratelimit-policy"
_RETRY_AFTER = b"retry-after"
# How soon to retry when the limiter cannot decide (fail-closed): Redis is back in
# seconds after a restart or failover, or not at all for a while.
_UNAVAILABLE_RETRY_AFTER = b"2"
_FORWARDED_FOR = b"x-forwarded-for"


class _PlanHeaders:
    """A plan with its header bytes built once."""

    __slots__ = ("limit", "name", "plan", "policy", "quoted")

    def __init__(self, name: str, plan: Plan) -> None:
        self.name = name
        self.plan = plan
        self.limit = Limit.of(plan)
        self.quoted = f'"{name}"'
        value = f"{self.quoted};q={plan.quota};w={plan.window_seconds}"
        self.policy = (_RATELIMIT_POLICY, value.encode())

    def headers(self, decision: Decision) -> list[tuple[bytes, bytes]]:
        return [
            self.policy,
            (_RATELIMIT, f"{self.quoted};r={decision.remaining};t={decision.reset}".encode()),
        ]


class _WarningThrottle:
    """At most one warning per interval, with a count of what it swallowed."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._next = 0.0
        self._suppressed = 0

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return
        suppressed, self._suppressed = self._suppressed, 0
        self._next = now + self._interval
        if suppressed:
            message += f" ({suppressed} more since the last warning)"
        self._logger.warning(message, *args)


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        config: RateLimitConfig,
        store: RateLimitStore,
        on_decision: DecisionObserver | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.store = store
        self._enabled = config.enabled
        self._fail_open = config.failure_mode == "open"
        self._trust_forwarded_for = config.trust_forwarded_for
        self._on_decision = on_decision
        self._plans = {name: _PlanHeaders(name, plan) for name, plan in config.plans.items()}
        self._default = self._plans[config.default_plan]
        self._by_ip = self._plans[config.ip_plan]
        self._warnings = _WarningThrottle(logger or _LOG)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled:
            await self.app(scope, receive, send)
            return
        policy = route_policy(scope)
        if policy is None:
            await self.app(scope, receive, send)
            return
        consumer = None if policy.get("public") else request_context(scope).consumer
        if consumer is None:
            plan = self._by_ip
            bucket = f"{plan.name}:ip:{self._client_ip(scope)}"
        else:
            plan = self._plans.get(consumer.plan, self._default)
            bucket = f"{plan.name}:c:{consumer.key}"
        # A route costing more than a plan's burst could never be admitted.
        cost = min(max(policy.get("cost", 1), 1), plan.limit.burst)
        try:
            decision = await self.store.acquire(bucket, plan.limit, cost)
        except RateLimiterUnavailable as exc:
            await self._unavailable(scope, receive, send, plan, exc)
            return
        headers = plan.headers(decision)
        if decision.admitted:
            self._observe(plan.name, "admitted")
            await self.app(scope, receive, add_headers(send, headers))
            return
        self._observe(plan.name, "limited")
        headers.append((_RETRY_AFTER, str(decision.retry_after).encode()))
        await send_problem(
            scope,
            send,
            status=429,
            code="QUOTA_EXCEEDED",
            kind="quota-exceeded",
            title="Quota exceeded",
            detail=(
                f"Plan {plan.name!r} allows {plan.plan.quota} units per "
                f"{plan.plan.window_seconds} s (burst {plan.limit.burst}); this call costs "
                f"{cost}. Retry after {decision.retry_after} s."
            ),
            headers=headers,
            retryable=True,
            violated_policies=[plan.name],
        )

    async def _unavailable(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        plan: _PlanHeaders,
        exc: RateLimiterUnavailable,
    ) -> None:
        mode = "open" if self._fail_open else "closed"
        self._warnings.warn("rate limiter store unavailable, failing %s: %s", mode, exc)
        if self._fail_open:
            self._observe(plan.name, "error_open")
            # No RateLimit values we could not compute; the policy itself still holds.
            await self.app(scope, receive, add_headers(send, [plan.policy]))
            return
        self._observe(plan.name, "error_closed")
        await send_problem(
            scope,
            send,
            status=503,
            code="RATE_LIMITER_UNAVAILABLE",
            title="Rate limiter unavailable",
            detail="The rate limiter cannot decide right now; retry shortly.",
            headers=[plan.policy, (_RETRY_AFTER, _UNAVAILABLE_RETRY_AFTER)],
            retryable=True,
        )

    def _observe(self, plan: str, outcome: Outcome) -> None:
        if self._on_decision is not None:
            self._on_decision(plan, outcome)

    def _client_ip(self, scope: Scope) -> str:
        if self._trust_forwarded_for:
            forwarded = header(scope, _FORWARDED_FOR)
            if forwarded:
                first = forwarded.split(",", 1)[0].strip()
                try:
                    return str(ipaddress.ip_address(first))
                except ValueError:
                    pass  # not an address: fall back to the peer, never key on junk
        client = scope.get("client")
        return str(client[0]) if client else "unknown"
