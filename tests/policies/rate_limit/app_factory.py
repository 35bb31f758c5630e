"""A gateway-shaped app for the two-process test: `uvicorn ...app_factory:create_app --factory`.

Environment: REDIS_URL, Q2C_RL_PREFIX (required) and Q2C_RL_QUOTA,
Q2C_RL_WINDOW, Q2C_RL_BURST (default 100 per 60 s, burst 100).
"""

from __future__ import annotations

import os
from typing import Any, cast

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.middleware import DefineMiddleware

from policies.consumer import Consumer
from policies.rate_limit.config import Plan, RateLimitConfig
from policies.rate_limit.middleware import RateLimitMiddleware
from policies.rate_limit.redis import RedisRateLimitStore
from tests.policies.rate_limit.support import build_app

CONSUMER = Consumer(client_id="load", tenant="acme", plan="limited")


def create_app() -> Litestar:
    client = aioredis.Redis.from_url(
        os.environ["REDIS_URL"], decode_responses=True, socket_timeout=2.0
    )
    plan = Plan(
        quota=int(os.environ.get("Q2C_RL_QUOTA", "100")),
        window_seconds=int(os.environ.get("Q2C_RL_WINDOW", "60")),
        burst=int(os.environ.get("Q2C_RL_BURST", "100")),
    )
    config = RateLimitConfig(
        plans={"limited": plan, "anonymous": Plan(quota=60, window_seconds=60)},
        default_plan="limited",
        failure_mode="closed",  # an outage must not look like admissions
    )
    store = RedisRateLimitStore(client, key_prefix=os.environ["Q2C_RL_PREFIX"])
    middleware = DefineMiddleware(cast("Any", RateLimitMiddleware), config=config, store=store)
    return build_app(middleware, fixed=CONSUMER, on_shutdown=[client.aclose])
