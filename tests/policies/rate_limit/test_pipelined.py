"""The rate limiter's auto-pipelined Redis connection: replies in order, errors as
redis-py raises them, and every failure ends in an error, never a hang."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from policies.rate_limit.config import Plan
from policies.rate_limit.gcra import Limit
from policies.rate_limit.pipelined import PipelinedRedis
from policies.rate_limit.redis import RedisRateLimitStore, pipelined_twin
from policies.rate_limit.store import RateLimiterUnavailable
from tests.support.servers import free_port

LIMIT = Limit.of(Plan(quota=6, window_seconds=60, burst=5))


@pytest.fixture
async def pipelined(redis_client: aioredis.Redis) -> AsyncIterator[PipelinedRedis]:
    twin = pipelined_twin(redis_client)
    assert twin is not None
    yield twin
    await twin.aclose()


async def test_concurrent_commands_share_writes_and_get_their_own_replies(
    pipelined: PipelinedRedis, redis_prefix: str
) -> None:
    counters = [f"{redis_prefix}n{i % 3}" for i in range(300)]
    replies = await asyncio.gather(*(pipelined.execute("INCR", key) for key in counters))
    # Each counter saw its own INCRs in the order they were issued.
    for name in {*counters}:
        mine = [reply for key, reply in zip(counters, replies, strict=True) if key == name]
        assert mine == list(range(1, len(mine) + 1))
    assert await pipelined.execute("GET", counters[0]) == "100"


async def test_error_replies_are_redis_py_errors(pipelined: PipelinedRedis) -> None:
    with pytest.raises(redis_errors.NoScriptError):
        await pipelined.evalsha("0" * 40, ["k"], [])
    with pytest.raises(redis_errors.ResponseError):
        await pipelined.execute("NOT-A-COMMAND")
    assert await pipelined.execute("PING") == "PONG"  # the connection is still in step


async def test_the_gateway_store_decides_over_the_pipelined_connection(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = RedisRateLimitStore(redis_client, key_prefix=redis_prefix, pipelined=True)
    try:
        decisions = await asyncio.gather(*(store.acquire("p:c:t/a", LIMIT, 1) for _ in range(7)))
    finally:
        await store.aclose()
    assert sum(decision.admitted for decision in decisions) == LIMIT.burst
    assert await redis_client.exists(f"{redis_prefix}rl:p:c:t/a") == 1


async def test_a_refused_connection_is_a_connection_error_and_the_limiter_unavailable() -> None:
    client = aioredis.Redis(port=free_port(), socket_timeout=0.5)
    store = RedisRateLimitStore(client, key_prefix="q2c-test:refused:", pipelined=True)
    try:
        with pytest.raises(RateLimiterUnavailable, match="ConnectionError"):
            await store.acquire("p:c:t/a", LIMIT, 1)
    finally:
        await store.aclose()
        await client.aclose()


async def test_a_silent_server_times_out_every_waiting_command_then_reconnects() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipelined = PipelinedRedis("127.0.0.1", port, timeout=0.2)
    try:
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *(pipelined.execute("PING") for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, redis_errors.TimeoutError) for result in results)
        assert asyncio.get_running_loop().time() - started < 2
        with pytest.raises(redis_errors.TimeoutError):
            await pipelined.execute("PING")
        assert len(accepted) == 2  # the timed-out connection was dropped, a new one made
    finally:
        await pipelined.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_connection_closed_by_the_server_fails_what_waits_on_it() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipelined = PipelinedRedis("127.0.0.1", port, timeout=5)
    try:
        with pytest.raises(redis_errors.ConnectionError):
            await pipelined.execute("PING")
    finally:
        await pipelined.aclose()
        server.close()
        await server.wait_closed()


def test_only_plain_tcp_clients_get_a_pipelined_twin() -> None:
    assert pipelined_twin(aioredis.Redis.from_url("redis://127.0.0.1:6379/2")) is not None
    assert pipelined_twin(aioredis.Redis.from_url("rediss://127.0.0.1:6380/0")) is None
    assert pipelined_twin(aioredis.Redis.from_url("unix:///tmp/redis.sock")) is None


async def test_database_and_password_are_sent_on_connect(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    other_db = aioredis.Redis(db=3, decode_responses=True)
    twin = pipelined_twin(other_db)
    assert twin is not None
    try:
        await twin.execute("SET", f"{redis_prefix}db3", "yes")
        assert await other_db.get(f"{redis_prefix}db3") == "yes"
        assert await redis_client.get(f"{redis_prefix}db3") is None
    finally:
        await other_db.delete(f"{redis_prefix}db3")
        await twin.aclose()
        await other_db.aclose()
    wrong = PipelinedRedis("127.0.0.1", 6379, password="not-the-password", timeout=2)
    try:
        with pytest.raises(redis_errors.RedisError):
            await wrong.execute("PING")
    finally:
        await wrong.aclose()
