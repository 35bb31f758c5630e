#!/usr/bin/env python3
"""Micro-benchmark: client CPU per GCRA decision (one EVALSHA), by Redis client path.

    .venv/bin/python bench/redis_client.py [--calls 4000] [--rounds 5] [--concurrency 8]

Against the Redis on 127.0.0.1:6379, ``--concurrency`` decisions in flight, the
rate limiter's own script and argument shapes; CPU time of this process per call
(median of rounds, each running every variant in turn):

- ``redis-py Script()``: ``client.register_script(...)(keys, args)``, as before;
- ``redis-py evalsha``: ``client.evalsha`` (what the store does without pipelining);
- ``redis-py evalsha, no socket_timeout``: the same on a client without timeouts
  (for scale: redis-py wraps every read and write in a timeout otherwise);
- ``pipelined``: ``policies.rate_limit.pipelined.PipelinedRedis``, what the gateway
  uses. Not a pytest test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis
from redis.utils import HIREDIS_AVAILABLE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.rate_limit.redis import GCRA_SCRIPT, pipelined_twin

URL = "redis://127.0.0.1:6379/0"
ARGS = [1, 10**12, 1]  # interval, tolerance (never limits), cost


async def main_async(calls: int, rounds: int, concurrency: int) -> dict[str, float]:
    timed = aioredis.Redis.from_url(URL, decode_responses=True, socket_timeout=2.0,
                                    socket_connect_timeout=2.0)
    untimed = aioredis.Redis.from_url(URL, decode_responses=True)
    script = timed.register_script(GCRA_SCRIPT)
    sha = await timed.script_load(GCRA_SCRIPT)
    key = f"q2c-bench:redis-client:{os.getpid()}"
    variants: dict[str, Callable[[], Awaitable[object]]] = {
        "redis-py Script()": lambda: script(keys=[key], args=ARGS),
        "redis-py evalsha": lambda: timed.evalsha(sha, 1, key, *ARGS),
        "redis-py evalsha, no socket_timeout": lambda: untimed.evalsha(sha, 1, key, *ARGS),
    }
    pipelined = pipelined_twin(timed)
    assert pipelined is not None
    variants["pipelined (the gateway's)"] = lambda: pipelined.evalsha(sha, [key], ARGS)

    async def run(call: Callable[[], Awaitable[object]], count: int) -> float:
        async def stream(n: int) -> None:
            for _ in range(n):
                await call()

        per = count // concurrency
        started = time.process_time()
        await asyncio.gather(*(stream(per) for _ in range(concurrency)))
        return (time.process_time() - started) / (per * concurrency) * 1e6

    try:
        names = list(variants)
        for name in names:
            await run(variants[name], 400)
        measured: dict[str, list[float]] = {name: [] for name in names}
        for index in range(rounds):
            for name in names[index % len(names):] + names[: index % len(names)]:
                measured[name].append(await run(variants[name], calls))
    finally:
        await timed.delete(key)
        await pipelined.aclose()
        await timed.aclose()
        await untimed.aclose()
    return {name: statistics.median(values) for name, values in measured.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    run = main_async(args.calls, args.rounds, args.concurrency)
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(run)
    else:
        results = uvloop.run(run)
    print(
        f"CPU µs per EVALSHA, c={args.concurrency}, median of {args.rounds} rounds "
        f"(hiredis {'on' if HIREDIS_AVAILABLE else 'off'}; load average "
        f"{[round(x, 2) for x in os.getloadavg()]})"
    )
    for name, value in results.items():
        print(f"  {name:<38}{value:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
