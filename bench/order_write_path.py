"""Round trips of one order write: calls to systems of record, to the database, to Redis.

Counts, not timings (so a shared machine does not skew them): the gateway runs
in-process with its embedded sandboxes; every system-of-record attempt, every
statement (plus BEGIN/COMMIT) sent to the database and every command batch sent to
Redis is counted while orders are created one after another, each under a new
Idempotency-Key. The first order of a kind pays for warming caches (ERP account,
CSRF token, crosswalk entries); the rest show the steady state.

    .venv/bin/python bench/order_write_path.py [--database URL] [--redis URL] [--orders N]

It runs against older code as well (no database counter there): point PYTHONPATH at
another checkout to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from typing import Any

import httpx
import msgspec
from redis.asyncio.connection import Connection


class Counts:
    def __init__(self) -> None:
        self.sor: Counter[str] = Counter()
        self.redis = 0

    def snapshot(self, database: Any) -> tuple[int, int, int]:
        sql = int(getattr(database, "round_trips", 0)) if database is not None else 0
        return sum(self.sor.values()), sql, self.redis


def _count_redis(counts: Counts) -> None:
    original = Connection.send_packed_command

    async def send(self: Connection, command: Any, check_health: bool = True) -> None:
        counts.redis += 1
        await original(self, command, check_health)

    Connection.send_packed_command = send  # type: ignore[method-assign]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (default: the SQLite file)")
    parser.add_argument("--redis", help="Redis URL (default: none, in-process caches)")
    parser.add_argument("--orders", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("Q2C_HOME", tempfile.mkdtemp(prefix="q2c-bench-"))

    from gateway.app import create_app
    from gateway.settings import embedded_settings
    from gateway.wiring import build_runtime

    overrides: dict[str, Any] = {}
    prefix = f"q2c-bench:{uuid.uuid4().hex}:"
    if args.redis:
        from gateway.settings import RedisSettings

        overrides["redis"] = RedisSettings(url=args.redis, prefix=prefix)
    if args.database:
        from gateway.stores.sql.config import DatabaseSettings  # type: ignore[import-not-found]

        overrides["database"] = DatabaseSettings(url=args.database)
    base = embedded_settings()
    auth = msgspec.structs.replace(base.auth, plans_by_client={"sandbox-client": "gold"})
    settings = msgspec.structs.replace(base, auth=auth, **overrides)
    runtime = build_runtime(settings)
    counts = Counts()
    transport = runtime.clients.sandboxes
    send = transport.send

    async def counted(method: str, url: str, *rest: Any, **kw: Any) -> Any:
        counts.sor[f"{method} {httpx.URL(url).host}"] += 1
        return await send(method, url, *rest, **kw)

    transport.send = counted  # type: ignore[method-assign]
    _count_redis(counts)
    await runtime.start()
    database = getattr(runtime, "database", None)
    token = runtime.issuer.mint(
        "sandbox-client",
        ["orders:write", "orders:read", "customers:read", "products:read", "quotes:read"],
        "sandbox",
        600,
        plan="gold",
    )
    app = create_app(settings, runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as api:
            customer = (await api.get("/v1/customers", params={"name": "Datum"})).json()["data"][0]
            products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
            product = next(p for p in products if p["sku"] == "Q2C-1001")
            body = {
                "customer_id": customer["id"],
                "currency": "USD",
                "lines": [{"product_id": product["id"], "quantity": "1"}],
            }
            rows = []
            for n in range(args.orders):
                counts.sor.clear()
                before = counts.snapshot(database)
                response = await api.post(
                    "/v1/orders",
                    json=body,
                    headers={"Idempotency-Key": f'"{uuid.uuid4()}"'},
                )
                after = counts.snapshot(database)
                assert response.status_code == 201, response.text
                rows.append(
                    {
                        "order": n + 1,
                        "sor_calls": after[0] - before[0],
                        "sql_round_trips": after[1] - before[1],
                        "redis_round_trips": after[2] - before[2],
                        "sor_by_call": dict(counts.sor),
                    }
                )
    finally:
        await runtime.close()
        if args.redis:  # leave nothing behind in a shared Redis
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(args.redis)
            keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
            await client.aclose()
    for row in rows:
        print(json.dumps(row))
    warm = rows[1:] or rows
    print(
        "steady state per order: "
        f"SoR {statistics.mean(r['sor_calls'] for r in warm):.1f}, "
        f"SQL {statistics.mean(r['sql_round_trips'] for r in warm):.1f}, "
        f"Redis {statistics.mean(r['redis_round_trips'] for r in warm):.1f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    asyncio.run(main())
