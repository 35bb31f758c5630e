"""Exactly one side effect per key across two gateway processes sharing one database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.policies.idempotency.two_process_app import counter_key
from tests.support.databases import truncate_all
from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
REQUESTS = 50


def start_server(port: int, prefix: str, database: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "IDEM_TEST_REDIS_URL": REDIS_URL,
        "IDEM_TEST_PREFIX": prefix,
        "IDEM_TEST_DATABASE_URL": database,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.policies.idempotency.two_process_app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.e2e
@pytest.mark.redis
@pytest.mark.postgres
async def test_concurrent_retries_on_two_processes_run_the_side_effect_once(
    redis_client: aioredis.Redis, redis_prefix: str, postgres_url: str
) -> None:
    truncate_all(postgres_url)
    ports = [free_port(), free_port()]
    servers: list[subprocess.Popen[bytes]] = []
    try:
        servers = [start_server(port, redis_prefix, postgres_url) for port in ports]
        for port in ports:
            wait_for_port(port)
        headers = {"Idempotency-Key": '"order-2f6c1a"'}
        payload = {"quote_id": "quo_1", "lines": [{"sku": "A", "quantity": "2"}]}
        async with httpx.AsyncClient(timeout=20) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"http://127.0.0.1:{ports[index % 2]}/v1/orders",
                        json=payload,
                        headers=headers,
                    )
                    for index in range(REQUESTS)
                )
            )
            # After the race every retry, on either process, is a replay.
            late = [
                await http.post(f"http://127.0.0.1:{port}/v1/orders", json=payload, headers=headers)
                for port in ports
            ]
    finally:
        for server in servers:
            stop(server)

    assert await redis_client.get(counter_key(redis_prefix)) == "1"
    originals = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    replays = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(originals) == 1
    assert len(originals) + len(replays) + len(in_flight) == REQUESTS
    original = originals[0]
    assert original.json()["id"] == "ord_1"
    for replay in [*replays, *late]:
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == original.content
        assert replay.headers["location"] == original.headers["location"]
    for busy in in_flight:
        assert busy.json()["code"] == "IDEMPOTENCY_REQUEST_IN_FLIGHT"
        assert 1 <= int(busy.headers["retry-after"]) <= 60
