"""A tiny gateway for the two-process test: uvicorn ...two_process_app:create_app --factory.

Configured from the environment (IDEM_TEST_DATABASE_URL for the idempotency records,
IDEM_TEST_REDIS_URL and IDEM_TEST_PREFIX for the counter); its one handler records its
side effect with INCR so the test can count executions across processes.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import redis.asyncio as aioredis
from litestar import Litestar, Response, post
from litestar.middleware import DefineMiddleware
from litestar.params import JSONBody

from gateway.stores.sql.engine import Database
from gateway.stores.sql.idempotency import SqlIdempotencyStore
from policies.idempotency import IdempotencyConfig, IdempotencyMiddleware
from policies.route import governed

SIDE_EFFECT_DELAY = 0.2


def counter_key(prefix: str) -> str:
    return f"{prefix}side-effects"


def create_app() -> Litestar:
    prefix = os.environ["IDEM_TEST_PREFIX"]
    client = aioredis.Redis.from_url(os.environ["IDEM_TEST_REDIS_URL"], decode_responses=True)
    database = Database(os.environ["IDEM_TEST_DATABASE_URL"])

    @post("/v1/orders", opt=governed("orders:write", idempotency="required"))
    async def create_order(data: JSONBody[dict[str, Any]]) -> Response[Any]:
        number = await client.incr(counter_key(prefix))
        # Widen the window in which the other process could run it a second time.
        await asyncio.sleep(SIDE_EFFECT_DELAY)
        order_id = f"ord_{number}"
        return Response(
            {"id": order_id, "pid": os.getpid(), "received": data},
            status_code=201,
            headers={"Location": f"/v1/orders/{order_id}"},
        )

    return Litestar(
        route_handlers=[create_order],
        middleware=[
            DefineMiddleware(
                IdempotencyMiddleware,
                config=IdempotencyConfig(),
                store=SqlIdempotencyStore(database),
            )
        ],
        on_shutdown=[client.aclose, database.dispose],
    )
