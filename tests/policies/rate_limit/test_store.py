"""One contract suite for the rate-limit store port, over memory and real Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from policies.rate_limit.config import Plan
from policies.rate_limit.gcra import Limit, decide
from policies.rate_limit.memory import MemoryRateLimitStore
from policies.rate_limit.redis import RedisRateLimitStore
from policies.rate_limit.store import RateLimitStore
from tests.support.servers import free_port

# One unit every 10 s, 5 at once: nothing refills while a test runs.
SLOW = Limit.of(Plan(quota=6, window_seconds=60, burst=5))
# One unit per second, 2 at once: short enough to wait for in real time.
FAST = Limit.of(Plan(quota=1, window_seconds=1, burst=2))


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    store: RateLimitStore
    wait: Callable[[float], Awaitable[None]]


@pytest.fixture(params=["memory", "redis", "redis-pipelined"])
def built(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        clock = FakeClock()

        async def advance(seconds: float) -> None:
            clock.now += seconds

        return Backend(MemoryRateLimitStore(clock), advance)
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    prefix: str = request.getfixturevalue("redis_prefix")

    async def sleep(seconds: float) -> None:
        # Real time, read by Redis's own clock: a small margin over the interval.
        await asyncio.sleep(seconds + 0.05)

    pipelined = request.param == "redis-pipelined"
    return Backend(RedisRateLimitStore(client, key_prefix=prefix, pipelined=pipelined), sleep)


@pytest.fixture
async def backend(built: Backend) -> AsyncIterator[Backend]:
    """Each store backend; the pipelined one's connection is closed afterwards."""
    yield built
    if isinstance(built.store, RedisRateLimitStore):
        await built.store.aclose()


async def test_admits_exactly_burst_then_limits(backend: Backend) -> None:
    remaining = []
    for _ in range(SLOW.burst):
        decision = await backend.store.acquire("plan:c:t/a", SLOW, 1)
        assert decision.admitted
        assert decision.retry_after == 0
        remaining.append(decision.remaining)
    assert remaining == [4, 3, 2, 1, 0]
    for _ in range(3):
        rejected = await backend.store.acquire("plan:c:t/a", SLOW, 1)
        assert not rejected.admitted
        assert rejected.remaining == 0
        assert rejected.retry_after == 10
        assert rejected.reset == 10


async def test_a_rejected_call_does_not_consume(backend: Backend) -> None:
    assert (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted
    assert (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted
    for _ in range(5):
        assert not (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted
    await backend.wait(1.0)  # one emission interval
    after = await backend.store.acquire("fast:c:t/a", FAST, 1)
    assert after.admitted
    assert after.remaining == 0
    assert not (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted


async def test_cost_spends_several_units_or_none(backend: Backend) -> None:
    first = await backend.store.acquire("plan:c:t/a", SLOW, 2)
    second = await backend.store.acquire("plan:c:t/a", SLOW, 2)
    assert (first.admitted, first.remaining) == (True, 3)
    assert (second.admitted, second.remaining) == (True, 1)
    too_dear = await backend.store.acquire("plan:c:t/a", SLOW, 2)
    assert (too_dear.admitted, too_dear.remaining, too_dear.retry_after) == (False, 1, 10)
    last = await backend.store.acquire("plan:c:t/a", SLOW, 1)  # the unit was not spent above
    assert (last.admitted, last.remaining) == (True, 0)
    broke = await backend.store.acquire("plan:c:t/a", SLOW, 2)
    assert (broke.admitted, broke.retry_after, broke.reset) == (False, 20, 10)


async def test_remaining_and_reset_values(backend: Backend) -> None:
    first = await backend.store.acquire("plan:c:t/a", SLOW, 1)
    assert (first.remaining, first.reset) == (4, 10)
    full_cost = await backend.store.acquire("plan:c:t/b", SLOW, SLOW.burst)
    assert (full_cost.admitted, full_cost.remaining, full_cost.reset) == (True, 0, 10)


async def test_consumers_do_not_interfere(backend: Backend) -> None:
    for _ in range(FAST.burst):
        assert (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted
    assert not (await backend.store.acquire("fast:c:t/a", FAST, 1)).admitted
    other = await backend.store.acquire("fast:c:t/b", FAST, 1)
    assert (other.admitted, other.remaining) == (True, 1)
    other_plan = await backend.store.acquire("plan:c:t/a", SLOW, 1)
    assert (other_plan.admitted, other_plan.remaining) == (True, 4)


async def test_memory_refill_and_reset_follow_the_clock() -> None:
    clock = FakeClock()
    store = MemoryRateLimitStore(clock)
    for _ in range(SLOW.burst):
        await store.acquire("k", SLOW, 1)
    clock.now += 14.0  # 1.4 units back
    decision = await store.acquire("k", SLOW, 1)
    assert (decision.admitted, decision.remaining, decision.reset) == (True, 0, 6)
    clock.now += 6.0
    assert (await store.acquire("k", SLOW, 1)).admitted
    assert not (await store.acquire("k", SLOW, 1)).admitted


async def test_memory_store_forgets_idle_buckets() -> None:
    clock = FakeClock()
    store = MemoryRateLimitStore(clock, sweep_every=3)
    await store.acquire("a", SLOW, 1)
    await store.acquire("b", SLOW, 1)
    assert len(store) == 2
    clock.now += 60.0
    await store.acquire("c", SLOW, 1)  # third call sweeps first
    assert len(store) == 1


async def test_redis_layout_ttl_and_rejections_write_nothing(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = RedisRateLimitStore(redis_client, key_prefix=redis_prefix)
    key = f"{redis_prefix}rl:fast:c:t/a"
    assert store.key("fast:c:t/a") == key
    await store.acquire("fast:c:t/a", FAST, 1)
    await store.acquire("fast:c:t/a", FAST, 1)
    stored = await redis_client.get(key)
    assert stored is not None
    assert stored.isdigit()  # integer microseconds, not a rounded float
    ttl = await redis_client.pttl(key)
    assert 1000 < ttl <= 2000  # expires when the bucket is full again
    assert not (await store.acquire("fast:c:t/a", FAST, 1)).admitted
    assert await redis_client.get(key) == stored
    assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == [key]


def test_decide_reports_a_full_bucket_as_no_wait() -> None:
    decision = decide(SLOW, 1, admitted=True, backlog=0)
    assert (decision.remaining, decision.reset, decision.retry_after) == (5, 0, 0)
    rejected = decide(SLOW, 1, admitted=False, backlog=SLOW.tolerance - SLOW.interval + 1)
    assert (rejected.remaining, rejected.reset, rejected.retry_after) == (0, 1, 1)


@pytest.mark.parametrize("pipelined", [False, True], ids=["redis-py", "pipelined"])
async def test_redis_that_lost_the_script_still_decides(tmp_path: Path, pipelined: bool) -> None:
    """A restarted or failed-over Redis answers EVALSHA with NOSCRIPT: the store loads
    the script and decides. On a Redis of its own: SCRIPT FLUSH is server-wide."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = aioredis.Redis(port=port, decode_responses=True)
    try:
        for _ in range(100):
            try:
                await client.ping()
                break
            except aioredis.ConnectionError:
                await asyncio.sleep(0.05)
        store = RedisRateLimitStore(client, key_prefix="q2c-test:noscript:", pipelined=pipelined)
        try:
            assert (await store.acquire("plan:c:t/a", SLOW, 1)).remaining == SLOW.burst - 1
            await client.script_flush()
            assert (await store.acquire("plan:c:t/a", SLOW, 1)).remaining == SLOW.burst - 2
            assert (await store.acquire("plan:c:t/a", SLOW, 1)).remaining == SLOW.burst - 3
        finally:
            await store.aclose()
    finally:
        await client.aclose()
        server.terminate()
        server.wait(timeout=10)
